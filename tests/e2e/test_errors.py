"""One error handler: users get a short private answer, unexpected errors are logged once.

The ``run_bot`` fixture also fails any of these tests if discord.py itself logs
"Ignoring exception ..." (an error nobody handled) or an interaction goes unanswered.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, NoReturn

import pytest

from bot import interactions
from bot.client import APOLOGY
from tests.e2e.conftest import OpenNewsroom, write_article
from tests.fakediscord.interactions import EPHEMERAL


class Boom(RuntimeError):
    pass


async def explode(*args: Any, **kwargs: Any) -> NoReturn:
    raise Boom("the database is on fire")


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def assert_logged_once_with_traceback(caplog: pytest.LogCaptureFixture, what: str) -> None:
    errors = logged_errors(caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]
    record = errors[0]
    assert what in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], Boom)
    text = caplog.text
    assert text.count("Traceback (most recent call last)") == 1
    assert "the database is on fire" in text
    assert "in explode" in text  # the traceback reaches the frame that raised


async def test_store_failure_gets_a_private_apology(
    newsroom: OpenNewsroom, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    room = await newsroom()
    monkeypatch.setattr(room.bot.store, "tags", explode)
    caplog.clear()
    interaction = await room.invoke("tags")
    body = await interaction.response()
    assert body["type"] == 4
    assert body["data"]["flags"] & EPHEMERAL
    assert body["data"]["content"] == APOLOGY
    assert room.fake.messages(room.channel) == []  # nothing public
    await room.fake.wait_until_settled()  # anything logged late is logged by now
    assert_logged_once_with_traceback(caplog, "command /news tags failed")


async def test_failure_after_defer_gets_a_private_follow_up(
    newsroom: OpenNewsroom, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    room = await newsroom()
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.05)

    async def slow_then_explode(*args: Any, **kwargs: Any) -> NoReturn:
        await asyncio.sleep(0.2)
        await explode()

    monkeypatch.setattr(room.bot.store, "latest", slow_then_explode)
    caplog.clear()
    interaction = await room.invoke("latest")
    assert (await interaction.response())["type"] == 5
    (apology,) = await interaction.followups(1)
    assert apology["flags"] & EPHEMERAL
    assert apology["content"] == APOLOGY
    # The public "thinking..." message does not stay behind, spinning forever.
    await room.fake.wait_for(lambda: interaction.original is None)
    assert room.fake.messages(room.channel) == []
    await room.fake.wait_until_settled()
    assert_logged_once_with_traceback(caplog, "command /news latest failed")


async def test_expected_problem_is_explained_not_logged(
    newsroom: OpenNewsroom, caplog: pytest.LogCaptureFixture
) -> None:
    room = await newsroom()
    caplog.clear()
    interaction, message = await room.answer("show", article="no such headline")
    assert interaction.ephemeral
    assert message["content"] == (
        "No published article matches that. Pick one from the list while typing."
    )
    assert logged_errors(caplog) == []


async def test_failing_autocomplete_offers_nothing(
    newsroom: OpenNewsroom, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    room = await newsroom()
    monkeypatch.setattr(room.bot.store, "find_articles", explode)
    monkeypatch.setattr(room.bot.store, "tags", explode)
    caplog.clear()
    assert await room.autocomplete("show", "article", "he") == []
    assert await room.autocomplete("latest", "tag", "he") == []
    errors = logged_errors(caplog)
    assert len(errors) == 2
    assert all("autocomplete" in r.getMessage() and r.exc_info for r in errors)


async def test_failing_page_turn_gets_a_private_apology(
    newsroom: OpenNewsroom,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(6):
        write_article(content_dir, f"extra-{n}", f"Extra Article {n}", date="2026-01-01")
    room = await newsroom()
    _, message = await room.answer("latest", count=10)
    monkeypatch.setattr(interactions.Pager, "_show", explode)
    caplog.clear()
    click = await room.fake.click(message, "pager:next", room.reader)
    body = await click.response()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert body["data"]["content"] == APOLOGY
    await room.fake.wait_until_settled()
    assert_logged_once_with_traceback(caplog, "turning a page failed")
