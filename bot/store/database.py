"""The SQLite database under the store: one aiosqlite connection, its lock, its
transactions, its settings and its migrations.

Everything above it (lookups, ingest, subscriptions, deliveries) holds a
:class:`Database` and asks it for a transaction or a consistent read; none of them
opens connections or manages locks. A second engine (PostgreSQL) is a second class
with the same entry points: :meth:`~Database.transaction`, :meth:`~Database.reading`
and :meth:`~Database.bulk`; and :attr:`~Database.changes`, which tells a cache of
article lookups it is stale: :meth:`~Database.articles_changed` in the transaction that
changed them counts one (on PostgreSQL it tells every other process too), and
:meth:`~Database.invalidate` counts one from outside (PostgreSQL's listener, when
another process wrote).

Rows come back as :class:`sqlite3.Row`: read them by column name.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import functools
import logging
import operator
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiosqlite

from bot.metrics import Metrics
from bot.store.codec import dumps
from bot.store.migrations import check_version, load_migrations, migrate, user_version
from bot.store.models import DatabaseLost, StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

# WAL pages between automatic checkpoints: SQLite's default, and in bulk mode about
# 100 MiB of 4 KiB pages (see Database.bulk).
CHECKPOINT_PAGES = 1000
BULK_CHECKPOINT_PAGES = 25_600

# SQLite's page cache for this connection, in KiB (negative: a size, not a page count):
# enough for the indexes the lookups walk and the hot part of the full-text index,
# well within the bot's memory budget.
CACHE_KIB = 16 * 1024

# How often, at most, the database file is looked at (one stat call) to notice that it
# was deleted or replaced under the running bot, which SQLite never reports.
IDENTITY_CHECK_SECONDS = 2.0

# The FTS5 probe: a temporary table in the connection's own temp schema.
FTS_PROBE = "CREATE VIRTUAL TABLE temp.newsbot_fts_probe USING fts5(x)"

#: Named parameters of one statement.
Params = Mapping[str, Any]

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T", bound="DataclassInstance")


class Row(Protocol):
    """A result row of either engine (:class:`sqlite3.Row`, ``asyncpg.Record``): read
    it by column name (or position)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> Iterable[str]: ...


class Cursor(Protocol):
    """What a statement did: how many rows it changed (-1: not known)."""

    @property
    def rowcount(self) -> int: ...


class Connection(Protocol):
    """The calls the store's parts make of a connection, in SQLite's spelling with
    named parameters (``aiosqlite.Connection``, or PostgreSQL's
    :class:`bot.store.postgres.Connection`, which translates them)."""

    async def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    async def execute_fetchall(self, sql: str, parameters: Any = ..., /) -> Iterable[Any]: ...

    async def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


