"""The ingest rules, applied to the working set one transaction has loaded.

The store loads every row a batch can touch (a few set-based queries), the
:class:`Batch` below decides in plain Python what changes, and the store writes
the result back with a few ``executemany`` calls. Each aiosqlite call is a round
trip to the database thread (~70 µs here); deciding row by row with a query per
question would make a cold scan of ten thousand files take many seconds.

The rules:

* Status comes from the article (``Article.status(now)``); ``'withdrawn'`` is the
  store's own: the file that provided the article is gone, rejected, or provides
  another article now. ``withdrawn_at`` is set then, and also when a once
  published article turns into a draft (status ``'draft'``); it is cleared when
  the article is visible again.
* An article is published at most once: ``announced_at`` is set the first time it
  is stored as published and never cleared. With the source's baseline done a
  ``'published'`` announcement is created at that moment; before it (first scan,
  first poll) the article is recorded silently.
* A published, announced article whose content hash changes gets ``version + 1``
  and an ``'updated'`` announcement, unless one of its announcements is still
  pending (the deliverer renders the latest state anyway).
* A re-render (a setting that shapes posts changed, so every file is read again)
  stores the new post of a file whose bytes did not change *quietly*: no new version,
  no ``'updated'`` announcement; its posts on Discord stay as they are. A file that did
  change follows the rules above, and a status change still counts (an article the
  new time zone publishes is announced, once, as ever).
* A file that disappears withdraws its article; a file with the same bytes that
  appears at a new path of the same source within the move window takes the
  article over (re-keyed if its id changed): no new announcement. A file whose id
  changes keeps its article too (re-keyed). Two files with one id: the first keeps
  it, the second is rejected as a duplicate and read again once the first lets go.
* Feed entries are never withdrawn: an entry that leaves the feed stays as it was.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.articles.model import Article
from bot.prepare import hash_changed
from bot.store.codec import to_us
from bot.store.columns import ArticleColumns, article_columns
from bot.store.models import AnnouncementKind, ArticleStatus, Change, FileItem, IngestResult

#: A file that reappears with the same bytes this soon after its article was
#: withdrawn is a move: the article keeps its identity and is not announced again.
MOVE_WINDOW = timedelta(minutes=10)

#: The ``articles`` columns, named as the fields of :class:`ArticleRow`.
ARTICLE_COLUMNS = (
    "id",
    "source_id",
    "key",
    "content_hash",
    "file_hash",
    "status",
    "title",
    "title_fold",
    "url",
    "published_at",
    "expires_at",
    "lastmod",
    "sort_at",
    "transition_at",
    "first_seen_at",
    "changed_at",
    "withdrawn_at",
    "announced_at",
    "version",
    "description",
    "takeaways",
    "takeaways_text",
    "tags",
    "categories",
    "authors",
    "image",
    "article_json",
    "message_json",
    "tag_tokens",
)

_STATUS_CHANGE = {
    ArticleStatus.PUBLISHED: Change.PUBLISHED,
    ArticleStatus.SCHEDULED: Change.SCHEDULED,
    ArticleStatus.EXPIRED: Change.EXPIRED,
    ArticleStatus.DRAFT: Change.WITHDRAWN,
    ArticleStatus.WITHDRAWN: Change.WITHDRAWN,
}


def status_at(published_at: int | None, expires_at: int | None, now_us: int) -> ArticleStatus:
    """``Article.status`` for a non-draft row, from its stored times."""
    if expires_at is not None and expires_at <= now_us:
        return ArticleStatus.EXPIRED
    if published_at is not None and published_at > now_us:
        return ArticleStatus.SCHEDULED
    return ArticleStatus.PUBLISHED


def next_transition(
    status: ArticleStatus, published_at: int | None, expires_at: int | None, now_us: int
) -> int | None:
    """When the clock alone changes this status next (``None``: never)."""
    if status not in (ArticleStatus.PUBLISHED, ArticleStatus.SCHEDULED):
        return None
    later = [t for t in (published_at, expires_at) if t is not None and t > now_us]
    return min(later, default=None)


_column_values = operator.attrgetter(*ARTICLE_COLUMNS)


@dataclass(slots=True)
class ArticleRow:
    """A mutable copy of one ``articles`` row (its fields are :data:`ARTICLE_COLUMNS`)."""

    id: int
    source_id: int
    key: str
    content_hash: str
    file_hash: str | None
    status: ArticleStatus
    title: str
    title_fold: str
    url: str | None
    published_at: int | None
    expires_at: int | None
    lastmod: int | None
    sort_at: int
    transition_at: int | None
    first_seen_at: int
    changed_at: int
    withdrawn_at: int | None
    announced_at: int | None
    version: int
    description: str | None
    takeaways: str
    takeaways_text: str
    tags: str
    categories: str
    authors: str
    image: str | None
    article_json: str
    message_json: str
    tag_tokens: str
    # Not columns: the key as stored (None: not inserted yet) and, when the tag rows
    # must be rewritten, the (tag_key, tag) rows to write.
    stored_key: str | None = None
    new_tags: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def from_db(cls, values: Sequence[Any]) -> ArticleRow:
        """A stored row: the values of :data:`ARTICLE_COLUMNS`, in that order."""
        loaded = cls(*values)
        loaded.status = ArticleStatus(loaded.status)  # stored as plain text
        loaded.stored_key = loaded.key
        return loaded

    @property
    def published_sort(self) -> int | None:
        """``article_tags.published_sort`` of this article's tag rows."""
        return self.sort_at if self.status == ArticleStatus.PUBLISHED else None

    def values(self) -> tuple[Any, ...]:
        """The column values, in :data:`ARTICLE_COLUMNS` order."""
        return _column_values(self)

    def assign(self, article: Article, article_hash: str, columns: ArticleColumns) -> None:
        """Take over the content of ``article`` (not its status)."""
        self.content_hash = article_hash
        self.title = article.title
        self.title_fold = columns.title_fold
        self.url = article.url
        self.published_at = columns.published_at
        self.expires_at = columns.expires_at
        self.lastmod = columns.lastmod
        self.sort_at = self.published_at if self.published_at is not None else self.first_seen_at
        self.description = columns.description
        self.takeaways = columns.takeaways
        self.takeaways_text = columns.takeaways_text
        if (
            columns.tags != self.tags
            or columns.categories != self.categories
            or self.stored_key is None
        ):
            self.new_tags = columns.tag_rows
        self.tags = columns.tags
        self.categories = columns.categories
        self.tag_tokens = columns.tag_tokens
        self.authors = columns.authors
        self.image = article.image
        self.article_json = columns.article_json
        self.message_json = columns.message_json


