"""Forged slash-command options outside their declared range get a clear refusal.

Discord's own client never sends ``count=0``, but discord.py does not enforce
``Range``, so a hostile client's values reach the bot: each one is refused with an
answer naming the option, and nothing runs (no "no articles yet", no flood of posts,
no ``OverflowError``).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from tests.e2e.conftest import make_bot, wait_until_scanned
from tests.e2e.test_admin import EPHEMERAL, Server
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord

HUGE = [10**12, 2**63, 2**64 + 1]

# (command, needs a subscription, option, forged values, the words of the answer)
FORGED: list[tuple[str, str, list[Any], str]] = [
    ("news latest", "count", [0, -1, 26, *HUGE, "5", 2.5, True], "**count** must be"),
    ("news search", "query", ["", "x" * 201], "**query** must be text of 1 to 200"),
    ("newsadmin subscribe", "backfill", [-1, 26, *HUGE], "**backfill** must be"),
    ("newsadmin subscribe", "tags", ["", "t" * 1001], "**tags** must be text"),
    ("newsadmin subscribe", "exclude_tags", ["", "t" * 1001], "**exclude_tags** must be"),
    ("newsadmin subscribe", "categories", ["", "t" * 1001], "**categories** must be"),
    ("newsadmin subscribe", "filter", [0, 11, *HUGE], "**filter** must be"),
    ("newsadmin unsubscribe", "filter", [0, 11, *HUGE], "**filter** must be"),
    ("newsadmin pause", "reason", ["", "r" * 151], "**reason** must be text"),
    ("newsadmin settings", "color", ["", "c" * 21], "**color** must be text"),
]


def ranged_options(fake: FakeDiscord) -> set[tuple[str, str]]:
    """Every (command, option) the bot registered with a min or max."""
    found: set[tuple[str, str]] = set()
    for commands in fake.commands.values():
        for command in commands:
            for sub in command.get("options") or []:
                for option in sub.get("options") or []:
                    if {"min_value", "max_value", "min_length", "max_length"} & option.keys():
                        found.add((f"{command['name']} {sub['name']}", option["name"]))
    return found


async def test_every_ranged_option_refuses_forged_values(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    server = Server.create(fake_discord, "Alpha")
    runner = await run_bot(make_bot(bot_settings))
    await wait_until_scanned(runner.bot)
    assert ranged_options(fake_discord) == {(c, o) for c, o, _, _ in FORGED}
    # A subscription to pause, and articles that "no articles yet" would deny.
    reply = await server.run("subscribe", channel=server.news)
    assert reply.startswith("Subscribed")
    subscriptions = await runner.bot.store.subscriptions(server.guild.id)
    assert len(subscriptions) == 1
    required: dict[str, dict[str, Any]] = {
        "newsadmin subscribe": {"channel": server.announcements},
        "newsadmin pause": {"channel": str(server.news.id)},
        "newsadmin unsubscribe": {"channel": str(server.news.id)},
        "news search": {},
    }
    for command, option, values, words in FORGED:
        member = server.reader if command.startswith("news ") else server.mod
        for value in values:
            options = required.get(command, {}) | {option: value}
            interaction = await fake_discord.invoke(
                server.guild,
                server.guild.channel("general"),
                member,
                command,
                options=options,
                forged=True,
            )
            body = await interaction.response()
            shown = (command, option, value)
            assert body["type"] == 4, shown
            assert body["data"]["flags"] & EPHEMERAL, shown
            assert words in body["data"]["content"], (shown, body["data"]["content"])
    await fake_discord.wait_until_settled()
    # Nothing ran: no second subscription, no backfill, the first one not paused.
    [subscription] = await runner.bot.store.subscriptions(server.guild.id)
    assert subscription.channel_id == server.news.id
    assert subscription.paused_at is None
    assert fake_discord.messages(server.announcements) == []


@pytest.mark.parametrize("count", [1, 25])
async def test_the_bounds_themselves_still_work(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings, count: int
) -> None:
    server = Server.create(fake_discord, "Alpha")
    runner = await run_bot(make_bot(bot_settings))
    await wait_until_scanned(runner.bot)
    interaction = await fake_discord.invoke(
        server.guild,
        server.guild.channel("general"),
        server.reader,
        "news latest",
        options={"count": count},
        forged=True,
    )
    message = await interaction.original_message()
    assert message["embeds"], message
