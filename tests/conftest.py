"""Fixtures the whole suite shares, in this one place (no copies in sub-folders).

Registered plugins: ``tests.fakediscord.plugin`` (``fake_discord``, ``run_bot``, ...)
and ``tests.sources.feedserver`` (``feed_server``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.store import SourceRow, Store
from tests.postgres import PostgresServer
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only: the test looks behind the store at SQLite itself (its file, its "
        "query plans, its own SQL): it runs on SQLite alone",
    )


#: The folders whose tests run on both engines; elsewhere the store is SQLite's.
BOTH_ENGINES = ("store", "delivery", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the store, delivery and end to end run on both engines, but those
    marked ``sqlite_only``; the others on SQLite."""
    keep, drop = [], []
    here = Path(__file__).parent
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec is not None else None
        only = item.get_closest_marker("sqlite_only") is not None
        folder = item.path.relative_to(here).parts[0]
        elsewhere = folder not in BOTH_ENGINES
        (drop if engine == "postgresql" and (only or elsewhere) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (see ``tests/postgres.py``)."""
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of a fresh PostgreSQL database of this test's own, already migrated."""
    url = await postgres_server.new_database()
    try:
        yield url
    finally:
        await postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    """The store's engine: every test using the store (``database``) runs on both."""
    return str(request.param)


@pytest.fixture
def database(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """What ``NEWSBOT_DATABASE`` names for this test: a SQLite file of its own, or the
    URL of a fresh PostgreSQL database."""
    if engine == "sqlite":
        return tmp_path / "news.sqlite3"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store_class() -> type[Store]:
    """The class ``store`` opens: a module overrides it to open a spy instead."""
    return Store


@pytest.fixture
async def store(database: str | Path, store_class: type[Store]) -> AsyncIterator[Store]:
    """A real store of this test's own, on each engine in turn."""
    s = await store_class.open(database)
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
