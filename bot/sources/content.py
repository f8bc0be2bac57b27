"""The content folder: a full scan at start, then live watching.

Files are read, hashed, parsed, rendered and encoded for the store off the event loop
(pure work: a thread, or one process per core for a scan of :data:`PARALLEL_MIN` files
or more), and recorded in the store in batches, so a large first scan neither blocks
the event loop nor pays one transaction per file. A scan compares each file's size and
mtime with what the store knows and reads only the files that differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import watchfiles

from bot.articles.markdown import read_markdown
from bot.articles.model import ArticleError
from bot.articles.site import Site
from bot.articles.text import DEFAULT_HEADINGS, Headings
from bot.logs import ids
from bot.prepare import prepare
from bot.sources.events import stopped_within
from bot.store import ArticleStatus, Change, DatabaseLost, FileItem, IngestResult, SourceKind, Store
from bot.store.columns import article_columns

log = logging.getLogger(__name__)

#: A file's (size, mtime_ns): what tells the scan that it may have changed.
Stat = tuple[int, int]

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
# A file must have been quiet this long before it is read: editors that write in
# several steps are not caught half-way (watchfiles already waits `step` ms of quiet).
SETTLE_SECONDS = 0.1
BATCH = 256
# Files per write transaction in a large scan (fewer, bigger transactions write faster).
WRITE_BATCH = 1024
# Chunks read ahead of the one being stored; from this many files on, read in processes.
READ_AHEAD = 4
PARALLEL_MIN = 1000
MAX_WORKERS = 4
PROGRESS_EVERY = 2.0
# A scan's rate (files/s) is logged from this many files on: for a handful it says nothing.
RATE_MIN = 100
# After a failed scan or a watch that ended on its own, try again this much later
# (doubling up to the maximum while it keeps failing).
RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0


@dataclass(slots=True)
class ScanStats:
    """Counts of one scan, for the log and the benchmarks."""

    files: int = 0
    read: int = 0
    unchanged: int = 0
    rejected: int = 0
    removed: int = 0
    announced: int = 0
    articles: int = 0  # files that provide an article
    drafts: int = 0
    scheduled: int = 0
    first: bool = False  # the source's first complete scan: its baseline
    rerendered: bool = False  # every file was read again: a post-shaping setting changed
    seconds: float = 0.0
    complete: bool = True  # false when the scan was stopped before its end

    def count(self, outcomes: Sequence[IngestResult]) -> None:
        """Add what one recorded batch did."""
        for outcome in outcomes:
            self.announced += outcome.announced is not None
            if outcome.article_id is not None and outcome.status is not None:
                self.articles += 1
                self.drafts += outcome.status is ArticleStatus.DRAFT
                self.scheduled += outcome.status is ArticleStatus.SCHEDULED


def is_article_path(name: str) -> bool:
    """Markdown files only, and never editors' hidden, backup or swap files."""
    base = name.rsplit("/", 1)[-1]
    return (
        base.lower().endswith(MARKDOWN_SUFFIXES)
        and not base.startswith((".", "#", "~"))
        and not base.endswith("~")
    )


def is_article_rel(rel: str) -> bool:
    """An article path relative to the root: the scan never enters hidden folders
    (``.git``, ``.obsidian``), so the watcher must not take files from them either."""
    folders = rel.split("/")[:-1]
    return is_article_path(rel) and not any(part.startswith(".") for part in folders)


def is_utf8_name(name: str) -> bool:
    """False for a name that is not valid UTF-8 on disk: Python keeps its stray bytes as
    lone surrogates, which the store (and any log or Discord message) cannot hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(rel: str) -> str:
    """A path as it can be logged: bytes that are not UTF-8 as ``\\xNN`` escapes."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def is_within(root: str, path: str) -> bool:
    """Whether ``path`` (resolved) lies inside the folder ``root`` (resolved)."""
    return path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True, slots=True)
class Reading:
    """How a folder's files are read: the site they belong to (URLs, languages), the
    takeaways' titles, the zone of naive dates and the largest file accepted."""

    site: Site
    headings: Headings
    tz: tzinfo
    max_bytes: int


