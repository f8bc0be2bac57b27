"""``newsbot migrate-store``: a SQLite store copied into an empty PostgreSQL database.

Both engines hold one schema at one version (see :mod:`bot.store.migrations`), so
the copy is table by table, column by column, in one PostgreSQL transaction: every
row keeps its id, so announcements, deliveries, posted message ids and the
first-start state of each source mean the same after the move, and a bot started on
the copy announces nothing again. Tables the database derives from others (the tag
counts, the full-text index) are rebuilt by PostgreSQL as the rows arrive.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from bot.store.database import Database
from bot.store.models import StoreError
from bot.store.postgres import Connection, PostgresDatabase, text_value

log = logging.getLogger(__name__)

#: Every table, in an order their references accept.
TABLES = (
    "sources",
    "articles",
    "files",
    "article_tags",
    "announcements",
    "meta",
    "subscriptions",
    "subscription_filters",
    "guild_settings",
    "deliveries",
    "delivery_notices",
)

#: Tables the database fills itself from the others (by triggers).
DERIVED = ("tag_counts",)

#: Tables of requests in flight between processes sharing PostgreSQL, and the facts
#: they publish about their servers: a SQLite store, one process's, has none to carry
#: over.
IN_FLIGHT = ("test_requests", "channel_facts", "guild_facts")

#: Tables whose ids PostgreSQL assigns (identity columns): their next id follows the copy.
_IDENTITY_TABLES = (
    "sources",
    "articles",
    "announcements",
    "subscriptions",
    "deliveries",
    "delivery_notices",
)


async def copy_store(sqlite_path: str | Path, url: str) -> dict[str, int]:
    """Copy the SQLite store at ``sqlite_path`` into the empty PostgreSQL database at
    ``url`` (migrating both to this code's schema first); returns the rows copied
    per table. Raises :class:`StoreError` when the target holds any row (nothing is
    written then), or the SQLite file is missing or in use by a running bot."""
    if not await asyncio.to_thread(os.path.isfile, sqlite_path):
        raise StoreError(f"no SQLite database at {sqlite_path}")
    source = await Database.open(sqlite_path)
    try:
        target = await PostgresDatabase.open(url)
        try:
            return await _copy(source, target)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy(source: Database, target: PostgresDatabase) -> dict[str, int]:
    copied: dict[str, int] = {}
    lite = source.connection()
    found = {
        name
        for (name,) in await lite.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'articles_fts%'"
        )
    }
    unknown = found - set(TABLES) - set(DERIVED) - set(IN_FLIGHT)
    if unknown:  # a migration added a table this copy does not know: copy nothing
        raise StoreError(f"migrate-store does not know the tables {sorted(unknown)}")
    async with target.pool.acquire() as pg, pg.transaction():
        for table in (*TABLES, *DERIVED):
            if await pg.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                raise StoreError(
                    "the PostgreSQL database is not empty (it holds "
                    f"{table}): migrate-store copies into an empty database only"
                )
        for table in TABLES:
            columns = [row[1] for row in await lite.execute_fetchall(f"PRAGMA table_info({table})")]
            rows = await lite.execute_fetchall(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_order(table, columns)}"
            )
            records = [tuple(text_value(value) for value in row) for row in rows]
            if records:
                await pg.copy_records_to_table(table, records=records, columns=columns)
            copied[table] = len(records)
            log.info("copied %d rows of %s", len(records), table)
        for table in _IDENTITY_TABLES:
            await pg.execute(
                f"""
                SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                              coalesce(max(id), 0) + 1, false)
                FROM {table}
                """
            )
        # A process already running on the empty database hears of the articles.
        await target.articles_changed(Connection(pg))
    return copied


def _order(table: str, columns: Sequence[str]) -> str:
    """The rows' order: by id where there is one (the order they were written in)."""
    return "id" if "id" in columns else ", ".join(columns[:2])
