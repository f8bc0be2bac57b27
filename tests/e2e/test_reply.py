"""``bot.interactions.reply``, which every cog uses: ``(embeds, text)`` results and
``ephemeral=True`` answers, quick or deferred, paged or not."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from bot import interactions
from bot.config import Settings
from tests.e2e.conftest import make_bot, wait_until_scanned
from tests.fakediscord.interactions import EPHEMERAL
from tests.fakediscord.models import FakeChannel, FakeGuild, FakeMember
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord

DELAY = 0.0  # how long the commands below take; a test raises it
World = tuple[FakeDiscord, FakeGuild, FakeChannel, FakeMember]


def pages(count: int) -> list[discord.Embed]:
    return [
        discord.Embed(title=f"Page {n + 1}", description=f"Entry {n + 1}") for n in range(count)
    ]


@app_commands.command(name="note", description="A private note")
async def note(interaction: discord.Interaction) -> None:
    async def work() -> tuple[list[discord.Embed], str | None]:
        await asyncio.sleep(DELAY)
        return [], "Only you can see this."

    await interactions.reply(interaction, work(), ephemeral=True)


@app_commands.command(name="listing", description="A private list of pages")
async def listing(interaction: discord.Interaction) -> None:
    async def work() -> tuple[list[discord.Embed], str | None]:
        await asyncio.sleep(DELAY)
        return pages(3), "Your subscriptions:"

    await interactions.reply(interaction, work(), ephemeral=True)


@pytest.fixture
async def world(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> World:
    guild = fake_discord.add_guild("Newsroom")
    channel = guild.add_channel("desk")
    member = guild.add_member("moderator")
    bot = make_bot(bot_settings)
    bot.tree.add_command(note)
    bot.tree.add_command(listing)
    runner = await run_bot(bot)
    await wait_until_scanned(runner.bot)
    return fake_discord, guild, channel, member


@pytest.mark.parametrize("delay", [0.0, 0.2], ids=["quick", "deferred"])
async def test_private_text(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    delay: float,
) -> None:
    fake, guild, channel, member = world
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.05)
    monkeypatch.setitem(globals(), "DELAY", delay)
    interaction = await fake.invoke(guild, channel, member, "note")
    body = await interaction.response()
    assert body["type"] == (5 if delay else 4)
    if delay:
        assert body["data"]["flags"] & EPHEMERAL  # even "thinking..." is private
    message = await interaction.original_message()
    assert interaction.ephemeral
    assert message["content"] == "Only you can see this."
    assert fake.messages(channel) == []


@pytest.mark.parametrize("delay", [0.0, 0.2], ids=["quick", "deferred"])
async def test_private_pages(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    delay: float,
) -> None:
    fake, guild, channel, member = world
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.05)
    monkeypatch.setitem(globals(), "DELAY", delay)
    interaction = await fake.invoke(guild, channel, member, "listing")
    message = await interaction.original_message()
    assert interaction.ephemeral
    assert message["content"] == "Your subscriptions:"
    assert [e["title"] for e in message["embeds"]] == ["Page 1"]
    turn = await fake.click(message, "pager:next", member)
    assert (await turn.response())["type"] == 7
    turned = fake._find_message(int(message["id"]))
    assert turned is not None
    assert [e["title"] for e in turned["embeds"]] == ["Page 2"]
    assert turned["flags"] & EPHEMERAL
