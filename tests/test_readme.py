"""The README's example post is exactly what the bot prints for the sample article."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest

from bench.scan import TARGETS
from tests.samples import SAMPLES
from tests.sources.dryrun import DryRun, clean_env
from tests.waiting import wait_until_sync

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = SAMPLES / "articles" / "heatwave-power-grid.md"
SITE = "https://news.example.org"


def _readme_post() -> str:
    """The fenced block of the README that starts with a post header."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\n(=== NEW POST: .*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "the README shows one example post"
    return str(blocks[0]).rstrip("\n")


def _printed_post(stdout: str, key: str) -> str:
    """The block the dry run printed for ``key``, up to the next post."""
    start = stdout.index(f"=== NEW POST: {key}")
    end = stdout.find("\n=== ", start + 1)
    return stdout[start : end if end >= 0 else len(stdout)].rstrip("\n")


def test_readme_example_post_is_what_the_dry_run_prints(root: Path, tmp_path: Path) -> None:
    env = clean_env(
        NEWSBOT_CONTENT_DIR=str(root),
        NEWSBOT_DATABASE=str(tmp_path / "news.sqlite3"),
        NEWSBOT_SITE_URL=SITE,
    )
    run = DryRun(tmp_path, env)
    key = "/articles/heatwave-power-grid/"
    try:
        run.wait_for_log(f"content {root}: 0 files")
        # Added after the first start, so it is announced (the first-start rule).
        shutil.copyfile(SAMPLE, root / "articles" / SAMPLE.name)
        wait_until_sync(lambda: key in run.posts(), "the sample's post", timeout=10)
        assert run.stop(signal.SIGINT) == 0
    finally:
        run.close()
    assert _printed_post(run.stdout(), key) == _readme_post()


def _benchmark_targets() -> dict[str, str]:
    """The target column of the README's Benchmarks tables, by each row's first cell."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    targets = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3:
            targets[cells[0]] = cells[-1]
    return targets


@pytest.mark.parametrize(
    ("row", "figure"),
    [
        ("cold first scan of 10,000 files into SQLite", "cold_scan_s"),
        ("re-scan, nothing changed", "rescan_s"),
        (
            "new file → its post printed (`--dry-run` pipeline), 20 samples",
            "file_to_post_ms_median",
        ),
    ],
)
def test_bench_scan_prints_the_readme_targets(row: str, figure: str) -> None:
    assert _benchmark_targets()[row] == TARGETS[figure]


def _development_names() -> set[str]:
    """Every ``bot/…`` and ``cogs/…`` path the README's Development section names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:bot|cogs)/[^`\s]*)`", section))


def _module_names() -> set[str]:
    """Every module of ``bot`` and ``cogs`` as a path: a package by its folder."""
    names = set()
    for package in ("bot", "cogs"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            names.add(f"{relative.parent}/" if path.name == "__init__.py" else str(relative))
    return names


def test_development_names_every_module_and_no_other() -> None:
    named = _development_names()
    assert sorted(_module_names() - named) == [], "modules the README does not list"
    stale = [name for name in named if not (ROOT / name).exists()]
    assert stale == [], "paths the README lists that are not there"
