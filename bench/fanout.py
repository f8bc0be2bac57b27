"""Benchmark: one article to 1,000 channels, and file-to-post latency.

Run from the repository root::

    python -m bench.fanout                      # 1,000 channels, 20 latency runs (~1 min)
    python -m bench.fanout --channels 200 --runs 10

What it does:

1. Starts ``tests.fakediscord`` in this process with Discord's documented limits: 50
   requests per second per bot, 5 messages per 5 s per channel (429s, with Discord's
   headers, beyond them).
2. Subscribes ``--channels`` channels (100 per server) and ``--runs`` more through the
   store API, then runs the real bot as its own process (``python -m bot run``) on a
   copy of the sample articles, pointed at the fake.
3. Fan-out: writes one new article file every subscribed channel wants and times it
   until the last post reaches the fake. The floor Discord's global limit imposes is
   ``channels / 50`` seconds (20 s for 1,000); the figure is the ratio to it (target
   <= 1.2), with the number of 429 answers (target 0).
4. Latency: ``--runs`` times, writes an article only one channel wants and times the
   file appearing in the folder to its post arriving at the fake (target: median under
   500 ms; the folder watcher alone waits 100 ms for a file to be quiet).

With ``--format custom`` every subscription has :data:`CUSTOM_FORMAT` (a message
format using every placeholder) instead of the default post. ``--side-by-side N`` runs
the whole benchmark N times with each, alternating, and prints the medians of both
next to each other: fan-out, new file to post, the bot process's CPU time, and the
render of one post (every sample article, in-process) in microseconds.

Prints a table, then one line of JSON with every figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import argument_parser
from bot.articles.decode import DEFAULT_MAX_BYTES
from bot.delivery.limiter import DEFAULT_RATE
from bot.formats import DEFAULT_FORMAT, Format, parse_format, render_formatted
from bot.preview import iter_items
from bot.store import Store
from tests.delivery.harness import bot_env, start_bot, stop, subscribe_channels, write_article
from tests.fakediscord.models import FakeChannel
from tests.fakediscord.server import FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "content"
GLOBAL_PER_SECOND = 50  # Discord's global limit per bot
PER_CHANNEL = (5, 5.0)  # Discord's message limit per channel
CHANNELS_PER_GUILD = 100
POST = "/channels/{channel_id}/messages"
#: The format ``--format custom`` gives every subscription: every placeholder, in use.
CUSTOM_FORMAT = parse_format(
    "{{mention}} New on {{site}}: **{{title}}** {{url}}",
    "📰 {{title}}",
    "{{takeaways:3}}\n\n{{summary}}\nBy {{author}} · {{date}} · {{date:R}}\n{{image}}",
    "{{site}} · {{categories}} · Tags: {{tags}}",
    "embed: on, image: on, footer: on",
)
FORMATS = {"default": DEFAULT_FORMAT, "custom": CUSTOM_FORMAT}


async def set_formats(database: Path, channels: Sequence[FakeChannel], fmt: Format) -> None:
    """Give the channels' subscriptions ``fmt``, as ``/newsadmin format`` would."""
    store = await Store.open(database)
    try:
        for channel in channels:
            await store.set_format(channel.guild.id, channel.id, fmt, datetime.now(UTC))
    finally:
        await store.close()


def render_us(fmt: Format, rounds: int = 200) -> float:
    """Median microseconds to render one sample article's post in ``fmt``."""
    items = iter_items(
        [str(SAMPLES)], site_url="https://news.example.org", tz=UTC, max_bytes=DEFAULT_MAX_BYTES
    )
    articles = [item.article for item in items if item.article is not None]
    times = []
    for _ in range(rounds):
        for article in articles:
            began = time.perf_counter()
            render_formatted(article, fmt, mention_role_ids=(1234,))
            times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


class Watch:
    """Counts the fake's answered message posts as they happen (no polling of copies)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.seen = 0
        self.posts: dict[int, list[float]] = {}  # channel id -> times of answered posts

    def update(self) -> None:
        requests = self.fake.requests
        while self.seen < len(requests) and requests[self.seen].status:
            request = requests[self.seen]
            if request.method == "POST" and request.route == POST and request.status == 200:
                channel_id = int(request.path.split("/")[2])
                self.posts.setdefault(channel_id, []).append(request.at)
            self.seen += 1

    def first(self, channel_id: int) -> float | None:
        """When the channel's first post was answered, if it was."""
        self.update()
        times = self.posts.get(channel_id)
        return times[0] if times else None

    def count(self, channel_ids: set[int]) -> int:
        self.update()
        return sum(1 for c in channel_ids if self.posts.get(c))


