"""The bot on four shards against the sharded fake Discord: every shard serves its
servers (lookups, admin commands, guild and channel events), delivery reaches channels
on every shard exactly once, over REST even while a shard is down, and a process
limited by NEWSBOT_SHARD_IDS connects only its own shards."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot.delivery.policy as policy
import bot.shards
from bot.client import NewsBot
from bot.client import run_bot as newsbot_run
from bot.config import Settings, load_settings
from bot.monitor import gateway_of
from tests.delivery.harness import write_article
from tests.e2e.conftest import (
    PUBLISHED_NEWEST_FIRST,
    listed_titles,
    make_bot,
    wait_until_idle,
    wait_until_scanned,
)
from tests.e2e.test_startup import one_error_line
from tests.fakediscord import FakeChannel, FakeGuild, FakeMember, Permission, overwrite
from tests.fakediscord.plugin import BotRunner, RunBot
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

SHARDS = 4
EPHEMERAL = 1 << 6

pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS)


@dataclass
class Server:
    """One guild with a moderator, a reader and a #news channel."""

    guild: FakeGuild
    mod: FakeMember
    reader: FakeMember
    news: FakeChannel


def servers(fake: FakeDiscord, count: int) -> list[Server]:
    """``count`` guilds; consecutive guilds land on consecutive shards."""
    made = []
    for n in range(count):
        guild = fake.add_guild(f"Server {n}")
        made.append(
            Server(
                guild,
                guild.add_member(f"mod-{n}", permissions=Permission.MANAGE_GUILD),
                guild.add_member(f"reader-{n}"),
                guild.add_channel("news"),
            )
        )
    return made


@dataclass
class Fleet:
    fake: FakeDiscord
    runner: BotRunner[NewsBot]
    servers: list[Server]
    content: Path

    @property
    def bot(self) -> NewsBot:
        return self.runner.bot

    def on_shard(self, shard: int) -> list[Server]:
        return [s for s in self.servers if self.fake.shard_of(s.guild, SHARDS) == shard]

    async def admin(self, server: Server, command: str, **options: Any) -> str:
        interaction = await self.fake.invoke(
            server.guild,
            server.guild.channel("general"),
            server.mod,
            f"newsadmin {command}",
            options=options,
        )
        message = await interaction.original_message()
        assert message["flags"] & EPHEMERAL
        return str(message["content"])

    async def latest(self, server: Server) -> list[str]:
        interaction = await self.fake.invoke(
            server.guild, server.guild.channel("general"), server.reader, "news latest"
        )
        message = await interaction.original_message()
        return listed_titles(message["embeds"][0])

    async def subscribe_all(self, channels: list[tuple[FakeGuild, FakeChannel]]) -> None:
        for guild, channel in channels:
            await self.bot.store.subscribe(
                guild.id,
                channel.id,
                tags=(),
                exclude_tags=(),
                mention_role_id=None,
                by_user_id=1,
                now=self.bot.deliverer._now(),
            )


@pytest.fixture
async def fleet(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Fleet]:
    monkeypatch.setattr(policy, "RETRY_BASE", 0.05)
    monkeypatch.setattr(policy, "RETRY_CAP", 0.2)
    made = servers(fake_discord, 2 * SHARDS)
    runner = await run_bot(make_bot(bot_settings))
    await wait_until_scanned(runner.bot)
    yield Fleet(fake_discord, runner, made, content_dir)


async def test_four_shards_serve_lookups_and_admin_in_every_server(fleet: Fleet) -> None:
    fake, bot = fleet.fake, fleet.bot
    # Discord's recommendation, every shard identified once, all in one go.
    assert bot.shard_count == SHARDS
    assert sorted(fake.stats.identified_shards) == list(range(SHARDS))
    assert fake.stats.invalid_sessions == 0
    gateway = gateway_of(bot)
    assert (gateway.shards, sorted(gateway.connected)) == (SHARDS, list(range(SHARDS)))
    for shard in range(SHARDS):
        assert len(fleet.on_shard(shard)) == 2
        for server in fleet.on_shard(shard):
            guild = bot.get_guild(server.guild.id)
            assert guild is not None and guild.shard_id == shard
            assert await fleet.latest(server) == PUBLISHED_NEWEST_FIRST
            text = await fleet.admin(server, "subscribe", channel=server.news)
            assert f"Subscribed <#{server.news.id}>" in text

    # The permission check before subscribing reads the cache of the guild's own shard.
    for shard in range(SHARDS):
        server = fleet.on_shard(shard)[0]
        closed = server.guild.add_channel(
            "closed",
            permission_overwrites=[overwrite(server.guild.bot_role, deny=Permission.SEND_MESSAGES)],
        )
        await fake.wait_for(lambda c=closed: bot.get_channel(c.id))  # type: ignore[misc]
        text = await fleet.admin(server, "subscribe", channel=closed)
        assert text.startswith(f"I can't post in <#{closed.id}>"), text
        assert await bot.store.get_subscription(server.guild.id, closed.id) is None

    # One article reaches the subscribed channel of every server, on every shard, once.
    write_article(fleet.content, "sharded", "News On Every Shard")
    await fake.wait_for(lambda: all(fake.messages(s.news) for s in fleet.servers), timeout=10)
    await wait_until_idle(fake, bot)
    for server in fleet.servers:
        [post] = fake.messages(server.news)
        assert post["embeds"][0]["title"] == "News On Every Shard"
    assert fake.stats.rate_limited == 0


