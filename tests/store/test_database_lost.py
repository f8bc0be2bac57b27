"""A database file deleted or replaced under the running store is noticed, not written
to in silence (SQLite itself goes on with the unlinked file)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from bot.store import DatabaseLost, Store
from bot.store import database as database_module


@pytest.fixture(autouse=True)
def check_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "IDENTITY_CHECK_SECONDS", 0.0)


async def test_a_deleted_database_stops_every_read_and_write(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    store = await Store.open(path)
    try:
        assert await store.subscriptions(1) == []
        path.unlink()
        with pytest.raises(DatabaseLost, match=f"the database {path} was deleted"):
            await store.subscriptions(1)
        with pytest.raises(DatabaseLost):  # and every later call, reads and writes
            await store.set_meta("k", "v")
        lost = await asyncio.wait_for(store.wait_lost(), 5)
        assert str(path) in str(lost)
    finally:
        await store.close()


async def test_the_wait_notices_a_deletion_when_nothing_else_runs(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    store = await Store.open(path)
    try:
        waiting = asyncio.ensure_future(store.wait_lost())
        path.unlink()
        lost = await asyncio.wait_for(waiting, 10)
        assert "was deleted" in str(lost)
    finally:
        await store.close()


async def test_a_replaced_database_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    store = await Store.open(path)
    try:
        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).close()
        os.replace(other, path)
        with pytest.raises(DatabaseLost, match="was replaced by another file"):
            await store.get_meta("k")
    finally:
        await store.close()


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
