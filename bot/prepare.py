"""The pure step between parsing and the store: an Article with its post and fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.articles.model import Article
from bot.summary import render_message


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article ready for the store: its base post and a hash of everything a reader sees."""

    article: Article
    message: dict[str, Any]
    article_hash: str


def prepare(article: Article) -> Prepared:
    """Render the article's post and fingerprint it.

    The hash covers the post and the fields that decide when and where it is shown
    (dates, draft flag, tags), but not anything time-dependent such as the status at
    "now": re-reading an unchanged article must give the same hash.
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
    blob = json.dumps(fingerprint, sort_keys=True, ensure_ascii=False).encode()
    return Prepared(article, message, hashlib.blake2b(blob, digest_size=16).hexdigest())


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
