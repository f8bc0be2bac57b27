"""What migration 0002 keeps denormalised for the lookups, checked against its sources."""

from __future__ import annotations

import json
from typing import Any

from bot.store import Store
from bot.store.columns import tag_rows, tag_tokens


async def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await store._connection().execute_fetchall(sql)]


async def check_lookup_invariants(store: Store) -> None:
    """Every denormalised column and table agrees with the articles it comes from."""
    # Tag rows carry the article's sort date exactly while it is published.
    wrong = await rows(
        store,
        "SELECT t.article_id, t.tag_key, t.published_sort, a.status, a.sort_at "
        "FROM article_tags t JOIN articles a ON a.id = t.article_id "
        "WHERE t.published_sort IS NOT "
        "CASE WHEN a.status = 'published' THEN a.sort_at END",
    )
    assert wrong == [], wrong
    # Tag rows match the tags column (first spelling of each key).
    for article_id, tags, categories in await rows(
        store, "SELECT id, tags, categories FROM articles"
    ):
        stored = await rows(
            store, f"SELECT tag_key, tag FROM article_tags WHERE article_id = {article_id:d}"
        )
        labels = tag_rows(tuple(json.loads(tags)), tuple(json.loads(categories)))
        assert sorted(stored) == sorted(labels), article_id
    # The counts are exactly the published tag rows per spelling; no zero rows.
    counted = await rows(store, "SELECT tag_key, tag, n FROM tag_counts ORDER BY 1, 2")
    expected = await rows(
        store,
        "SELECT tag_key, tag, count(*) FROM article_tags WHERE published_sort IS NOT NULL "
        "GROUP BY tag_key, tag ORDER BY 1, 2",
    )
    assert counted == expected
    # The tag tokens follow the tags.
    for article_id, tags, categories, tokens in await rows(
        store, "SELECT id, tags, categories, tag_tokens FROM articles"
    ):
        labels = tag_tokens(tuple(json.loads(tags)), tuple(json.loads(categories)))
        assert tokens == labels, article_id
    # The full-text index holds the published articles, and only them, as they are now
    # (PostgreSQL's is a generated column, under an index of the published ones).
    if store.engine != "sqlite":
        return
    indexed = await rows(store, "SELECT id FROM articles_fts_docsize ORDER BY id")
    published = await rows(store, "SELECT id FROM articles WHERE status = 'published' ORDER BY id")
    assert indexed == published
    await store._connection().execute(
        "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')"
    )
