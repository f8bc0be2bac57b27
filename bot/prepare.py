"""The pure step between parsing and the store: an Article with its post and fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.articles.model import Article
from bot.formats import article_values
from bot.summary import render_message

#: What :func:`prepare`'s hash covers, in words. When it changes, the articles of a
#: content folder are read again at the next start and stored quietly (their posts are
#: not edited), as when a setting that shapes posts changes
#: (:func:`bot.service.post_settings`).
HASH_COVERS = "the default post, dates, tags; every placeholder"
#: Between the two parts of the hash.
_SHOWN = ":"


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article ready for the store: its base post and a hash of everything a reader sees."""

    article: Article
    message: dict[str, Any]
    article_hash: str


def prepare(article: Article) -> Prepared:
    """Render the article's post and fingerprint it.

    The hash has two parts, ``base:shown``. ``base`` covers the default post and the
    fields that decide when and where it is shown (dates, draft flag, tags); ``shown``
    covers what every placeholder of a message format shows
    (:func:`bot.formats.article_values`), so a change that only a custom format shows
    is a change too. Nothing time-dependent such as the status at "now": re-reading an
    unchanged article must give the same hash.
    """
    message = render_message(article)
    fingerprint = {
        "message": message,
        "title": article.title,
        "url": article.url,
        "published_at": _iso(article.published_at),
        "expiry": _iso(article.expiry_date),
        "draft": article.draft,
        "tags": list(article.tags),
        "categories": list(article.categories),
        "description": article.description,
    }
    return Prepared(
        article, message, f"{_digest(fingerprint)}{_SHOWN}{_digest(article_values(article))}"
    )


def hash_changed(stored: str, new: str) -> bool:
    """Whether an article now hashed ``new`` (:func:`prepare`) changed since it was
    stored with ``stored``. A hash stored before it had its ``shown`` part is held
    against ``new``'s ``base`` alone: the upgrade that brought it edits no post."""
    return stored != (new if _SHOWN in stored else new.partition(_SHOWN)[0])


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
