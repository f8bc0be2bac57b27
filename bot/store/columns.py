"""The ``articles`` column values computed from an article alone (pure, no I/O).

Both the ingest rules (:mod:`bot.store.ingest`) and what the store hands out
(:mod:`bot.store.models`) need them, and the content scan's worker processes compute
them ahead: they live below all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.articles.model import Article, category_key, normalise_tag
from bot.store.codec import article_to_json, dumps, opt_us


def tag_token(tag_key: str) -> str:
    """The full-text token standing for a normalised tag: ``t`` and the hex of its UTF-8.

    One token per tag (whatever its spaces and punctuation), which no tokenizer splits
    and no word typed into a search collides with; see migration 0002.
    """
    return "t" + tag_key.encode("utf-8").hex()


def tag_tokens(tags: tuple[str, ...], categories: tuple[str, ...] = ()) -> str:
    """The ``articles.tag_tokens`` value of an article with these tags and categories."""
    return _tokens(tag_rows(tags, categories))


def _tokens(rows: list[tuple[str, str]]) -> str:
    """:func:`tag_tokens` from the article's :func:`tag_rows`."""
    return " ".join(tag_token(key) for key in sorted(key for key, _ in rows))


def tag_rows(tags: tuple[str, ...], categories: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """``(tag_key, tag)`` pairs of the ``article_tags`` table: one per key, first
    spelling wins, empty ones dropped; the categories' keys are
    :func:`~bot.articles.model.category_key` (migration 0006)."""
    seen: dict[str, str] = {}
    labels = [(normalise_tag(t), t) for t in tags] + [(category_key(c), c) for c in categories]
    for key, label in labels:
        if key and key not in seen:
            seen[key] = spelling(label)
    return list(seen.items())


def spelling(label: str) -> str:
    """A tag or category as ``article_tags`` shows it: as written, whitespace collapsed."""
    return " ".join(label.split())


@dataclass(frozen=True, slots=True)
class ArticleColumns:
    """The ``articles`` column values that come from an article and its post alone.

    Pure to compute and picklable: the content scan's worker processes encode them,
    so that the process holding the database only copies them into rows.
    """

    title_fold: str
    published_at: int | None
    expires_at: int | None
    lastmod: int | None
    description: str | None
    takeaways: str
    takeaways_text: str
    tags: str
    categories: str
    tag_rows: tuple[tuple[str, str], ...]
    tag_tokens: str
    authors: str
    article_json: str
    message_json: str


def article_columns(article: Article, message: dict[str, Any]) -> ArticleColumns:
    """Encode ``article`` and its base post ``message`` for the ``articles`` row."""
    rows = tag_rows(article.tags, article.categories)
    return ArticleColumns(
        title_fold=article.title.casefold(),
        published_at=opt_us(article.published_at),
        expires_at=opt_us(article.expiry_date),
        lastmod=opt_us(article.lastmod),
        description=article.description or article.summary or article.lede,
        takeaways=dumps(list(article.takeaways)),
        takeaways_text="\n".join(article.takeaways),
        tags=dumps(list(article.tags)),
        categories=dumps(list(article.categories)),
        tag_rows=tuple(rows),
        tag_tokens=_tokens(rows),
        authors=dumps(list(article.authors)),
        article_json=article_to_json(article),
        message_json=dumps(message),
    )
