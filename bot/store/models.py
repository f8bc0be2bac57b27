"""What the store hands out: frozen dataclasses, never cursor rows."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.articles.model import Article
from bot.store.codec import article_from_data, from_us, opt_dt
from bot.store.columns import ArticleColumns


class StoreError(RuntimeError):
    """The database cannot be used by this code (too new, SQLite lacks a feature, ...)."""


class DatabaseLost(StoreError):
    """The database file was deleted or replaced under the running bot: what it writes
    now goes to a file nobody will open again, so it must stop."""


class ArticleStatus(enum.StrEnum):
    """An article's stored status: :class:`bot.articles.model.Status`, and the store's
    own ``withdrawn`` (its file is gone or rejected, or it turned into a draft after it
    was published)."""

    PUBLISHED = "published"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


_ARTICLE_STATUSES = {status.value: status for status in ArticleStatus}


class AnnouncementKind(enum.StrEnum):
    """What an announcement asks the deliverer to do."""

    PUBLISHED = "published"  # post the article: it is published for the first time
    UPDATED = "updated"  # edit its posts: it changed after it was posted


class SourceKind(enum.StrEnum):
    """Where articles come from."""

    CONTENT = "content"  # a content folder (or a git repository's checkout)
    FEED = "feed"  # an RSS or Atom feed


class Change(enum.StrEnum):
    """What one ingest step did to the stored article (or file)."""

    NEW = "new"  # first time this article was stored
    UNCHANGED = "unchanged"  # nothing about the article changed
    CHANGED = "changed"  # content changed, status did not
    PUBLISHED = "published"  # became published (from scheduled, draft or expired)
    SCHEDULED = "scheduled"  # became scheduled (publish date moved to the future)
    EXPIRED = "expired"  # became expired
    WITHDRAWN = "withdrawn"  # left publication: file removed or rejected, or now a draft
    RESTORED = "restored"  # was withdrawn, its source provides it again
    MOVED = "moved"  # its file moved: same article, new path (and maybe new key)
    REJECTED = "rejected"  # the file was recorded with an error, no article involved
    REMOVED = "removed"  # a file without article (a rejected one) was forgotten


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A content folder or a feed, with the feed poller's state."""

    id: int
    kind: SourceKind
    locator: str
    baseline_done: bool
    etag: str | None
    last_modified: str | None
    failures: int
    next_attempt_at: datetime | None
    failing_since: datetime | None
    last_error: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None = None  # a feed poll answered, a folder read whole

    @property
    def failing(self) -> bool:
        """Whether its last attempt failed: the poller keeps ``failing_since`` from
        the first failure of a run of failures until the next success (what
        ``newsbot status`` and ``/newsadmin status`` both call failing)."""
        return self.failing_since is not None


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the store remembers of one file of a content source."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    article_key: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class FileItem:
    """One scanned file for :meth:`Store.record_files`: an article, or the reason it is not.

    ``article``, ``article_hash`` and ``message`` go together; ``error`` replaces them.
    ``columns``, when given, is ``article_columns(article, message)`` computed ahead
    (by the content scan's worker processes); else the store computes it if needed.
    """

    path: str
    size: int
    mtime_ns: int
    file_hash: str
    article: Article | None = None
    article_hash: str | None = None
    message: dict[str, Any] | None = field(default=None, hash=False)
    error: str | None = None
    columns: ArticleColumns | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.article is not None:
            if self.article_hash is None or self.message is None:
                raise ValueError(f"{self.path}: an article needs its article_hash and message")
            if self.error is not None:
                raise ValueError(f"{self.path}: give an article or an error, not both")
        elif self.error is None:
            raise ValueError(f"{self.path}: give an article or an error")


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored.

    Lookups hand out dozens of these and show a few fields of each, so the fields
    stored as JSON or as integer microseconds are kept so and decoded when read, each
    read anew (``tags``, ``published_at``, ``message``, ...).
    """

    id: int
    source_id: int
    key: str
    title: str
    url: str | None
    status: ArticleStatus
    published_us: int | None = field(repr=False)
    expires_us: int | None = field(repr=False)
    lastmod_us: int | None = field(repr=False)
    tags_json: str = field(repr=False)
    categories_json: str = field(repr=False)
    takeaways_json: str = field(repr=False)
    description: str | None
    authors_json: str = field(repr=False)
    image: str | None
    message_json: str = field(repr=False)
    first_seen_us: int = field(repr=False)
    announced_us: int | None = field(repr=False)
    withdrawn_us: int | None = field(repr=False)
    changed_us: int = field(repr=False)
    version: int
    article_json: str = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        # Rows hold the status as plain text. A lookup builds dozens of these: a dict
        # finds the member in a tenth of the time ArticleStatus(text) takes.
        object.__setattr__(self, "status", _ARTICLE_STATUSES[self.status])

    @property
    def published_at(self) -> datetime | None:
        """When it goes (or went) live: ``publishDate``, else ``date``."""
        return opt_dt(self.published_us)

    @property
    def expires_at(self) -> datetime | None:
        """When it expires, if ever."""
        return opt_dt(self.expires_us)

    @property
    def lastmod(self) -> datetime | None:
        """Its ``lastmod``, if given."""
        return opt_dt(self.lastmod_us)

    @property
    def first_seen_at(self) -> datetime:
        """When the store first recorded it."""
        return from_us(self.first_seen_us)

    @property
    def announced_at(self) -> datetime | None:
        """When it was first published (announced or recorded in the baseline)."""
        return opt_dt(self.announced_us)

    @property
    def withdrawn_at(self) -> datetime | None:
        """When it left publication, while it is out."""
        return opt_dt(self.withdrawn_us)

    @property
    def changed_at(self) -> datetime:
        """When its content last changed."""
        return from_us(self.changed_us)

    @property
    def tags(self) -> tuple[str, ...]:
        """Its tags, as written."""
        return tuple(json.loads(self.tags_json))

    @property
    def categories(self) -> tuple[str, ...]:
        """Its categories, as written."""
        return tuple(json.loads(self.categories_json))

    @property
    def takeaways(self) -> tuple[str, ...]:
        """Its Key Takeaways, in Discord Markdown."""
        return tuple(json.loads(self.takeaways_json))

    @property
    def authors(self) -> tuple[str, ...]:
        """Its authors."""
        return tuple(json.loads(self.authors_json))

    @property
    def message(self) -> dict[str, Any]:
        """The rendered Create Message body."""
        message: dict[str, Any] = json.loads(self.message_json)
        return message

    def to_article(self) -> Article:
        """Rebuild the :class:`Article` this row was stored from."""
        return article_from_data(json.loads(self.article_json))


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The outcome of one ingest step.

    ``announced`` is the kind of the announcement created in the same transaction, if
    one was; ``status`` is the article's stored status after the step (``None`` when
    no article is involved); ``fixed``: the file was rejected before and provides an
    article now.
    """

    change: Change
    article_id: int | None
    announced: AnnouncementKind | None = None
    status: ArticleStatus | None = None
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class Announcement:
    """One pending event of the outbox, with the article as it is now."""

    id: int
    kind: AnnouncementKind
    created_at: datetime
    article: StoredArticle
