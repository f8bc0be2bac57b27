"""Benchmark: the content folder into SQLite, and a new file to its printed post.

Run from the repository root::

    python -m bench.scan                    # 10,000 articles, 20 latency samples
    python -m bench.scan --articles 2000    # quicker

What it measures, on generated articles (``bench.articles``, seeded):

1. **cold scan**: a first scan of the whole folder into a new SQLite file
   (read, hash, parse, render, record; the first-start rule applies, so nothing is
   announced).
2. **re-scan**: a second scan with nothing changed, by a fresh ``ContentSource`` as
   after a restart (stat every file, compare with the store).
3. **file to post**: with the pipeline running as ``newsbot run --dry-run`` runs it
   (watcher, store, announcer printing posts), a new article is written with
   write-then-rename; the time until its post has been printed. Median of the
   samples.

Prints a table with the README's targets (for 10,000 articles on a 2-core machine),
then one line of JSON with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
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
from bot.config import load_settings
from bot.service import DryRunAnnouncer, Pipeline, announce_loop
from bot.sources.content import ContentSource
from bot.store import Store

SITE = "https://news.example.org"
#: The targets of the README's Benchmarks table, by figure (tests/test_readme.py
#: holds them equal to the table's).
TARGETS = {
    "cold_scan_s": "< 6 s",
    "rescan_s": "< 0.3 s",
    "file_to_post_ms_median": "as fast as before",
}


class TimedOutput(io.StringIO):
    """Stdout stand-in that notes when each post was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.printed: asyncio.Queue[float] = asyncio.Queue()

    def flush(self) -> None:
        self.printed.put_nowait(time.perf_counter())


NEW_ARTICLE = """---
title: "Benchmark article number {n}"
date: 2026-01-01T00:00:00Z
tags: ["Benchmark", "Latency"]
---

## Key Takeaways
* Sample **{n}** of the file-to-post latency benchmark.
* Written with write-then-rename, as editors and deploy tools do.
"""


async def _scans(folder: Path, database: Path) -> dict[str, float]:
    store = await Store.open(database)
    try:
        cold = ContentSource(store, folder, site_url=SITE, tz=UTC, max_bytes=2 << 20)
        started = time.perf_counter()
        stats = await cold.scan()
        cold_s = time.perf_counter() - started
        warm = ContentSource(store, folder, site_url=SITE, tz=UTC, max_bytes=2 << 20)
        started = time.perf_counter()
        again = await warm.scan()
        rescan_s = time.perf_counter() - started
        return {
            "files": stats.files,
            "rejected": stats.rejected,
            "cold_scan_s": round(cold_s, 3),
            "cold_files_per_s": round(stats.files / cold_s),
            "rescan_s": round(rescan_s, 3),
            "rescan_read": again.read,
            "articles": await store.article_count(),
        }
    finally:
        await store.close()


async def _latency(folder: Path, database: Path, samples: int) -> list[float]:
    settings = load_settings(
        _env_file=None, content_dir=folder, database=database, site_url=SITE, feeds=()
    )
    store = await Store.open(database)
    pipeline = Pipeline(settings, store)
    out = TimedOutput()
    pipeline.start()
    announcer = asyncio.create_task(
        announce_loop(store, pipeline.wake, pipeline.stop, DryRunAnnouncer(out))
    )
    latencies: list[float] = []
    try:
        # The watcher starts right after its start-up scan, which finds nothing new here
        # (the folder was scanned above); give it a moment to be in place.
        await asyncio.sleep(2.0)
        target_dir = folder / "latency"
        target_dir.mkdir(exist_ok=True)
        for n in range(samples):
            temp = folder / f".latency-{n}.tmp"
            temp.write_text(NEW_ARTICLE.format(n=n), encoding="utf-8")
            started = time.perf_counter()
            os.replace(temp, target_dir / f"bench-{n}.md")
            printed = await asyncio.wait_for(out.printed.get(), timeout=30)
            latencies.append((printed - started) * 1000)
            await asyncio.sleep(0.3)  # let the watcher go quiet between samples
    finally:
        await pipeline.close()
        announcer.cancel()
        await asyncio.gather(announcer, return_exceptions=True)
        await store.close()
    return latencies


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, scan, re-scan, then sample the file-to-post latency."""
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        folder = Path(tmp) / "content"
        write(folder, generate(args.articles, seed=args.seed))
        database = Path(tmp) / "bench.sqlite3"
        result: dict[str, Any] = {"generated": args.articles}
        result.update(asyncio.run(_scans(folder, database)))
        latencies = asyncio.run(_latency(folder, database, args.samples))
        result["file_to_post_ms_median"] = round(statistics.median(latencies), 1)
        result["file_to_post_ms_p90"] = round(
            statistics.quantiles(latencies, n=10)[-1] if len(latencies) > 1 else latencies[0], 1
        )
        result["samples"] = len(latencies)
        result["cpus"] = os.cpu_count()
        return result


def _print_table(r: dict[str, Any]) -> None:
    print(f"content folder of {r['files']:,} generated articles ({r['rejected']} rejected)")
    print(f"{'measure':<28}{'value':>12}  target")
    print(f"{'cold first scan (s)':<28}{r['cold_scan_s']:>12.2f}  {TARGETS['cold_scan_s']}")
    print(f"{'re-scan, unchanged (s)':<28}{r['rescan_s']:>12.3f}  {TARGETS['rescan_s']}")
    median = r["file_to_post_ms_median"]
    print(f"{'file to post, median (ms)':<28}{median:>12.1f}  {TARGETS['file_to_post_ms_median']}")
    print(f"{'file to post, p90 (ms)':<28}{r['file_to_post_ms_p90']:>12.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = articles_parser("bench.scan", __doc__, "file-to-post samples")
    return report(run(parser.parse_args(argv)), _print_table)


if __name__ == "__main__":
    raise SystemExit(main())
