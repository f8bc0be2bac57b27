"""What a process publishes about its servers for the leader, on one real bot: a
server with subscriptions when it loads, again when the gateway or a moderator
changes what a post there needs, nothing for servers without subscriptions, and
nothing at all on SQLite (one process, every server in its cache)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.client import NewsBot
from bot.config import Settings
from bot.delivery.channels import ChannelFacts, Kind
from tests.e2e.conftest import make_bot, wait_until_idle, wait_until_scanned
from tests.e2e.test_errors import explode
from tests.fakediscord import FakeChannel, FakeGuild, Permission
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

WAIT = 10.0


async def facts(bot: NewsBot, channel: FakeChannel) -> ChannelFacts | None:
    found = (await bot.store.channel_facts([channel.id])).get(channel.id)
    return None if found is None else ChannelFacts.from_json(found)


async def closed(bot: NewsBot, channel: FakeChannel) -> bool:
    """Whether the channel is published as one the bot may not post in."""
    found = await facts(bot, channel)
    return found is not None and found.target.missing == ("Send Messages",)


async def command(fake: FakeDiscord, guild: FakeGuild, name: str, **options: Any) -> str:
    mod = guild.member("mod")
    interaction = await fake.invoke(
        guild, guild.channel("general"), mod, f"newsadmin {name}", options=options
    )
    return str((await interaction.original_message())["content"])


@pytest.mark.parametrize("engine", ["postgresql"])
async def test_a_server_is_published_and_kept_up_to_date(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    fake = fake_discord
    guild = fake.add_guild("Subscribed")
    guild.add_member("mod", permissions=Permission.MANAGE_GUILD)
    news = guild.add_channel("news")
    lobby = guild.add_channel("lobby")
    quiet = fake.add_guild("Not subscribed")
    runner = await run_bot(make_bot(bot_settings))
    bot = runner.bot
    await wait_until_scanned(bot)
    general = guild.channel("general")

    # A moderator subscribes: published as soon as the command is done.
    await command(fake, guild, "subscribe", channel=news)
    published = await wait_until(lambda: facts(bot, news), "published", timeout=WAIT)
    assert (published.target.kind, published.target.missing) == (Kind.TEXT, ())
    assert await bot.store.notice_facts(guild.id) == [general.id, news.id, lobby.id]

    # The gateway says the bot may no longer post there: published again.
    news.set_permissions(guild.bot_role, deny=Permission.SEND_MESSAGES)

    await wait_until(lambda: closed(bot, news), "the closed channel published", timeout=WAIT)
    assert await bot.store.notice_facts(guild.id) == [general.id, lobby.id]

    # The moderators' own notices channel comes first.
    await command(fake, guild, "settings", notices_channel=lobby)

    async def notices() -> list[int] | None:
        return await bot.store.notice_facts(guild.id)

    await wait_until(lambda: _equal(notices(), [lobby.id, general.id]), "lobby first", timeout=WAIT)

    # A server without subscriptions is never published.
    assert await bot.store.notice_facts(quiet.id) is None

    # The last subscription gone: so are the server's facts.
    async def forgotten() -> bool:
        return await facts(bot, news) is None and await notices() is None

    await command(fake, guild, "unsubscribe", channel=str(news.id))
    await wait_until(forgotten, "the server's facts forgotten", timeout=WAIT)

    # Another channel subscribed, then the bot leaves the server: forgotten with its
    # setup.
    await command(fake, guild, "subscribe", channel=lobby)
    await wait_until(lambda: facts(bot, lobby), "published again", timeout=WAIT)
    fake.remove_guild(guild)

    async def gone() -> bool:
        return await facts(bot, lobby) is None and await notices() is None

    await wait_until(gone, "the server's facts forgotten with it", timeout=WAIT)


@pytest.mark.parametrize("engine", ["postgresql"])
async def test_a_server_not_published_is_tried_again(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guild = fake_discord.add_guild("Subscribed")
    guild.add_member("mod", permissions=Permission.MANAGE_GUILD)
    news = guild.add_channel("news")
    runner = await run_bot(make_bot(bot_settings))
    bot = runner.bot
    await wait_until_scanned(bot)
    await command(fake_discord, guild, "subscribe", channel=news)
    await wait_until(lambda: facts(bot, news), "published", timeout=WAIT)

    monkeypatch.setattr(bot.store, "subscriptions", explode)
    news.set_permissions(guild.bot_role, deny=Permission.SEND_MESSAGES)
    await wait_until(
        lambda: "could not publish the facts of 1 servers (Boom(" in caplog.text,
        "the failure logged",
        timeout=WAIT,
    )
    monkeypatch.undo()

    await wait_until(lambda: closed(bot, news), "published after all", timeout=WAIT)


@pytest.mark.parametrize("engine", ["sqlite"])
async def test_one_process_on_sqlite_publishes_nothing(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    guild = fake_discord.add_guild("Subscribed")
    guild.add_member("mod", permissions=Permission.MANAGE_GUILD)
    news = guild.add_channel("news")
    runner = await run_bot(make_bot(bot_settings))
    await wait_until_scanned(runner.bot)
    await command(fake_discord, guild, "subscribe", channel=news, backfill=1)
    await fake_discord.wait_for(lambda: fake_discord.messages(news))
    await wait_until_idle(fake_discord, runner.bot)
    assert await runner.bot.store.channel_facts([news.id]) == {}
    assert await runner.bot.store.notice_facts(guild.id) is None


async def _equal(value: Any, expected: object) -> bool:
    return bool(await value == expected)
