"""Real bot processes (``python -m bot run``) sharing one PostgreSQL database, each on
its own shards of the sharded fake Discord: started, stopped, and read from their logs."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bot.delivery.channels import ChannelFacts
from bot.store import Store
from tests.delivery.harness import bot_env, start_bot
from tests.fakediscord.models import FakeChannel, FakeRole
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

LISTENING = re.compile(r"HTTP listener on 127\.0\.0\.1:(\d+)")


class Fleet:
    """The bot processes, their logs, and the database they share."""

    def __init__(
        self, fake: FakeDiscord, tmp_path: Path, url: str, content: Path, shard_count: int
    ) -> None:
        self.fake = fake
        self.tmp_path = tmp_path
        self.url = url
        self.shard_count = shard_count
        self.env = bot_env(
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            token=fake.token,
            content_dir=content,
            database=url,
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}  # where each process's latest run begins in its log

    def log(self, shards: str) -> Path:
        return self.tmp_path / f"bot-{shards}.log"

    def start(self, shards: str) -> None:
        env = self.env | {
            "NEWSBOT_SHARD_COUNT": str(self.shard_count),
            "NEWSBOT_SHARD_IDS": shards,
        }
        log = self.log(shards)
        self.starts[shards] = log.stat().st_size if log.exists() else 0
        self.processes[shards] = start_bot(env, self.tmp_path, self.log(shards))

    def output(self, shards: str) -> str:
        """What the latest run of the process logged so far."""
        with self.log(shards).open("rb") as log:
            log.seek(self.starts[shards])
            return log.read().decode(errors="replace")

    def said(self, shards: str, text: str) -> int:
        """How often the latest run of the process said ``text``."""
        return self.output(shards).count(text)

    def port(self, shards: str) -> int | None:
        """The port of the process's HTTP listener (``NEWSBOT_HTTP_ADDR=127.0.0.1:0``),
        once it said it."""
        found = LISTENING.search(self.output(shards))
        return int(found.group(1)) if found else None

    async def start_all(self, ranges: Sequence[str]) -> None:
        """Start a process on each shard range; wait until every shard connected."""
        for shards in ranges:
            self.start(shards)
        await wait_until(
            lambda: (
                self.check_alive()
                or sorted(self.fake.stats.identified_shards) == list(range(self.shard_count))
            ),
            "every shard of every process connected",
            timeout=60,
        )

    async def led(self) -> str:
        """Wait until one process leads and has made its first scan; which one."""
        await wait_until(lambda: len(self.leaders()) == 1, "one leader", timeout=30)
        await wait_until(self.scanned, "the leader's first scan", timeout=60, interval=0.5)
        (leader,) = self.leaders()
        return leader

    async def scanned(self) -> bool:
        self.check_alive()
        return bool(
            await self.count("SELECT count(*) FROM sources WHERE baseline_done_at IS NOT NULL")
        )

    def check_alive(self) -> None:
        for shards, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"the bot on shards {shards} exited ({process.returncode})")

    def leaders(self) -> list[str]:
        """The processes that said they lead and never said they stopped."""
        return [
            shards
            for shards in self.processes
            if self.said(shards, "leading: running") > self.said(shards, "stopped leading")
        ]

    async def query(self, sql: str) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.url)
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

    async def count(self, sql: str) -> int:
        return int((await self.query(sql))[0][0])

    async def subscribe(self, channel: FakeChannel, role: FakeRole | None = None) -> None:
        """Subscribe ``channel`` to every article (pinging ``role``), as a moderator
        would have, before or while the processes run."""
        store = await Store.open(self.url)
        try:
            await store.subscribe(
                channel.guild.id,
                channel.id,
                tags=(),
                exclude_tags=(),
                mention_role_id=role.id if role is not None else None,
                by_user_id=1,
                now=datetime.now(UTC),
            )
        finally:
            await store.close()

    async def published(self, channel: FakeChannel) -> ChannelFacts | None:
        """What the process serving the channel's server published about it."""
        rows = await self.query(f"SELECT facts FROM channel_facts WHERE channel_id = {channel.id}")
        return ChannelFacts.from_json(rows[0][0]) if rows else None
