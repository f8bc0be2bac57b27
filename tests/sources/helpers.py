"""Shared helpers for the source and service tests: article files, a spy, a watcher.

Waits go through ``tests.waiting.wait_until``: a poll with a deadline, never a sleep
used as an assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.sources.content import ContentSource
from bot.store import Announcement, FileItem, IngestResult, Store, StoredArticle
from tests.waiting import DEADLINE, wait_until


def article_md(
    title: str,
    *,
    takeaways: Sequence[str] = ("First point.", "Second point.", "Third point."),
    date: datetime | None = None,
    publish_date: datetime | None = None,
    expiry_date: datetime | None = None,
    draft: bool = False,
    tags: Sequence[str] = ("News",),
    body: str = "Some body text for the article.",
) -> str:
    """A Markdown article with YAML front matter and a Key Takeaways list."""
    date = date or datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    lines = ["---", f'title: "{title}"', f"date: {date.isoformat()}"]
    if publish_date is not None:
        lines.append(f"publishDate: {publish_date.isoformat()}")
    if expiry_date is not None:
        lines.append(f"expiryDate: {expiry_date.isoformat()}")
    if draft:
        lines.append("draft: true")
    lines.append("tags: [" + ", ".join(f'"{t}"' for t in tags) + "]")
    lines += ["---", "", "## Key Takeaways"]
    lines += [f"* {t}" for t in takeaways]
    lines += ["", "## Story", body, ""]
    return "\n".join(lines)


def write(root: Path, rel: str, text: str | bytes) -> Path:
    """Write ``text`` at ``root/rel``, making its folders."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def soon(seconds: float) -> datetime:
    """A moment ``seconds`` from now, to the second (front matter has no fractions)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


class SpyStore(Store):
    """The real store, also remembering every file item it was asked to record.

    ``after_record``, when set, is called once each batch is committed: a test can act
    at that exact point of a scan (say, set its stop event) instead of racing it.
    """

    recorded: list[FileItem]
    after_record: Callable[[], None] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded = []
        self.after_record = None

    async def record_files(
        self,
        source_id: int,
        items: Sequence[FileItem],
        now: datetime,
        *,
        removed: Sequence[str] = (),
        rerender: bool = False,
    ) -> list[IngestResult]:
        results = await super().record_files(
            source_id, items, now, removed=removed, rerender=rerender
        )
        self.recorded.extend(items)  # only what was committed
        if self.after_record is not None:
            self.after_record()
        return results


async def articles(store: Store) -> dict[str, StoredArticle]:
    """Every stored article, whatever its status, by key."""
    rows = await store._connection().execute_fetchall("SELECT id FROM articles ORDER BY id")
    found = [await store.get(int(r[0])) for r in rows]
    return {a.key: a for a in found if a is not None}


async def by_title(store: Store, title: str) -> StoredArticle | None:
    """The stored article with this exact title, whatever its status, or None."""
    matches = [a for a in (await articles(store)).values() if a.title == title]
    assert len(matches) <= 1, f"{len(matches)} articles titled {title!r}"
    return matches[0] if matches else None


def db_rows(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the database directly (a second connection, as another process would)."""
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        return list(db.execute(sql, params))


async def announcements(store: Store) -> list[tuple[str, str]]:
    """Every announcement ever made, done or not: ``(kind, title)`` oldest first."""
    rows = await store._connection().execute_fetchall(  # the read is test-only
        "SELECT n.kind, a.title FROM announcements n JOIN articles a ON a.id = n.article_id "
        "ORDER BY n.id"
    )
    return [(str(r[0]), str(r[1])) for r in rows]


class Recorder:
    """A deliverer for ``announce_loop`` that keeps what it was given."""

    def __init__(self) -> None:
        self.seen: list[Announcement] = []
        self.at: list[float] = []

    async def __call__(self, announcement: Announcement) -> None:
        self.seen.append(announcement)
        self.at.append(time.monotonic())

    def titles(self, kind: str = "published") -> list[str]:
        return [a.article.title for a in self.seen if a.kind == kind]


@contextlib.asynccontextmanager
async def watching(source: ContentSource, within: float = DEADLINE) -> AsyncIterator[asyncio.Event]:
    """Run ``source.watch`` until the block ends; enters once the first scan is done
    (allowing ``within`` seconds for it)."""
    stop = asyncio.Event()
    task = asyncio.create_task(source.watch(stop))
    try:

        async def scanned() -> bool:
            if task.done():
                task.result()  # surface a crash instead of timing out
            if source.source_id is None:
                return False
            row = await source.store.get_source(source.source_id)
            return row is not None and row.baseline_done and source.ready.is_set()

        await wait_until(scanned, "the first scan", timeout=within)
        yield stop
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=DEADLINE)
        finally:
            if not task.done():
                task.cancel()


def summary(name: str, samples: Sequence[float]) -> str:
    """A one-line latency report: median, min, max in milliseconds."""
    ms = [s * 1000 for s in samples]
    return (
        f"{name}: median {statistics.median(ms):.0f} ms, min {min(ms):.0f} ms, "
        f"max {max(ms):.0f} ms over {len(ms)}"
    )
