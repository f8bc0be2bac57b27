"""Feed entries: identified by key, announced at most once, never deleted."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from bot.articles.model import Article
from bot.prepare import prepare
from bot.sources.http import FeedState, FetchResult, PollPolicy, next_state
from bot.store import Change, SourceRow, Store
from tests.store.helpers import DAY, T0, art, entry

HOUR = timedelta(hours=1)


async def test_first_poll_is_the_baseline(store: Store) -> None:
    src = await store.source("feed", "https://example.com/feed")
    results = await store.record_entries(src.id, [entry(art("g1")), entry(art("g2"))], T0)
    assert [(r.change, r.announced) for r in results] == [(Change.NEW, None), (Change.NEW, None)]
    await store.mark_baseline_done(src.id, T0)
    results = await store.record_entries(
        src.id, [entry(art("g3")), entry(art("g1")), entry(art("g2"))], T0 + HOUR
    )
    assert [(r.change, r.announced) for r in results] == [
        (Change.NEW, "published"),
        (Change.UNCHANGED, None),
        (Change.UNCHANGED, None),
    ]
    assert [a.article.key for a in await store.pending_announcements()] == ["g3"]


async def test_reordered_and_dropped_entries(store: Store, feed: SourceRow) -> None:
    await store.record_entries(feed.id, [entry(art("g1")), entry(art("g2"))], T0)
    results = await store.record_entries(feed.id, [entry(art("g2"))], T0 + HOUR)
    assert [r.change for r in results] == [Change.UNCHANGED]
    results = await store.record_entries(feed.id, [entry(art("g2")), entry(art("g1"))], T0 + HOUR)
    assert [r.change for r in results] == [Change.UNCHANGED, Change.UNCHANGED]
    # Dropped out of the feed: still stored and still listed.
    assert await store.article_count() == 2
    assert {a.key for a in await store.latest(None, 10)} == {"g1", "g2"}
    assert len(await store.pending_announcements()) == 2


async def test_date_bump_is_not_a_new_announcement(store: Store, feed: SourceRow) -> None:
    await store.record_entries(feed.id, [entry(art("g1", date=T0 - DAY))], T0)
    [pub] = await store.pending_announcements()
    await store.complete_announcement(pub.id, T0)
    [r] = await store.record_entries(feed.id, [entry(art("g1", date=T0))], T0 + HOUR)
    assert (r.change, r.announced) == (Change.CHANGED, "updated")
    stored = await store.get(r.article_id)  # type: ignore[arg-type]
    assert stored is not None and stored.published_at == T0 and stored.version == 2
    # Bumped into the future: scheduled, then published again by the clock, quietly.
    [r] = await store.record_entries(feed.id, [entry(art("g1", date=T0 + DAY))], T0 + HOUR)
    assert (r.change, r.status) == (Change.SCHEDULED, "scheduled")
    [r] = await store.refresh_statuses(T0 + 2 * DAY)
    assert (r.change, r.announced) == (Change.PUBLISHED, None)
    kinds = [a.kind for a in await store.pending_announcements()]
    assert kinds == ["updated"]


async def test_duplicate_guid_in_one_poll_counts_once(store: Store, feed: SourceRow) -> None:
    results = await store.record_entries(
        feed.id, [entry(art("g1", "First")), entry(art("g1", "Second"))], T0
    )
    assert [(r.change, r.article_id) for r in results] == [(Change.NEW, 1), (Change.UNCHANGED, 1)]
    assert (await store.get(1)).title == "First"  # type: ignore[union-attr]
    assert len(await store.pending_announcements()) == 1


async def test_same_key_in_two_sources_is_two_articles(store: Store, feed: SourceRow) -> None:
    other = await store.source("feed", "https://other.example/feed")
    await store.mark_baseline_done(other.id, T0)
    await store.record_entries(feed.id, [entry(art("g1"))], T0)
    await store.record_entries(other.id, [entry(art("g1"))], T0)
    assert await store.article_count() == 2


async def test_feed_state_round_trip(store: Store, feed: SourceRow) -> None:
    await store.save_feed_state(
        feed.id,
        etag='W/"abc"',
        last_modified="Wed, 01 May 2024 12:00:00 GMT",
        failures=2,
        next_attempt_at=T0 + HOUR,
        failing_since=T0 - HOUR,
        last_error="HTTP 503",
        last_polled_at=T0,
    )
    src = await store.get_source(feed.id)
    assert src is not None
    assert (src.etag, src.last_modified, src.failures, src.last_error) == (
        'W/"abc"',
        "Wed, 01 May 2024 12:00:00 GMT",
        2,
        "HTTP 503",
    )
    assert (src.next_attempt_at, src.failing_since, src.last_polled_at) == (
        T0 + HOUR,
        T0 - HOUR,
        T0,
    )
    assert src.next_attempt_at is not None and src.next_attempt_at.utcoffset() == timedelta(0)
    assert src.baseline_done
    assert await store.source("feed", feed.locator) == src
    assert [s.id for s in await store.sources()] == [feed.id]


async def test_a_feed_is_failing_from_its_first_failed_poll_to_its_next_answer(
    store: Store, feed: SourceRow
) -> None:
    """``SourceRow.failing``, the one rule ``newsbot status`` and ``/newsadmin status``
    use, follows the poller's state as the store keeps it."""
    policy = PollPolicy(failing_after=3)
    state = FeedState()
    assert not feed.failing
    polls = [("error", True), ("error", True), ("not_modified", False), ("error", True)]
    for n, (status, failing) in enumerate(polls):
        answer = FetchResult(
            status=status,  # type: ignore[arg-type]
            body=None,
            final_url=feed.locator,
            error="HTTP 503" if status == "error" else None,
            etag=None,
            last_modified=None,
            min_interval=None,
            retry_after=None,
        )
        now = T0 + n * HOUR
        state, _ = next_state(state, answer, policy, now)
        await store.save_feed_state(feed.id, **asdict(state), last_polled_at=now)
        [row] = await store.sources()
        assert row.failing is failing, (n, status)
        # From the first failed attempt, below the threshold of the "is failing" log
        # line; the failure count the poller keeps agrees.
        assert (row.failing_since is not None) is failing and (row.failures > 0) is failing


async def test_a_hash_stored_before_it_covered_every_placeholder_edits_nothing(
    store: Store, feed: SourceRow
) -> None:
    article = art("g1", takeaways=("A point.",))
    prepared = prepare(article)
    before = prepared.article_hash.partition(":")[0]  # as the version before kept it
    await store.record_entries(feed.id, [(article, before, prepared.message)], T0)
    [pub] = await store.pending_announcements()
    await store.complete_announcement(pub.id, T0)
    # Read again after the upgrade: the same article, no new version, nothing to edit.
    [r] = await store.record_entries(feed.id, [entry_of(article)], T0 + HOUR)
    assert (r.change, r.announced) == (Change.UNCHANGED, None)
    assert await store.pending_announcements() == []
    # Its hash is now whole: a change only a custom format shows is an update.
    changed = dataclasses.replace(article, summary="Only a format shows this.")
    [r] = await store.record_entries(feed.id, [entry_of(changed)], T0 + 2 * HOUR)
    assert (r.change, r.announced) == (Change.CHANGED, "updated")
    stored = await store.get(r.article_id)  # type: ignore[arg-type]
    assert stored is not None and stored.version == 2


def entry_of(article: Article) -> tuple[Article, str, dict[str, Any]]:
    """A feed entry as the feed source records it (hashed by :func:`prepare`)."""
    prepared = prepare(article)
    return (article, prepared.article_hash, prepared.message)
