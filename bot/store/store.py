"""The article store: one aiosqlite connection, all of the project's SQL.

Use it as::

    store = await Store.open(settings.database)   # or ":memory:" in tests
    try:
        ...
    finally:
        await store.close()

or ``async with await Store.open(path) as store: ...``.

Every public method takes the store's lock, so concurrent tasks never see each
other's half-written transactions; every write runs in one ``BEGIN IMMEDIATE``
transaction (all or nothing). Datetimes go in and come out aware (UTC); naive ones
are refused. The ingest rules (first start, announcements, withdrawals, moves) are
described in :mod:`bot.store.ingest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from bot.articles.model import Article, normalise_tag
from bot.store.codec import dumps, from_us, opt_dt, opt_us, to_us
from bot.store.columns import tag_token
from bot.store.deliveries import DeliveryQueries
from bot.store.ingest import (
    ARTICLE_COLUMNS,
    FILE_COLUMNS,
    PUBLISHED,
    ArticleRow,
    Batch,
    FileState,
)
from bot.store.migrations import migrate
from bot.store.models import (
    Announcement,
    Change,
    FileItem,
    FileRow,
    IngestResult,
    SourceRow,
    StoredArticle,
    StoreError,
)
from bot.store.search import search_expressions
from bot.store.subscriptions import SubscriptionQueries

log = logging.getLogger(__name__)

#: A file that reappears with the same bytes this soon after its article was
#: withdrawn is a move: the article keeps its identity and is not announced again.
MOVE_WINDOW = timedelta(minutes=10)

BUSY_TIMEOUT_MS = 5000

# WAL pages between automatic checkpoints: SQLite's default, and in bulk mode about
# 100 MiB of 4 KiB pages (see Store.bulk).
CHECKPOINT_PAGES = 1000
BULK_CHECKPOINT_PAGES = 25_600

# bm25 weights of the FTS columns: title, takeaways, description; the tag tokens only
# filter (migration 0002).
_BM25 = "bm25(articles_fts, 4.0, 2.0, 1.0, 0.0)"
# What a search's words are matched against: not the tag tokens.
_TEXT_COLUMNS = "{title takeaways_text description}"

#: A search ranks (bm25, about 3 us an article) at most this many matching articles,
#: the most recently stored ones: exact for every query matching no more, and bounded
#: work for one matching half the archive. A news search favouring recent articles
#: among very many matches is what readers expect anyway.
SEARCH_WINDOW = 300

#: A tag on more than this share of the published articles filters a search by a
#: lookup per match (most pass); a rarer one is a term of the MATCH expression, which
#: costs a read of all of the tag's index entries (bm25 counts them).
JOIN_TAG_SHARE = 1 / 5

#: The headline autocomplete offers titles containing the text (not starting with it)
#: from this many of the newest published articles; titles starting with it come from
#: all of them, through an index.
FIND_SCAN = 2000

#: Titles starting with the text are sorted newest first when there are at most this
#: many; a text more titles start with is matched walking the newest articles.
FIND_PREFIX_CAP = 1000

# SQLite's page cache for this connection, in KiB (negative: a size, not a page count):
# enough for the indexes the lookups walk and the hot part of the full-text index,
# well within the bot's memory budget.
CACHE_KIB = 16 * 1024

_SOURCE_COLUMNS = (
    "id, kind, locator, baseline_done_at, etag, last_modified, failures, "
    "next_attempt_at, failing_since, last_error, last_polled_at"
)

# What a StoredArticle is read from, for table alias ``a``.
_READ_COLUMNS = ", ".join(
    f"a.{c}"
    for c in (
        "id",
        "source_id",
        "key",
        "title",
        "url",
        "status",
        "published_at",
        "expires_at",
        "lastmod",
        "tags",
        "takeaways",
        "description",
        "authors",
        "image",
        "message_json",
        "first_seen_at",
        "announced_at",
        "withdrawn_at",
        "changed_at",
        "version",
        "article_json",
    )
)
_NEWEST = "a.sort_at DESC, a.id DESC"

# Published articles, newest first (the index articles_latest, read in order).
_LATEST = (
    f"SELECT {_READ_COLUMNS} FROM articles a WHERE a.status = 'published' "
    f"ORDER BY {_NEWEST} LIMIT ? OFFSET ?"
)
# The same with a tag: the index article_tags_latest, read in order.
_LATEST_TAG = (
    f"SELECT {_READ_COLUMNS} FROM article_tags t JOIN articles a ON a.id = t.article_id "
    "WHERE t.tag_key = ? AND t.published_sort IS NOT NULL "
    "ORDER BY t.published_sort DESC, t.article_id DESC LIMIT ? OFFSET ?"
)
# The newest SEARCH_WINDOW matches (the index streams them, newest stored first, and
# stops there), ranked; only the page asked for is read from the articles table. A tag
# is a term of the MATCH expression (the index intersects it with the words), or, when
# it is on most articles, a lookup per match (_SEARCH_JOIN).
_SEARCH = (
    f"SELECT {_READ_COLUMNS} FROM ("
    " SELECT id, score FROM ("
    f"  SELECT f.rowid AS id, {_BM25} AS score FROM articles_fts f {{join}}"
    "   WHERE articles_fts MATCH ? ORDER BY f.rowid DESC LIMIT ?"
    " ) ORDER BY score, id DESC LIMIT ? OFFSET ?"
    ") s JOIN articles a ON a.id = s.id ORDER BY s.score, s.id DESC"
)
_TAG_JOIN = "JOIN article_tags t ON t.article_id = f.rowid AND t.tag_key = ?"
_SEARCH_ALL = _SEARCH.format(join="")
_SEARCH_JOIN = _SEARCH.format(join=_TAG_JOIN)
# Whether a search matches more than ? articles: no ranking, so no bm25 statistics.
_MATCHES = (
    "SELECT count(*) FROM (SELECT f.rowid FROM articles_fts f {join} "
    "WHERE articles_fts MATCH ? LIMIT ?)"
)
_MATCHES_ALL = _MATCHES.format(join="")
_MATCHES_JOIN = _MATCHES.format(join=_TAG_JOIN)
# One row per tag: its most common spelling and its published article count.
_TAGS = (
    "SELECT tag_key, tag, total FROM ("
    " SELECT tag_key, tag, sum(n) OVER (PARTITION BY tag_key) AS total,"
    " row_number() OVER (PARTITION BY tag_key ORDER BY n DESC, tag) AS rank"
    " FROM tag_counts"
    ") WHERE rank = 1 ORDER BY total DESC, tag_key, tag"
)
# Titles starting with the text, newest first. {range} is "title_fold >= ? AND
# title_fold < ?" (without the upper bound when the text has no successor). FEW reads
# the range of the index articles_title_prefix, at most FIND_PREFIX_CAP entries, and
# sorts them; its first column counts them (up to the cap). At the cap the text is a
# common one (a letter or two, say) and MANY walks the newest articles instead, where
# matches come soon.
_FIND_PREFIX_FEW = (
    "SELECT (SELECT count(*) FROM ("
    "  SELECT 1 FROM articles WHERE status = 'published' AND {range} LIMIT ?"
    f")), {_READ_COLUMNS} FROM ("
    " SELECT id, sort_at FROM ("
    "  SELECT id, sort_at FROM articles WHERE status = 'published' AND {range} LIMIT ?"
    " ) ORDER BY sort_at DESC, id DESC LIMIT ?"
    f") m JOIN articles a ON a.id = m.id ORDER BY {_NEWEST}"
)
_FIND_PREFIX_MANY = (
    f"SELECT {_READ_COLUMNS} FROM ("
    " SELECT id, sort_at FROM articles INDEXED BY articles_latest"
    " WHERE status = 'published' AND {range}"
    " ORDER BY sort_at DESC, id DESC LIMIT ?"
    f") m JOIN articles a ON a.id = m.id ORDER BY {_NEWEST}"
)
_RANGE = "title_fold >= ? AND title_fold < ?"
_RANGE_OPEN = "title_fold >= ?"
# Titles containing the text elsewhere, among the FIND_SCAN newest (the index
# articles_latest holds the folded titles: the scan never reads the table).
_FIND_INSIDE = (
    f"SELECT {_READ_COLUMNS} FROM ("
    " SELECT id, sort_at FROM ("
    "  SELECT id, sort_at, title_fold FROM articles WHERE status = 'published'"
    "  ORDER BY sort_at DESC, id DESC LIMIT ?"
    " ) WHERE instr(title_fold, ?) > 1 LIMIT ?"
    f") m JOIN articles a ON a.id = m.id ORDER BY {_NEWEST}"
)
_JSON_SET = "(SELECT value FROM json_each(?))"

_ARTICLE_SELECT = ", ".join(ARTICLE_COLUMNS)
_ARTICLE_INSERT = (
    f"INSERT INTO articles ({_ARTICLE_SELECT}) VALUES ({', '.join('?' for _ in ARTICLE_COLUMNS)})"
)
_ARTICLE_UPDATE = (
    f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS[1:])} WHERE id = ?"
)
# Rows whose status the clock changes: the partial index makes "nothing due" cheap.
_DUE = (
    f"SELECT {_ARTICLE_SELECT} FROM articles "
    "WHERE transition_at IS NOT NULL AND transition_at <= ? ORDER BY transition_at, id"
)
_FILE_SELECT = ", ".join(FILE_COLUMNS[1:])
_FILE_UPSERT = (
    f"INSERT INTO files ({', '.join(FILE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in FILE_COLUMNS)}) "
    "ON CONFLICT (source_id, path) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FILE_COLUMNS[2:])
)

# Big batches let the event loop run every so many items.
_YIELD_EVERY = 500

# The FTS5 probe: a temporary table in the connection's own temp schema.
_FTS_PROBE = "CREATE VIRTUAL TABLE temp.newsbot_fts_probe USING fts5(x)"


def _json_ids(values: Iterable[object]) -> str:
    return dumps(list(values))


def _clean(text: str) -> str:
    """User text that SQLite can bind (lone surrogates cannot be encoded)."""
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class _TagStats:
    """Every tag on a published article: ``(tag_key, shown spelling, count)`` in
    :meth:`Store.tags` order, the count by key, and the number of published articles."""

    tags: list[tuple[str, str, int]]
    totals: dict[str, int]
    published: int


def _successor(text: str) -> str | None:
    """The smallest string greater than every string starting with ``text`` (in
    SQLite's binary order, which is code point order), or ``None`` if there is none."""
    for i in range(len(text) - 1, -1, -1):
        code = ord(text[i]) + 1
        if code == 0xD800:  # surrogates cannot be stored: skip them
            code = 0xE000
        if code <= 0x10FFFF:
            return text[:i] + chr(code)
    return None


def _stored(row: Any, offset: int = 0) -> StoredArticle:
    # The fields are in _READ_COLUMNS order: nothing to decode here (see StoredArticle).
    return StoredArticle(*(row[offset:] if offset else row))


def _source(row: Any) -> SourceRow:
    return SourceRow(
        id=row[0],
        kind=row[1],
        locator=row[2],
        baseline_done=row[3] is not None,
        etag=row[4],
        last_modified=row[5],
        failures=row[6],
        next_attempt_at=opt_dt(row[7]),
        failing_since=opt_dt(row[8]),
        last_error=row[9],
        last_polled_at=opt_dt(row[10]),
    )


class Store(SubscriptionQueries, DeliveryQueries):
    """The SQLite database of sources, files, articles, tags and announcements."""

    def __init__(self, db: aiosqlite.Connection, *, move_window: timedelta = MOVE_WINDOW) -> None:
        """Wrap an open, migrated connection; use :meth:`open` instead."""
        self._db = db
        self._lock = asyncio.Lock()
        self._move_window = move_window
        self._closed = False
        # What tags() and search() know of the tags, until the next write.
        self._tag_stats: _TagStats | None = None

    # -- connection --------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | Path, *, move_window: timedelta = MOVE_WINDOW) -> Store:
        """Open (creating if needed) and migrate the database at ``path``.

        One store, hence one connection, per process. Raises :class:`StoreError` when
        SQLite lacks FTS5 or the database is newer than this code.
        """
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
            mode = str(rows[0][0]).lower()
            if mode not in ("wal", "memory"):
                log.warning("database %s: WAL mode unavailable, journal mode is %s", path, mode)
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
            await _check_sqlite(db)
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, move_window=move_window)

    async def close(self) -> None:
        """Close the connection (idempotent). Waits for a running transaction."""
        async with self._lock:
            if not self._closed:
                self._closed = True
                await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, serialised with every other store call."""
        async with self._lock:
            db = self._connection()
            self._tag_stats = None
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
    async def bulk(self) -> AsyncIterator[None]:
        """Many write transactions in a row (a large scan): within the block the WAL is
        checkpointed every :data:`BULK_CHECKPOINT_PAGES` pages instead of every 1,000
        (each checkpoint syncs the disk twice), and once more when it ends."""
        async with self._lock:
            await self._connection().execute(
                f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES:d}"
            )
        try:
            yield
        finally:
            async with self._lock:
                if not self._closed:
                    await self._db.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES:d}")
                    await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for reads that must not see a transaction half done."""
        async with self._lock:
            yield self._connection()

    def _connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        return self._db

    # -- sources -----------------------------------------------------------------

    async def source(self, kind: str, locator: str) -> SourceRow:
        """The source ``(kind, locator)``, created on first use."""
        if kind not in ("content", "feed"):
            raise ValueError(f"unknown source kind {kind!r}")
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO sources (kind, locator) VALUES (?, ?) "
                "ON CONFLICT (kind, locator) DO NOTHING",
                (kind, locator),
            )
            rows = await db.execute_fetchall(
                f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE kind = ? AND locator = ?",
                (kind, locator),
            )
        return _source(next(iter(rows)))

    async def get_source(self, source_id: int) -> SourceRow | None:
        """The source with this id, if any."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?", (source_id,)
                )
            )
        return _source(rows[0]) if rows else None

    async def sources(self) -> list[SourceRow]:
        """Every source, by id."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY id")
        return [_source(r) for r in rows]

    async def mark_baseline_done(self, source_id: int, now: datetime) -> None:
        """The source's first full scan / poll is recorded: announce from now on."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE sources SET baseline_done_at = coalesce(baseline_done_at, ?) WHERE id = ?",
                (to_us(now), source_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no source {source_id}")

    async def save_feed_state(
        self,
        source_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        failures: int,
        next_attempt_at: datetime | None,
        failing_since: datetime | None,
        last_error: str | None,
        last_polled_at: datetime | None,
    ) -> None:
        """Remember the poller's state of a feed (conditional GET, back-off)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, failures = ?, "
                "next_attempt_at = ?, failing_since = ?, last_error = ?, last_polled_at = ? "
                "WHERE id = ?",
                (
                    etag,
                    last_modified,
                    failures,
                    opt_us(next_attempt_at),
                    opt_us(failing_since),
                    last_error,
                    opt_us(last_polled_at),
                    source_id,
                ),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no source {source_id}")

    # -- meta ----------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A value the bot kept with :meth:`set_meta`, if any."""
        async with self._reading() as db:
            rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,)))
        return str(rows[0][0]) if rows else None

    async def set_meta(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` (replacing an earlier one)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- content files -----------------------------------------------------------

    async def files(self, source_id: int) -> dict[str, FileRow]:
        """What the store knows of the files of a content source, by path."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT f.path, f.size, f.mtime_ns, f.content_hash, a.key, f.error "
                "FROM files f LEFT JOIN articles a ON a.id = f.article_id "
                "WHERE f.source_id = ? ORDER BY f.path",
                (source_id,),
            )
        return {r[0]: FileRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}

    async def file_stats(self, source_id: int) -> dict[str, tuple[int, int]]:
        """``(size, mtime_ns)`` of every file of a content source, by path: what a scan
        compares the folder with (the primary key's order, no other table read)."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT path, size, mtime_ns FROM files WHERE source_id = ?", (source_id,)
            )
        return {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    async def record_file(
        self,
        source_id: int,
        path: str,
        *,
        size: int,
        mtime_ns: int,
        file_hash: str,
        article: Article | None,
        article_hash: str | None,
        message: dict[str, Any] | None,
        error: str | None,
        now: datetime,
    ) -> IngestResult:
        """Record one scanned file: its article (with hash and message) or its error."""
        item = FileItem(path, size, mtime_ns, file_hash, article, article_hash, message, error)
        return (await self.record_files(source_id, [item], now))[0]

    async def remove_file(self, source_id: int, path: str, now: datetime) -> IngestResult:
        """The file at ``path`` was deleted or moved away: withdraw its article."""
        return (await self.record_files(source_id, (), now, removed=[path]))[0]

    async def record_files(
        self,
        source_id: int,
        items: Sequence[FileItem],
        now: datetime,
        *,
        removed: Sequence[str] = (),
    ) -> list[IngestResult]:
        """Record many file changes in one transaction.

        ``removed`` paths are processed first, so a file moved within one scan is
        seen as a move. Returns one result per removed path, then one per item.
        Large scans may be split into chunks of a few hundred files so that other
        tasks get a turn; put the removals in the first chunk.
        """
        async with self._transaction() as db:
            batch = await self._load_files(db, source_id, items, removed, now)
            results = [batch.remove_file(path) for path in removed]
            for n, item in enumerate(items, start=1):
                results.append(batch.record_file(item))
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let other tasks (gateway heartbeats) run
            await self._write(db, batch, source_id)
        return results

    # -- feeds -------------------------------------------------------------------

    async def record_entries(
        self,
        source_id: int,
        items: Sequence[tuple[Article, str, dict[str, Any]]],
        now: datetime,
    ) -> list[IngestResult]:
        """Record one poll of a feed: ``(article, article_hash, message)`` per entry.

        Entries are identified by key (``Article.id``, the guid); entries that left
        the feed are kept. A key given twice counts once (the first wins).
        """
        async with self._transaction() as db:
            batch = await self._new_batch(db, [source_id], now)
            keys = [article.id for article, _, _ in items]
            await self._load_rows(
                db,
                batch,
                f"source_id = ? AND key IN {_JSON_SET}",
                (source_id, _json_ids(keys)),
            )
            await self._load_pending(db, batch)
            results: list[IngestResult] = []
            seen: dict[str, IngestResult] = {}
            for article, article_hash, message in items:
                if article.id in seen:
                    first = seen[article.id]
                    results.append(
                        IngestResult(Change.UNCHANGED, first.article_id, None, first.status)
                    )
                    continue
                result = batch.record_entry(source_id, article, article_hash, message)
                seen[article.id] = result
                results.append(result)
            await self._write(db, batch, None)
        return results

    # -- the clock ---------------------------------------------------------------

    async def refresh_statuses(self, now: datetime) -> list[IngestResult]:
        """Move articles on whose publish or expiry time has come (announcing those
        that become published). Cheap when nothing is due."""
        now_us = to_us(now)
        async with self._transaction() as db:
            due = list(await db.execute_fetchall(_DUE, (now_us,)))
            if not due:
                return []
            rows = [ArticleRow.from_db(r) for r in due]
            batch = await self._new_batch(db, sorted({r.source_id for r in rows}), now)
            results: list[IngestResult] = []
            for row in rows:
                batch.add_row(row)
                result = batch.refresh(row)
                if result is not None:
                    results.append(result)
            await self._write(db, batch, None)
        return results

    async def next_transition_at(self) -> datetime | None:
        """The earliest pending publish/expiry time (may be past: refresh now)."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT min(transition_at) FROM articles WHERE transition_at IS NOT NULL"
                )
            )
        return opt_dt(rows[0][0])

    # -- announcements -----------------------------------------------------------

    async def pending_announcements(self, limit: int = 100) -> list[Announcement]:
        """Announcements not yet completed, oldest first, with their article as it is
        now (the deliverer decides what a withdrawn article's announcement means)."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                f"SELECT n.id, n.kind, n.created_at, {_READ_COLUMNS} "
                "FROM announcements n JOIN articles a ON a.id = n.article_id "
                "WHERE n.done_at IS NULL ORDER BY n.id LIMIT ?",
                (limit,),
            )
        return [Announcement(r[0], r[1], from_us(r[2]), _stored(r, 3)) for r in rows]

    async def complete_announcement(self, announcement_id: int, now: datetime) -> None:
        """Mark an announcement delivered (completing it twice is harmless)."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE announcements SET done_at = coalesce(done_at, ?) WHERE id = ?",
                (to_us(now), announcement_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no announcement {announcement_id}")

    # -- lookups -----------------------------------------------------------------

    async def article_count(self) -> int:
        """How many articles are stored, whatever their status."""
        async with self._reading() as db:
            rows = list(await db.execute_fetchall("SELECT count(*) FROM articles"))
        return int(rows[0][0])

    async def get(self, article_id: int) -> StoredArticle | None:
        """The article with this id, whatever its status (callers showing it to
        users should check ``status``)."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_READ_COLUMNS} FROM articles a WHERE a.id = ?", (article_id,)
                )
            )
        return _stored(rows[0]) if rows else None

    async def latest(self, tag: str | None, limit: int, offset: int = 0) -> list[StoredArticle]:
        """Published articles, newest first, optionally only those with ``tag``
        (matched case- and space-insensitively)."""
        params: tuple[Any, ...]
        if tag is None:
            sql, params = _LATEST, (limit, offset)
        else:
            sql, params = _LATEST_TAG, (normalise_tag(_clean(tag)), limit, offset)
        async with self._reading() as db:
            rows = await db.execute_fetchall(sql, params)
        return [_stored(r) for r in rows]

    async def search(
        self, query: str, tag: str | None, limit: int, offset: int = 0
    ) -> list[StoredArticle]:
        """Published articles matching ``query``, optionally only those with ``tag``,
        best match first (bm25: title matches weigh most; equal scores newest stored
        first). Any text is accepted: no syntax to get wrong.

        Every word must match. The last one also matches as a prefix
        (search-as-you-type; from three letters on), unless the words as typed already
        fill the answer: a common word needs no extensions, and as a prefix it would
        cost the most. When its extensions add no match, the answer is the one ranked
        for the words as typed.

        Only the :data:`SEARCH_WINDOW` most recently stored matches are ranked, so a
        query matching more articles than that answers from the recent ones.
        """
        matches = search_expressions(query)
        if not matches:
            return []
        sql, matches_sql, tag_filter = _SEARCH_ALL, _MATCHES_ALL, ""
        join: tuple[str, ...] = ()
        async with self._reading() as db:
            if tag is not None:
                key = normalise_tag(_clean(tag))
                stats = await self._load_tag_stats(db)
                count = stats.totals.get(key, 0)
                if count == 0:
                    return []  # no published article has it
                if count > stats.published * JOIN_TAG_SHARE:
                    sql, matches_sql, join = _SEARCH_JOIN, _MATCHES_JOIN, (key,)
                else:
                    tag_filter = f' AND tag_tokens : "{tag_token(key)}"'
            window = max(SEARCH_WINDOW, limit + offset)
            rows: list[Any] = []
            for match in matches:
                expression = f"{_TEXT_COLUMNS} : ({match}){tag_filter}"
                try:
                    if rows:
                        # The words as typed matched, too few: with the extensions of
                        # the last one the search is ranked again only if they add a
                        # match. Counting costs a fraction of ranking (bm25 reads every
                        # entry of every term to weigh it), and the extensions of a
                        # whole word seldom add any.
                        found = offset + len(rows)  # every match: fewer than the window
                        params = (*join, expression, found + 1)
                        [(matching,)] = await db.execute_fetchall(matches_sql, params)
                        if matching <= found:
                            break
                    params = (*join, expression, window, limit, offset)
                    rows = list(await db.execute_fetchall(sql, params))
                except aiosqlite.OperationalError as exc:
                    # fts_terms quotes everything; this is a last line of defence.
                    if not str(exc).startswith("fts5"):
                        raise
                    log.warning("search %r: %s", query, exc)
                    return []
                if len(rows) >= limit:
                    break
        return [_stored(r) for r in rows]

    async def _load_tag_stats(self, db: aiosqlite.Connection) -> _TagStats:
        """The tag counts, read once after each write (call with the lock held)."""
        if self._tag_stats is None:
            rows = await db.execute_fetchall(_TAGS)
            tags = [(str(r[0]), str(r[1]), int(r[2])) for r in rows]
            # The index holds the published articles: its own count is the cheap one.
            [(published,)] = await db.execute_fetchall("SELECT count(*) FROM articles_fts_docsize")
            self._tag_stats = _TagStats(tags, {t[0]: t[2] for t in tags}, int(published))
        return self._tag_stats

    async def tags(
        self, prefix: str | None = None, limit: int | None = None
    ) -> list[tuple[str, int]]:
        """``(tag, published article count)``, most used first, then alphabetically.

        Spellings of one tag are merged; the most common spelling is shown.
        ``prefix`` filters on the start of the tag (case-insensitively).

        The autocomplete asks on every keystroke: the list is kept in memory until
        this store's next write (the store is the database's only writer).
        """
        async with self._reading() as db:
            stats = await self._load_tag_stats(db)
        if prefix is not None and normalise_tag(_clean(prefix)):
            key = normalise_tag(_clean(prefix))
            found = [(tag, n) for tag_key, tag, n in stats.tags if tag_key.startswith(key)]
        else:
            found = [(tag, n) for _, tag, n in stats.tags]
        if limit is not None and limit >= 0:
            del found[limit:]
        return found

    async def find_articles(self, text: str, limit: int = 25) -> list[StoredArticle]:
        """Published articles whose title contains ``text`` (case-insensitively):
        titles starting with it first, newest first within each group. For
        autocomplete.

        Titles that contain ``text`` without starting with it are looked for among
        the :data:`FIND_SCAN` newest articles only.
        """
        needle = " ".join(_clean(text).split()).casefold()
        if not needle:
            return await self.latest(None, limit)
        upper = _successor(needle)
        bounds = (needle,) if upper is None else (needle, upper)
        where = _RANGE_OPEN if upper is None else _RANGE
        async with self._reading() as db:
            found = list(
                await db.execute_fetchall(
                    _FIND_PREFIX_FEW.format(range=where),
                    (*bounds, FIND_PREFIX_CAP, *bounds, FIND_PREFIX_CAP, limit),
                )
            )
            rows: list[Any] = [r[1:] for r in found]
            if rows and found[0][0] >= FIND_PREFIX_CAP:
                rows = list(
                    await db.execute_fetchall(
                        _FIND_PREFIX_MANY.format(range=where), (*bounds, limit)
                    )
                )
            if len(rows) < limit:
                rows += await db.execute_fetchall(
                    _FIND_INSIDE, (FIND_SCAN, needle, limit - len(rows))
                )
        return [_stored(r) for r in rows]

    # -- batch plumbing ----------------------------------------------------------

    async def _new_batch(
        self, db: aiosqlite.Connection, source_ids: Sequence[int], now: datetime
    ) -> Batch:
        rows = list(
            await db.execute_fetchall(
                "SELECT id, baseline_done_at IS NOT NULL, "
                "(SELECT coalesce(max(id), 0) FROM articles) "
                f"FROM sources WHERE id IN {_JSON_SET}",
                (_json_ids(source_ids),),
            )
        )
        baseline = {int(r[0]): bool(r[1]) for r in rows}
        missing = set(source_ids) - baseline.keys()
        if missing:
            raise KeyError(f"no source {min(missing)}")
        return Batch(
            now=now,
            next_id=int(rows[0][2]) + 1,
            baseline=baseline,
            move_window=self._move_window,
        )

    async def _load_rows(
        self,
        db: aiosqlite.Connection,
        batch: Batch,
        where: str,
        params: Sequence[Any],
        *,
        candidates: bool = False,
    ) -> None:
        rows = await db.execute_fetchall(
            f"SELECT {_ARTICLE_SELECT} FROM articles WHERE {where}", params
        )
        for r in rows:
            row = ArticleRow.from_db(r)
            if candidates:
                batch.add_candidate(row)
            else:
                batch.add_row(row)

    async def _load_pending(self, db: aiosqlite.Connection, batch: Batch) -> None:
        # Only announced articles can get an 'updated': only theirs matter.
        announced = [r.id for r in batch.rows.values() if r.announced_at is not None]
        if not announced:
            return
        rows = await db.execute_fetchall(
            "SELECT article_id, kind FROM announcements "
            f"WHERE done_at IS NULL AND article_id IN {_JSON_SET}",
            (_json_ids(announced),),
        )
        for article_id, kind in rows:
            batch.add_pending(article_id, kind)

    async def _load_file_rows(
        self, db: aiosqlite.Connection, batch: Batch, where: str, params: Sequence[Any]
    ) -> None:
        rows = await db.execute_fetchall(
            f"SELECT {_FILE_SELECT} FROM files WHERE {where} ORDER BY path", params
        )
        for r in rows:
            batch.add_file(FileState(*r))

    async def _load_files(
        self,
        db: aiosqlite.Connection,
        source_id: int,
        items: Sequence[FileItem],
        removed: Sequence[str],
        now: datetime,
    ) -> Batch:
        """Load everything a file batch can touch (see :class:`Batch`)."""
        batch = await self._new_batch(db, [source_id], now)
        batch.source_id = source_id
        paths = [item.path for item in items] + list(removed)
        await self._load_file_rows(
            db, batch, f"source_id = ? AND path IN {_JSON_SET}", (source_id, _json_ids(paths))
        )
        keys = [item.article.id for item in items if item.article is not None]
        linked = [f.article_id for f in batch.files.values() if f.article_id is not None]
        await self._load_rows(
            db,
            batch,
            f"(source_id = ? AND key IN {_JSON_SET}) OR id IN {_JSON_SET}",
            (source_id, _json_ids(keys), _json_ids(linked)),
        )
        # Move candidates matter only for files that bring an article not known by
        # key and do not provide one already.
        known = {row.key for row in batch.rows.values()}
        hashes = sorted(
            {
                item.file_hash
                for item in items
                if item.article is not None
                and item.article.id not in known
                and (item.path not in batch.files or batch.files[item.path].article_id is None)
            }
        )
        if hashes:
            await self._load_rows(
                db,
                batch,
                "source_id = ? AND status = 'withdrawn' AND withdrawn_at >= ? "
                f"AND file_hash IN {_JSON_SET}",
                (source_id, to_us(now - self._move_window), _json_ids(hashes)),
                candidates=True,
            )
        if batch.rows:
            ids = _json_ids(batch.rows)
            await self._load_file_rows(
                db, batch, f"article_id IN {_JSON_SET} OR duplicate_of IN {_JSON_SET}", (ids, ids)
            )
        await self._load_pending(db, batch)
        return batch

    async def _write(self, db: aiosqlite.Connection, batch: Batch, source_id: int | None) -> None:
        """Write what the batch changed, in an order the constraints accept."""
        rekeyed = batch.rekeyed_rows()
        if rekeyed:
            # Keys are unique: park the moving ones first (a key may pass from one
            # article to another within a batch).
            await db.executemany(
                "UPDATE articles SET key = ? WHERE id = ?",
                [(f"\x1fmoving {r.id}", r.id) for r in rekeyed],
            )
        new = batch.new_rows()
        if new:
            await db.executemany(_ARTICLE_INSERT, [r.params() for r in new])
            published = [r.id for r in new if r.status == PUBLISHED]
            if published:
                # Index the new published rows in one statement (see 0001_initial.sql);
                # the index holds published articles only (0002_fast_lookups.sql).
                await db.execute(
                    "INSERT INTO articles_fts "
                    "(rowid, title, takeaways_text, description, tag_tokens) "
                    "SELECT id, title, takeaways_text, description, tag_tokens "
                    f"FROM articles WHERE id IN {_JSON_SET}",
                    (_json_ids(published),),
                )
        updated = batch.updated_rows()
        if updated:
            await db.executemany(_ARTICLE_UPDATE, [(*r.params()[1:], r.id) for r in updated])
        retag = batch.tag_rewrites()
        if retag:
            stale = [r.id for r in retag if r.stored_key is not None]
            if stale:
                await db.execute(
                    f"DELETE FROM article_tags WHERE article_id IN {_JSON_SET}",
                    (_json_ids(stale),),
                )
            await db.executemany(
                "INSERT INTO article_tags (article_id, tag_key, tag, published_sort) "
                "VALUES (?, ?, ?, ?)",
                [
                    (r.id, key, tag, r.published_sort)
                    for r in retag
                    for key, tag in r.new_tags or ()
                ],
            )
        if source_id is not None:
            await self._write_files(db, batch, source_id)
        if batch.announcements:
            await db.executemany(
                "INSERT INTO announcements (article_id, kind, created_at) VALUES (?, ?, ?)",
                [(aid, kind, batch.now_us) for aid, kind in batch.announcements],
            )

    async def _write_files(self, db: aiosqlite.Connection, batch: Batch, source_id: int) -> None:
        deleted = batch.deleted_files()
        if deleted:
            await db.execute(
                f"DELETE FROM files WHERE source_id = ? AND path IN {_JSON_SET}",
                (source_id, _json_ids(deleted)),
            )
        written = batch.written_files()
        if not written:
            return
        relinked = [f.path for f in written if f.in_db]
        if relinked:
            # An article may pass from one file to another: unlink first, as
            # files.article_id is unique.
            await db.execute(
                "UPDATE files SET article_id = NULL "
                f"WHERE source_id = ? AND path IN {_JSON_SET} AND article_id IS NOT NULL",
                (source_id, _json_ids(relinked)),
            )
        await db.executemany(
            _FILE_UPSERT,
            [
                (
                    source_id,
                    f.path,
                    f.size,
                    f.mtime_ns,
                    f.content_hash,
                    f.article_id,
                    f.duplicate_of,
                    f.error,
                    f.recorded_at,
                )
                for f in written
            ],
        )


async def _check_sqlite(db: aiosqlite.Connection) -> None:
    """Fail early, and clearly, on an SQLite without what the schema needs."""
    try:
        await db.execute(_FTS_PROBE)
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
