"""The PostgreSQL database under the store (asyncpg): the same entry points as the
SQLite :class:`~bot.store.database.Database`, so that every part of the store runs
its one copy of each statement on either engine.

The parts write their statements once, in SQLite's spelling with named parameters.
:func:`translate` turns one into PostgreSQL's, by a short fixed list of rules (each
tested in ``tests/store/test_postgres.py``):

* ``:name`` parameters become ``$1``, ``$2``... (and ``?`` positional ones too);
* ``IN (SELECT value FROM json_each(:ids))``, the SQLite way to pass a set of ids as
  one JSON array, becomes ``= ANY(:ids)``, and the parameter is decoded to a list;
* ``json_array(`` is ``json_build_array(``, ``json(x)`` is ``x::json``, and SQLite's
  ``INDEXED BY`` hints go; SQLite's ``a IS NOT b`` is ``a IS DISTINCT FROM b``
  and its ``a IS :b`` is ``a IS NOT DISTINCT FROM $n``;
* NUL characters in text parameters are dropped (PostgreSQL's text cannot hold them).

The functions SQLite has and the statements use (two-argument ``max`` and ``min``,
``instr``, ``json_group_array``) are created by the PostgreSQL migrations with
SQLite's meaning. What cannot be one statement for both (full-text search, and the
count of published articles the SQLite index keeps) branches on
:attr:`PostgresDatabase.engine` in the part that runs it.

For the coordination of many processes (advisory locks, ``LISTEN``/``NOTIFY``), ask
:attr:`PostgresDatabase.pool` for connections of their own. A transaction that changes
articles sends :data:`ARTICLES_CHANGED` on :data:`CHANNEL` (delivered when it commits);
every process's listener (:class:`bot.leader.Leadership`) hears it and calls
:meth:`PostgresDatabase.invalidate`, so that no process answers from a stale cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg

from bot.metrics import Metrics
from bot.store.database import Connection as AnyConnection
from bot.store.migrations import PgConnection, migrate_postgres
from bot.store.models import DatabaseLost, StoreError

log = logging.getLogger(__name__)

#: The ``LISTEN``/``NOTIFY`` channel of the processes sharing a database, and the
#: message that says a transaction changed articles (see :mod:`bot.leader` for the
#: others).
CHANNEL = "newsbot"
ARTICLES_CHANGED = "articles"

#: Connections the pool keeps at most: the store's own (its calls are serialised, as
#: on SQLite) and room for those other parts of the bot take for themselves.
POOL_SIZE = 4

_LIST = re.compile(r"IN\s*\(\s*SELECT\s+value\s+FROM\s+json_each\(\s*:(\w+)\s*\)\s*\)", re.I)
# A parameter, or a string literal (kept as it is: '...:x...' is no parameter).
_PARAMETER = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|(\?)")
_JSON_OF = re.compile(r"(?<![\w.])json\(([\w.]+)\)", re.I)
_JSON_ARRAY = re.compile(r"(?<![\w.])json_array\(", re.I)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_IS_PARAMETER = re.compile(r"\bIS\s+(?=:\w)", re.I)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.I)
_STATUS_COUNT = re.compile(r"(\d+)$")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement in PostgreSQL's spelling: its text, the names of its ``$n``
    parameters in order (empty: positional), and those that are JSON id lists."""

    text: str
    names: tuple[str, ...]
    lists: frozenset[str]

    def args(self, params: Mapping[str, Any] | Sequence[Any] | None) -> list[Any]:
        """The arguments of one execution, in ``$n`` order."""
        if params is None:
            return []
        if not self.names:
            # Positional parameters; a mapping for a statement that names none is unused.
            return [] if isinstance(params, Mapping) else [text_value(value) for value in params]
        assert isinstance(params, Mapping), "named parameters need a mapping"
        return [
            json.loads(params[name]) if name in self.lists else text_value(params[name])
            for name in self.names
        ]