class Engine(Protocol):
    """What the store's parts hold: :class:`Database` (SQLite) or
    :class:`bot.store.postgres.PostgresDatabase`; ``engine`` names which."""

    engine: str
    metrics: Metrics

    @property
    def changes(self) -> int: ...

    async def articles_changed(self, db: Connection) -> None: ...

    def invalidate(self) -> None: ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    def reading(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    def bulk(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    def check_file(self) -> None: ...

    async def wait_lost(self) -> DatabaseLost: ...

    async def close(self) -> None: ...


class Database:
    """One SQLite database, used by one task at a time.

    Every :meth:`transaction` and :meth:`reading` takes the same lock, so concurrent
    tasks never see each other's half-written transactions; every write runs in one
    ``BEGIN IMMEDIATE`` transaction (all or nothing).
    """

    engine = "sqlite"

    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: str | Path | None = None,
        *,
        metrics: Metrics | None = None,
        owner: int | None = None,
    ) -> None:
        """Wrap an open, migrated connection to the file at ``path`` (None: in memory);
        use :meth:`open` instead. Calls are timed into ``metrics`` (the bot's).
        ``owner``: the descriptor holding the file's one-process lock, closed with it."""
        self._connection = connection
        self._owner = owner
        self.metrics = metrics or Metrics()
        self._lock = asyncio.Lock()
        self._closed = False
        self._changes = 0
        self._path = path
        try:
            self._identity = _identity(path)
        except OSError:
            self._identity = None  # cannot be looked at: never judged lost
        self._next_check = time.monotonic() + IDENTITY_CHECK_SECONDS
        self._lost: DatabaseLost | None = None
        self._lost_event = asyncio.Event()

    @classmethod
    async def open(
        cls, path: str | Path, *, metrics: Metrics | None = None, read_only: bool = False
    ) -> Database:
        """Open (creating if needed) and migrate the database at ``path``.

        One database, hence one connection, per process. Raises :class:`StoreError`
        when SQLite lacks FTS5 or JSON, or the database is newer than this code.

        ``read_only`` (for ``newsbot status``, beside a running bot or without one)
        opens an existing file without writing to it: no creation, no migration; a
        missing file, or one at another schema version, raises :class:`StoreError`.
        """
        owner = None
        if read_only:
            db = await aiosqlite.connect(_read_only_uri(path), uri=True, isolation_level=None)
        else:
            owner = _own(path)
            try:
                db = await aiosqlite.connect(str(path), isolation_level=None)
            except BaseException:
                _release(owner)
                raise
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            if read_only:
                await _check_version(db)
            else:
                [(mode,)] = await db.execute_fetchall("PRAGMA journal_mode = WAL")
                if str(mode).lower() not in ("wal", "memory"):
                    log.warning("database %s: WAL mode unavailable, journal mode is %s", path, mode)
                await db.execute("PRAGMA synchronous = NORMAL")
                await db.execute("PRAGMA foreign_keys = ON")
                await db.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
                await _check_sqlite(db)
                await migrate(db)
        except BaseException:
            await db.close()
            _release(owner)
            raise
        db.row_factory = sqlite3.Row
        return cls(db, path, metrics=metrics, owner=owner)

    @property
    def changes(self) -> int:
        """A count that moves whenever the articles may have changed: what a cache of
        article lookups compares to know it is stale."""
        return self._changes

    async def articles_changed(self, db: Connection) -> None:
        """The write transaction on ``db`` changed articles (or their tags): caches of
        them are stale (this process is the database's only writer)."""
        self.invalidate()

    def invalidate(self) -> None:
        """Every cache of article lookups is stale from now on."""
        self._changes += 1

    def connection(self) -> aiosqlite.Connection:
        """The connection itself, outside the lock: for tests and tools that look
        behind the store. Raises :class:`StoreError` once closed."""
        if self._closed:
            raise StoreError("the store is closed")
        return self._connection

    def check_file(self) -> None:
        """Raise :class:`DatabaseLost` if the file was deleted or replaced since it was
        opened (looked at no more than every :data:`IDENTITY_CHECK_SECONDS`).

        SQLite keeps reading and writing a deleted file through its open handle, and the
        next start would create an empty database: every subscription silently gone.
        """
        if self._lost is not None:
            # A new exception each time: one raised again and again grows its traceback.
            raise DatabaseLost(str(self._lost))
        now = time.monotonic()
        if self._identity is None or now < self._next_check:
            return
        self._next_check = now + IDENTITY_CHECK_SECONDS
        try:
            identity = _identity(self._path)
        except OSError:
            return  # the file could not be looked at (permissions): no verdict
        if identity == self._identity:
            return
        what = "was deleted" if identity is None else "was replaced by another file"
        self._lost = DatabaseLost(
            f"the database {self._path} {what} while the bot was running; stopping, "
            "so that nothing more is written to the old file (restore it from a backup, "
            "or start afresh)"
        )
        self._lost_event.set()
        raise DatabaseLost(str(self._lost))

    async def wait_lost(self) -> DatabaseLost:
        """Return once the file is found deleted or replaced: by any transaction or
        read, or by this wait itself, which looks as often when nothing else runs."""
        if self._identity is None:  # in memory (or not to be looked at): never lost
            await asyncio.Event().wait()
        while True:
            try:
                self.check_file()
            except DatabaseLost as lost:
                return lost
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost_event.wait(), IDENTITY_CHECK_SECONDS)

    async def close(self) -> None:
        """Close the connection (idempotent). Waits for a running transaction."""
        async with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    await self._connection.close()
                finally:
                    _release(self._owner)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, serialised with every other transaction and read."""
        with self.metrics.database_write.time():
            async with self._lock:
                db = self.connection()
                self.check_file()
                try:
                    # Inside the try: a task cancelled while waiting for BEGIN gets its
                    # CancelledError here, but the BEGIN still runs on aiosqlite's thread.
                    await db.execute("BEGIN IMMEDIATE")
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    # A cancelled COMMIT may still have run, and a failed BEGIN never did:
                    # then there is nothing to undo.
                    with contextlib.suppress(sqlite3.OperationalError):
                        await db.execute("ROLLBACK")
                    raise

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for reads that must not see a transaction half done."""
        with self.metrics.database_read.time():
            async with self._lock:
                db = self.connection()
                self.check_file()
                yield db

    @contextlib.asynccontextmanager
    async def bulk(self) -> AsyncIterator[None]:
        """Many write transactions in a row (a large scan): within the block the WAL is
        checkpointed every :data:`BULK_CHECKPOINT_PAGES` pages instead of every 1,000
        (each checkpoint syncs the disk twice), and once more when it ends."""
        async with self._lock:
            await self.connection().execute(
                f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES:d}"
            )
        try:
            yield
        finally:
            async with self._lock:
                if not self._closed:
                    db = self._connection
                    await db.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES:d}")
                    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def fetch_all(db: Connection, sql: str, params: Params | None = None) -> list[Row]:
    """Every row of one query."""
    return list(await db.execute_fetchall(sql, params or {}))


