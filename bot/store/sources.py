"""Where articles come from: the sources, what the store knows of a content folder's
files, a feed poller's state, and the bot's own small notes (``meta``)."""

from __future__ import annotations

from datetime import datetime

from bot.store.codec import opt_dt, opt_us, to_us
from bot.store.database import Connection, Engine, Row, fetch_all, fetch_one, from_row
from bot.store.models import FileRow, SourceKind, SourceRow

_SOURCE = """
    SELECT id, kind, locator, baseline_done_at, etag, last_modified, failures,
           next_attempt_at, failing_since, last_error, last_polled_at, last_success_at
    FROM sources
"""


def _source(row: Row) -> SourceRow:
    return from_row(
        SourceRow,
        row,
        kind=SourceKind(row["kind"]),
        baseline_done=row["baseline_done_at"] is not None,
        next_attempt_at=opt_dt(row["next_attempt_at"]),
        failing_since=opt_dt(row["failing_since"]),
        last_polled_at=opt_dt(row["last_polled_at"]),
        last_success_at=opt_dt(row["last_success_at"]),
    )


class SourceQueries:
    """The sources, their files and feed state, and ``meta``."""

    def __init__(self, database: Engine) -> None:
        """Keep sources in ``database``."""
        self._database = database

    async def source(self, kind: str, locator: str) -> SourceRow:
        """The source ``(kind, locator)``, created on first use."""
        if kind not in tuple(SourceKind):
            raise ValueError(f"unknown source kind {kind!r}")
        names = {"kind": kind, "locator": locator}
        async with self._database.transaction() as db:
            await db.execute(
                """
                INSERT INTO sources (kind, locator) VALUES (:kind, :locator)
                ON CONFLICT (kind, locator) DO NOTHING
                """,
                names,
            )
            row = await fetch_one(db, f"{_SOURCE} WHERE kind = :kind AND locator = :locator", names)
        assert row is not None
        return _source(row)

    async def get_source(self, source_id: int) -> SourceRow | None:
        """The source with this id, if any."""
        async with self._database.reading() as db:
            row = await fetch_one(db, f"{_SOURCE} WHERE id = :id", {"id": source_id})
        return _source(row) if row is not None else None

    async def sources(self) -> list[SourceRow]:
        """Every source, by id."""
        async with self._database.reading() as db:
            rows = await fetch_all(db, f"{_SOURCE} ORDER BY id")
        return [_source(row) for row in rows]

    async def mark_baseline_done(self, source_id: int, now: datetime) -> None:
        """The source's first full scan / poll is recorded: announce from now on."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE sources SET baseline_done_at = coalesce(baseline_done_at, :now)
                WHERE id = :id
                """,
                {"now": to_us(now), "id": source_id},
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
        """Remember the poller's state of a feed (conditional GET, back-off); a poll
        that leaves no failures behind is the feed's last success."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE sources
                SET etag = :etag, last_modified = :last_modified, failures = :failures,
                    next_attempt_at = :next_attempt_at, failing_since = :failing_since,
                    last_error = :last_error, last_polled_at = :last_polled_at,
                    last_success_at = CASE WHEN :succeeded THEN :last_polled_at
                                           ELSE last_success_at END
                WHERE id = :id
                """,
                {
                    "id": source_id,
                    "etag": etag,
                    "last_modified": last_modified,
                    "failures": failures,
                    "succeeded": failures == 0,
                    "next_attempt_at": opt_us(next_attempt_at),
                    "failing_since": opt_us(failing_since),
                    "last_error": last_error,
                    "last_polled_at": opt_us(last_polled_at),
                },
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no source {source_id}")

    # -- content files -----------------------------------------------------------

    async def files(self, source_id: int) -> dict[str, FileRow]:
        """What the store knows of the files of a content source, by path."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                """
                SELECT f.path, f.size, f.mtime_ns, f.content_hash, a.key AS article_key, f.error
                FROM files f LEFT JOIN articles a ON a.id = f.article_id
                WHERE f.source_id = :source_id
                ORDER BY f.path
                """,
                {"source_id": source_id},
            )
        return {row["path"]: from_row(FileRow, row) for row in rows}

    async def copy_of(self, source_id: int, path: str, file_hash: str) -> str | None:
        """Another file of the source with the same bytes as ``path`` that provides an
        article, if any (the first by path): ``path`` is an identical copy of it."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db,
                """
                SELECT path FROM files
                WHERE source_id = :source_id AND content_hash = :hash AND path <> :path
                AND article_id IS NOT NULL
                ORDER BY path LIMIT 1
                """,
                {"source_id": source_id, "hash": file_hash, "path": path},
            )
        return None if row is None else str(row["path"])

    async def file_stats(self, source_id: int) -> dict[str, tuple[int, int]]:
        """``(size, mtime_ns)`` of every file of a content source, by path: what a scan
        compares the folder with (the primary key's order, no other table read)."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                "SELECT path, size, mtime_ns FROM files WHERE source_id = :source_id",
                {"source_id": source_id},
            )
        # A re-scan reads every row of a large folder: by position, the fastest way.
        return {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    # -- meta ----------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A value the bot kept with :meth:`set_meta`, if any."""
        async with self._database.reading() as db:
            row = await fetch_one(db, "SELECT value FROM meta WHERE key = :key", {"key": key})
        return str(row["value"]) if row is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` (replacing an earlier one)."""
        async with self._database.transaction() as db:
            await _set_meta(db, key, value)

    # -- looks asked of the leader -------------------------------------------------------

    async def ask_look(self, what: str, now: datetime) -> None:
        """Note that a webhook asked the sources to look (``what``: ``fetch`` or
        ``refresh``, see :mod:`bot.hooks`) at ``now``, for the process that runs them
        to take (:meth:`take_looks`): whenever it does, whichever process it is."""
        async with self._database.transaction() as db:
            await _set_meta(db, _LOOK + what, str(to_us(now)))

    async def take_looks(self) -> list[str]:
        """The looks asked for and not yet taken, each taken once (sorted)."""
        async with self._database.transaction() as db:
            rows = await fetch_all(
                db, "DELETE FROM meta WHERE key LIKE :looks RETURNING key", {"looks": _LOOK + "%"}
            )
        return sorted(str(row["key"]).removeprefix(_LOOK) for row in rows)


#: The ``meta`` keys of looks asked of the sources: ``look:fetch``, ``look:refresh``.
_LOOK = "look:"


async def _set_meta(db: Connection, key: str, value: str) -> None:
    await db.execute(
        """
        INSERT INTO meta (key, value) VALUES (:key, :value)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value
        """,
        {"key": key, "value": value},
    )
