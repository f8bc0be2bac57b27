"""Shared set-up for end-to-end tests: the real NewsBot against tests/fakediscord.

The bot is built exactly as ``newsbot run`` builds it (``NewsBot(settings)`` from
settings read from the environment), runs in-process through the ``run_bot`` fixture,
reads a real content folder (a copy of the frozen samples, ``tests/data/examples``) and
keeps a real SQLite file in ``tmp_path``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.client import NewsBot
from bot.config import Settings, load_settings
from tests.delivery.harness import kill
from tests.e2e.fleet import Fleet
from tests.fakediscord.interactions import FakeInteraction
from tests.fakediscord.models import FakeChannel, FakeGuild, FakeMember
from tests.fakediscord.plugin import BotRunner, RunBot
from tests.fakediscord.server import FakeDiscord
from tests.samples import SAMPLES
from tests.sources.gitrepos import Site
from tests.waiting import wait_until

# What the samples (plus EXPIRED below) hold, as a reader should see it on 2026-11-26 and
# later: four published articles, newest first; a draft, a scheduled and an expired one.
PUBLISHED_NEWEST_FIRST = [
    "City Council Approves 40 km of Protected Bike Lanes",
    "Central Bank Holds Rates Steady, Signals Cut in Spring",
    "Space Probe Enters Orbit Around Jupiter After Six-Year Journey",
    "Heatwave Pushes Regional Power Grid to Record Demand",
]
HIDDEN_TITLES = [
    "Public Libraries Extend Evening Opening Hours",  # draft
    "What to Watch as Results Come In on Election Night",  # scheduled (2031)
    "Summer Festival Programme Announced",  # expired (EXPIRED below)
]
# The samples have no expired article; this one expired before the tests were written.
EXPIRED = """---
title: "Summer Festival Programme Announced"
date: 2025-05-01T09:00:00Z
expiryDate: 2025-09-30T00:00:00Z
author: "Culture Desk"
categories: ["Culture"]
tags: ["Festival", "Culture", "Energy"]
description: "Ten days of music, theatre and food in the old harbour"
---

## Key Takeaways
* The festival runs for **ten days** from 20 June, in the old harbour.
* Tickets for the energy-themed light show go on sale in May.
"""
SAMPLE_COUNT = 7  # six sample files and EXPIRED


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A real content folder: the bundled samples plus one expired article."""
    folder = tmp_path / "content"
    shutil.copytree(SAMPLES, folder)
    (folder / "articles" / "summer-festival.md").write_text(EXPIRED, encoding="utf-8")
    return folder


