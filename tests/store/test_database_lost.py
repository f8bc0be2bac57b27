"""A database file deleted or replaced under the running store is noticed, not written
to in silence (SQLite itself goes on with the unlinked file)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import DatabaseLost, Store
from bot.store import database as database_module


@pytest.fixture(autouse=True)
def check_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "IDENTITY_CHECK_SECONDS", 0.0)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "news.sqlite3"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[Store]:
    async with await Store.open(path) as opened:
        yield opened


async def test_a_deleted_database_stops_every_read_and_write(path: Path, store: Store) -> None:
    assert await store.subscriptions(1) == []
    os.remove(path)  # as `rm` would
    with pytest.raises(DatabaseLost, match=f"the database {path} was deleted"):
        await store.subscriptions(1)
    with pytest.raises(DatabaseLost):  # and every later call, reads and writes
        await store.set_meta("k", "v")
    lost = await asyncio.wait_for(store.wait_lost(), 5)
    assert str(path) in str(lost)


async def test_the_wait_notices_a_deletion_when_nothing_else_runs(path: Path, store: Store) -> None:
    waiting = asyncio.ensure_future(store.wait_lost())
    os.remove(path)  # as `rm` would
    lost = await asyncio.wait_for(waiting, 10)
    assert "was deleted" in str(lost)


async def test_a_replaced_database_is_noticed(path: Path, store: Store) -> None:
    other = path.with_name("other.sqlite3")
    sqlite3.connect(other).close()
    os.replace(other, path)
    with pytest.raises(DatabaseLost, match="was replaced by another file"):
        await store.get_meta("k")


async def test_an_untouched_or_in_memory_database_runs_on(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    for where in (path, ":memory:"):
        store = await Store.open(where)
        try:
            await store.set_meta("k", "v")
            assert await store.get_meta("k") == "v"
            waiting = asyncio.ensure_future(store.wait_lost())
            await asyncio.sleep(0)  # let it look once
            assert not waiting.done()
            waiting.cancel()
        finally:
            await store.close()
