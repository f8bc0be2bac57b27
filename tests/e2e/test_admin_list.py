"""``/newsadmin list`` pages with the same ◀ ▶ buttons as ``/news``, privately."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.admin_render import LIST_PAGE_SIZE
from bot.config import Settings
from tests.e2e.conftest import button, buttons
from tests.e2e.test_admin import EPHEMERAL, Desk, start_desk
from tests.fakediscord import FakeChannel, InvalidInvocation
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord

CHANNELS = LIST_PAGE_SIZE + 3  # two pages


@pytest.fixture
async def desk(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> Desk:
    return await start_desk(fake_discord, run_bot, bot_settings)


async def subscribe_many(desk: Desk, count: int) -> list[FakeChannel]:
    """``count`` subscribed channels, named desk-00, desk-01, ... in subscription order."""
    a = desk.a
    channels = [a.guild.add_channel(f"desk-{n:02d}") for n in range(count)]
    guild = desk.bot.get_guild(a.guild.id)
    assert guild is not None
    await desk.synced(lambda: all(guild.get_channel(c.id) is not None for c in channels))
    for channel in channels:
        await desk.bot.store.subscribe(
            a.guild.id, channel.id, by_user_id=a.mod.id, now=datetime.now(UTC)
        )
    return channels


def field_names(message: dict[str, Any]) -> list[str]:
    [embed] = message["embeds"]
    return [f["name"] for f in embed["fields"]]


def pager(message: dict[str, Any]) -> tuple[bool, str, bool]:
    """The ◀ ▶ buttons: whether ◀ is disabled, the position label, whether ▶ is disabled."""
    return (
        bool(button(message, "pager:prev").get("disabled")),
        button(message, "pager:at")["label"],
        bool(button(message, "pager:next").get("disabled")),
    )


def footer(message: dict[str, Any]) -> str:
    return str(message["embeds"][0]["footer"]["text"])


async def test_list_pages_turn_with_buttons(desk: Desk) -> None:
    a = desk.a
    channels = await subscribe_many(desk, CHANNELS)
    names = [f"#{c.name}" for c in channels]

    message = await a.answer("list")
    assert field_names(message) == names[:LIST_PAGE_SIZE]
    assert footer(message).startswith("Page 1 of 2")
    assert pager(message) == (True, "1 / 2", False)

    turn = await desk.fake.click(message, "pager:next", a.mod)
    assert (await turn.response())["type"] == 7  # the private list itself is updated
    page2 = desk.fake._find_message(int(message["id"]))
    assert page2 is not None
    assert page2["flags"] & EPHEMERAL
    assert field_names(page2) == names[LIST_PAGE_SIZE:]
    assert footer(page2).startswith("Page 2 of 2")
    assert pager(page2) == (False, "2 / 2", True)

    await (await desk.fake.click(message, "pager:prev", a.mod)).response()
    back = desk.fake._find_message(int(message["id"]))
    assert back is not None and field_names(back) == names[:LIST_PAGE_SIZE]


async def test_list_has_no_page_option(desk: Desk) -> None:
    """Like ``/news``, the buttons are the only way through the pages."""
    with pytest.raises(InvalidInvocation, match="no option 'page'"):
        await desk.a.invoke("list", page=2)


async def test_a_one_page_list_has_no_buttons(desk: Desk) -> None:
    a = desk.a
    await subscribe_many(desk, 2)
    message = await a.answer("list")
    assert field_names(message) == ["#desk-00", "#desk-01"]
    assert buttons(message) == []