def write_article(
    folder: Path,
    slug: str,
    title: str,
    *,
    date: str,
    tags: Sequence[str] = (),
    takeaways: Sequence[str] = ("A first point.", "A second point."),
    extra: str = "",
) -> Path:
    """Write a published Markdown article into ``folder/articles``."""
    tag_list = ", ".join(f'"{t}"' for t in tags)
    bullets = "\n".join(f"* {t}" for t in takeaways)
    path = folder / "articles" / f"{slug}.md"
    path.write_text(
        f'---\ntitle: "{title}"\ndate: {date}\nauthor: "Test Desk"\n'
        f"tags: [{tag_list}]\n{extra}---\n\n## Key Takeaways\n{bullets}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def bot_settings(
    tmp_path: Path,
    content_dir: Path,
    database: str | Path,
    discord_client_env: object,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Settings as a user would give them, pointing at the fake Discord; the database
    is each engine's in turn (``database``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("NEWSBOT_DATABASE", str(database))
    monkeypatch.setenv("NEWSBOT_SITE_URL", "https://news.example.org")
    monkeypatch.delenv("NEWSBOT_FEEDS", raising=False)
    monkeypatch.delenv("NEWSBOT_DEV_GUILD_ID", raising=False)
    return load_settings()


def make_bot(settings: Settings) -> NewsBot:
    """The bot exactly as ``newsbot run`` builds it, with a short guild-ready wait."""
    return NewsBot(settings, guild_ready_timeout=0.05)


async def wait_until_scanned(bot: NewsBot, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the content folder's first scan is in the store."""

    async def scanned() -> bool:
        sources = await bot.store.sources()
        return any(s.kind == "content" and s.baseline_done for s in sources)

    await wait_until(scanned, "the content folder's first scan", timeout=timeout)


async def has_no_work(bot: NewsBot) -> bool:
    """Whether the bot has nothing left to do: every announcement handed to the
    deliverer, no channel being worked on, no post and no notice due now or later (a
    retry waiting for its turn is work too; a paused channel's posts are not)."""
    return (
        not await bot.store.pending_announcements(1)
        and bot.deliverer.busy == 0
        and await bot.store.next_due_at() is None
        and await bot.store.next_notice_at() is None
    )


async def wait_until_idle(fake: FakeDiscord, bot: NewsBot) -> None:
    """Wait until the bot has no work left and the fake is settled: what was going to
    happen has happened, so a test can now assert that something did not."""
    await fake.wait_until_settled(lambda: has_no_work(bot))


@dataclass
class Newsroom:
    """A running bot in a guild with a reader (who asks) and a bystander."""

    fake: FakeDiscord
    runner: BotRunner[NewsBot]
    guild: FakeGuild
    channel: FakeChannel
    reader: FakeMember
    bystander: FakeMember

    @property
    def bot(self) -> NewsBot:
        return self.runner.bot

    @property
    def news(self) -> ModuleType:
        """The bot's ``cogs.news`` module, to patch its knobs (DEFER_AFTER, PAGER_TIMEOUT).

        ``load_extension`` executes the extension as a fresh module object, so the one
        a test imports is not the one the bot runs: patch this one, after start-up.
        """
        return self.bot.extensions["cogs.news"]

    async def invoke(self, command: str, member: FakeMember | None = None, **options: Any) -> Any:
        """``/news <command>`` by the reader; returns the FakeInteraction."""
        return await self.fake.invoke(
            self.guild,
            self.channel,
            member or self.reader,
            f"news {command}",
            options=options,
        )

    async def answer(self, command: str, **options: Any) -> tuple[FakeInteraction, dict[str, Any]]:
        """Run ``/news <command>`` and wait for the message the user finally sees."""
        interaction = await self.invoke(command, **options)
        return interaction, await interaction.original_message()

    async def autocomplete(
        self, command: str, focused: str, value: str, **options: Any
    ) -> list[dict[str, Any]]:
        return await self.fake.autocomplete(
            self.guild,
            self.channel,
            self.reader,
            f"news {command}",
            focused=focused,
            value=value,
            options=options,
        )


OpenNewsroom = Callable[..., Awaitable[Newsroom]]


@pytest.fixture
def newsroom(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> OpenNewsroom:
    """``room = await newsroom()``: start the bot on the content folder, scanned."""

    async def open_room(*, allow_errors: bool = False) -> Newsroom:
        guild = fake_discord.add_guild("Newsroom")
        channel = guild.add_channel("news-desk")
        reader = guild.add_member("reader")
        bystander = guild.add_member("bystander")
        runner = await run_bot(make_bot(bot_settings), allow_errors=allow_errors)
        await wait_until_scanned(runner.bot)
        return Newsroom(fake_discord, runner, guild, channel, reader, bystander)

    return open_room


_LINKED_TITLE = re.compile(r"^\*\*\[(.+?)\]\(", re.MULTILINE)
_PLAIN_TITLE = re.compile(r"^\*\*([^\[].*?)\*\*", re.MULTILINE)


def listed_titles(embed: dict[str, Any]) -> list[str]:
    """The headlines a results embed lists, in order."""
    description = embed.get("description") or ""
    found = [(m.start(), m.group(1)) for m in _LINKED_TITLE.finditer(description)]
    found += [(m.start(), m.group(1)) for m in _PLAIN_TITLE.finditer(description)]
    return [title for _, title in sorted(found)]


def button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """The component with ``custom_id`` on a message."""
    for row in message.get("components") or []:
        for component in row.get("components") or []:
            if component.get("custom_id") == custom_id:
                return dict(component)
    raise AssertionError(f"no component {custom_id!r} on the message")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components") or [] for c in row.get("components") or []]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site's repository, holding the bundled samples in content/."""
    repo = Site(tmp_path / "remote")
    shutil.copytree(SAMPLES, repo.work / "content")
    repo.write("hugo.toml", 'baseURL = "https://news.example.org/"\n')
    repo.commit("the site")
    repo.push()
    return repo


@pytest.fixture
async def fleet(
    fake_discord: FakeDiscord, tmp_path: Path, postgres_url: str
) -> AsyncIterator[Fleet]:
    """Bot processes sharing one PostgreSQL database on the fake's shards (none started
    yet), a copy of the samples their content folder; those still running at the end
    are killed."""
    shards = fake_discord.recommended_shards
    assert shards, "a fleet needs @pytest.mark.fakediscord(shards=...)"
    content = tmp_path / "content"
    shutil.copytree(SAMPLES, content)
    fleet = Fleet(fake_discord, tmp_path, postgres_url, content, shards)
    try:
        yield fleet
    finally:
        for process in fleet.processes.values():
            kill(process)
