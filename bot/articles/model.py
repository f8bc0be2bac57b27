"""The Article: what every source (Markdown file or feed entry) is turned into."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    """Publish status, decided the way Hugo decides it."""

    PUBLISHED = "published"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"


class ArticleError(ValueError):
    """An input the pipeline rejects; ``str(err)`` is a reason a human can act on."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article, normalised. Every datetime is timezone-aware UTC.

    ``takeaways`` holds one Discord-Markdown string per top-level list item; nested
    items stay inside their parent's string as indented ``- `` lines. ``lede`` is the
    fallback text (summary, description or first paragraph) for articles without
    takeaways, already cut at a sentence boundary. ``site_name`` (the Hugo site's
    ``title``) opens the post's footer.
    """

    id: str
    title: str
    url: str | None = None
    date: datetime | None = None
    publish_date: datetime | None = None
    expiry_date: datetime | None = None
    lastmod: datetime | None = None
    draft: bool = False
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    description: str | None = None
    summary: str | None = None
    image: str | None = None
    takeaways: tuple[str, ...] = ()
    lede: str | None = None
    site_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def published_at(self) -> datetime | None:
        """When the article goes (or went) live: ``publishDate``, else ``date``."""
        return self.publish_date or self.date

    def status(self, now: datetime) -> Status:
        """The publish status at ``now`` (aware), with Hugo's precedence."""
        if self.draft:
            return Status.DRAFT
        if self.expiry_date is not None and self.expiry_date <= now:
            return Status.EXPIRED
        published = self.published_at
        if published is not None and published > now:
            return Status.SCHEDULED
        return Status.PUBLISHED

    def next_transition(self, now: datetime) -> datetime | None:
        """The next moment at which :meth:`status` will change, if any."""
        if self.draft:
            return None
        candidates = [t for t in (self.published_at, self.expiry_date) if t is not None and t > now]
        return min(candidates, default=None)

    def tag_keys(self) -> frozenset[str]:
        """Tags normalised for matching (case-insensitive, trimmed)."""
        return frozenset(normalise_tag(t) for t in self.tags)

    def category_keys(self) -> frozenset[str]:
        """Categories normalised for matching (:func:`category_key`)."""
        return frozenset(category_key(c) for c in self.categories)

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The article as plain JSON-ready data (used by ``newsbot preview --json``)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "status": self.status(now).value,
            "published_at": iso(self.published_at),
            "expires_at": iso(self.expiry_date),
            "updated_at": iso(self.lastmod),
            "tags": list(self.tags),
            "categories": list(self.categories),
            "authors": list(self.authors),
            "description": self.description,
            "summary": self.summary,
            "image": self.image,
            "takeaways": list(self.takeaways),
            "lede": self.lede,
            "site_name": self.site_name,
        }


def normalise_tag(tag: str) -> str:
    """The matching key of a tag: case-folded, inner whitespace collapsed."""
    return " ".join(tag.split()).casefold()


def unique_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """``tags`` without empty ones and without repeats as tags match
    (:func:`normalise_tag`), the first spelling of each kept."""
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        key = normalise_tag(tag)
        if key and key not in seen:
            seen.add(key)
            out.append(tag)
    return tuple(out)


#: What a category's matching key starts with: the ASCII unit separator, which no tag's
#: key holds (``str.split`` counts it as whitespace). Categories are matched like tags
#: and share their index, yet a tag "Politics" and a category "Politics" stay apart.
CATEGORY_KEY = "\x1f"


def category_key(category: str) -> str:
    """The matching key of a category: :data:`CATEGORY_KEY` and the category matched
    as a tag would be (``""`` for a blank one)."""
    key = normalise_tag(category)
    return CATEGORY_KEY + key if key else ""
