"""Start-up against the fake Discord: intents, command registration, restarts, dev guild."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.client import run_bot as newsbot_run
from bot.config import Settings, load_settings
from tests.e2e.conftest import OpenNewsroom, make_bot
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord
from tests.postgres import PostgresServer

GUILDS = 1 << 0


def identified_intents(fake: FakeDiscord) -> list[int]:
    return [session.intents for session in fake.gateway.sessions.values()]


async def test_identifies_with_the_guilds_intent_only(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    await run_bot(make_bot(bot_settings))
    assert identified_intents(fake_discord) == [GUILDS]
    intents = discord.Intents._from_value(GUILDS)
    assert not intents.members and not intents.message_content and not intents.presences
    assert fake_discord.stats.identifies == 1


def options_of(command: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {option["name"]: option for option in command.get("options") or []}


async def test_registers_the_news_commands_at_start(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    runner = await run_bot(make_bot(bot_settings))
    assert runner.bot.synced is True
    assert fake_discord.command_syncs == [None]  # one global bulk PUT
    registered = {c["name"]: c for c in fake_discord.commands[None]}
    news = registered["news"]  # (other cogs register their own groups beside it)
    assert news["description"] == "Look up articles"
    assert news["integration_types"] == [0]  # installed in servers, not on user accounts
    assert news["default_member_permissions"] is None  # for everyone
    subcommands = options_of(news)
    assert list(subcommands) == ["latest", "search", "tags", "show"]
    assert all(s["type"] == 1 and s["description"] for s in subcommands.values())

    latest = options_of(subcommands["latest"])
    assert list(latest) == ["tag", "category", "count"]
    for name in ("tag", "category"):
        assert latest[name]["type"] == 3 and latest[name]["autocomplete"] is True
        assert not latest[name]["required"]
    assert latest["count"]["type"] == 4
    assert (latest["count"]["min_value"], latest["count"]["max_value"]) == (1, 25)
    assert latest["count"]["description"] == "How many (1-25, default 5)"

    search = options_of(subcommands["search"])
    assert list(search) == ["query", "tag", "category"]
    assert search["query"]["required"] is True
    assert (search["query"]["min_length"], search["query"]["max_length"]) == (1, 200)
    assert search["tag"]["autocomplete"] is True and search["category"]["autocomplete"] is True

    assert options_of(subcommands["tags"]) == {}
    show = options_of(subcommands["show"])
    assert list(show) == ["article"]
    assert show["article"]["required"] is True and show["article"]["autocomplete"] is True
    assert show["article"]["description"] == "Start typing a headline"


async def test_restart_registers_only_when_the_commands_change(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.client")
    first = await run_bot(make_bot(bot_settings))
    assert first.bot.synced is True
    await first.close()
    assert fake_discord.command_syncs == [None]

    # Same commands, same database: no registration request at all.
    second = await run_bot(make_bot(bot_settings))
    assert second.bot.synced is False
    await second.close()
    assert len(fake_discord.requests_to("PUT", "/applications/*/commands")) == 1
    assert "slash commands unchanged since the last sync" in caplog.text

    # A changed tree (here: one more command) is pushed again.
    third_bot = make_bot(bot_settings)

    @app_commands.command(name="ping", description="Is the bot there?")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    third_bot.tree.add_command(ping)
    third = await run_bot(third_bot)
    assert third.bot.synced is True
    assert fake_discord.command_syncs == [None, None]
    assert {"news", "ping"} <= {c["name"] for c in fake_discord.commands[None]}


async def test_dev_guild_gets_the_commands_instantly(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guild = fake_discord.add_guild("Dev server")
    monkeypatch.setenv("NEWSBOT_DEV_GUILD_ID", str(guild.id))
    settings = load_settings()
    assert settings.dev_guild_id == guild.id
    runner = await run_bot(make_bot(settings))
    assert fake_discord.command_syncs == [guild.id]  # a guild PUT, no global one
    assert None not in fake_discord.commands
    assert "news" in {c["name"] for c in fake_discord.commands[guild.id]}
    puts = fake_discord.requests_to("PUT", "/applications/*/commands")
    assert [r.path for r in puts] == [
        f"/applications/{runner.bot.application_id}/guilds/{guild.id}/commands"
    ]
    # The guild command works there.
    member = guild.add_member("developer")
    channel = guild.channels[guild.system_channel_id]
    interaction = await fake_discord.invoke(guild, channel, member, "news tags")
    assert (await interaction.response())["type"] == 4
    await runner.close()

    # A restart with the same settings does not register again.
    again = await run_bot(make_bot(settings))
    assert again.bot.synced is False
    assert fake_discord.command_syncs == [guild.id]


TOKEN = "MTQ0NjE3.in-process-secret.Qw8e"


@pytest.mark.fakediscord(token=TOKEN)
async def test_token_never_logged_even_at_debug(
    newsroom: OpenNewsroom, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, discord.py's included
    room = await newsroom()
    await room.answer("latest")
    await room.autocomplete("show", "article", "s")

    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(room.bot.store, "tags", explode)
    await room.answer("tags")  # an error with its traceback logged
    await room.runner.close()
    assert "discord.http" in {r.name for r in caplog.records}  # the debug logs were captured
    assert "RuntimeError: boom" in caplog.text
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)


def one_error_line(caplog: pytest.LogCaptureFixture) -> str:
    """The single ERROR record of a failed start, which carries no traceback."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None
    assert "Traceback" not in caplog.text
    message = errors[0].getMessage()
    assert "\n" not in message
    return message


async def test_unknown_dev_guild_is_one_clear_line(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("NEWSBOT_DEV_GUILD_ID", "123456789012345678")  # not a server of the bot
    assert await newsbot_run(load_settings()) == 1  # what `newsbot run` does, in-process
    message = one_error_line(caplog)
    assert "NEWSBOT_DEV_GUILD_ID" in message and "123456789012345678" in message
    assert fake_discord.stats.gateway_connects == 0


@pytest.mark.sqlite_only  # a file in a folder that does not exist
async def test_unusable_database_is_one_clear_line(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "no-such-folder" / "newsbot.sqlite3"))
    assert await newsbot_run(load_settings()) == 1
    # aiosqlite stops its worker thread after a failed connect without waiting for it;
    # let it finish while this test's event loop still runs.
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 5)
    message = one_error_line(caplog)
    assert message.startswith("cannot use the database")
    assert "no-such-folder" in message


async def test_unusable_postgresql_database_is_one_clear_line_without_its_password(
    fake_discord: FakeDiscord,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    bot_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = postgres_server.url("no_such_database").replace("postgres:@", "postgres:s3cret@")
    monkeypatch.setenv("NEWSBOT_DATABASE", url)
    assert await newsbot_run(load_settings()) == 1
    message = one_error_line(caplog)
    assert message.startswith("cannot use the database postgresql://***@/no_such_database")
    assert 'database "no_such_database" does not exist' in message
    assert "s3cret" not in message
    assert fake_discord.stats.gateway_connects == 0


async def test_unreachable_discord_names_the_setting(
    bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v10"
    monkeypatch.setenv("NEWSBOT_DISCORD_API_URL", url)
    assert await newsbot_run(load_settings()) == 1
    message = one_error_line(caplog)
    assert message.startswith(f"cannot reach Discord at NEWSBOT_DISCORD_API_URL={url}: ")
