"""Small builders for the store tests."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bot.articles.model import Article
from bot.store import FileItem
from bot.store.codec import article_to_json

#: What a statement breaking a constraint raises, on either engine.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def art(
    key: str,
    title: str | None = None,
    *,
    date: datetime | None = T0 - DAY,
    publish_date: datetime | None = None,
    expiry: datetime | None = None,
    draft: bool = False,
    tags: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    takeaways: tuple[str, ...] = (),
    description: str | None = None,
    url: str | None = None,
) -> Article:
    return Article(
        id=key,
        title=title if title is not None else f"Title of {key}",
        url=url if url is not None else f"https://example.com{key}",
        date=date,
        publish_date=publish_date,
        expiry_date=expiry,
        draft=draft,
        tags=tags,
        categories=categories,
        takeaways=takeaways,
        description=description,
    )


def ahash(article: Article) -> str:
    return hashlib.sha256(article_to_json(article).encode()).hexdigest()


def msg(article: Article) -> dict[str, Any]:
    return {"content": article.title, "embeds": [{"title": article.title}]}


def entry(article: Article) -> tuple[Article, str, dict[str, Any]]:
    return (article, ahash(article), msg(article))


def item(
    path: str,
    article: Article | None = None,
    *,
    file_hash: str | None = None,
    error: str | None = None,
    size: int = 100,
    mtime_ns: int = 1,
) -> FileItem:
    if file_hash is None:
        file_hash = "bytes-of-" + (ahash(article) if article is not None else path + str(error))
    if article is None:
        return FileItem(path, size, mtime_ns, file_hash, error=error or "broken")
    return FileItem(path, size, mtime_ns, file_hash, article, ahash(article), msg(article))
