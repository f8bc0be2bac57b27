"""Three bot processes on six shards share one PostgreSQL database.

Real ``python -m bot run`` processes against the sharded fake Discord: each serves the
gateway of its own two shards, one of them leads (runs the content folder and sends
the posts). The leader is killed with ``kill -9`` in the middle of a fan-out to 300
channels; another process takes over and finishes it, every channel gets the post
exactly once (the fake answers posts late, so some were made but not recorded: they
are sent again with their nonce, and the fake, like Discord, posts nothing twice).
Lookups and admin commands keep working on the survivors; the killed process
restarts and follows. Their IDENTIFYs, together, respect ``max_concurrency``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.leader import LEADER_KEY, LOCK_SPACE
from bot.store import Store
from tests.delivery.harness import bot_env, kill, start_bot, stop, write_article
from tests.e2e.conftest import SAMPLES, listed_titles
from tests.e2e.test_delivery_restart import slow_answers
from tests.fakediscord import FakeChannel, FakeGuild, FakeMember, Permission
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

SHARDS = 6
RANGES = ("0-1", "2-3", "4-5")
GUILDS = 30
CHANNELS_PER_GUILD = 10  # 300 channels
KILL_AFTER = 40
EPHEMERAL = 1 << 6

# Three identify buckets for six shards: processes share buckets and must take turns.
pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=3)


class Fleet:
    """The bot processes, their logs, and the database they share."""

    def __init__(self, fake: FakeDiscord, tmp_path: Path, url: str, content: Path) -> None:
        self.fake = fake
        self.tmp_path = tmp_path
        self.url = url
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
        env = self.env | {"NEWSBOT_SHARD_COUNT": str(SHARDS), "NEWSBOT_SHARD_IDS": shards}
        log = self.log(shards)
        self.starts[shards] = log.stat().st_size if log.exists() else 0
        self.processes[shards] = start_bot(env, self.tmp_path, self.log(shards))

    def said(self, shards: str, text: str) -> int:
        """How often the latest run of the process said ``text``."""
        with self.log(shards).open("rb") as log:
            log.seek(self.starts[shards])
            return log.read().decode(errors="replace").count(text)

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


async def subscribe(url: str, channels: list[FakeChannel]) -> None:
    store = await Store.open(url)
    try:
        for channel in channels:
            await store.subscribe(
                channel.guild.id,
                channel.id,
                tags=(),
                exclude_tags=(),
                mention_role_id=None,
                by_user_id=1,
                now=datetime.now(UTC),
            )
    finally:
        await store.close()


@pytest.fixture
async def fleet(
    fake_discord: FakeDiscord, tmp_path: Path, postgres_url: str
) -> AsyncIterator[Fleet]:
    content = tmp_path / "content"
    shutil.copytree(SAMPLES, content)
    fleet = Fleet(fake_discord, tmp_path, postgres_url, content)
    try:
        yield fleet
    finally:
        for process in fleet.processes.values():
            kill(process)


async def test_three_processes_fail_over_mid_fan_out_and_post_once(fleet: Fleet) -> None:
    fake = fleet.fake
    guilds: list[FakeGuild] = [fake.add_guild(f"Server {n}") for n in range(GUILDS)]
    assert {fake.shard_of(g, SHARDS) for g in guilds} == set(range(SHARDS))
    mods: dict[int, FakeMember] = {
        g.id: g.add_member(f"mod-{n}", permissions=Permission.MANAGE_GUILD)
        for n, g in enumerate(guilds)
    }
    channels = [g.add_channel(f"news-{i}") for g in guilds for i in range(CHANNELS_PER_GUILD)]
    await subscribe(fleet.url, channels)
    slow_answers(fake, 0.3)

    def posted() -> int:
        fleet.check_alive()
        return sum(len(fake.messages(c)) for c in channels)

    for shards in RANGES:
        fleet.start(shards)
    await wait_until(
        lambda: fleet.check_alive() or sorted(fake.stats.identified_shards) == list(range(SHARDS)),
        "every shard of every process connected",
        timeout=60,
    )
    await wait_until(lambda: len(fleet.leaders()) == 1, "one leader", timeout=30)

    async def scanned() -> bool:
        fleet.check_alive()
        return bool(
            await fleet.count("SELECT count(*) FROM sources WHERE baseline_done_at IS NOT NULL")
        )

    async def all_sent() -> bool:
        fleet.check_alive()
        sent = await fleet.count("SELECT count(*) FROM deliveries WHERE state = 'sent'")
        return sent == len(channels)

    await wait_until(scanned, "the leader's first scan", timeout=60, interval=0.5)
    (leader,) = fleet.leaders()
    survivors = [s for s in RANGES if s != leader]

    write_article(
        Path(fleet.env["NEWSBOT_CONTENT_DIR"]),
        "breaking",
        "Breaking: Everyone Gets This Once",
        tags=["News"],
    )
    await wait_until(lambda: posted() >= KILL_AFTER, f"{KILL_AFTER} posts", timeout=60)
    kill(fleet.processes[leader])
    at_kill = sum(len(fake.messages(c)) for c in channels)
    assert at_kill < len(channels), "the fan-out finished before the kill"

    # While a survivor takes over: lookups and admin commands on the survivors' shards.
    survivor_shards = {int(n) for s in survivors for n in s.split("-")}
    served = [g for g in guilds if fake.shard_of(g, SHARDS) in survivor_shards]
    for guild in served[:4]:
        interaction = await fake.invoke(
            guild, guild.channel("general"), mods[guild.id], "news latest"
        )
        message = await interaction.original_message()
        assert listed_titles(message["embeds"][0])
        interaction = await fake.invoke(
            guild, guild.channel("general"), mods[guild.id], "newsadmin list"
        )
        message = await interaction.original_message()
        assert message["flags"] & EPHEMERAL
        assert "news-0" in str(message["content"]) + str(message.get("embeds"))

    del fleet.processes[leader]
    await wait_until(lambda: len(fleet.leaders()) == 1, "a survivor leading", timeout=60)
    await wait_until(all_sent, "every post recorded", timeout=120, interval=0.5)

    # The killed process comes back and follows.
    fleet.start(leader)
    await wait_until(
        lambda: fleet.check_alive() or fleet.said(leader, "following"),
        "the restarted process following",
        timeout=60,
    )
    assert leader not in fleet.leaders()
    assert len(fleet.leaders()) == 1
    holders = await fleet.count(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        f"AND classid = {LOCK_SPACE} AND objid = {LEADER_KEY}"
    )
    assert holders == 1

    await fake.wait_until_settled()
    per_channel = {c.id: len(fake.messages(c)) for c in channels}
    assert set(per_channel.values()) == {1}, per_channel
    assert fake.stats.invalid_sessions == 0  # IDENTIFYs of all processes took turns

    for shards, process in list(fleet.processes.items()):
        assert stop(process) == 0, shards
        del fleet.processes[shards]
    assert not fake.violations
    for shards in RANGES:
        assert "Traceback" not in fleet.log(shards).read_text(encoding="utf-8", errors="replace")