@dataclass(slots=True)
class FileState:
    """A mutable copy of one ``files`` row."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    article_id: int | None
    duplicate_of: int | None
    error: str | None
    recorded_at: int
    in_db: bool = True
    deleted: bool = False


@dataclass(slots=True)
class Batch:
    """The rows one transaction works on, and the rules that change them.

    The store must load, before calling the rule methods: every article the batch
    names by key, every article linked from a loaded file, recently withdrawn
    articles whose file hash matches an incoming file (move candidates), the file
    rows owning or duplicating any loaded article, and the pending announcements of
    loaded articles.
    """

    now: datetime
    next_id: int
    baseline: dict[int, bool]
    move_window: timedelta
    source_id: int | None = None  # the content source of a file batch
    rerender: bool = False  # files are read again because a post-shaping setting changed
    now_us: int = 0
    rows: dict[int, ArticleRow] = field(default_factory=dict)
    files: dict[str, FileState] = field(default_factory=dict)
    dirty: dict[int, ArticleRow] = field(default_factory=dict)
    dirty_paths: dict[str, None] = field(default_factory=dict)
    announcements: list[tuple[int, AnnouncementKind]] = field(default_factory=list)
    _by_key: dict[tuple[int, str], ArticleRow] = field(default_factory=dict)
    _owner: dict[int, str] = field(default_factory=dict)
    _duplicates: dict[int, set[str]] = field(default_factory=dict)
    _pending: dict[int, set[AnnouncementKind]] = field(default_factory=dict)
    _candidates: dict[str, list[ArticleRow]] = field(default_factory=dict)
    _move_since: int = 0

    def __post_init__(self) -> None:
        self.now_us = to_us(self.now)
        self._move_since = to_us(self.now - self.move_window)

    # -- loading ---------------------------------------------------------------

    def add_row(self, row: ArticleRow) -> None:
        """A loaded article (loading the same one twice is harmless)."""
        if row.id in self.rows:
            return
        self.rows[row.id] = row
        self._by_key[(row.source_id, row.key)] = row

    def add_candidate(self, row: ArticleRow) -> None:
        """A withdrawn article a new file with the same bytes may take over."""
        self.add_row(row)
        if row.file_hash is not None:
            self._candidates.setdefault(row.file_hash, []).append(self.rows[row.id])

    def add_file(self, state: FileState) -> None:
        """A loaded ``files`` row of :attr:`source_id`."""
        if state.path in self.files:
            return
        self.files[state.path] = state
        if state.article_id is not None:
            self._owner[state.article_id] = state.path
        if state.duplicate_of is not None:
            self._duplicates.setdefault(state.duplicate_of, set()).add(state.path)

    def add_pending(self, article_id: int, kind: AnnouncementKind) -> None:
        """A not yet delivered announcement of a loaded article."""
        self._pending.setdefault(article_id, set()).add(kind)

    # -- rules -----------------------------------------------------------------

    def remove_file(self, path: str) -> IngestResult:
        """The file at ``path`` is gone."""
        f = self.files.get(path)
        if f is None or f.deleted:
            return IngestResult(Change.UNCHANGED, None)
        article_id = f.article_id
        self._unlink(f)
        self._set_duplicate(f, None)
        f.deleted = True
        self.dirty_paths[path] = None
        if article_id is None:
            return IngestResult(Change.REMOVED, None)
        row = self.rows[article_id]
        self._withdraw(row)
        return IngestResult(Change.WITHDRAWN, row.id, None, row.status)

    def record_file(self, item: FileItem) -> IngestResult:
        """One scanned file of :attr:`source_id`: an article or a rejection."""
        assert self.source_id is not None
        f = self.files.get(item.path)
        if f is not None and f.deleted:
            f = None
        linked = self.rows[f.article_id] if f is not None and f.article_id is not None else None
        if item.article is None:
            assert item.error is not None
            return self._reject(f, item, linked, item.error, None)

        article = item.article
        assert item.article_hash is not None and item.message is not None
        row = self._by_key.get((self.source_id, article.id))
        if row is not None:
            owner = self._owner.get(row.id)
            if owner is not None and owner != item.path:
                error = f"duplicate article id {article.id!r}: {owner} has it already"
                return self._reject(f, item, linked, error, row.id)

        moved = rekeyed = False
        if row is None:
            if linked is not None:
                # Same file, new id (slug or permalink changed): same article.
                rekeyed = self._rekey(linked, article.id)
                row = linked
            else:
                row = self._take_candidate(item.file_hash)
                if row is not None:
                    rekeyed = self._rekey(row, article.id)
                    moved = True
        else:
            if linked is not None and linked is not row:
                # This file now provides another (known, unowned) article.
                assert f is not None
                self._unlink(f)
                self._withdraw(linked)
            if (
                f is None  # a file known at this path (say, rejected) did not move
                and row.status == ArticleStatus.WITHDRAWN
                and row.file_hash == item.file_hash
                and row.withdrawn_at is not None
                and row.withdrawn_at >= self._move_since
            ):
                moved = True

        row, change, announced = self._ingest(
            row,
            self.source_id,
            article,
            item.article_hash,
            item.message,
            item.columns,
            rekeyed=rekeyed,
            quiet=self.rerender and f is not None and f.content_hash == item.file_hash,
        )
        if row.file_hash != item.file_hash:
            row.file_hash = item.file_hash
            self._mark(row)
        fixed = f is not None and f.error is not None
        self._put_file(item, article_id=row.id, duplicate_of=None, error=None)
        if moved:
            change = Change.MOVED
        return IngestResult(change, row.id, announced, row.status, fixed)

    def record_entry(
        self, source_id: int, article: Article, article_hash: str, message: dict[str, Any]
    ) -> IngestResult:
        """One feed entry."""
        row = self._by_key.get((source_id, article.id))
        row, change, announced = self._ingest(row, source_id, article, article_hash, message)
        return IngestResult(change, row.id, announced, row.status)

    def refresh(self, row: ArticleRow) -> IngestResult | None:
        """A row whose ``transition_at`` has come: move its status on by the clock."""
        status = status_at(row.published_at, row.expires_at, self.now_us)
        if status == row.status:
            transition = next_transition(status, row.published_at, row.expires_at, self.now_us)
            if transition != row.transition_at:
                row.transition_at = transition
                self._mark(row)
            return None
        old = row.status
        announced = self._set_status(row, status)
        self._mark(row)
        return IngestResult(self._status_change(old, status), row.id, announced, status)

    # -- helpers ---------------------------------------------------------------

    def _ingest(
        self,
        row: ArticleRow | None,
        source_id: int,
        article: Article,
        article_hash: str,
        message: dict[str, Any],
        columns: ArticleColumns | None = None,
        *,
        rekeyed: bool = False,
        quiet: bool = False,
    ) -> tuple[ArticleRow, Change, AnnouncementKind | None]:
        """Store ``article``; ``columns`` are its encoded values, when already known.
        ``quiet``: the same source text rendered anew (see the module's rules)."""
        status = ArticleStatus(article.status(self.now))
        if row is None:
            row = self._new_row(source_id, article.id)
            row.assign(article, article_hash, columns or article_columns(article, message))
            announced = self._set_status(row, status)
            return row, Change.NEW, announced

        content_changed = rekeyed or hash_changed(row.content_hash, article_hash)
        if not content_changed and row.content_hash != article_hash:
            # Hashed before the hash covered every format's placeholders: the article as
            # it is now is stored quietly, and its next change is seen whole.
            row.assign(article, article_hash, columns or article_columns(article, message))
            self._mark(row)
        old = row.status
        if not content_changed and old == status:
            return row, Change.UNCHANGED, None
        was_announced = row.announced_at is not None
        if content_changed:
            row.assign(article, article_hash, columns or article_columns(article, message))
            row.changed_at = self.now_us
        announced = self._set_status(row, status)
        if content_changed and status == ArticleStatus.PUBLISHED and was_announced and not quiet:
            row.version += 1
            if self.baseline.get(row.source_id, False) and not self._pending.get(row.id):
                announced = self._announce(row, AnnouncementKind.UPDATED)
        self._mark(row)
        change = self._status_change(old, status) if old != status else Change.CHANGED
        return row, change, announced

    @staticmethod
    def _status_change(old: ArticleStatus, new: ArticleStatus) -> Change:
        if old == ArticleStatus.WITHDRAWN:
            return Change.RESTORED
        return _STATUS_CHANGE[new]

    def _set_status(self, row: ArticleRow, status: ArticleStatus) -> AnnouncementKind | None:
        """Set ``status`` with its bookkeeping; the announcement kind if one was made."""
        old = row.status
        row.status = status
        row.transition_at = next_transition(status, row.published_at, row.expires_at, self.now_us)
        if status == ArticleStatus.DRAFT:
            if (
                old not in (ArticleStatus.DRAFT, ArticleStatus.WITHDRAWN)
                and row.announced_at is not None
            ):
                row.withdrawn_at = self.now_us
        elif status != ArticleStatus.WITHDRAWN:
            row.withdrawn_at = None
        if status == ArticleStatus.PUBLISHED and row.announced_at is None:
            row.announced_at = self.now_us
            if self.baseline.get(row.source_id, False):
                return self._announce(row, AnnouncementKind.PUBLISHED)
        return None

    def _announce(self, row: ArticleRow, kind: AnnouncementKind) -> AnnouncementKind:
        self.announcements.append((row.id, kind))
        self._pending.setdefault(row.id, set()).add(kind)
        return kind

    def _new_row(self, source_id: int, key: str) -> ArticleRow:
        row = ArticleRow(
            id=self.next_id,
            source_id=source_id,
            key=key,
            content_hash="",
            file_hash=None,
            status=ArticleStatus.DRAFT,
            title="",
            title_fold="",
            url=None,
            published_at=None,
            expires_at=None,
            lastmod=None,
            sort_at=self.now_us,
            transition_at=None,
            first_seen_at=self.now_us,
            changed_at=self.now_us,
            withdrawn_at=None,
            announced_at=None,
            version=1,
            description=None,
            takeaways="[]",
            takeaways_text="",
            tags="[]",
            categories="[]",
            authors="[]",
            image=None,
            article_json="{}",
            message_json="{}",
            tag_tokens="",
        )
        self.next_id += 1
        self.add_row(row)
        self._mark(row)
        return row

    def _mark(self, row: ArticleRow) -> None:
        self.dirty[row.id] = row

    def _withdraw(self, row: ArticleRow) -> None:
        if row.status != ArticleStatus.WITHDRAWN:
            row.status = ArticleStatus.WITHDRAWN
            row.withdrawn_at = self.now_us
            row.transition_at = None
            self._mark(row)
        self._owner.pop(row.id, None)
        # Files rejected as duplicates of this article may provide it now: forget
        # them so the next scan reads them again.
        for path in sorted(self._duplicates.pop(row.id, ())):
            dup = self.files[path]
            dup.duplicate_of = None
            dup.deleted = True
            self.dirty_paths[path] = None
        if row.file_hash is not None:
            self._candidates.setdefault(row.file_hash, []).append(row)

    def _rekey(self, row: ArticleRow, key: str) -> bool:
        if row.key == key:
            return False
        del self._by_key[(row.source_id, row.key)]
        row.key = key
        self._by_key[(row.source_id, key)] = row
        self._mark(row)
        return True

    def _take_candidate(self, file_hash: str) -> ArticleRow | None:
        candidates = [
            row
            for row in self._candidates.get(file_hash, ())
            if row.source_id == self.source_id
            and row.status == ArticleStatus.WITHDRAWN
            and row.id not in self._owner
            and row.withdrawn_at is not None
            and row.withdrawn_at >= self._move_since
        ]
        if not candidates:
            return None
        best = max(candidates, key=lambda r: (r.withdrawn_at or 0, r.id))
        self._candidates[file_hash].remove(best)
        return best

    def _reject(
        self,
        f: FileState | None,
        item: FileItem,
        linked: ArticleRow | None,
        error: str,
        duplicate_of: int | None,
    ) -> IngestResult:
        if (
            f is not None
            and linked is None
            and f.error == error
            and f.duplicate_of == duplicate_of
            and f.content_hash == item.file_hash
        ):
            self._set_stat(f, item)
            return IngestResult(Change.UNCHANGED, None)
        result = IngestResult(Change.REJECTED, None)
        if linked is not None:
            assert f is not None
            self._unlink(f)
            self._withdraw(linked)
            result = IngestResult(Change.WITHDRAWN, linked.id, None, linked.status)
        self._put_file(item, article_id=None, duplicate_of=duplicate_of, error=error)
        return result

    def _unlink(self, f: FileState) -> None:
        if f.article_id is not None:
            self._owner.pop(f.article_id, None)
            f.article_id = None
            self.dirty_paths[f.path] = None

    def _set_duplicate(self, f: FileState, article_id: int | None) -> None:
        if f.duplicate_of is not None:
            self._duplicates.get(f.duplicate_of, set()).discard(f.path)
        f.duplicate_of = article_id
        if article_id is not None:
            self._duplicates.setdefault(article_id, set()).add(f.path)

    def _set_stat(self, f: FileState, item: FileItem) -> None:
        if (f.size, f.mtime_ns) != (item.size, item.mtime_ns):
            f.size, f.mtime_ns = item.size, item.mtime_ns
            self.dirty_paths[f.path] = None

    def _put_file(
        self, item: FileItem, *, article_id: int | None, duplicate_of: int | None, error: str | None
    ) -> None:
        f = self.files.get(item.path)
        if f is None:
            f = FileState(
                path=item.path,
                size=item.size,
                mtime_ns=item.mtime_ns,
                content_hash=item.file_hash,
                article_id=None,
                duplicate_of=None,
                error=None,
                recorded_at=self.now_us,
                in_db=False,
            )
            self.files[item.path] = f
        changed = (
            f.deleted
            or (f.size, f.mtime_ns, f.content_hash) != (item.size, item.mtime_ns, item.file_hash)
            or (f.article_id, f.duplicate_of, f.error) != (article_id, duplicate_of, error)
            or not f.in_db
        )
        if not changed:
            return
        f.deleted = False
        if f.article_id != article_id:
            self._unlink(f)
        f.size, f.mtime_ns, f.content_hash = item.size, item.mtime_ns, item.file_hash
        f.article_id = article_id
        if article_id is not None:
            self._owner[article_id] = f.path
        self._set_duplicate(f, duplicate_of)
        f.error = error
        f.recorded_at = self.now_us
        self.dirty_paths[f.path] = None

    # -- results for the writer ------------------------------------------------

    def new_rows(self) -> list[ArticleRow]:
        """Articles to insert."""
        return [r for r in self.dirty.values() if r.stored_key is None]

    def updated_rows(self) -> list[ArticleRow]:
        """Stored articles to update."""
        return [r for r in self.dirty.values() if r.stored_key is not None]

    def rekeyed_rows(self) -> list[ArticleRow]:
        """Stored articles whose key changes (moved aside first: keys are unique)."""
        return [r for r in self.updated_rows() if r.key != r.stored_key]

    def tag_rewrites(self) -> list[ArticleRow]:
        """Articles whose tag rows must be (re)written."""
        return [r for r in self.dirty.values() if r.new_tags is not None]

    def deleted_files(self) -> list[str]:
        """Stored file rows to delete."""
        return [p for p in self.dirty_paths if self.files[p].deleted and self.files[p].in_db]

    def written_files(self) -> list[FileState]:
        """File rows to insert or update."""
        return [self.files[p] for p in self.dirty_paths if not self.files[p].deleted]
