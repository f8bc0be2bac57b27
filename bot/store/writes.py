"""Writing what the sources bring: files, feed entries, the clock's status changes,
and the announcements they make.

Each write loads every row it can touch with a few set-based queries, hands them to a
:class:`~bot.store.ingest.Batch` (the rules, in plain Python), and writes back what
the batch changed with a few ``executemany`` calls, all in one transaction. Sets of
ids go into a statement as one JSON array (``IN (SELECT value FROM json_each(:ids))``),
so a statement never grows with the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.articles.model import Article
from bot.store.codec import from_us, opt_dt, to_us
from bot.store.database import (
    Connection,
    Engine,
    Params,
    fetch_all,
    fetch_value,
    json_list,
    values_by_name,
)
from bot.store.ingest import ARTICLE_COLUMNS, MOVE_WINDOW, ArticleRow, Batch, FileState
from bot.store.lookups import STORED_ARTICLE, stored_articles
from bot.store.models import (
    Announcement,
    AnnouncementKind,
    ArticleStatus,
    Change,
    FileItem,
    IngestResult,
)

# Big batches let the event loop run every so many items.
_YIELD_EVERY = 500

# An articles row as ArticleRow holds it: every column, by name.
_ARTICLE_ROW = f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles"

# Whole rows are written from ArticleRow.values(), in ARTICLE_COLUMNS order: the one
# place with positional parameters, generated from the same list as the values. A
# cold scan inserts every article, and binding 28 parameters by name takes twice as
# long as by position.
_INSERT_ARTICLE = f"""
    INSERT INTO articles ({", ".join(ARTICLE_COLUMNS)})
    VALUES ({", ".join("?" for _ in ARTICLE_COLUMNS)})
"""
# The id is the first column: it moves to the WHERE clause, the others keep their order.
_UPDATE_ARTICLE = f"""
    UPDATE articles SET {", ".join(f"{c} = ?" for c in ARTICLE_COLUMNS[1:])}
    WHERE id = ?
"""

# Rows whose status the clock changes: the partial index makes "nothing due" cheap.
_DUE = f"""
    {_ARTICLE_ROW}
    WHERE transition_at IS NOT NULL AND transition_at <= :now
    ORDER BY transition_at, id
"""

# A files row as FileState holds it (its source is the batch's).
_FILE_STATE_COLUMNS = (
    "path",
    "size",
    "mtime_ns",
    "content_hash",
    "article_id",
    "duplicate_of",
    "error",
    "recorded_at",
)
_FILE_STATE = f"SELECT {', '.join(_FILE_STATE_COLUMNS)} FROM files"
_UPSERT_FILE = """
    INSERT INTO files (source_id, path, size, mtime_ns, content_hash, article_id,
                       duplicate_of, error, recorded_at)
    VALUES (:source_id, :path, :size, :mtime_ns, :content_hash, :article_id,
            :duplicate_of, :error, :recorded_at)
    ON CONFLICT (source_id, path) DO UPDATE SET
        (size, mtime_ns, content_hash, article_id, duplicate_of, error, recorded_at) =
        (excluded.size, excluded.mtime_ns, excluded.content_hash, excluded.article_id,
         excluded.duplicate_of, excluded.error, excluded.recorded_at)
