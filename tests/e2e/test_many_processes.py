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

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.leader import LEADER_KEY, LOCK_SPACE
from tests.delivery.harness import (
    kill,
    slow_answers,
    stop,
    subscribe_channels,
    write_article,
)
from tests.e2e.conftest import listed_titles
from tests.e2e.fleet import Fleet
from tests.fakediscord import FakeGuild, FakeMember, Permission
from tests.postgres import PostgresServer
from tests.waiting import wait_until

SHARDS = 6
RANGES = ("0-1", "2-3", "4-5")
GUILDS = 30
CHANNELS_PER_GUILD = 10  # 300 channels
KILL_AFTER = 40
EPHEMERAL = 1 << 6

# Three identify buckets for six shards: processes share buckets and must take turns.
pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=3)


class Desk:
    """Thirty servers on six shards, ten subscribed channels each, served by three
    processes that have connected and made their first scan."""

    def __init__(self, fleet: Fleet) -> None:
        fake = self.fake = fleet.fake
        self.fleet = fleet
        self.guilds: list[FakeGuild] = [fake.add_guild(f"Server {n}") for n in range(GUILDS)]
        assert {fake.shard_of(g, SHARDS) for g in self.guilds} == set(range(SHARDS))
        self.mods: dict[int, FakeMember] = {
            g.id: g.add_member(f"mod-{n}", permissions=Permission.MANAGE_GUILD)
            for n, g in enumerate(self.guilds)
        }
        self.channels = [
            g.add_channel(f"news-{i}") for g in self.guilds for i in range(CHANNELS_PER_GUILD)
        ]

    async def open(self) -> None:
        fleet, fake = self.fleet, self.fake
        await subscribe_channels(fleet.url, [(c.guild.id, c.id, ()) for c in self.channels])
        slow_answers(fake, 0.3)
        await fleet.start_all(RANGES)
        await fleet.led()

    async def all_sent(self) -> bool:
        self.fleet.check_alive()
        sent = await self.fleet.count("SELECT count(*) FROM deliveries WHERE state = 'sent'")
        return sent == len(self.channels)

    def posted(self) -> int:
        self.fleet.check_alive()
        return sum(len(self.fake.messages(c)) for c in self.channels)

    async def publish(self, at_least: int) -> None:
        """Publish an article and wait until ``at_least`` of its posts are out."""
        write_article(
            Path(self.fleet.env["NEWSBOT_CONTENT_DIR"]),
            "breaking",
            "Breaking: Everyone Gets This Once",
            tags=["News"],
        )
        await wait_until(lambda: self.posted() >= at_least, f"{at_least} posts", timeout=60)

    async def each_once(self) -> None:
        """Wait for every post to be recorded and Discord to settle: one each."""
        await wait_until(self.all_sent, "every post recorded", timeout=120, interval=0.5)
        await self.fake.wait_until_settled()
        per_channel = {c.id: len(self.fake.messages(c)) for c in self.channels}
        assert set(per_channel.values()) == {1}, per_channel


async def test_three_processes_fail_over_mid_fan_out_and_post_once(fleet: Fleet) -> None:
    desk = Desk(fleet)
    fake, guilds, mods, channels = desk.fake, desk.guilds, desk.mods, desk.channels
    await desk.open()
    (leader,) = fleet.leaders()
    survivors = [s for s in RANGES if s != leader]
    await desk.publish(KILL_AFTER)
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
    await desk.each_once()

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

    await desk.each_once()
    assert fake.stats.invalid_sessions == 0  # IDENTIFYs of all processes took turns

    # A subscribe with backfill handled by a follower (the restarted process's shards)
    # reaches the leader through the database and NOTIFY, and the post goes out.
    own = {int(n) for n in leader.split("-")}
    await wait_until(
        lambda: all(fake.stats.identified_shards.count(n) == 2 for n in own),
        "the restarted process's shards connected again",
        timeout=60,
    )
    guild = next(g for g in guilds if fake.shard_of(g, SHARDS) in own)
    fresh = guild.add_channel("late-news")
    interaction = await fake.invoke(
        guild,
        guild.channel("general"),
        mods[guild.id],
        "newsadmin subscribe",
        options={"channel": fresh, "backfill": 1},
    )
    message = await interaction.original_message()
    assert "Posting the 1 most recent matching article." in str(message["content"])
    await wait_until(lambda: fake.messages(fresh), "the backfilled post", timeout=30)

    for shards, process in list(fleet.processes.items()):
        assert stop(process) == 0, shards
        del fleet.processes[shards]
    assert not fake.violations
    for shards in RANGES:
        assert "Traceback" not in fleet.log(shards).read_text(encoding="utf-8", errors="replace")


async def test_the_database_away_for_10_s_mid_fan_out_loses_nothing(
    fleet: Fleet, postgres_server: PostgresServer
) -> None:
    desk = Desk(fleet)
    await desk.open()
    await desk.publish(KILL_AFTER)
    # The database goes away: every connection to it ended, none accepted, for 10 s.
    admin = await asyncpg.connect(postgres_server.url())
    try:
        name = urlsplit(fleet.url).path.strip("/")
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        away_at = desk.posted()
        assert away_at < len(desk.channels), "the fan-out finished before the database left"
        await asyncio.sleep(10)  # the outage itself, not a wait for a condition
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    finally:
        await admin.close()
    await desk.each_once()
    # The processes kept their gateways and said so once per change of state.
    assert fake_resumes_or_reconnects(desk) == 0
    for shards in RANGES:
        assert fleet.said(shards, "database unreachable") == 1, shards
    await wait_until(lambda: len(fleet.leaders()) == 1, "one leader again", timeout=30)
    for shards, process in list(fleet.processes.items()):
        assert stop(process) == 0, shards
        del fleet.processes[shards]


def fake_resumes_or_reconnects(desk: Desk) -> int:
    """Gateway connections beyond the first of each shard."""
    return desk.fake.stats.gateway_connects - SHARDS
