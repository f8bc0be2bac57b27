"""Benchmark: a site in git, one changed file among many, fetched and read again.

Run from the repository root::

    python -m bench.git                    # 10,000 articles, 20 samples
    python -m bench.git --articles 2000    # quicker

What it measures, on generated articles (``bench.articles``, seeded) committed to a
bare repository that the bot fetches over a local path:

1. **first clone**: the bot's first fetch, checkout and scan of the whole content
   folder into a new SQLite file (the first-start rule: nothing announced).
2. **one changed file**: an author edits one article, commits and pushes; the time of
   the bot's next round (fetch, ``git diff`` of the two commits, checkout, reading the
   one changed file, recording it). Median of the samples; target: milliseconds, not
   a re-read of the repository.
3. **nothing new**: a round that finds no new commit (the cost of each interval).

Prints a table, then one line of JSON with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from bench import articles_parser, report
from bench.articles import generate, write
from bot.sources.content import ContentSource
from bot.sources.git import GitSource
from bot.store import Store
from tests.sources.gitrepos import Site

SITE = "https://news.example.org"


async def _measure(site: Site, database: Path, clone: Path, samples: int) -> dict[str, Any]:
    store = await Store.open(database)
    try:
        source = GitSource(
            store,
            str(site.origin),
            clone_dir=clone,
            branch=None,
            interval=60.0,
            content_source=lambda folder, _site_root: ContentSource(
                store, folder, site_url=SITE, tz=UTC, max_bytes=2 << 20
            ),
        )
        started = time.perf_counter()
        await source.update()
        first = time.perf_counter() - started
        assert source.content is not None
        files = sorted(p for p in (site.work / "content").rglob("*.md"))
        changed: list[float] = []
        idle: list[float] = []
        for n in range(samples):
            path = files[(n * 7919) % len(files)]
            path.write_text(
                path.read_text(encoding="utf-8") + f"\nEdited in sample {n}.\n", encoding="utf-8"
            )
            site.commit(f"edit {n}")
            site.push()
            started = time.perf_counter()
            await source.update()
            changed.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await source.update()
            idle.append((time.perf_counter() - started) * 1000)
        return {
            "files": len(files),
            "articles": await store.article_count(),
            "first_clone_s": round(first, 2),
            "one_changed_ms_median": round(statistics.median(changed), 1),
            "one_changed_ms_max": round(max(changed), 1),
            "nothing_new_ms_median": round(statistics.median(idle), 1),
            "samples": samples,
        }
    finally:
        await store.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate and commit the site, then clone it and time the rounds."""
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-git-") as tmp:
        site = Site(Path(tmp) / "remote")
        write(site.work / "content", generate(args.articles, seed=args.seed))
        site.commit("the site")
        site.push()
        result: dict[str, Any] = {"generated": args.articles}
        result.update(
            asyncio.run(
                _measure(site, Path(tmp) / "bench.sqlite3", Path(tmp) / "clone", args.samples)
            )
        )
        result["cpus"] = os.cpu_count()
        return result


def _print_table(r: dict[str, Any]) -> None:
    print(f"git repository of {r['files']:,} generated articles, fetched over a local path")
    print(f"{'measure':<34}{'value':>12}")
    print(f"{'first clone + scan (s)':<34}{r['first_clone_s']:>12.2f}")
    print(f"{'one changed file, median (ms)':<34}{r['one_changed_ms_median']:>12.1f}")
    print(f"{'one changed file, max (ms)':<34}{r['one_changed_ms_max']:>12.1f}")
    print(f"{'nothing new, median (ms)':<34}{r['nothing_new_ms_median']:>12.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = articles_parser("bench.git", __doc__, "one-changed-file samples")
    return report(run(parser.parse_args(argv)), _print_table)


if __name__ == "__main__":
    raise SystemExit(main())