def read_file(root: Path, rel: str, known: Stat | None, reading: Reading) -> FileItem | None:
    """Read one file into what the store records of it: its article, ready to store
    (post, fingerprint, encoded columns), or the reason it has none. ``None`` when it
    vanished, is unchanged since ``known`` (its size and mtime), or is being written
    right now (the writer's next change event brings it back)."""
    full = root / rel
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            # Listed as a link inside the folder, but it may have been turned since: check
            # again, and read the file it leads to, never the link's next target.
            target = os.path.realpath(full, strict=True)
            if not is_within(str(root), target):
                return None  # the link's own change event withdraws it
            full = Path(target)
            st = full.stat()
        if known is not None and (st.st_size, st.st_mtime_ns) == known:
            return None
        max_bytes = reading.max_bytes
        if st.st_size > max_bytes:
            # Not even opened; the size stands in for the hash, so the same oversized
            # file is not reported again on every touch.
            reason = f"file too large: {st.st_size:,} bytes (limit {max_bytes:,})"
            return FileItem(rel, st.st_size, st.st_mtime_ns, f"size {st.st_size}", error=reason)
        # O_NOFOLLOW: a link swapped in since the check above is refused, not followed.
        with os.fdopen(os.open(full, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
            data = handle.read(max_bytes + 1)
            after = os.fstat(handle.fileno())
    except FileNotFoundError:
        return None
    except OSError as exc:
        return FileItem(rel, 0, 0, "", error=f"cannot read: {exc.strerror or exc}")
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or (
        len(data) != after.st_size
    ):
        return None  # changed while we read it: its writer's next event brings it back
    file_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        article = read_markdown(
            data,
            rel_path=rel,
            site=reading.site,
            headings=reading.headings,
            tz=reading.tz,
            max_bytes=max_bytes,
        )
    except ArticleError as exc:
        return FileItem(rel, st.st_size, st.st_mtime_ns, file_hash, error=str(exc))
    ready = prepare(article)
    return FileItem(
        rel,
        st.st_size,
        st.st_mtime_ns,
        file_hash,
        article,
        ready.article_hash,
        ready.message,
        columns=article_columns(article, ready.message),
    )


def read_files(
    root: Path,
    items: Sequence[tuple[str, Stat | None]],
    reading: Reading,
) -> list[FileItem]:
    """:func:`read_file` over many files (a top-level function: it runs in worker processes)."""
    results = []
    for rel, known in items:
        result = read_file(root, rel, known, reading)
        if result is not None:
            results.append(result)
    return results


class ContentSource:
    """Keeps the store in step with one Hugo-style content folder."""

    #: Seconds between progress lines of a long scan (an attribute, so tests can shorten it).
    progress_every = PROGRESS_EVERY

    def __init__(
        self,
        store: Store,
        root: Path,
        *,
        site_url: str | None,
        tz: tzinfo,
        max_bytes: int,
        on_announce: Callable[[], None] = lambda: None,
        on_change: Callable[[], None] = lambda: None,
        site: Site | None = None,
        headings: Headings = DEFAULT_HEADINGS,
        post_settings: Mapping[str, str | None] | None = None,
    ) -> None:
        """``post_settings``: the settings that shape the posts, by name (their values
        as text). When they differ from those the stored articles were read with, the
        next scan reads every file again (see :meth:`scan`)."""
        self.store = store
        self.root = root.resolve()
        # The Hugo site the folder belongs to (permalinks, languages) is by default
        # only its URL, ``site_url``.
        self.reading = Reading(
            site if site is not None else Site(site_url=site_url), headings, tz, max_bytes
        )
        self.on_announce = on_announce
        # Called after a batch changed anything (say, a scheduled article appeared), so
        # the publish-time re-check can look at the next transition again.
        self.on_change = on_change
        self.post_settings = dict(post_settings or {})
        self.source_id: int | None = None
        # Set once the first scan is done and every later change is being followed.
        self.ready = asyncio.Event()
        # The (size, mtime_ns) the store knows of each file, kept in step with every
        # batch written, so a watch event costs no full-table read.
        self._known: dict[str, Stat] = {}
        # Links inside the folder that are read as articles (or wait for their target to
        # appear), by their path, with the path of the file they lead to: the watcher
        # reports a change to that file under its own path only.
        self._links: dict[str, str] = {}
        # Paths skipped with a warning (names that are not UTF-8, links that must not be
        # followed, paths the system refuses): each is logged once per process, not on
        # every scan or change batch.
        self._skipped: set[str] = set()
        self._scan_wanted = asyncio.Event()

    async def _source_id(self) -> int:
        if self.source_id is None:
            self.source_id = (await self.store.source(SourceKind.CONTENT, str(self.root))).id
        return self.source_id

    # -- reading (runs in a worker thread: pure file work) ------------------------------

    def _read_many(self, items: list[tuple[str, Stat | None]]) -> list[FileItem]:
        return read_files(self.root, items, self.reading)

    def _skip(self, rel: str, reason: str) -> None:
        """Log once per process that ``rel`` is not read, and why."""
        if rel not in self._skipped:
            self._skipped.add(rel)
            log.warning("skipped %s in %s: %s", printable(rel), self.root, reason)

    def _follow(self, rel: str) -> str | None:
        """The path (relative to the root) of the file the link at ``rel`` stands for, or
        ``None``, logged once, when it is not to be read: it leads out of the content
        folder (never followed: ``passwd.md -> /etc/passwd``), goes round in a loop,
        names a path the system refuses, leads nowhere, or to a folder."""
        full = os.path.join(self.root, rel)
        try:
            target = os.path.realpath(full, strict=True)
        except OSError as exc:
            # Remember where a link inside the folder would lead: once its target
            # appears, the watcher reports the target, not the link.
            loose = os.path.realpath(full)
            if is_within(str(self.root), loose):
                self._links[rel] = os.path.relpath(loose, self.root)
            self._skip(rel, f"cannot follow the link: {exc.strerror or exc}")
            return None
        if not is_within(str(self.root), target):
            self._links.pop(rel, None)
            self._skip(rel, "a link out of the content folder is never followed")
            return None
        self._links[rel] = os.path.relpath(target, self.root)
        if not os.path.isfile(target):
            self._skip(rel, "a link to something other than a file")
            return None
        return self._links[rel]

    def _walk(self, start: str = "") -> dict[str, Stat]:
        """Every article file under the root (or its sub-folder ``start``) with its
        (size, mtime_ns).

        Raises ``OSError`` when that folder itself cannot be listed: an unmounted or
        missing folder must not read as "every article was deleted". Links to folders are
        not entered; links to files are read when :meth:`_follow` allows.
        """
        found: dict[str, Stat] = {}
        # (folder, its path relative to the root with a trailing "/"): paths are built
        # by joining strings, as pathlib costs more than the stat() of each file.
        top = start + "/" if start else ""
        stack = [(os.path.join(self.root, start), top)]
        while stack:
            folder, prefix = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except OSError as exc:
                if prefix == top:
                    raise
                self._skip(prefix.rstrip("/"), f"cannot list it: {exc.strerror or exc}")
                continue
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                rel = prefix + name
                try:
                    if not is_utf8_name(name):
                        # The store cannot hold such a path; nor can the watcher name it.
                        if is_article_path(name) or entry.is_dir(follow_symlinks=False):
                            self._skip(rel, "the name is not valid UTF-8")
                    elif entry.is_symlink():
                        if is_article_path(name) and self._follow(rel) is not None:
                            st = entry.stat()
                            found[rel] = (st.st_size, st.st_mtime_ns)
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, rel + "/"))
                    elif is_article_path(name) and entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        found[rel] = (st.st_size, st.st_mtime_ns)
                except OSError:
                    continue
        return found

    # -- recording -----------------------------------------------------------------------

    async def _record(
        self,
        items: Sequence[FileItem],
        removed: Sequence[str] = (),
        *,
        rerender: bool = False,
        explain: bool = True,
        live: bool = False,
    ) -> list[IngestResult]:
        """Store a batch (removals first); log each newly rejected file once, and (with
        ``explain``) what became of each changed file that is not posted now: drafts,
        scheduled articles, moves, returns, copies, files fixed after a rejection, and
        (``live``: a change the watcher saw, not a scan's) files saved unchanged.

        Returns the outcome of each item.
        """
        source_id = await self._source_id()
        outcomes = await self.store.record_files(
            source_id, items, datetime.now(UTC), removed=removed, rerender=rerender
        )
        self.store.metrics.ingested(SourceKind.CONTENT, (outcome.change for outcome in outcomes))
        for item, outcome in zip(items, outcomes[len(removed) :], strict=True):
            # The store reports REJECTED only when the file (or its reason) changed, so a
            # broken file is logged once, not on every scan. A file that provided an
            # article and now fails comes back as WITHDRAWN: its reason is news too.
            if item.error is not None and outcome.change in (Change.REJECTED, Change.WITHDRAWN):
                log.warning(
                    "rejected %s: %s", item.path, item.error, extra=ids(source=str(self.root))
                )
            elif explain and item.article is not None:
                await self._explain(item, outcome, live=live)
        for rel in removed:
            self._known.pop(rel, None)
        for item in items:
            self._known[item.path] = (item.size, item.mtime_ns)
        if any(outcome.change is not Change.UNCHANGED for outcome in outcomes):
            self.on_change()
        if any(outcome.announced for outcome in outcomes):
            self.on_announce()
        return outcomes[len(removed) :]

    async def _explain(self, item: FileItem, outcome: IngestResult, *, live: bool) -> None:
        """Log what became of a changed file when no post says it: a draft saved, a
        scheduled article and when it goes out, a move, a return, the same content saved
        again, an identical copy of another file, a file fixed after a rejection."""
        article = item.article
        assert article is not None
        path, title = item.path, article.title
        if outcome.change is Change.UNCHANGED:
            # A scan after a checkout that touched every file would say it of each one.
            if live:
                log.info(
                    "unchanged: %s (%r) saved with the same content; nothing to post", path, title
                )
            return
        if outcome.fixed:
            log.info("fixed: %s reads cleanly now (%r)", path, title)
        if outcome.change is Change.NEW and self.source_id is not None:
            original = await self.store.copy_of(self.source_id, path, item.file_hash)
            if original is not None:
                log.info(
                    "copy: %s has the same content as %s; it is an article of its own, at "
                    "its own address",
                    path,
                    original,
                )
        if outcome.change is Change.MOVED:
            log.info("moved: %s is %r from its old path; not announced again", path, title)
        elif outcome.change is Change.RESTORED and outcome.status is ArticleStatus.PUBLISHED:
            log.info("back: %s (%r) was announced before; not announced again", path, title)
        elif outcome.status is ArticleStatus.DRAFT:
            log.info("draft saved: %s (%r); announced once it is published", path, title)
        elif outcome.status is ArticleStatus.SCHEDULED and article.published_at is not None:
            when = article.published_at.astimezone(UTC).isoformat()
            log.info("scheduled: %s (%r) goes out at %s", path, title, when)

    async def scan(self, stop: asyncio.Event | None = None) -> ScanStats:
        """Bring the store in line with the folder: new, changed and deleted files.

        Stops between batches once ``stop`` is set (``complete`` is then false). The
        first complete scan of a source is its baseline: what it recorded is never
        announced; an interrupted first scan leaves the baseline for the next one.

        When the settings that shape posts are not those the stored articles were read
        with, every file is read again and its post stored anew without announcing
        anything again (an unchanged file changes no post on Discord); the settings are
        recorded once such a scan is complete.
        """
        started = time.perf_counter()
        stats = ScanStats()
        source = await self.store.source(SourceKind.CONTENT, str(self.root))
        self.source_id = source_id = source.id
        # The walk finds every link again (one removed while the bot was down included).
        self._links = {}
        # Listing the folder and reading what the store knows overlap: the walk runs in
        # a thread, the query in the database's.
        known, on_disk = await asyncio.gather(
            self.store.file_stats(source_id), asyncio.to_thread(self._walk)
        )
        self._known = known
        stats.files = len(on_disk)
        settings_key = f"post_settings:{source_id}"
        wanted = json.dumps(self.post_settings, sort_keys=True)
        recorded = await self.store.get_meta(settings_key)
        stats.rerendered = rerender = source.baseline_done and recorded != wanted
        if rerender:
            log.info(
                "content %s: %s; reading all %s again to re-render their posts "
                "(nothing is announced again)",
                self.root,
                _changed_settings(recorded, self.post_settings),
                plural(len(on_disk), "file"),
            )

        removed = sorted(known.keys() - on_disk.keys())
        stats.removed = len(removed)
        todo = [
            (rel, None if rerender else known.get(rel))
            for rel, stat in sorted(on_disk.items())
            if rerender or known.get(rel) != stat
        ]
        stats.unchanged = stats.files - len(todo)
        last_report = time.perf_counter()
        chunks = [todo[offset : offset + BATCH] for offset in range(0, len(todo), BATCH)] or [[]]
        done = 0
        parallel = len(todo) >= PARALLEL_MIN
        # A large scan writes several chunks per transaction, with the store in bulk mode.
        write_every = WRITE_BATCH if parallel else 1
        writing = self.store.bulk() if parallel else contextlib.nullcontext()
        async with _Readers(self, parallel=parallel) as readers, writing:
            pending = [readers.submit(chunk) for chunk in chunks[:READ_AHEAD]]
            ready: list[FileItem] = []
            first = True
            for index in range(len(chunks)):
                if stop is not None and stop.is_set():
                    stats.complete = False
                    break
                results = await pending[index]
                if index + READ_AHEAD < len(chunks):
                    pending.append(readers.submit(chunks[index + READ_AHEAD]))
                ready.extend(results)
                done += len(chunks[index])
                if len(ready) < write_every and index + 1 < len(chunks):
                    continue
                stats.read += len(ready)
                stats.rejected += sum(1 for r in ready if r.error)
                # Removals travel with the first batch, so a file moved while the bot was
                # down is recognised as a move rather than a withdrawal plus a new article.
                outcomes = await self._record(
                    ready,
                    removed if first else (),
                    rerender=rerender,
                    explain=source.baseline_done and not rerender,
                )
                stats.count(outcomes)
                ready, first = [], False
                now = time.perf_counter()
                if now - last_report >= self.progress_every and done < len(todo):
                    last_report = now
                    rate = done / (now - started)
                    log.info(
                        "scanning %s: %d/%d files read (%.0f/s)", self.root, done, len(todo), rate
                    )

        if stats.complete and not source.baseline_done:
            await self.store.mark_baseline_done(source_id, datetime.now(UTC))
            stats.first = True
        if stats.complete and recorded != wanted:
            await self.store.set_meta(settings_key, wanted)
        stats.seconds = time.perf_counter() - started
        return stats

    # -- watching ------------------------------------------------------------------------

    def _classify(
        self, paths: Iterable[str], known: dict[str, Stat]
    ) -> tuple[list[tuple[str, Stat | None]], list[str]]:
        """Split changed paths into files now present (new or changed) and files gone.

        Paths are taken as the watcher reports them, never resolved: a link is judged by
        :meth:`_follow` as the scan judges it, and a path under a linked folder is left
        alone, as the scan never enters one.
        """
        present: dict[str, Stat | None] = {}
        gone: list[str] = []
        prefix = os.path.join(self.root, "")
        changed: list[str] = []
        for raw in sorted(set(paths)):
            if raw.startswith(prefix) and raw != prefix:
                changed.append(raw[len(prefix) :])
        for rel in changed:
            self._look(rel, known, present, gone)
        # A link stands for its target: a change to the file it leads to (or to a folder
        # holding it) is a change to the link, wherever that file lies in the folder.
        for link, target in list(self._links.items()):
            if link not in present and any(
                target == rel or target.startswith(rel + "/") for rel in changed
            ):
                self._look(link, known, present, gone)
        # A folder and a file in it may both be reported: each file is read once.
        return list(present.items()), sorted(set(gone) - present.keys())

    def _look(
        self,
        rel: str,
        known: dict[str, Stat],
        present: dict[str, Stat | None],
        gone: list[str],
    ) -> None:
        """Classify one changed path (see :meth:`_classify`)."""
        if any(part.startswith(".") for part in rel.split("/")):
            return  # hidden: never an article, nor a folder holding one
        full = os.path.join(self.root, rel)
        try:
            parent = os.path.dirname(full)
            if os.path.realpath(parent) != parent:
                return  # under a linked folder, which the scan does not enter either
            mode = os.lstat(full).st_mode
        except (FileNotFoundError, NotADirectoryError):
            mode = None
        except OSError as exc:  # a path the system refuses (too long, say)
            self._skip(rel, f"cannot look at it: {exc.strerror or exc}")
            return
        if mode is not None and stat.S_ISDIR(mode):
            # A folder moved in: read everything below it.
            try:
                found = self._walk(rel)
            except OSError as exc:
                self._skip(rel, f"cannot list it: {exc.strerror or exc}")
                return
            present.update((sub, None) for sub in found if is_article_rel(sub))
        elif mode is not None and stat.S_ISLNK(mode) and is_article_rel(rel):
            if self._follow(rel) is not None:
                present[rel] = known.get(rel)
            elif rel in known:
                gone.append(rel)  # turned to lead elsewhere: no longer an article here
        elif mode is not None and stat.S_ISREG(mode):
            if is_article_rel(rel):
                present[rel] = known.get(rel)
        else:
            # A file, a link or a whole folder went away.
            gone.extend(k for k in known if k == rel or k.startswith(rel + "/"))
            for link in [k for k in self._links if k == rel or k.startswith(rel + "/")]:
                del self._links[link]

    def request_scan(self) -> None:
        """Scan the whole folder again soon (``POST /hooks/publish``)."""
        self._scan_wanted.set()

    async def handle_changes(self, paths: Iterable[str], *, settle: bool = True) -> None:
        """Re-read the given absolute paths: each is now present (new or changed) or gone.

        ``settle=False`` when the files are known to be complete (a git checkout that
        has returned): no wait for them to be quiet.
        """
        present, gone = await asyncio.to_thread(self._classify, list(paths), dict(self._known))
        if present and settle:
            await self._settle([self.root / rel for rel, _ in present])
        results = await asyncio.to_thread(self._read_many, present) if present else []
        if results or gone:
            # One transaction, deletions first: a move (delete + create of the same bytes)
            # is recognised as one article changing path.
            await self._record(results, gone, live=True)

    async def _settle(self, files: list[Path]) -> None:
        """Wait until every file has been quiet for SETTLE_SECONDS (half-written files).

        Quiet is judged by the files' mtimes and, for mtimes that cannot tell (in the
        future: clock skew, ``touch -d``, copies keeping their times), by their size and
        mtime staying the same while we watch.
        """
        seen: dict[Path, tuple[int, int]] | None = None
        seen_at = 0.0
        for _ in range(50):  # bounded: a file rewritten non-stop is read after ~5 s anyway
            newest = 0
            now: dict[Path, tuple[int, int]] = {}
            for file in files:
                try:
                    st = file.stat()
                except OSError:
                    continue
                now[file] = (st.st_size, st.st_mtime_ns)
                newest = max(newest, st.st_mtime_ns)
            if now != seen:
                seen, seen_at = now, time.monotonic()
            quiet = max(time.time() - newest / 1e9, time.monotonic() - seen_at)
            if quiet >= SETTLE_SECONDS:
                return
            await asyncio.sleep(SETTLE_SECONDS - quiet)

    async def watch(self, stop: asyncio.Event) -> None:
        """Follow the folder until ``stop`` is set. Starts with a full scan.

        The watcher starts before the scan, so a file written while the scan runs (after
        its walk passed by) is never missed: its change waits in the queue.
        """
        queue: asyncio.Queue[set[str]] = asyncio.Queue()
        quit_watcher = asyncio.Event()
        watcher = self._start_watcher(queue, quit_watcher)
        await asyncio.sleep(0)  # its first step sets up the OS watch
        rescan = True
        delay = RETRY_SECONDS
        try:
            while not stop.is_set():
                if watcher.done():
                    error = None if watcher.cancelled() else watcher.exception()
                    if (lost := _unnamed_path(error)) is not None:
                        # watchfiles gives up on a whole batch (and for good) when one
                        # path in it is not UTF-8. The scan skips that name (logging it
                        # once); watch again at once and rescan for the rest of the batch.
                        log.debug("watch of %s lost a batch: %s; rescanning", self.root, lost)
                        watcher = self._start_watcher(queue, quit_watcher)
                        await asyncio.sleep(0)
                        rescan = True
                        continue
                    # The OS watch ended on its own (say, the folder is missing): nothing
                    # can be followed, so no scan either until it runs again.
                    log.error(
                        "cannot watch %s (%s); retrying in %g s",
                        self.root,
                        error or "the watch ended",
                        delay,
                    )
                    if await stopped_within(stop, delay):
                        break
                    delay = min(2 * delay, MAX_RETRY_SECONDS)
                    watcher = self._start_watcher(queue, quit_watcher)
                    await asyncio.sleep(0)
                    rescan = True
                    continue
                if rescan:
                    try:
                        stats = await self.scan(stop)
                    except DatabaseLost:
                        return  # the bot is stopping; its database watch says why, once
                    except Exception as exc:
                        log.error(
                            "could not scan %s (%s); retrying in %g s",
                            self.root,
                            exc,
                            delay,
                            exc_info=not isinstance(exc, OSError),
                        )
                        if await stopped_within(stop, delay):
                            break
                        delay = min(2 * delay, MAX_RETRY_SECONDS)
                        continue
                    rescan = False
                    delay = RETRY_SECONDS
                    if stats.complete:
                        self._log_scan(stats)
                        self.ready.set()
                    continue
                if self._scan_wanted.is_set():
                    self._scan_wanted.clear()
                    rescan = True
                    continue
                paths = await _next_changes(queue, watcher, stop, self._scan_wanted)
                if not paths:
                    continue
                try:
                    await self.handle_changes(paths)
                except DatabaseLost:
                    return  # the bot is stopping; its database watch says why, once
                except Exception:
                    # A store or disk hiccup must not end the watch; a rescan catches up.
                    log.exception("could not process changes in %s; rescanning", self.root)
                    rescan = True
        finally:
            quit_watcher.set()
            # The watch thread notices within one step; cancel only as a fallback.
            _, pending = await asyncio.wait({watcher}, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    def _start_watcher(
        self, queue: asyncio.Queue[set[str]], quit_watcher: asyncio.Event
    ) -> asyncio.Task[None]:
        async def follow() -> None:
            # A missing folder is not an error to watchfiles (ignore_permission_denied
            # makes it watch nothing at all), so check, and stop when the folder goes.
            if not self.root.is_dir():
                raise FileNotFoundError(f"no folder at {self.root}")
            async for changes in watchfiles.awatch(
                self.root,
                stop_event=quit_watcher,
                debounce=400,
                step=30,
                ignore_permission_denied=True,
            ):
                queue.put_nowait({path for _, path in changes})
                if not self.root.is_dir():
                    raise FileNotFoundError(f"{self.root} was removed")

        # awatch sets up the OS watch in its first step, before its first await; from
        # then on changes are buffered, even while nobody is waiting for them.
        return asyncio.create_task(follow(), name=f"watch {self.root}")

    def _log_scan(self, stats: ScanStats) -> None:
        rate = ""
        if stats.files >= RATE_MIN and stats.seconds > 0:
            rate = f" ({stats.files / stats.seconds:,.0f} files/s)"
        first = ""
        if stats.first:
            first = (
                f"; first start: recorded {plural(stats.articles, 'existing article')} "
                "without announcing them"
            )
            held = [
                plural(stats.drafts, "draft") if stats.drafts else "",
                f"{stats.scheduled} scheduled, announced when due" if stats.scheduled else "",
            ]
            if any(held):
                first += f" ({', '.join(part for part in held if part)})"
            first += "; articles added from now on are announced"
        log.info(
            "content %s: %s (%d read, %d unchanged, %d rejected, %d removed) in %.2f s%s%s",
            self.root,
            plural(stats.files, "file"),
            stats.read,
            stats.unchanged,
            stats.rejected,
            stats.removed,
            stats.seconds,
            rate,
            first,
        )


class _Readers:
    """Reads chunks of files off the event loop while earlier chunks are being stored.

    A large scan (the first start over a big archive) reads in worker processes, one
    per core, since parsing is CPU-bound pure Python; small scans use a thread.
    """

    def __init__(self, source: ContentSource, *, parallel: bool) -> None:
        self.source = source
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
        self.pool: ProcessPoolExecutor | None = None
        if parallel and workers > 1:
            # "spawn": the bot's process has threads (SQLite, the watcher), which fork
            # would copy in an unknown state.
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")
            )

    def submit(self, chunk: list[tuple[str, Stat | None]]) -> asyncio.Future[list[FileItem]]:
        source = self.source
        if self.pool is not None:
            try:
                return asyncio.wrap_future(
                    self.pool.submit(read_files, source.root, chunk, source.reading)
                )
            except (RuntimeError, OSError, BrokenProcessPool) as exc:
                # No worker processes here (an embedding program without a main guard,
                # a sandbox without fork): read in a thread instead.
                log.info("reading in one thread: worker processes unavailable (%s)", exc)
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = None
        return asyncio.ensure_future(asyncio.to_thread(source._read_many, chunk))

    async def __aenter__(self) -> _Readers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _changed_settings(recorded: str | None, now: Mapping[str, str | None]) -> str:
    """Which settings that shape posts changed since ``recorded`` (their JSON), in words."""
    if recorded is None:
        return "the settings that shape posts were not recorded with the stored articles"
    before = json.loads(recorded)
    changed = sorted(
        name for name in before.keys() | now.keys() if before.get(name) != now.get(name)
    )
    return f"{', '.join(changed)} changed since the stored articles were read"