async def until(check: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


def _baseline_done(database: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return bool(list(db.execute("SELECT 1 FROM sources WHERE baseline_done_at")))
    except sqlite3.Error:
        return False


async def run(channels: int, runs: int, workdir: Path, fmt_name: str = "default") -> dict[str, Any]:
    fake = FakeDiscord(global_per_second=GLOBAL_PER_SECOND, per_channel=PER_CHANNEL)
    await fake.start()
    process = None
    try:
        fan: list[FakeChannel] = []
        for n in range(0, channels, CHANNELS_PER_GUILD):
            guild = fake.add_guild(f"Fan-out {n // CHANNELS_PER_GUILD}", system_channel=False)
            fan += [guild.add_channel(f"news-{i}") for i in range(min(100, channels - n))]
        solo_guild = fake.add_guild("Latency", system_channel=False)
        solo = [solo_guild.add_channel(f"latency-{i}") for i in range(runs)]

        content = workdir / "content"
        shutil.copytree(SAMPLES, content)
        database = workdir / "newsbot.sqlite3"
        await subscribe_channels(
            database,
            [(c.guild.id, c.id, ("fan-out",)) for c in fan]
            + [(c.guild.id, c.id, (f"latency-{i}",)) for i, c in enumerate(solo)],
        )
        if fmt_name != "default":
            await set_formats(database, fan + solo, FORMATS[fmt_name])
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)

        env = bot_env(
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            token=fake.token,
            content_dir=content,
            database=database,
        )
        log = workdir / "bot.log"
        process = start_bot(env, workdir, log)
        await until(lambda: _baseline_done(database), 60, "the first scan")
        await until(lambda: "delivering posts" in log.read_text(errors="replace"), 60, "ready")
        watch = Watch(fake)

        # -- fan-out ------------------------------------------------------------------
        fan_ids = {c.id for c in fan}
        limited_before = fake.stats.rate_limited
        requests_before = fake.stats.requests
        started = time.monotonic()
        write_article(content, "fan-out", "One Article For Every Channel", tags=["Fan-out"])
        await until(lambda: watch.count(fan_ids) >= len(fan_ids), 600, "the fan-out")
        times = sorted(t for c in fan_ids for t in watch.posts[c])
        total = times[-1] - started
        sending = times[-1] - times[0]
        floor = len(fan_ids) / GLOBAL_PER_SECOND
        duplicates = sum(len(watch.posts[c]) - 1 for c in fan_ids)
        fan_429 = fake.stats.rate_limited - limited_before
        fan_requests = fake.stats.requests - requests_before

        # -- latency --------------------------------------------------------------------
        await asyncio.sleep(1.0)
        latencies = []
        for i, channel in enumerate(solo):
            began = time.monotonic()
            write_article(content, f"latency-{i}", f"Latency Probe {i}", tags=[f"latency-{i}"])
            arrived = await until(lambda c=channel.id: watch.first(c), 30, f"latency run {i}")  # type: ignore[misc]
            latencies.append(arrived - began)
            await asyncio.sleep(0.25)

        result = {
            "format": fmt_name,
            "channels": len(fan_ids),
            "global_limit_per_s": GLOBAL_PER_SECOND,
            "pacer_rate_per_s": DEFAULT_RATE,
            "floor_s": round(floor, 3),
            "fanout_total_s": round(total, 3),
            "fanout_sending_s": round(sending, 3),
            "fanout_ratio": round(total / floor, 3),
            "first_post_s": round(times[0] - started, 3),
            "fanout_429s": fan_429,
            "fanout_requests": fan_requests,
            "duplicate_posts": duplicates,
            "latency_runs": len(latencies),
            "latency_median_ms": round(statistics.median(latencies) * 1000, 1),
            "latency_p90_ms": round(_quantile(latencies, 0.9) * 1000, 1),
            "latency_max_ms": round(max(latencies) * 1000, 1),
            "total_429s": fake.stats.rate_limited,
            "invalid_requests": fake.stats.invalid_requests,
            "violations": len(fake.violations),
        }
        stop(process)
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        result["bot_cpu_s"] = round(
            cpu.ru_utime + cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 3
        )
        result["render_us"] = round(render_us(FORMATS[fmt_name]), 1)
        return result
    finally:
        if process is not None:
            stop(process)
        await fake.stop()


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def print_table(r: dict[str, Any]) -> None:
    rows = [
        ("channels", f"{r['channels']:,}", ""),
        (
            "limit-imposed floor",
            f"{r['floor_s']:.1f} s",
            f"{r['channels']} / {r['global_limit_per_s']}/s",
        ),
        ("fan-out, file to last post", f"{r['fanout_total_s']:.2f} s", "target <= 1.2 x floor"),
        ("  ratio to the floor", f"{r['fanout_ratio']:.3f}", "target <= 1.2"),
        ("  first post after", f"{r['first_post_s'] * 1000:.0f} ms", ""),
        ("  429 answers", f"{r['fanout_429s']}", "target 0"),
        ("  duplicate posts", f"{r['duplicate_posts']}", "must be 0"),
        ("file to post, median", f"{r['latency_median_ms']:.0f} ms", "target < 500 ms"),
        (
            "file to post, p90 / max",
            f"{r['latency_p90_ms']:.0f} / {r['latency_max_ms']:.0f} ms",
            f"{r['latency_runs']} runs",
        ),
    ]
    print_rows("Delivery fan-out (bot process -> fake Discord with Discord's limits)", rows)


def print_rows(title: str, rows: Sequence[tuple[str, str, str]], width: int = 28) -> None:
    """A benchmark's table: a title, then a name, a figure and a note per row."""
    print(title)
    for name, value, note in rows:
        print(f"  {name:<{width}}{value:>14}   {note}")


def run_in_workdir(
    prefix: str, keep: bool, run_in: Callable[[Path], Coroutine[Any, Any, dict[str, Any]]]
) -> dict[str, Any]:
    """``run_in(folder)`` in a new temporary folder, removed afterwards unless ``keep``."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return asyncio.run(run_in(workdir))
    finally:
        if keep:
            print(f"work folder: {workdir}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser("bench.fanout", __doc__)
    parser.add_argument("--channels", type=int, default=1000, help="channels to fan out to")
    parser.add_argument("--runs", type=int, default=20, help="latency runs")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (bot.log)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="default", help="post format")
    parser.add_argument(
        "--side-by-side", type=int, default=0, metavar="N", help="N runs of each format, medians"
    )
    args = parser.parse_args(argv)
    if args.side_by_side > 0:
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in FORMATS}
        for _ in range(args.side_by_side):
            for name in FORMATS:
                results[name].append(
                    run_in_workdir(
                        "newsbot-fanout-",
                        args.keep,
                        lambda workdir, n=name: run(args.channels, args.runs, workdir, n),  # type: ignore[misc]
                    )
                )
        summary = side_by_side(results)
        print_side_by_side(summary)
        print(json.dumps(summary, separators=(",", ":")))
        return 0
    result = run_in_workdir(
        "newsbot-fanout-",
        args.keep,
        lambda workdir: run(args.channels, args.runs, workdir, args.format),
    )
    print_table(result)
    print(json.dumps(result, separators=(",", ":")))
    return 0


COMPARED = (
    ("fanout_total_s", "fan-out, file to last post", "s"),
    ("latency_median_ms", "file to post, median", "ms"),
    ("bot_cpu_s", "bot process CPU time", "s"),
    ("render_us", "render one post", "µs"),
    ("fanout_429s", "429 answers", ""),
    ("duplicate_posts", "duplicate posts", ""),
)


def side_by_side(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per format, the median and the range of each compared figure over its runs."""
    summary: dict[str, Any] = {"runs": len(results["default"])}
    for key, _, _ in COMPARED:
        for name, runs in results.items():
            values = [r[key] for r in runs]
            summary[f"{name}_{key}"] = round(statistics.median(values), 3)
            summary[f"{name}_{key}_range"] = [min(values), max(values)]
    return summary


def print_side_by_side(summary: dict[str, Any]) -> None:
    rows = []
    for key, name, unit in COMPARED:
        d, c = summary[f"default_{key}"], summary[f"custom_{key}"]
        low, high = summary[f"default_{key}_range"], summary[f"custom_{key}_range"]
        rows.append(
            (
                name,
                f"{d:g} / {c:g} {unit}",
                f"ranges {low[0]:g}-{low[1]:g} / {high[0]:g}-{high[1]:g}",
            )
        )
    print_rows(f"Default / custom format, medians of {summary['runs']} runs each", rows)


if __name__ == "__main__":
    sys.exit(main())
