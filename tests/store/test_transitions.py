"""The clock: scheduled -> published (announced once), published -> expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import Change, SourceRow, Store
from tests.store.helpers import DAY, T0, art, entry, item

HOUR = timedelta(hours=1)


async def test_nothing_due(store: Store, content: SourceRow) -> None:
    assert await store.refresh_statuses(T0) == []
    assert await store.next_transition_at() is None
    await store.record_files(content.id, [item("a.md", art("/a/"))], T0)
    assert await store.next_transition_at() is None
    assert await store.refresh_statuses(T0 + DAY) == []


async def test_scheduled_is_published_exactly_once(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("s.md", art("/s/", date=T0 + HOUR))], T0)
    assert await store.pending_announcements() == []
    assert await store.next_transition_at() == T0 + HOUR
    assert await store.refresh_statuses(T0 + HOUR - timedelta(microseconds=1)) == []
    [r] = await store.refresh_statuses(T0 + HOUR)
    assert (r.change, r.status, r.announced, r.article_id) == (
        Change.PUBLISHED,
        "published",
        "published",
        1,
    )
    assert await store.refresh_statuses(T0 + 2 * HOUR) == []
    assert await store.next_transition_at() is None
    # A later rescan of the unchanged file does not announce it again.
    [r] = await store.record_files(
        content.id, [item("s.md", art("/s/", date=T0 + HOUR))], T0 + 3 * HOUR
    )
    assert r.change is Change.UNCHANGED
    [a] = await store.pending_announcements()
    assert (a.kind, a.article.status, a.article.announced_at) == (
        "published",
        "published",
        T0 + HOUR,
    )


async def test_rescan_after_the_time_publishes_too(store: Store, content: SourceRow) -> None:
    a = art("/s/", date=T0 + HOUR)
    await store.record_files(content.id, [item("s.md", a)], T0)
    [r] = await store.record_files(content.id, [item("s.md", a)], T0 + 2 * HOUR)
    assert (r.change, r.announced) == (Change.PUBLISHED, "published")
    assert await store.refresh_statuses(T0 + 3 * HOUR) == []


async def test_scheduled_during_baseline_is_announced_after(store: Store) -> None:
    src = await store.source("feed", "https://example.com/feed")
    await store.record_entries(src.id, [entry(art("g", date=T0 + HOUR))], T0)
    await store.mark_baseline_done(src.id, T0)
    [r] = await store.refresh_statuses(T0 + HOUR)
    assert r.announced == "published"


async def test_scheduled_while_baseline_open_is_quiet(store: Store) -> None:
    src = await store.source("feed", "https://example.com/feed")
    await store.record_entries(src.id, [entry(art("g", date=T0 + HOUR))], T0)
    [r] = await store.refresh_statuses(T0 + HOUR)
    assert (r.change, r.announced) == (Change.PUBLISHED, None)
    assert (await store.get(1)).announced_at == T0 + HOUR  # type: ignore[union-attr]


async def test_expiry(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/", expiry=T0 + DAY))], T0)
    assert await store.next_transition_at() == T0 + DAY
    [r] = await store.refresh_statuses(T0 + DAY)
    assert (r.change, r.status, r.announced) == (Change.EXPIRED, "expired", None)
    assert await store.latest(None, 10) == []
    assert await store.next_transition_at() is None


async def test_scheduled_and_expired_at_once(store: Store, content: SourceRow) -> None:
    a = art("/a/", date=T0 + HOUR, expiry=T0 + 2 * HOUR)
    await store.record_files(content.id, [item("a.md", a)], T0)
    [r] = await store.refresh_statuses(T0 + DAY)
    assert (r.change, r.status, r.announced) == (Change.EXPIRED, "expired", None)


async def test_scheduled_then_expiry(store: Store, content: SourceRow) -> None:
    a = art("/a/", date=T0 + HOUR, expiry=T0 + 2 * HOUR)
    await store.record_files(content.id, [item("a.md", a)], T0)
    [r] = await store.refresh_statuses(T0 + HOUR)
    assert r.change is Change.PUBLISHED
    assert await store.next_transition_at() == T0 + 2 * HOUR
    [r] = await store.refresh_statuses(T0 + 2 * HOUR)
    assert r.change is Change.EXPIRED


async def test_expiry_extended_is_not_reannounced(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/", expiry=T0 + HOUR))], T0)
    await store.refresh_statuses(T0 + HOUR)
    [r] = await store.record_files(
        content.id, [item("a.md", art("/a/", expiry=T0 + DAY))], T0 + 2 * HOUR
    )
    assert (r.change, r.status, r.announced) == (Change.PUBLISHED, "published", None)


async def test_withdrawn_scheduled_article_does_not_transition(
    store: Store, content: SourceRow
) -> None:
    await store.record_files(content.id, [item("s.md", art("/s/", date=T0 + HOUR))], T0)
    await store.remove_file(content.id, "s.md", T0)
    assert await store.next_transition_at() is None
    assert await store.refresh_statuses(T0 + DAY) == []


@pytest.mark.sqlite_only  # reads SQLite's own catalogue, plans or FTS5
async def test_refresh_uses_the_transition_index(store: Store) -> None:
    from bot.store.writes import _DUE

    rows = list(
        await store._connection().execute_fetchall(f"EXPLAIN QUERY PLAN {_DUE}", {"now": 0})
    )
    assert any("USING INDEX articles_transition" in r["detail"] for r in rows), rows
