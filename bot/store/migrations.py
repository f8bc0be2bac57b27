"""Numbered schema migrations, tracked with ``PRAGMA user_version``.

Migrations are the files ``bot/store/migrations/NNNN_name.sql`` (package data),
numbered from 1 without gaps. A database at version ``v`` gets migrations ``v+1``
onwards, each in its own ``BEGIN IMMEDIATE`` transaction that also sets
``user_version``: a failing migration leaves the database as it was. Never edit a
released migration; add the next number.

PostgreSQL has its own set, ``bot/store/migrations/postgres/NNNN_name.sql``: it starts
at :data:`FIRST_POSTGRES_VERSION` (one file creating SQLite's schema of that version)
and has a twin of every later SQLite migration under the same number, so a version
is one schema on both engines; a test holds the two sets to the same last version.
The version is kept in the table ``newsbot_schema``; each migration is one
transaction, under an advisory lock so that processes starting together migrate once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import aiosqlite
import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.articles.model import category_key
from bot.store.columns import spelling
from bot.store.models import StoreError

log = logging.getLogger(__name__)

#: A PostgreSQL connection: one of its own, or one lent by a pool.
PgConnection = asyncpg.Connection | PoolConnectionProxy

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration, split into statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Split a script into statements (trigger bodies and ``;`` in strings included)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if _strip_comments(statement):
                statements.append(statement)
            buffer = ""
    if _strip_comments(buffer):
        raise ValueError(f"unterminated SQL statement: {buffer.strip()[:60]!r}")
    return tuple(statements)


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()


#: The schema version PostgreSQL's migrations start from.
FIRST_POSTGRES_VERSION = 8

# The key of the advisory lock migrations of PostgreSQL run under.
_MIGRATION_LOCK = 0x6E657773626F7400  # "newsbot\0"


def load_migrations(engine: str = "sqlite") -> tuple[Migration, ...]:
    """The migrations shipped with the package for ``engine`` (``sqlite`` or
    ``postgresql``), in order. PostgreSQL's are whole scripts (one statement each:
    its function bodies hold semicolons)."""
    postgres = engine == "postgresql"
    folder = resources.files("bot.store").joinpath("migrations")
    if postgres:
        folder = folder.joinpath("postgres")
    first = FIRST_POSTGRES_VERSION if postgres else 1
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        text = entry.read_text("utf-8")
        statements = (text,) if postgres else split_statements(text)
        found.append(Migration(int(match.group(1)), entry.name, statements))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=first):
        if migration.version != expected:
            raise StoreError(f"migration {expected:04d} is missing (found {migration.name})")
    if not found:
        raise StoreError("no migrations found: is bot/store/migrations/*.sql installed?")
    return tuple(found)


def check_version(current: int, latest: int, *, exact: bool = False) -> None:
    """Refuse (:class:`StoreError`) a database at schema version ``current`` when this
    code's is ``latest``: one that is newer; with ``exact`` (it is only read, not
    migrated) one at any other version."""
    if exact and current != latest:
        advice = "start the bot once to migrate it" if current < latest else "run a newer newsbot"
        raise StoreError(
            f"the database is at schema version {current}, this code reads version {latest}: "
            + advice
        )
    if current > latest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this code knows "
            f"({latest}): run a newer newsbot, or restore a backup of the database"
        )


async def user_version(db: aiosqlite.Connection) -> int:
    """The schema version recorded in the database."""
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(db: aiosqlite.Connection, migrations: Sequence[Migration] | None = None) -> int:
    """Bring the database to the latest version; return that version.

    Raises :class:`StoreError` when the database is newer than this code.
    """
    if migrations is None:
        migrations = load_migrations()
    # Migration 0006 files categories exactly as the code does.
    await db.create_function("newsbot_category_key", 1, category_key, deterministic=True)
    await db.create_function("newsbot_spelling", 1, spelling, deterministic=True)
    latest = len(migrations)
    current = await user_version(db)
    check_version(current, latest)
    for migration in migrations[current:]:
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if await user_version(db) < migration.version:
                for statement in migration.statements:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {migration.version:d}")
                log.info("applied schema migration %s", migration.name)
            await db.execute("COMMIT")
        except BaseException:
            # A task cancelled while its COMMIT was queued (Ctrl-C during start-up) sees
            # a transaction still open here, but the COMMIT runs first on aiosqlite's
            # thread: then there is nothing left to roll back.
            if db.in_transaction:
                with contextlib.suppress(sqlite3.OperationalError):
                    await db.execute("ROLLBACK")
            raise
    return latest


async def migrate_postgres(connection: PgConnection, *, check_only: bool = False) -> int:
    """Bring a PostgreSQL database to the latest version (``check_only``: refuse one at
    another version instead); return that version. Raises :class:`StoreError` when the
    database is newer than this code, or not empty and not the bot's."""
    migrations = load_migrations("postgresql")
    latest = migrations[-1].version
    current = await _postgres_version(connection)
    check_version(current, latest, exact=check_only)
    for migration in migrations:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            # Another process may have migrated while we waited for the lock.
            current = await _postgres_version(connection)
            if current >= migration.version:
                continue
            if current == 0 and await connection.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            ):
                raise StoreError(
                    "the database holds tables of something else: give the bot a database "
                    "of its own"
                )
            for statement in migration.statements:
                await connection.execute(statement)
            await connection.execute(
                """
                CREATE TABLE IF NOT EXISTS newsbot_schema (version BIGINT NOT NULL);
                DELETE FROM newsbot_schema;
                """
            )
            await connection.execute(
                "INSERT INTO newsbot_schema (version) VALUES ($1)", migration.version
            )
            log.info("applied schema migration %s (PostgreSQL)", migration.name)
    return latest


async def _postgres_version(connection: PgConnection) -> int:
    """The schema version recorded in a PostgreSQL database (0: none yet)."""
    if not await connection.fetchval("SELECT to_regclass('newsbot_schema') IS NOT NULL"):
        return 0
    return int(await connection.fetchval("SELECT coalesce(max(version), 0) FROM newsbot_schema"))
