"""The content folder: a full scan at start, then live watching.

Files are read, hashed, parsed and rendered in a worker thread (pure work), and
recorded in the store in batches, so a large first scan neither blocks the event loop
nor pays one transaction per file.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import watchfiles

from bot.articles.markdown import read_markdown
from bot.articles.model import ArticleError
from bot.pipeline import Prepared, prepare
from bot.store import Change, FileItem, FileRow, Store

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
# A file must have been quiet this long before it is read: editors that write in
# several steps are not caught half-way (watchfiles already waits `step` ms of quiet).
SETTLE_SECONDS = 0.1
BATCH = 256
PROGRESS_EVERY = 2.0


@dataclass(frozen=True, slots=True)
class FileResult:
    """What reading one file gave: an article ready for the store, or a reason."""

    path: str
    size: int
    mtime_ns: int
    file_hash: str
    prepared: Prepared | None
    error: str | None


@dataclass(slots=True)
class ScanStats:
    """Counts of one scan, for the log and the benchmarks."""

    files: int = 0
    read: int = 0
    unchanged: int = 0
    rejected: int = 0
    removed: int = 0
    announced: int = 0
    seconds: float = 0.0


def is_article_path(name: str) -> bool:
    """Markdown files only, and never editors' hidden, backup or swap files."""
    base = name.rsplit("/", 1)[-1]
    return (
        base.lower().endswith(MARKDOWN_SUFFIXES)
        and not base.startswith((".", "#", "~"))
        and not base.endswith("~")
    )