"""


class IngestWriter:
    """Records what the sources bring, by the rules of :mod:`bot.store.ingest`."""

    def __init__(self, database: Engine, *, move_window: timedelta = MOVE_WINDOW) -> None:
        """Write to ``database``; a file reappearing within ``move_window`` is a move."""
        self._database = database
        self._move_window = move_window

    # -- content files -----------------------------------------------------------

    async def record_files(
        self,
        source_id: int,
        items: Sequence[FileItem],
        now: datetime,
        *,
        removed: Sequence[str] = (),
        rerender: bool = False,
    ) -> list[IngestResult]:
        """Record many file changes in one transaction.

        ``removed`` paths are processed first, so a file moved within one scan is
        seen as a move. Returns one result per removed path, then one per item.
        Large scans may be split into chunks of a few hundred files so that other
        tasks get a turn; put the removals in the first chunk. ``rerender``: the files
        were read again because a setting that shapes posts changed; the new posts of
        files whose bytes are unchanged are stored without announcing anything. Each
        call is the source's last success (its folder was read).
        """
        async with self._database.transaction() as db:
            batch = await self._load_files(db, source_id, items, removed, now)
            batch.rerender = rerender
            results = [batch.remove_file(path) for path in removed]
            for n, item in enumerate(items, start=1):
                results.append(batch.record_file(item))
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let other tasks (gateway heartbeats) run
            await _write(db, batch, source_id, self._database)
            await db.execute(
                "UPDATE sources SET last_success_at = :now WHERE id = :id",
                {"now": to_us(now), "id": source_id},
            )
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
        async with self._database.transaction() as db:
            batch = await self._new_batch(db, [source_id], now)
            await _load_rows(
                db,
                batch,
                "source_id = :source_id AND key IN (SELECT value FROM json_each(:keys))",
                {"source_id": source_id, "keys": json_list(a.id for a, _, _ in items)},
            )
            await _load_pending(db, batch)
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
            await _write(db, batch, None, self._database)
        return results

    # -- the clock ---------------------------------------------------------------

    async def refresh_statuses(self, now: datetime) -> list[IngestResult]:
        """Move articles on whose publish or expiry time has come (announcing those
        that become published). Cheap when nothing is due."""
        async with self._database.transaction() as db:
            due = await fetch_all(db, _DUE, {"now": to_us(now)})
            if not due:
                return []
            rows = [ArticleRow.from_db(values) for values in values_by_name(due, ARTICLE_COLUMNS)]
            batch = await self._new_batch(db, sorted({r.source_id for r in rows}), now)
            results: list[IngestResult] = []
            for row in rows:
                batch.add_row(row)
                result = batch.refresh(row)
                if result is not None:
                    results.append(result)
            await _write(db, batch, None, self._database)
        return results

    async def next_transition_at(self) -> datetime | None:
        """The earliest pending publish/expiry time (may be past: refresh now)."""
        async with self._database.reading() as db:
            earliest = await fetch_value(
                db, "SELECT min(transition_at) FROM articles WHERE transition_at IS NOT NULL"
            )
        return opt_dt(earliest)

    # -- announcements -----------------------------------------------------------

    async def pending_announcements(self, limit: int = 100, after: int = 0) -> list[Announcement]:
        """Announcements not yet completed, oldest first, with their article as it is
        now (the deliverer decides what a withdrawn article's announcement means);
        ``after``: only those with a greater id (the next page)."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"""
                SELECT n.id AS announcement_id, n.kind AS announcement_kind,
                       n.created_at AS announced_at, {STORED_ARTICLE}
                FROM announcements n JOIN articles a ON a.id = n.article_id
                WHERE n.done_at IS NULL AND n.id > :after
                ORDER BY n.id
                LIMIT :limit
                """,
                {"limit": limit, "after": after},
            )
        return [
            Announcement(
                id=row["announcement_id"],
                kind=AnnouncementKind(row["announcement_kind"]),
                created_at=from_us(row["announced_at"]),
                article=article,
            )
            for row, article in zip(rows, stored_articles(rows), strict=True)
        ]

    async def complete_announcement(self, announcement_id: int, now: datetime) -> None:
        """Mark an announcement delivered (completing it twice is harmless)."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                "UPDATE announcements SET done_at = coalesce(done_at, :now) WHERE id = :id",
                {"now": to_us(now), "id": announcement_id},
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no announcement {announcement_id}")

    # -- loading a batch ---------------------------------------------------------

    async def _new_batch(self, db: Connection, source_ids: Sequence[int], now: datetime) -> Batch:
        rows = await fetch_all(
            db,
            """
            SELECT id, baseline_done_at IS NOT NULL AS baseline_done,
                   (SELECT coalesce(max(id), 0) FROM articles) AS last_article_id
            FROM sources
            WHERE id IN (SELECT value FROM json_each(:ids))
            """,
            {"ids": json_list(source_ids)},
        )
        baseline = {int(row["id"]): bool(row["baseline_done"]) for row in rows}
        missing = set(source_ids) - baseline.keys()
        if missing:
            raise KeyError(f"no source {min(missing)}")
        return Batch(
            now=now,
            next_id=int(rows[0]["last_article_id"]) + 1,
            baseline=baseline,
            move_window=self._move_window,
        )

    async def _load_files(
        self,
        db: Connection,
        source_id: int,
        items: Sequence[FileItem],
        removed: Sequence[str],
        now: datetime,
    ) -> Batch:
        """Load everything a file batch can touch (see :class:`Batch`)."""
        batch = await self._new_batch(db, [source_id], now)
        batch.source_id = source_id
        await _load_file_states(
            db,
            batch,
            "source_id = :source_id AND path IN (SELECT value FROM json_each(:paths))",
            {"source_id": source_id, "paths": json_list([i.path for i in items] + list(removed))},
        )
        linked = [f.article_id for f in batch.files.values() if f.article_id is not None]
        await _load_rows(
            db,
            batch,
            """
            (source_id = :source_id AND key IN (SELECT value FROM json_each(:keys)))
            OR id IN (SELECT value FROM json_each(:linked))
            """,
            {
                "source_id": source_id,
                "keys": json_list(i.article.id for i in items if i.article is not None),
                "linked": json_list(linked),
            },
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
            # 'withdrawn' spelled out: the partial index articles_withdrawn_file is on it.
            await _load_rows(
                db,
                batch,
                """
                source_id = :source_id AND status = 'withdrawn' AND withdrawn_at >= :since
                AND file_hash IN (SELECT value FROM json_each(:hashes))
                """,
                {
                    "source_id": source_id,
                    "since": to_us(now - self._move_window),
                    "hashes": json_list(hashes),
                },
                candidates=True,
            )
        if batch.rows:
            await _load_file_states(
                db,
                batch,
                """
                article_id IN (SELECT value FROM json_each(:ids))
                OR duplicate_of IN (SELECT value FROM json_each(:ids))
                """,
                {"ids": json_list(batch.rows)},
            )
        await _load_pending(db, batch)
        return batch


async def _load_rows(
    db: Connection, batch: Batch, where: str, params: Params, *, candidates: bool = False
) -> None:
    """The articles rows ``where`` selects, into the batch (as move candidates)."""
    rows = await fetch_all(db, f"{_ARTICLE_ROW} WHERE {where}", params)
    for values in values_by_name(rows, ARTICLE_COLUMNS):
        row = ArticleRow.from_db(values)
        if candidates:
            batch.add_candidate(row)
        else:
            batch.add_row(row)


async def _load_file_states(db: Connection, batch: Batch, where: str, params: Params) -> None:
    """The files rows ``where`` selects, into the batch."""
    rows = await fetch_all(db, f"{_FILE_STATE} WHERE {where} ORDER BY path", params)
    for values in values_by_name(rows, _FILE_STATE_COLUMNS):
        batch.add_file(FileState(*values))


async def _load_pending(db: Connection, batch: Batch) -> None:
    """The pending announcements of the batch's articles."""
    # Only announced articles can get an 'updated': only theirs matter.
    announced = [r.id for r in batch.rows.values() if r.announced_at is not None]
    if not announced:
        return
    rows = await fetch_all(
        db,
        """
        SELECT article_id, kind FROM announcements
        WHERE done_at IS NULL AND article_id IN (SELECT value FROM json_each(:ids))
        """,
        {"ids": json_list(announced)},
    )
    for row in rows:
        batch.add_pending(row["article_id"], AnnouncementKind(row["kind"]))


async def _write(db: Connection, batch: Batch, source_id: int | None, database: Engine) -> None:
    """Write what the batch changed, in an order the constraints accept (PostgreSQL
    indexes new rows for search by itself), and tell ``database`` when articles
    changed: the one place that does (caches of lookups, in every process, hang on it).
    """
    engine = database.engine
    rekeyed = batch.rekeyed_rows()
    if rekeyed:
        # Keys are unique: park the moving ones first (a key may pass from one
        # article to another within a batch).
        await db.executemany(
            "UPDATE articles SET key = :parked WHERE id = :id",
            [{"parked": f"\x1fmoving {r.id}", "id": r.id} for r in rekeyed],
        )
    new = batch.new_rows()
    if new:
        await db.executemany(_INSERT_ARTICLE, [r.values() for r in new])
        published = [r.id for r in new if r.status == ArticleStatus.PUBLISHED]
        if published and engine == "sqlite":
            # Index the new published rows in one statement (see 0001_initial.sql);
            # the index holds published articles only (0002_fast_lookups.sql).
            await db.execute(
                """
                INSERT INTO articles_fts (rowid, title, takeaways_text, description, tag_tokens)
                SELECT id, title, takeaways_text, description, tag_tokens
                FROM articles WHERE id IN (SELECT value FROM json_each(:ids))
                """,
                {"ids": json_list(published)},
            )
    updated = batch.updated_rows()
    if updated:
        await db.executemany(_UPDATE_ARTICLE, [(*r.values()[1:], r.id) for r in updated])
    retag = batch.tag_rewrites()
    if rekeyed or new or updated or retag:
        await database.articles_changed(db)
    if retag:
        stale = [r.id for r in retag if r.stored_key is not None]
        if stale:
            await db.execute(
                "DELETE FROM article_tags WHERE article_id IN (SELECT value FROM json_each(:ids))",
                {"ids": json_list(stale)},
            )
        await db.executemany(
            """
            INSERT INTO article_tags (article_id, tag_key, tag, published_sort)
            VALUES (:article_id, :tag_key, :tag, :published_sort)
            """,
            [
                {"article_id": r.id, "tag_key": key, "tag": tag, "published_sort": r.published_sort}
                for r in retag
                for key, tag in r.new_tags or ()
            ],
        )
    if source_id is not None:
        await _write_files(db, batch, source_id)
    if batch.announcements:
        await db.executemany(
            """
            INSERT INTO announcements (article_id, kind, created_at)
            VALUES (:article_id, :kind, :now)
            """,
            [
                {"article_id": article_id, "kind": kind, "now": batch.now_us}
                for article_id, kind in batch.announcements
            ],
        )


async def _write_files(db: Connection, batch: Batch, source_id: int) -> None:
    """Write the batch's changed ``files`` rows."""
    deleted = batch.deleted_files()
    if deleted:
        await db.execute(
            """
            DELETE FROM files
            WHERE source_id = :source_id AND path IN (SELECT value FROM json_each(:paths))
            """,
            {"source_id": source_id, "paths": json_list(deleted)},
        )
    written = batch.written_files()
    if not written:
        return
    relinked = [f.path for f in written if f.in_db]
    if relinked:
        # An article may pass from one file to another: unlink first, as
        # files.article_id is unique.
        await db.execute(
            """
            UPDATE files SET article_id = NULL
            WHERE source_id = :source_id AND path IN (SELECT value FROM json_each(:paths))
            AND article_id IS NOT NULL
            """,
            {"source_id": source_id, "paths": json_list(relinked)},
        )
    await db.executemany(
        _UPSERT_FILE,
        [
            {"source_id": source_id, **{c: getattr(f, c) for c in _FILE_STATE_COLUMNS}}
            for f in written
        ],
    )
