"""Connection set-up and numbered migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.formats import Format, format_to_json
from bot.store import Identity, Store, StoreError
from bot.store import database as database_module
from bot.store.migrations import Migration, load_migrations, migrate, split_statements


def version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


async def test_fresh_database_gets_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    async with await Store.open(path) as store:
        assert await store.article_count() == 0
    latest = len(load_migrations())
    assert latest >= 1 and version(path) == latest
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sources", "files", "articles", "article_tags", "announcements"} <= tables
    assert "articles_fts" in tables


async def test_pragmas(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "news.db")

    async def pragma(name: str) -> object:
        [(value,)] = await store._connection().execute_fetchall(f"PRAGMA {name}")
        return value

    try:
        assert await pragma("journal_mode") == "wal"
        assert await pragma("foreign_keys") == 1
        assert await pragma("synchronous") == 1  # NORMAL
        assert await pragma("busy_timeout") == 5000
    finally:
        await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.article_count()


async def test_reopening_does_not_rerun_migrations(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    async with await Store.open(path) as store:
        await store.source("feed", "https://example.com/feed")
    # Re-running 0001 would fail ("table sources already exists") or wipe data.
    async with await Store.open(path) as store:
        assert [s.locator for s in await store.sources()] == ["https://example.com/feed"]
    assert version(path) == len(load_migrations())


async def test_only_new_migrations_run(tmp_path: Path) -> None:
    one = Migration(1, "0001_a.sql", ("CREATE TABLE a (x)", "INSERT INTO a VALUES (1)"))
    two = Migration(2, "0002_b.sql", ("INSERT INTO a VALUES (2)",))
    async with aiosqlite.connect(tmp_path / "m.db", isolation_level=None) as db:
        assert await migrate(db, [one]) == 1
        assert await migrate(db, [one, two]) == 2
        assert await migrate(db, [one, two]) == 2
        rows = list(await db.execute_fetchall("SELECT x FROM a ORDER BY x"))
    assert [r[0] for r in rows] == [1, 2]


async def test_failed_migration_leaves_nothing(tmp_path: Path) -> None:
    one = Migration(1, "0001_a.sql", ("CREATE TABLE a (x)",))
    bad = Migration(2, "0002_b.sql", ("CREATE TABLE b (y)", "INSERT INTO nowhere VALUES (1)"))
    async with aiosqlite.connect(tmp_path / "m.db", isolation_level=None) as db:
        await migrate(db, [one])
        with pytest.raises(sqlite3.OperationalError):
            await migrate(db, [one, bad])
        assert not db.in_transaction
        names = {r[0] for r in await db.execute_fetchall("SELECT name FROM sqlite_master")}
    assert names == {"a"} and version(tmp_path / "m.db") == 1


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer than this code"):
        await Store.open(path)


async def test_missing_fts5_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_module, "FTS_PROBE", "CREATE VIRTUAL TABLE temp.p USING nofts(x)")
    with pytest.raises(StoreError, match="FTS5"):
        await Store.open(":memory:")


def test_shipped_migrations_are_numbered_and_complete() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    first = migrations[0]
    assert first.name == "0001_initial.sql"
    # Triggers are kept whole.
    triggers = [s for s in first.statements if s.startswith("CREATE TRIGGER")]
    assert len(triggers) == 2 and all(s.rstrip().endswith("END;") for s in triggers)


def test_split_statements() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT ';');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'a;b';
    END;
    -- trailing comment
    """
    statements = split_statements(sql)
    assert len(statements) == 2 and statements[1].endswith("END;")
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE t (x")


async def test_cancelled_while_committing_is_cancelled_not_a_rollback_error(
    tmp_path: Path,
) -> None:
    """Ctrl-C during start-up can cancel a migration whose COMMIT is already queued on
    aiosqlite's thread: the task must end cancelled, with the migration committed."""
    one = Migration(1, "0001_a.sql", ("CREATE TABLE a (x)",))
    async with aiosqlite.connect(tmp_path / "m.db", isolation_level=None) as db:
        real = db.execute
        queued: list[asyncio.Future[Any]] = []

        async def execute(sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                queued.append(asyncio.ensure_future(real(sql, *args)))
                await asyncio.sleep(0)  # the COMMIT is on its way to the thread
                raise asyncio.CancelledError  # ... when the task is cancelled
            return await real(sql, *args)

        db.execute = execute  # type: ignore[method-assign]
        with pytest.raises(asyncio.CancelledError):
            await migrate(db, [one])
        db.execute = real  # type: ignore[method-assign]
        await asyncio.gather(*queued)
        assert not db.in_transaction
    assert version(tmp_path / "m.db") == 1


async def add_a_delivery(db: aiosqlite.Connection) -> None:
    """An article and its pending post, attempted, in subscription 7's channel 2."""
    await db.execute("INSERT INTO sources (id, kind, locator) VALUES (1, 'feed', 'f')")
    await db.execute(
        "INSERT INTO articles (id, source_id, key, content_hash, status, title, title_fold, "
        "sort_at, first_seen_at, changed_at, announced_at, article_json, message_json) "
        "VALUES (1, 1, 'k', 'h', 'published', 'T', 't', 0, 0, 0, 0, '{}', '{}')"
    )
    await db.execute(
        "INSERT INTO deliveries (subscription_id, article_id, guild_id, channel_id, nonce, "
        "due_at, created_at, attempted_at) VALUES (7, 1, 1, 2, 'n', 1, 1, 1)"
    )


async def test_migrating_subscriptions_to_filters_keeps_them_and_their_deliveries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    migrations = load_migrations()
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA foreign_keys = ON")
        await migrate(db, migrations[:6])
        await db.execute(
            "INSERT INTO subscriptions (id, guild_id, channel_id, tags, exclude_tags, "
            "mention_role_id, paused_reason, paused_at, created_by, created_at, updated_at) "
            "VALUES (7, 1, 2, '[\"Energy\"]', '[\"Opinion\"]', 99, 'quiet', 5, 3, 4, 5), "
            "(8, 1, 3, '[]', '[]', NULL, NULL, NULL, 3, 4, 5)"
        )
        await add_a_delivery(db)
    async with await Store.open(path) as store:
        first, second = await store.subscriptions(1)
        [only] = first.filters
        assert (only.number, only.tags, only.exclude_tags, only.mention_role_id) == (
            1,
            ("Energy",),
            ("Opinion",),
            99,
        )
        assert only.categories == () and first.paused_reason == "quiet"
        assert [(f.tags, f.mention_role_id) for f in second.filters] == [((), None)]
        assert len(await store.deliveries(subscription_id=first.id)) == 1


async def test_a_database_with_formats_gets_webhook_identities(tmp_path: Path) -> None:
    # Migration 9 (formats) came before 10 (webhooks): a database at 9 keeps its
    # subscription's format and gets the bot's identity and no webhook yet.
    path = tmp_path / "formats.db"
    migrations = load_migrations()
    assert [m.name for m in migrations[8:10]] == ["0009_formats.sql", "0010_webhook_identity.sql"]
    custom = Format(content="{{title}} {{url}}", embed=False)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA foreign_keys = ON")
        await migrate(db, migrations[:9])
        await db.execute(
            "INSERT INTO subscriptions (id, guild_id, channel_id, created_by, created_at, "
            "updated_at, format) VALUES (7, 1, 2, 3, 4, 5, ?)",
            (format_to_json(custom),),
        )
        await add_a_delivery(db)
    async with await Store.open(path) as store:
        [subscription] = await store.subscriptions(1)
        assert subscription.format == custom
        assert subscription.identity is Identity.BOT
        assert await store.webhook(1, 2) is None
        [delivery] = await store.deliveries(subscription_id=7)
        assert delivery.webhook_id is None and delivery.attempt_fingerprint is None
    assert version(path) == len(migrations)