async def test_guild_and_channel_events_on_any_shard(fleet: Fleet) -> None:
    fake, bot = fleet.fake, fleet.bot
    await fleet.subscribe_all([(s.guild, s.news) for s in fleet.servers])
    leaving = fleet.on_shard(2)[0]
    staying = fleet.on_shard(2)[1]
    pruned = fleet.on_shard(3)[0]

    fake.remove_guild(leaving.guild)
    pruned.guild.delete_channel(pruned.news)

    async def forgotten() -> bool:
        return (
            await bot.store.subscriptions(leaving.guild.id) == []
            and await bot.store.get_subscription(pruned.guild.id, pruned.news.id) is None
        )

    await wait_until(forgotten, "the left guild and the deleted channel to be forgotten")
    assert bot.get_guild(leaving.guild.id) is None
    assert await bot.store.get_subscription(staying.guild.id, staying.news.id) is not None
    # A guild joining on shard 1 arrives there and can be served at once.
    [joined] = [s for s in servers(fake, SHARDS) if fake.shard_of(s.guild, SHARDS) == 1]
    await fake.wait_for(lambda: bot.get_guild(joined.guild.id) is not None)
    assert await fleet.latest(joined) == PUBLISHED_NEWEST_FIRST


async def test_a_shard_down_and_reconnecting_mid_fan_out_loses_nothing(
    fleet: Fleet,
) -> None:
    fake, bot = fleet.fake, fleet.bot
    down = fleet.on_shard(1)
    channels = []
    # The down shard's channels first: delivery goes in subscription order, so the
    # fan-out is still running when they have all had their post.
    for server in down + [s for s in fleet.servers if s not in down]:
        channels += [(server.guild, server.news)]
        channels += [(server.guild, server.guild.add_channel(f"more-{i}")) for i in range(15)]
    await fleet.subscribe_all(channels)
    identifies = fake.stats.identifies

    # Shard 1 goes down and stays down.
    fake.hold_gateway()
    fake.disconnect_gateway(4000, shard=1)
    shard = bot.get_shard(1)
    assert shard is not None
    await fake.wait_for(shard.is_closed)
    write_article(fleet.content, "fan-out", "Fan-out While A Shard Is Down")

    def posted() -> int:
        return sum(1 for _, channel in channels if fake.messages(channel))

    # Delivery is REST: the down shard's servers get their posts meanwhile too.
    down_channels = [c for g, c in channels if g in {s.guild for s in down}]
    await fake.wait_for(lambda: all(fake.messages(c) for c in down_channels), timeout=20)
    assert shard.is_closed() and posted() < len(channels)  # the fan-out is still running
    # Something happens in a down shard's server meanwhile: replayed on resume.
    missed = down[0].guild.add_channel("while-away")

    fake.release_gateway()
    await fake.wait_for(lambda: not shard.is_closed() and fake.stats.resumes >= 1)
    await fake.wait_for(lambda: bot.get_channel(missed.id) is not None)
    await fake.wait_for(lambda: posted() == len(channels), timeout=30)
    await wait_until_idle(fake, bot)
    for _, channel in channels:
        assert len(fake.messages(channel)) == 1
    assert fake.stats.identifies == identifies  # resumed, not started again
    assert fake.stats.rate_limited == 0
    # The resumed shard answers its servers again.
    assert (await fleet.latest(down[0]))[0] == "Fan-out While A Shard Is Down"