class ContentSource:
    """Keeps the store in step with one Hugo-style content folder."""

    def __init__(
        self,
        store: Store,
        root: Path,
        *,
        site_url: str | None,
        tz: tzinfo,
        max_bytes: int,
        on_announce: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.root = root.resolve()
        self.site_url = site_url
        self.tz = tz
        self.max_bytes = max_bytes
        self.on_announce = on_announce
        self.source_id: int | None = None
        # What the store knows of each file, kept in step with every batch written, so
        # a watch event costs no full-table read.
        self._known: dict[str, FileRow] = {}

    async def _source_id(self) -> int:
        if self.source_id is None:
            self.source_id = (await self.store.source("content", str(self.root))).id
        return self.source_id

    # -- reading (runs in a worker thread: pure file work) ------------------------------

    def _read(self, rel: str, known: FileRow | None) -> FileResult | None:
        """Read one file; ``None`` when it vanished or is unchanged since ``known``."""
        full = self.root / rel
        try:
            st = full.stat()
            if known is not None and (st.st_size, st.st_mtime_ns) == (known.size, known.mtime_ns):
                return None
            with full.open("rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return FileResult(rel, 0, 0, "", None, f"cannot read: {exc.strerror or exc}")
        file_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
        try:
            article = read_markdown(
                data, rel_path=rel, site_url=self.site_url, tz=self.tz, max_bytes=self.max_bytes
            )
            return FileResult(rel, st.st_size, st.st_mtime_ns, file_hash, prepare(article), None)
        except ArticleError as exc:
            return FileResult(rel, st.st_size, st.st_mtime_ns, file_hash, None, str(exc))

    def _read_many(self, items: list[tuple[str, FileRow | None]]) -> list[FileResult]:
        results = []
        for rel, known in items:
            result = self._read(rel, known)
            if result is not None:
                results.append(result)
        return results

    def _walk(self) -> dict[str, tuple[int, int]]:
        """Every article file under the root with its (size, mtime_ns)."""
        found: dict[str, tuple[int, int]] = {}
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                log.warning("cannot list %s: %s", folder, exc.strerror or exc)
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif is_article_path(entry.name) and entry.is_file():
                        st = entry.stat()
                        rel = Path(entry.path).relative_to(self.root).as_posix()
                        found[rel] = (st.st_size, st.st_mtime_ns)
                except OSError:
                    continue
        return found

    # -- recording -----------------------------------------------------------------------

    async def _record(self, results: Sequence[FileResult], removed: Sequence[str] = ()) -> int:
        """Store a batch (removals first); log each newly rejected file once.

        Returns the number of announcements the batch created.
        """
        source_id = await self._source_id()
        items = [
            FileItem(r.path, r.size, r.mtime_ns, r.file_hash, error=r.error)
            if r.prepared is None
            else FileItem(
                r.path,
                r.size,
                r.mtime_ns,
                r.file_hash,
                r.prepared.article,
                r.prepared.article_hash,
                r.prepared.message,
            )
            for r in results
        ]
        outcomes = await self.store.record_files(
            source_id, items, datetime.now(UTC), removed=removed
        )
        for item, outcome in zip(items, outcomes[len(removed) :], strict=True):
            # The store reports REJECTED only when the file (or its reason) changed,
            # so a broken file is logged once, not on every scan.
            if outcome.change is Change.REJECTED:
                log.warning("rejected %s: %s", item.path, item.error)
        for rel in removed:
            self._known.pop(rel, None)
        for item in items:
            key = item.article.id if item.article is not None else None
            self._known[item.path] = FileRow(
                item.path, item.size, item.mtime_ns, item.file_hash, key, item.error
            )
        announced = sum(1 for outcome in outcomes if outcome.announced)
        if announced:
            self.on_announce()
        return announced

    async def scan(self) -> ScanStats:
        """Bring the store in line with the folder: new, changed and deleted files."""
        started = time.perf_counter()
        stats = ScanStats()
        source_id = await self._source_id()
        source = await self.store.source("content", str(self.root))
        known = self._known = await self.store.files(source_id)
        on_disk = await asyncio.to_thread(self._walk)
        stats.files = len(on_disk)

        removed = sorted(set(known) - set(on_disk))
        stats.removed = len(removed)
        todo = [
            (rel, known.get(rel))
            for rel, stat in sorted(on_disk.items())
            if rel not in known or (known[rel].size, known[rel].mtime_ns) != stat
        ]
        stats.unchanged = stats.files - len(todo)
        last_report = time.perf_counter()
        # Removals travel with the first batch, so a file moved while the bot was down
        # is recognised as a move rather than a withdrawal plus a new article.
        for offset in range(0, max(len(todo), 1), BATCH):
            chunk = todo[offset : offset + BATCH]
            results = await asyncio.to_thread(self._read_many, chunk)
            stats.read += len(results)
            stats.rejected += sum(1 for r in results if r.error)
            stats.announced += await self._record(results, removed if offset == 0 else ())
            if time.perf_counter() - last_report > PROGRESS_EVERY:
                last_report = time.perf_counter()
                done = offset + len(chunk)
                rate = done / (last_report - started)
                log.info("scanning %s: %d/%d files (%.0f/s)", self.root, done, len(todo), rate)

        if not source.baseline_done:
            await self.store.mark_baseline_done(source_id, datetime.now(UTC))
        stats.seconds = time.perf_counter() - started
        return stats

    # -- watching ------------------------------------------------------------------------

    def _classify(
        self, paths: Iterable[str], known: dict[str, FileRow]
    ) -> tuple[list[tuple[str, FileRow | None]], list[str]]:
        """Split changed paths into files now present (new or changed) and files gone."""
        present: list[tuple[str, FileRow | None]] = []
        gone: list[str] = []
        for raw in sorted(set(paths)):
            try:
                rel = Path(raw).resolve().relative_to(self.root).as_posix()
            except ValueError:
                continue
            full = self.root / rel
            if full.is_dir():
                # A folder moved in: read everything below it.
                present.extend(
                    (p.relative_to(self.root).as_posix(), None)
                    for p in full.rglob("*")
                    if p.is_file() and is_article_path(p.name)
                )
            elif full.is_file():
                if is_article_path(rel):
                    present.append((rel, known.get(rel)))
            else:
                # A file, or a whole folder, went away.
                gone.extend(k for k in known if k == rel or k.startswith(rel + "/"))
        return present, gone

    async def handle_changes(self, paths: Iterable[str]) -> None:
        """Re-read the given absolute paths: each is now present (new or changed) or gone."""
        present, gone = await asyncio.to_thread(self._classify, list(paths), dict(self._known))
        if present:
            await self._settle([self.root / rel for rel, _ in present])
        results = await asyncio.to_thread(self._read_many, present) if present else []
        if results or gone:
            # One transaction, deletions first: a move (delete + create of the same bytes)
            # is recognised as one article changing path.
            await self._record(results, gone)

    async def _settle(self, files: list[Path]) -> None:
        """Wait until every file has been quiet for SETTLE_SECONDS (half-written files)."""
        for _ in range(50):  # bounded: a file rewritten non-stop is read after ~5 s anyway
            newest = 0
            for file in files:
                try:
                    newest = max(newest, file.stat().st_mtime_ns)
                except OSError:
                    continue
            quiet = time.time() - newest / 1e9
            if quiet >= SETTLE_SECONDS:
                return
            await asyncio.sleep(SETTLE_SECONDS - quiet)

    async def watch(self, stop: asyncio.Event) -> None:
        """Follow the folder until ``stop`` is set. Starts with a full scan."""
        stats = await self.scan()
        log.info(
            "content %s: %d files (%d read, %d unchanged, %d rejected, %d removed) in %.2f s",
            self.root,
            stats.files,
            stats.read,
            stats.unchanged,
            stats.rejected,
            stats.removed,
            stats.seconds,
        )
        async for changes in watchfiles.awatch(
            self.root,
            stop_event=stop,
            debounce=400,
            step=30,
            ignore_permission_denied=True,
        ):
            try:
                await self.handle_changes(path for _, path in changes)
            except Exception:
                # A store or disk hiccup must not end the watch; the next scan catches up.
                log.exception("could not process changes in %s", self.root)