def text_value(value: Any) -> Any:
    """A parameter as PostgreSQL takes it: its text holds no NUL character, which
    SQLite stores (user input, a feed's bytes): those are dropped."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


@lru_cache(maxsize=1024)
def translate(sql: str) -> Statement:
    """``sql``, written for SQLite, in PostgreSQL's spelling (see the module's rules)."""
    lists = frozenset(_LIST.findall(sql))
    text = _LIST.sub(r"= ANY(:\1)", sql)
    text = _JSON_ARRAY.sub("json_build_array(", text)
    text = _JSON_OF.sub(r"\1::json", text)
    text = _INDEXED_BY.sub("", text)
    text = _IS_NOT.sub("IS DISTINCT FROM ", text)
    text = _IS_PARAMETER.sub("IS NOT DISTINCT FROM ", text)
    names: list[str] = []
    positional = itertools.count(1)

    def number(match: re.Match[str]) -> str:
        name, question = match.groups()
        if question:
            return f"${next(positional)}"
        if name is None:
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _PARAMETER.sub(number, text)
    return Statement(text, tuple(names), lists)


class Cursor:
    """What a statement did: how many rows it changed (-1: not known)."""

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


def _rowcount(status: str) -> int:
    """The row count of a command status (``UPDATE 3``, ``INSERT 0 1``)."""
    match = _STATUS_COUNT.search(status or "")
    return int(match.group(1)) if match else -1


class Connection:
    """An asyncpg connection behind the calls the store's parts make of aiosqlite's:
    ``execute``, ``execute_fetchall`` and ``executemany``, with SQLite's spelling."""

    def __init__(self, connection: PgConnection | asyncpg.Pool) -> None:
        """Run statements on ``connection`` (a pool: each on a connection it lends)."""
        self.raw = connection

    async def execute(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Cursor:
        """Run one statement; the cursor tells how many rows it changed."""
        statement = translate(sql)
        status = await self.raw.execute(statement.text, *statement.args(params))
        return Cursor(_rowcount(status))

    async def execute_fetchall(
        self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> list[asyncpg.Record]:
        """Every row of one statement."""
        statement = translate(sql)
        return list(await self.raw.fetch(statement.text, *statement.args(params)))

    async def executemany(
        self, sql: str, seq: Iterable[Mapping[str, Any] | Sequence[Any]]
    ) -> Cursor:
        """Run one statement once per set of parameters (pipelined); the count of rows
        changed is not known (-1), as DB-API allows."""
        statement = translate(sql)
        batch = [statement.args(params) for params in seq]
        if batch:
            await self.raw.executemany(statement.text, batch)
        return Cursor(-1)


class PostgresDatabase:
    """One PostgreSQL database; this process's calls to it are serialised as on SQLite
    (one transaction or read at a time), each write one transaction."""

    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, *, metrics: Metrics | None = None) -> None:
        """Use an open pool of a migrated database; use :meth:`open` instead."""
        self.pool = pool
        self.url = url
        self.metrics = metrics or Metrics()
        self._lock = asyncio.Lock()
        self._closed = False
        self._changes = 0

    @classmethod
    async def open(
        cls, url: str, *, metrics: Metrics | None = None, read_only: bool = False
    ) -> PostgresDatabase:
        """Connect to the database at ``url`` and migrate it (``read_only``: check its
        schema version instead). Raises :class:`StoreError` when it cannot be reached
        or is at a version this code does not read."""
        # No floor of open connections: a pool that keeps one reconnects by itself
        # during an outage and logs a traceback on every failure; connections are
        # opened when a call needs one, and the leader's own checks report the outage.
        pool: asyncpg.Pool | None = None
        try:
            pool = await asyncpg.create_pool(url, min_size=0, max_size=POOL_SIZE)
            connection = await pool.acquire()  # the first connection: reachable at all?
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if pool is not None:
                await pool.close()
            raise StoreError(f"cannot connect: {exc}") from None
        try:
            await migrate_postgres(connection, check_only=read_only)
        except BaseException:
            await pool.release(connection)
            await pool.close()
            raise
        await pool.release(connection)
        return cls(pool, url, metrics=metrics)

    @property
    def changes(self) -> int:
        """A count that moves whenever the articles may have changed, in this process
        or another (see :attr:`Database.changes <bot.store.database.Database.changes>`)."""
        return self._changes

    async def articles_changed(self, db: AnyConnection) -> None:
        """The write transaction on ``db`` changed articles (or their tags): caches of
        them are stale here now, and in every other process once it commits (a
        ``NOTIFY`` is delivered on commit, and not at all on a rollback)."""
        self.invalidate()
        await db.execute(
            "SELECT pg_notify(:channel, :message)",
            {"channel": CHANNEL, "message": ARTICLES_CHANGED},
        )

    def invalidate(self) -> None:
        """Every cache of article lookups is stale from now on: called here by
        :meth:`articles_changed`, and by the listener when another process changed
        articles or when it (re)connects (a ``NOTIFY`` sent while it was away is lost)."""
        self._changes += 1

    def connection(self) -> Connection:
        """The pool, outside the lock and any transaction, with the calls of
        :class:`Connection`: for tests and tools that look behind the store."""
        return Connection(self._open_pool())

    def _open_pool(self) -> asyncpg.Pool:
        if self._closed:
            raise StoreError("the store is closed")
        return self.pool

    def check_file(self) -> None:
        """Nothing to check: no file to lose."""

    async def wait_lost(self) -> DatabaseLost:
        """Never returns: a PostgreSQL database has no file to be deleted under it."""
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close the pool (idempotent). Waits for a running transaction."""
        async with self._lock:
            if not self._closed:
                self._closed = True
                await self.pool.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction, serialised with this process's other calls."""
        with self.metrics.database_write.time():
            async with self._lock:
                pool = self._open_pool()
                async with pool.acquire() as raw, raw.transaction():
                    yield Connection(raw)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A connection for reads that see one consistent snapshot."""
        with self.metrics.database_read.time():
            async with self._lock:
                pool = self._open_pool()
                async with (
                    pool.acquire() as raw,
                    raw.transaction(isolation="repeatable_read", readonly=True),
                ):
                    yield Connection(raw)

    @contextlib.asynccontextmanager
    async def bulk(self) -> AsyncIterator[None]:
        """Many write transactions in a row: nothing to tune on PostgreSQL."""
        yield
