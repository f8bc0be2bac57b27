"""Benchmarks with their own runner; figures are reported in the README."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the module docstring's paragraphs and lists, and shows each option's default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help  # a flag, or a default the help text describes
        return super()._get_help_string(action)


def argument_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>``, its ``--help`` the module's docstring."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}", description=doc, formatter_class=_Help
    )


def articles_parser(module: str, doc: str | None, samples_help: str) -> argparse.ArgumentParser:
    """The options of a benchmark over generated articles: how many, samples, seed."""
    parser = argument_parser(module, doc)
    parser.add_argument("--articles", type=int, default=10_000, help="articles to generate")
    parser.add_argument("--samples", type=int, default=20, help=samples_help)
    parser.add_argument("--seed", type=int, default=20260301, help="generator seed")
    return parser


def report(result: dict[str, Any], table: Callable[[dict[str, Any]], None]) -> int:
    """Print a benchmark's table, then every figure as one line of JSON; returns 0."""
    table(result)
    print(json.dumps(result, separators=(",", ":")))
    sys.stdout.flush()
    return 0
