"""Benchmarks with their own runner; figures are reported in the README."""

from __future__ import annotations

import argparse


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
