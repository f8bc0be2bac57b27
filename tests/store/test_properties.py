"""Random histories: invariants hold, and a batch equals its items one by one."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles.model import normalise_tag
from bot.store import FileItem, Store
from tests.store.helpers import T0, art, item
from tests.store.invariants import check_lookup_invariants

PATHS = ["a.md", "b.md", "c.md", "d.md"]
KEYS = ["/k1/", "/k2/", "/k3/", "/k4/", "/k5/"]


@st.composite
def file_items(draw: st.DrawFn) -> FileItem:
    path = draw(st.sampled_from(PATHS))
    if draw(st.integers(0, 9)) == 0:
        return item(path, error=draw(st.sampled_from(["bad", "worse"])), file_hash="err")
    key = draw(st.sampled_from(KEYS))
    title = draw(st.sampled_from(["One", "Two"]))
    when = draw(st.sampled_from(["past", "future", "draft"]))
    # Tags shared between articles, in other spellings too, for the tag counts.
    extra = draw(st.sampled_from([(), ("Shared",), ("shared ", title.upper())]))
    article = art(
        key,
        f"{title} {key}",
        date=T0 + timedelta(hours=1) if when == "future" else T0 - timedelta(days=1),
        draft=when == "draft",
        tags=(title, *extra),
    )
    # Bytes follow the content (not the path), so moves happen.
    return item(path, article, file_hash=f"{key}{title}{when}")


steps = st.lists(
    st.tuples(
        st.lists(st.sampled_from(PATHS), max_size=2, unique=True),
        st.lists(file_items(), max_size=4),
        st.integers(0, 30),  # minutes later
        st.booleans(),  # mark the baseline done first
    ),
    min_size=1,
    max_size=6,
)


async def dump(store: Store) -> Any:
    db = store._connection()
    articles = list(
        await db.execute_fetchall(
            "SELECT id, key, status, content_hash, file_hash, announced_at, withdrawn_at, "
            "version, transition_at FROM articles ORDER BY id"
        )
    )
    files = list(await db.execute_fetchall("SELECT * FROM files ORDER BY path"))
    tags = list(await db.execute_fetchall("SELECT * FROM article_tags ORDER BY 1, 2"))
    notes = list(await db.execute_fetchall("SELECT * FROM announcements ORDER BY id"))
    return articles, files, tags, notes


async def check_invariants(store: Store) -> None:
    db = store._connection()
    await db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    # Every article that is not withdrawn has exactly one file; withdrawn ones none.
    rows = await db.execute_fetchall(
        "SELECT a.id, a.status, count(f.path) FROM articles a "
        "LEFT JOIN files f ON f.article_id = a.id GROUP BY a.id"
    )
    for article_id, status, owners in rows:
        assert owners == (0 if status == "withdrawn" else 1), (article_id, status, owners)
    # Tag rows match the tags column.
    rows = await db.execute_fetchall(
        "SELECT a.id, a.tags, (SELECT count(*) FROM article_tags t WHERE t.article_id = a.id) "
        "FROM articles a"
    )
    for _, tags, count in rows:
        assert count == len({normalise_tag(t) for t in json.loads(tags)} - {""})
    # Updated announcements only for articles that were announced.
    rows = await db.execute_fetchall(
        "SELECT count(*) FROM announcements n JOIN articles a ON a.id = n.article_id "
        "WHERE a.announced_at IS NULL"
    )
    assert [tuple(r) for r in rows] == [(0,)]
    # Nothing is announced before its source's baseline is done.
    rows = await db.execute_fetchall(
        "SELECT count(*) FROM announcements n JOIN articles a ON a.id = n.article_id "
        "JOIN sources s ON s.id = a.source_id "
        "WHERE s.baseline_done_at IS NULL OR n.created_at < s.baseline_done_at"
    )
    assert [tuple(r) for r in rows] == [(0,)]
    # What the lookups read from (migration 0002) follows the articles.
    await check_lookup_invariants(store)


async def run(history: list[tuple[list[str], list[FileItem], int, bool]]) -> None:
    batched = await Store.open(":memory:")
    single = await Store.open(":memory:")
    try:
        src = (await batched.source("content", "/c")).id
        await single.source("content", "/c")
        now = T0
        for removed, items, minutes, baseline in history:
            now += timedelta(minutes=minutes)
            if baseline:
                await batched.mark_baseline_done(src, now)
                await single.mark_baseline_done(src, now)
            got = await batched.record_files(src, items, now, removed=removed)
            want = [await single.remove_file(src, p, now) for p in removed]
            for i in items:
                want += await single.record_files(src, [i], now)
            assert got == want
            assert await batched.refresh_statuses(now) == await single.refresh_statuses(now)
            assert await dump(batched) == await dump(single)
            await check_invariants(batched)
    finally:
        await batched.close()
        await single.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps)
def test_random_histories(history: list[tuple[list[str], list[FileItem], int, bool]]) -> None:
    asyncio.run(run(history))
