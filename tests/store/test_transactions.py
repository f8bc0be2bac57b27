"""All or nothing, durable once committed, serialised between tasks."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Change, Store
from tests.store.helpers import T0, art, item

MIN = timedelta(minutes=1)


async def test_committed_data_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    async with await Store.open(path) as store:
        src = await store.source("content", "/c")
        await store.mark_baseline_done(src.id, T0)
        await store.record_files(src.id, [item("a.md", art("/a/", tags=("X",)))], T0)
    async with await Store.open(path) as store:
        assert [a.key for a in await store.latest("x", 10)] == ["/a/"]
        assert [a.kind for a in await store.pending_announcements()] == ["published"]
        [r] = await store.record_files(src.id, [item("a.md", art("/a/", tags=("X",)))], T0 + MIN)
        assert r.change is Change.UNCHANGED


def test_committed_data_survives_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os
        from bot.store import Store
        from tests.store.helpers import T0, art, item

        async def main():
            store = await Store.open({str(path)!r})
            src = await store.source("content", "/c")
            await store.record_files(src.id, [item("a.md", art("/a/"))], T0)
            os._exit(0)  # no close, no checkpoint

        asyncio.run(main())
        """
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=60)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT key FROM articles").fetchall() == [("/a/",)]


@pytest.mark.sqlite_only  # reads SQLite's own catalogue, plans or FTS5
async def test_failing_transaction_leaves_nothing(store: Store) -> None:
    src = await store.source("content", "/c")
    await store.mark_baseline_done(src.id, T0)
    # Make the last write of the batch (the announcements) fail inside SQLite.
    await store._connection().execute(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON announcements "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        await store.record_files(src.id, [item("a.md", art("/a/", tags=("t",)))], T0)
    assert await store.article_count() == 0
    assert await store.files(src.id) == {}
    assert await store.tags() == []
    assert await store.search("title", None, 10) == []
    assert not store._connection().in_transaction
    await store._connection().execute("DROP TRIGGER temp.boom")
    [r] = await store.record_files(src.id, [item("a.md", art("/a/"))], T0)
    assert (r.change, r.article_id, r.announced) == (Change.NEW, 1, "published")


async def test_exception_in_python_rolls_back(store: Store) -> None:
    src = await store.source("content", "/c")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store._transaction() as db:
            await db.execute("UPDATE sources SET failures = 5 WHERE id = ?", (src.id,))
            raise Boom
    assert (await store.get_source(src.id)).failures == 0  # type: ignore[union-attr]


async def test_concurrent_tasks_do_not_interleave(store: Store) -> None:
    src = await store.source("content", "/c")
    await store.mark_baseline_done(src.id, T0)

    async def scan(n: int) -> None:
        items = [item(f"{n}/{i}.md", art(f"/{n}/{i}/")) for i in range(50)]
        await store.record_files(src.id, items, T0)

    async def read() -> None:
        for _ in range(20):
            # Announcements are only ever seen whole: 0, 50, 100, ... per scan.
            assert len(await store.pending_announcements(limit=1000)) % 50 == 0
            await asyncio.sleep(0)

    await asyncio.gather(*(scan(n) for n in range(5)), read(), read())
    assert await store.article_count() == 250
    assert len(await store.pending_announcements(limit=1000)) == 250


@pytest.mark.sqlite_only  # reads SQLite's own catalogue, plans or FTS5
async def test_fts_index_stays_consistent(store: Store) -> None:
    src = await store.source("content", "/c")
    await store.mark_baseline_done(src.id, T0)
    await store.record_files(src.id, [item("a.md", art("/a/", "Alpha"))], T0)
    await store.record_files(src.id, [item("a.md", art("/a/", "Beta"))], T0 + MIN)
    await store.record_files(src.id, [item("a.md", art("/a/", "Beta", draft=True))], T0 + MIN)
    await store.record_files(src.id, [item("a.md", art("/a/", "Gamma"))], T0 + 2 * MIN)
    await store._connection().execute(
        "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')"
    )
    assert await store.search("alpha", None, 10) == []
    assert [a.title for a in await store.search("gamma", None, 10)] == ["Gamma"]


async def test_meta_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    async with await Store.open(path) as store:
        assert await store.get_meta("commands:1:global") is None
        await store.set_meta("commands:1:global", "abc")
        await store.set_meta("commands:1:global", "def")
    async with await Store.open(path) as store:
        assert await store.get_meta("commands:1:global") == "def"


async def test_cancelled_while_beginning_leaves_no_transaction(store: Store) -> None:
    task = asyncio.create_task(store.set_meta("k", "v"))
    await asyncio.sleep(0)  # the task takes the lock and waits for its BEGIN
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    await store.set_meta("k", "w")  # not "cannot start a transaction within a transaction"
    assert await store.get_meta("k") == "w"


async def pragma(store: Store, name: str) -> int:
    [(value, *_)] = await store._connection().execute_fetchall(f"PRAGMA {name}")
    return int(value)


async def test_bulk_mode_checkpoints_rarely_then_once_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    wal = path.with_name(path.name + "-wal")
    async with await Store.open(path) as store:
        src = await store.source("content", "/site")
        assert await pragma(store, "wal_autocheckpoint") == 1000
        async with store.bulk():
            assert await pragma(store, "wal_autocheckpoint") > 1000
            for n in range(3):
                await store.record_files(src.id, [item(f"{n}.md", art(f"/{n}/"))], T0)
            assert wal.stat().st_size > 0  # the transactions wait in the WAL
        # Checkpointed into the database and the WAL emptied; the usual rhythm is back.
        assert wal.stat().st_size == 0
        assert await pragma(store, "wal_autocheckpoint") == 1000
        con = sqlite3.connect(path)  # a second reader sees every transaction
        try:
            assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)
        finally:
            con.close()


async def test_bulk_mode_ending_after_the_store_closed_is_quiet(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "news.db")
    async with store.bulk():
        await store.close()  # shutting down in the middle of a large scan