async def fetch_one(db: Connection, sql: str, params: Params | None = None) -> Row | None:
    """The first row of one query, if any."""
    rows = await fetch_all(db, sql, params)
    return rows[0] if rows else None


async def fetch_value(db: Connection, sql: str, params: Params | None = None) -> Any:
    """The first column of the one row of a query (an aggregate, say)."""
    [row] = await fetch_all(db, sql, params)
    return row[0]


def values_by_name(rows: Sequence[Row], names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """The values of the columns ``names`` of each row, in that order.

    The columns are found by name once per result rather than once per row: the
    lookups build a few dozen articles of 21 fields each, and reading each field of
    each row by name would double what building them costs.
    """
    if not rows:
        return iter(())
    pick = _picker(tuple(rows[0].keys()), tuple(names))
    return map(pick, rows)


@functools.lru_cache(maxsize=256)
def _picker(columns: tuple[str, ...], names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """Picks ``names`` from a row with ``columns``: one per statement, kept."""
    positions = [columns.index(name) for name in names]
    if len(positions) == 1:  # itemgetter of one item returns it bare
        [position] = positions
        return lambda row: (row[position],)
    return operator.itemgetter(*positions)


def from_row(cls: type[_T], row: Row, **decoded: Any) -> _T:
    """The dataclass ``cls`` from a row whose columns are named as its fields;
    ``decoded`` gives the fields the row holds in another form (times as integers,
    statuses as text) or under no column of that name."""
    names = (f.name for f in dataclasses.fields(cls) if f.init and f.name not in decoded)
    return cls(**{name: row[name] for name in names}, **decoded)


def json_list(values: Iterable[object]) -> str:
    """``values`` as a JSON array: a parameter ``json_each`` turns into a set, so
    that one statement takes any number of ids (``id IN (SELECT value FROM
    json_each(:ids))``)."""
    return dumps(list(values))


def _identity(path: str | Path | None) -> tuple[int, int] | None:
    """The file's (device, inode), which a deleted or replaced file no longer has;
    None when there is no such file (or the database is in memory). Raises
    :class:`OSError` when the file cannot be looked at."""
    if path is None or str(path) in ("", ":memory:"):
        return None
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return status.st_dev, status.st_ino


def _own(path: str | Path) -> int | None:
    """Take the one-process lock of the database file at ``path`` (creating it empty if
    missing, which SQLite takes for a new database): an exclusive ``flock`` on the file
    itself, held until :func:`_release`, and dropped by the kernel when the process
    dies however it dies. None for an in-memory database.

    SQLite means one bot process: a second one would run the sources and the sender a
    second time and post everything twice. Raises :class:`StoreError` when another
    process holds the lock. (``newsbot status`` reads without it.)
    """
    if str(path) in ("", ":memory:"):
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(
            f"the database {path} is in use by another newsbot process: SQLite means one "
            "process (stop the other one, or share a PostgreSQL database between them)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release(owner: int | None) -> None:
    """Drop the lock :func:`_own` took (closing its descriptor)."""
    if owner is not None:
        os.close(owner)


def _read_only_uri(path: str | Path) -> str:
    """The SQLite URI that opens the file at ``path`` read-only (and never creates it);
    raises :class:`StoreError` when there is no such file."""
    if not os.path.isfile(path):
        raise StoreError(f"no database file at {path}")
    return f"{Path(os.path.abspath(path)).as_uri()}?mode=ro"


async def _check_version(db: aiosqlite.Connection) -> None:
    """Refuse a database that is not at this code's schema version (or not one at all)."""
    # user_version raises sqlite3.DatabaseError on a file of another kind.
    check_version(await user_version(db), len(load_migrations()), exact=True)


async def _check_sqlite(db: aiosqlite.Connection) -> None:
    """Fail early, and clearly, on an SQLite without what the schema needs."""
    try:
        await db.execute(FTS_PROBE)
        await db.execute("DROP TABLE temp.newsbot_fts_probe")
    except aiosqlite.OperationalError as exc:
        raise StoreError(
            f"this SQLite ({aiosqlite.sqlite_version}) has no FTS5 full-text search, "
            f"which the store needs: {exc}"
        ) from exc
    try:
        await db.execute_fetchall("SELECT json_array(1)")
    except aiosqlite.OperationalError as exc:
        raise StoreError(
            f"this SQLite ({aiosqlite.sqlite_version}) has no JSON functions: {exc}"
        ) from exc
