"""Benchmark: one bot process in 10,000 servers, sharded as Discord recommends.

Run from the repository root::

    python -m bench.shards                            # 10,000 servers (~6 min)
    python -m bench.shards --guilds 2000 --fan-out 1000   # quicker

What it does:

1. Starts ``tests.fakediscord`` in this process with Discord's rules: ``--guilds``
   servers, each with 10 channels and 10 roles; GET /gateway/bot recommends one shard
   per 1,000 servers with ``max_concurrency`` 16; one IDENTIFY per bucket per 5 s;
   50 requests per second per bot and 5 messages per 5 s per channel (429s beyond).
2. Writes two subscriptions per server through the store API (20,000 for 10,000
   servers); ``--fan-out`` of them (5,000) want the tag the benchmark article carries.
3. Runs the real bot as its own process (``python -m bot run``) on a copy of the sample
   articles and times process start to every shard ready (the bot's ``on_ready``); reads
   the process's resident memory when it starts connecting (``VmRSS``) and its peak at
   the end (``VmHWM``): the difference per server is the cost of a server.
4. Writes one article the ``--fan-out`` channels want and times the file to the last
   post; the floor is ``channels / 50`` s (Discord's global limit), the figure the ratio
   to it, with the number of 429 answers and the most requests the fake counted
   against the global limit in one second. Meanwhile a reader runs ``/news latest`` and
   ``/news search`` every ``--lookup-every`` seconds in servers of every shard; their
   latency is the time from the interaction being dispatched on the gateway to the
   bot's answer arriving at the fake, as in ``bench.lookups``.

Prints a table, then one line of JSON with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import argument_parser
from bench.fanout import (
    GLOBAL_PER_SECOND,
    PER_CHANNEL,
    SAMPLES,
    Watch,
    _quantile,
    print_rows,
    run_in_workdir,
    until,
)
from bot.delivery.limiter import DEFAULT_RATE
from tests.delivery.harness import bot_env, start_bot, stop, subscribe_channels, write_article
from tests.fakediscord.models import FakeChannel, FakeGuild, FakeMember
from tests.fakediscord.server import FakeDiscord

CHANNELS_PER_GUILD = 10
ROLES_PER_GUILD = 10  # with @everyone and the bot's own role
MAX_CONCURRENCY = 16
TAG = "fan-out"


def _proc_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def build_world(fake: FakeDiscord, guilds: int) -> list[FakeGuild]:
    made = []
    for n in range(guilds):
        guild = fake.add_guild(f"Server {n}")  # with #general
        for c in range(CHANNELS_PER_GUILD - 1):
            guild.add_channel(f"news-{c}")
        for r in range(ROLES_PER_GUILD - 2):
            guild.add_role(f"role-{r}")
        made.append(guild)
    return made


def subscriptions(guilds: list[FakeGuild], fan_out: int) -> list[tuple[int, int, tuple[str, ...]]]:
    """Two channels a server; the first ``fan_out`` subscriptions want the tag."""
    rows = []
    for guild in guilds:
        for channel in [c for c in guild.channels.values() if c.name != "general"][:2]:
            tags = (TAG,) if len(rows) < fan_out else (f"quiet-{len(rows) % 50}",)
            rows.append((guild.id, channel.id, tags))
    return rows


async def lookups(
    fake: FakeDiscord, readers: list[tuple[FakeGuild, FakeChannel, FakeMember]], every: float
) -> dict[str, list[float]]:
    """``/news latest`` and ``/news search``, in turn, round the readers, until cancelled."""
    samples: dict[str, list[float]] = {"latest": [], "search": []}
    n = 0
    try:
        while True:
            guild, channel, member = readers[n % len(readers)]
            kind = "latest" if n % 2 == 0 else "search"
            options = {} if kind == "latest" else {"query": "council"}
            interaction = await fake.invoke(guild, channel, member, f"news {kind}", options=options)
            await until(lambda i=interaction: i.callback_delay is not None, 30, "an answer")  # type: ignore[misc]
            assert interaction.callback_delay is not None
            samples[kind].append(interaction.callback_delay)
            n += 1
            await asyncio.sleep(every)
    except asyncio.CancelledError:
        return samples


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(_quantile(values, 0.5) * 1000, 1),
        "p99_ms": round(_quantile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    fake = FakeDiscord(
        global_per_second=GLOBAL_PER_SECOND,
        per_channel=PER_CHANNEL,
        max_concurrency=MAX_CONCURRENCY,
    )
    await fake.start()
    process = None
    try:
        began = time.monotonic()
        guilds = build_world(fake, args.guilds)
        shards = fake.gateway.recommended_shards()
        by_shard: dict[int, FakeGuild] = {}
        for guild in guilds:
            by_shard.setdefault(fake.shard_of(guild, shards), guild)
        readers = [
            (g, g.channel("general"), g.add_member(f"reader-{k}")) for k, g in by_shard.items()
        ]
        content = workdir / "content"
        shutil.copytree(SAMPLES, content)
        database = workdir / "newsbot.sqlite3"
        rows = subscriptions(guilds, args.fan_out)
        await subscribe_channels(database, rows)
        setup_s = time.monotonic() - began
        # The fake's world is built once and kept: out of the collector's sight, so its
        # full collections do not stall the fake's event loop (requests arriving in a
        # burst after a stall would count as the bot's).
        gc.collect()
        gc.freeze()
        print(f"set up {len(guilds):,} servers and {len(rows):,} subscriptions", file=sys.stderr)

        env = bot_env(
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            token=fake.token,
            content_dir=content,
            database=database,
        )
        log = workdir / "bot.log"
        started = time.monotonic()
        process = start_bot(env, workdir, log)
        pid = process.pid

        def logged(text: str) -> bool:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the bot stopped: {log.read_text(errors='replace')[-2000:]}")
            return text in log.read_text(errors="replace")

        await until(lambda: logged("shards,"), 120, "the shards to start connecting")
        connecting_s = time.monotonic() - started
        base_rss_kb = _proc_kb(pid, "VmRSS")
        await until(lambda: logged("connected as"), 300, "every shard ready")
        ready_s = time.monotonic() - started
        ready_rss_kb = _proc_kb(pid, "VmRSS")
        await until(lambda: logged("delivering posts"), 60, "the deliverer")
        print(f"every shard ready after {ready_s:.1f} s", file=sys.stderr)

        # -- fan-out, with lookups meanwhile ----------------------------------------------
        watch = Watch(fake)
        fan_ids = {channel_id for _, channel_id, tags in rows if tags == (TAG,)}
        limited_before = fake.stats.rate_limited
        reader = asyncio.create_task(lookups(fake, readers, args.lookup_every))
        fan_began = time.monotonic()
        write_article(content, "fan-out", "One Article For Thousands Of Servers", tags=[TAG])
        # Checked twice a second: the figures come from the fake's own timestamps.
        while watch.count(fan_ids) < len(fan_ids):
            if time.monotonic() - fan_began > 3600:
                raise TimeoutError("timed out waiting for the fan-out")
            await asyncio.sleep(0.5)
        reader.cancel()
        samples = await reader
        times = sorted(t for c in fan_ids for t in watch.posts[c])
        total = times[-1] - fan_began
        floor = len(fan_ids) / GLOBAL_PER_SECOND
        peak_kb = _proc_kb(pid, "VmHWM")
        late = fake.take_violations("late_interaction_response")
        return {
            "guilds": len(guilds),
            "channels_per_guild": CHANNELS_PER_GUILD,
            "roles_per_guild": ROLES_PER_GUILD,
            "subscriptions": len(rows),
            "shards": shards,
            "max_concurrency": MAX_CONCURRENCY,
            "identifies": fake.stats.identifies,
            "invalid_sessions": fake.stats.invalid_sessions,
            "setup_s": round(setup_s, 1),
            "start_to_connecting_s": round(connecting_s, 2),
            "start_to_all_ready_s": round(ready_s, 2),
            "rss_before_connecting_mb": round(base_rss_kb / 1024, 1),
            "rss_all_ready_mb": round(ready_rss_kb / 1024, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "per_server_kb": round((peak_kb - base_rss_kb) / len(guilds), 1),
            "fanout_channels": len(fan_ids),
            "pacer_rate_per_s": DEFAULT_RATE,
            "floor_s": round(floor, 2),
            "fanout_total_s": round(total, 2),
            "fanout_ratio": round(total / floor, 3),
            "fanout_429s": fake.stats.rate_limited - limited_before,
            "busiest_second": fake.busiest_second,
            "duplicate_posts": sum(len(watch.posts[c]) - 1 for c in fan_ids),
            "latest": _summary(samples["latest"]),
            "search": _summary(samples["search"]),
            "late_answers": len(late),
            "violations": [str(v) for v in fake.violations[:5]],
        }
    finally:
        if process is not None:
            stop(process)
        await fake.stop()


def print_table(r: dict[str, Any]) -> None:
    rows = [
        (
            "servers",
            f"{r['guilds']:,}",
            f"{r['channels_per_guild']} channels, "
            f"{r['roles_per_guild']} roles each; {r['subscriptions']:,} subscriptions",
        ),
        (
            "shards",
            f"{r['shards']}",
            f"max_concurrency {r['max_concurrency']}, {r['invalid_sessions']} invalid sessions",
        ),
        ("start to every shard ready", f"{r['start_to_all_ready_s']:.1f} s", "target < 15 s"),
        (
            "  of which to first connect",
            f"{r['start_to_connecting_s']:.1f} s",
            "process start, store, cogs",
        ),
        ("peak RSS", f"{r['peak_rss_mb']:.0f} MB", "target < 400 MB"),
        ("  per server", f"{r['per_server_kb']:.1f} KB", "peak minus RSS before connecting"),
        (
            "fan-out, file to last post",
            f"{r['fanout_total_s']:.1f} s",
            f"{r['fanout_channels']:,} channels; floor {r['floor_s']:.0f} s",
        ),
        ("  ratio to the floor", f"{r['fanout_ratio']:.3f}", "target <= 1.15"),
        ("  429 answers", f"{r['fanout_429s']}", "target 0"),
        (
            "  busiest second",
            f"{r['busiest_second']} requests",
            "the fake's count; Discord allows 50, the pacer at most 48",
        ),
        ("  duplicate posts", f"{r['duplicate_posts']}", "must be 0"),
        (
            "/news latest p50 / p99",
            f"{r['latest']['p50_ms']:.0f} / {r['latest']['p99_ms']:.0f} ms",
            f"{r['latest']['n']} during the fan-out; target p99 < 25 ms",
        ),
        (
            "/news search p50 / p99",
            f"{r['search']['p50_ms']:.0f} / {r['search']['p99_ms']:.0f} ms",
            f"{r['search']['n']} during the fan-out; target p99 < 25 ms",
        ),
    ]
    title = "One bot process, sharded (bot process -> fake Discord with Discord's limits)"
    print_rows(title, rows, width=30)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench.shards", __doc__)
    parser.add_argument("--guilds", type=int, default=10_000, help="servers the bot is in")
    parser.add_argument("--fan-out", type=int, default=5_000, help="channels the article goes to")
    parser.add_argument("--lookup-every", type=float, default=0.2, help="seconds between lookups")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (bot.log)")
    args = parser.parse_args(argv)
    if not 0 < args.fan_out <= 2 * args.guilds:
        parser.error("--fan-out must be between 1 and twice --guilds")
    result = run_in_workdir("newsbot-shards-", args.keep, lambda workdir: run(args, workdir))
    print_table(result)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
