"""The whole-database summaries of ``newsbot status`` and the metrics, on each engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.store import AnnouncementKind
from bot.store.status import Outbox, PausedSubscription
from tests.test_status import NOW, build


async def test_summaries_of_a_bot_with_posts_sent_pending_and_held(
    database: str | Path,
) -> None:
    world = await build(database)
    store = world.store
    queued = NOW - timedelta(minutes=2)
    try:
        await store.ping()
        assert await store.outbox() == Outbox(pending=1, oldest_pending_at=queued, held=1, failed=0)
        assert await store.outbox(with_failed=False) == Outbox(1, queued, 1, 0)
        assert await store.article_counts() == {"draft": 1, "published": 2}
        [announcement] = await store.recent_announcements()
        assert (
            announcement.kind,
            announcement.created_at,
            announcement.done_at,
            announcement.article_key,
            announcement.title,
            announcement.channels_reached,
            announcement.channels_waiting,
        ) == (AnnouncementKind.PUBLISHED, queued, queued, "/new/", "Grid Holds Up", 2, 2)
        assert await store.recent_announcements(0) == []
        assert await store.paused_subscriptions() == [
            PausedSubscription(2, 21, "I'm missing a permission there", queued)
        ]
    finally:
        await store.close()
