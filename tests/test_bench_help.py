"""``python -m bench.X --help`` shows the module's docstring with its paragraphs and
documents every option."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import pytest


@pytest.mark.parametrize(
    "name", ["failover", "fanout", "git", "lookups", "parse", "scan", "shards"]
)
def test_bench_help_keeps_paragraphs_and_documents_every_option(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"bench.{name}")
    parsers: list[argparse.ArgumentParser] = []
    parse_args = argparse.ArgumentParser.parse_args

    def spy(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        parsers.append(self)
        return parse_args(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", spy)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    # The docstring as written: its paragraphs and indented examples stay apart.
    assert module.__doc__ is not None
    for paragraph in module.__doc__.strip().split("\n\n")[:3]:
        assert paragraph in out
    [parser] = parsers
    for action in parser._actions:
        assert action.help, f"{name}: {action.option_strings} has no help"