async def test_an_unreadable_frame_on_every_shard_resumes_each(fleet: Fleet) -> None:
    fake = fleet.fake
    identifies = fake.stats.identifies
    fake.send_raw_frame("{not json")
    await fake.wait_for(lambda: fake.stats.resumes == SHARDS)
    await fake.wait_for(lambda: len(gateway_of(fleet.bot).connected) == SHARDS)
    assert fake.stats.identifies == identifies
    for shard in range(SHARDS):
        assert await fleet.latest(fleet.on_shard(shard)[0]) == PUBLISHED_NEWEST_FIRST


async def test_shard_ids_limit_the_process_to_its_shards(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = servers(fake_discord, 2 * SHARDS)
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", str(SHARDS))
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", "1,3")
    runner = await run_bot(make_bot(load_settings()))
    bot = runner.bot
    assert sorted(fake_discord.stats.identified_shards) == [1, 3]
    assert sorted(bot.shards) == [1, 3]
    mine = {s.guild.id for s in made if fake_discord.shard_of(s.guild, SHARDS) in (1, 3)}
    assert {g.id for g in bot.guilds} == mine
    for server in made:
        if server.guild.id in mine:
            interaction = await fake_discord.invoke(
                server.guild, server.news, server.reader, "news latest"
            )
            message = await interaction.original_message()
            assert listed_titles(message["embeds"][0]) == PUBLISHED_NEWEST_FIRST


@pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS)
async def test_shards_of_different_buckets_identify_together(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A bot that waited between IDENTIFYs of different buckets would not be ready in time.
    monkeypatch.setattr(bot.shards, "IDENTIFY_INTERVAL", 60.0)
    servers(fake_discord, SHARDS)
    runner = await run_bot(make_bot(bot_settings))
    assert runner.bot.identify_gate.max_concurrency == SHARDS
    assert sorted(fake_discord.stats.identified_shards) == list(range(SHARDS))


@pytest.mark.fakediscord(shards=SHARDS, max_concurrency=2, identify_interval=0.5)
async def test_each_bucket_identifies_once_per_interval(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.shards, "IDENTIFY_INTERVAL", 0.5)
    servers(fake_discord, SHARDS)
    await run_bot(make_bot(bot_settings))
    # The fake answers op 9 to a bucket identifying too fast: none came.
    assert fake_discord.stats.invalid_sessions == 0
    order = fake_discord.stats.identified_shards
    assert sorted(order[:2]) == [0, 1] and sorted(order[2:]) == [2, 3]


@pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS, session_starts=(1000, 3, 0.3))
async def test_too_few_session_starts_wait_for_the_reset(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    servers(fake_discord, SHARDS)
    await run_bot(make_bot(bot_settings))
    # No IDENTIFY spent the last three starts (the fake records one beyond the limit as
    # a violation): the bot waited for the reset, then started all four shards.
    waits = [r for r in caplog.records if "more gateway session starts" in r.getMessage()]
    assert len(waits) == 1 and waits[0].levelno == logging.WARNING
    assert "allows 3 more" in waits[0].getMessage() and "4 shards need one" in waits[0].getMessage()
    assert sorted(fake_discord.stats.identified_shards) == list(range(SHARDS))


@pytest.mark.fakediscord(shards=1, guilds_per_shard=2)
async def test_a_shard_count_too_small_is_one_clear_line(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    servers(fake_discord, 3)
    assert await newsbot_run(load_settings()) == 1
    message = one_error_line(caplog)
    assert "4011" in message and "NEWSBOT_SHARD_COUNT" in message


async def test_refused_channels_on_any_shard_get_their_notice(fleet: Fleet) -> None:
    fake, bot = fleet.fake, fleet.bot
    await fleet.subscribe_all([(s.guild, s.news) for s in fleet.servers])
    forbidden, gone = fleet.on_shard(2)[0], fleet.on_shard(3)[0]
    fake.fail_next("POST", f"/channels/{forbidden.news.id}/messages", 403)
    fake.fail_next("POST", f"/channels/{gone.news.id}/messages", 404)
    write_article(fleet.content, "refused", "Refused Somewhere")
    for server in (forbidden, gone):
        [notice] = await fake.wait_for(lambda s=server: fake.messages(s.guild.channel("general")))  # type: ignore[misc]
        assert f"<#{server.news.id}>" in notice["content"]
    await fake.wait_for(
        lambda: all(fake.messages(s.news) for s in fleet.servers if s not in (forbidden, gone))
    )
    await wait_until_idle(fake, bot)
    for server in (forbidden, gone):
        subscription = await bot.store.get_subscription(server.guild.id, server.news.id)
        assert subscription is None or not subscription.active