def _unnamed_path(error: BaseException | None) -> BaseException | None:
    """The error that ended the watcher when it met a path it cannot decode (watchfiles
    raises its own error for that, inside a task group's exception group), else None."""
    if isinstance(error, BaseExceptionGroup):
        return next(filter(None, map(_unnamed_path, error.exceptions)), None)
    if isinstance(error, RuntimeError) and "Unable to decode path" in str(error):
        return error
    return None


async def _next_changes(
    queue: asyncio.Queue[set[str]],
    watcher: asyncio.Task[None],
    stop: asyncio.Event,
    scan_wanted: asyncio.Event,
) -> set[str]:
    """The changed paths waiting, or an empty set once ``stop`` or ``scan_wanted`` is
    set or the watcher ended."""
    if queue.empty():
        getter = asyncio.ensure_future(queue.get())
        stopper = asyncio.ensure_future(stop.wait())
        scanner = asyncio.ensure_future(scan_wanted.wait())
        try:
            await asyncio.wait(
                {getter, stopper, scanner, watcher}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopper.cancel()
            scanner.cancel()
            if not getter.done():
                getter.cancel()
        await asyncio.gather(getter, stopper, scanner, return_exceptions=True)
        if getter.cancelled():
            return set()
        paths = getter.result()
    else:
        paths = queue.get_nowait()
    # Everything queued meanwhile goes into the same batch (one transaction).
    while not queue.empty():
        paths |= queue.get_nowait()
    return paths
