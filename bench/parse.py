"""Benchmark: parse + summary of generated articles, on one core.

Run from the repository root::

    python -m bench.parse                        # 10,000 articles, 5 rounds
    python -m bench.parse --articles 2000 --rounds 3   # quicker

What it does:

1. Generates realistic articles (``bench.articles``, seeded: the same every run) into a
   temporary content folder, then reads every file's bytes into memory. Set-up, not
   measured.
2. Pins the process to one CPU (where the OS allows it) and, for each round, times
   ``read_markdown`` on every file's bytes (decode, front matter, Markdown body,
   takeaways or lede), then ``render_message`` on every resulting article (the exact
   Create Message body). Garbage is collected before each round, not during it.
3. Reports the median over the rounds: articles per second for parse + summary, and
   the split in microseconds per article.

There is no target: a bot receives a few articles an hour. What users feel of parsing
is the cold scan of a large archive and a new file's way to its post, which
``bench.scan`` measures; this one says where the time of both goes.

Prints a table, then one line of JSON with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import argument_parser
from bench.articles import NOW, generate, write
from bot.articles.markdown import read_markdown
from bot.articles.model import Article
from bot.summary import render_message

SITE = "https://news.example.org"


def _pin(cpu: int | None) -> str:
    """The benchmark is one thread, so one core at a time; ``--cpu`` also keeps it on
    one CPU (on a busy machine, pick an idle one, or leave the scheduler free)."""
    if cpu is None:
        return "one thread"
    if not hasattr(os, "sched_setaffinity"):
        return "one thread (CPU pinning unsupported here)"
    os.sched_setaffinity(0, {cpu})
    return f"one thread pinned to CPU {cpu}"


def _load(folder: Path) -> list[tuple[str, bytes]]:
    files = sorted(p for p in folder.rglob("*.md") if p.is_file())
    return [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in files]


def _round(files: Sequence[tuple[str, bytes]]) -> tuple[float, float, list[Article]]:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        articles = [read_markdown(data, rel_path=rel, site_url=SITE) for rel, data in files]
        parsed = time.perf_counter()
        for article in articles:
            render_message(article)
        done = time.perf_counter()
    finally:
        gc.enable()
    return parsed - start, done - parsed, articles


def run(args: argparse.Namespace) -> dict[str, Any]:
    pinned = _pin(args.cpu)
    generated = generate(args.articles, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        content = Path(tmp) / "content"
        write(content, generated)
        files = _load(content)
    size = sum(len(data) for _, data in files)
    print(
        f"{len(files):,} articles, {size / len(files) / 1024:.1f} KiB on average, {pinned}",
        file=sys.stderr,
    )
    _round(files[: min(len(files), 500)])  # warm-up: imports, caches, allocator

    parse_s: list[float] = []
    summary_s: list[float] = []
    articles: list[Article] = []
    for i in range(args.rounds):
        parse, summary, articles = _round(files)
        parse_s.append(parse)
        summary_s.append(summary)
        print(
            f"  round {i + 1}: {len(files) / (parse + summary):,.0f} articles/s",
            file=sys.stderr,
        )

    n = len(files)
    totals = [p + s for p, s in zip(parse_s, summary_s, strict=True)]
    rates = [n / t for t in totals]
    statuses = Counter(a.status(NOW).value for a in articles)
    with_takeaways = sum(1 for a in articles if a.takeaways)
    return {
        "benchmark": "parse",
        "articles": n,
        "rounds": args.rounds,
        "seed": args.seed,
        "avg_kib": round(size / n / 1024, 2),
        "articles_per_s_median": round(statistics.median(rates)),
        "articles_per_s_min": round(min(rates)),
        "articles_per_s_max": round(max(rates)),
        "parse_us_median": round(statistics.median(parse_s) / n * 1e6, 1),
        "summary_us_median": round(statistics.median(summary_s) / n * 1e6, 1),
        "total_us_median": round(statistics.median(totals) / n * 1e6, 1),
        "with_takeaways": with_takeaways,
        "formats": dict(Counter(g.fmt for g in generated)),
        "statuses": dict(statuses),
        "cpu": pinned,
        "python": sys.version.split()[0],
    }


def _print_table(result: dict[str, Any]) -> None:
    print(f"parse + summary, {result['articles']:,} generated articles, {result['cpu']}")
    print(f"{'step':<22}{'µs/article':>12}")
    print(f"{'read_markdown':<22}{result['parse_us_median']:>12.1f}")
    print(f"{'render_message':<22}{result['summary_us_median']:>12.1f}")
    print(f"{'total':<22}{result['total_us_median']:>12.1f}")
    print(
        f"median {result['articles_per_s_median']:,} articles/s over {result['rounds']} rounds "
        f"(min {result['articles_per_s_min']:,}, max {result['articles_per_s_max']:,})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser("bench.parse", __doc__)
    parser.add_argument("--articles", type=int, default=10_000, help="articles to generate")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median kept)")
    parser.add_argument("--seed", type=int, default=20260301, help="generator seed")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU")
    args = parser.parse_args(argv)
    if args.articles < 1 or args.rounds < 1:
        parser.error("--articles and --rounds must be at least 1")
    result = run(args)
    _print_table(result)
    print(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
