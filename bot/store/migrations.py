"""Numbered schema migrations, tracked with ``PRAGMA user_version``.

Migrations are the files ``bot/store/migrations/NNNN_name.sql`` (package data),
numbered from 1 without gaps. A database at version ``v`` gets migrations ``v+1``
onwards, each in its own ``BEGIN IMMEDIATE`` transaction that also sets
``user_version``: a failing migration leaves the database as it was. Never edit a
released migration; add the next number.
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

from bot.articles.model import category_key
from bot.store.columns import spelling
from bot.store.models import StoreError

log = logging.getLogger(__name__)

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


def load_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with the package, in order."""
    folder = resources.files("bot.store").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(int(match.group(1)), entry.name, split_statements(entry.read_text("utf-8")))
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(f"migration {expected:04d} is missing (found {migration.name})")
    if not found:
        raise StoreError("no migrations found: is bot/store/migrations/*.sql installed?")
    return tuple(found)


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
    if current > latest:
        raise StoreError(
            f"the database is at schema version {current}, newer than this code knows "
            f"({latest}): run a newer newsbot, or restore a backup of the database"
        )
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
