"""Fixtures the whole suite shares, in this one place (no copies in sub-folders).

Registered plugins: ``tests.fakediscord.plugin`` (``fake_discord``, ``run_bot``, ...)
and ``tests.sources.feedserver`` (``feed_server``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.store import SourceRow, Store
from tests.store.helpers import T0

pytest_plugins = ["tests.fakediscord.plugin", "tests.sources.feedserver"]


@pytest.fixture
def no_bot_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray environment or .env of the developer leaks into the test: every bot
    setting unset, and the working directory an empty one."""
    for key in list(os.environ):
        if key.startswith("NEWSBOT_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def store_class() -> type[Store]:
    """The class ``store`` opens: a module overrides it to open a spy instead."""
    return Store


@pytest.fixture
async def store(tmp_path: Path, store_class: type[Store]) -> AsyncIterator[Store]:
    """A real SQLite store in a file of its own."""
    s = await store_class.open(tmp_path / "news.sqlite3")
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def content(store: Store) -> SourceRow:
    """A content source whose baseline is done: new articles get announced."""
    src = await store.source("content", "/site/content")
    await store.mark_baseline_done(src.id, T0)
    return await store.source(src.kind, src.locator)


@pytest.fixture
async def feed(store: Store) -> SourceRow:
    """A feed source whose baseline is done."""
    src = await store.source("feed", "https://example.com/index.xml")
    await store.mark_baseline_done(src.id, T0)
    return await store.source(src.kind, src.locator)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty content folder (with its ``articles`` section)."""
    folder = tmp_path / "content"
    (folder / "articles").mkdir(parents=True)
    return folder


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s
