"""The outbox: pending oldest first, completed once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import SourceRow, Store
from tests.store.helpers import INTEGRITY_ERRORS, T0, art, item

MIN = timedelta(minutes=1)


async def test_pending_and_complete(store: Store, content: SourceRow) -> None:
    for i in range(3):
        await store.record_files(content.id, [item(f"{i}.md", art(f"/{i}/"))], T0 + i * MIN)
    pending = await store.pending_announcements()
    assert [(a.kind, a.article.key, a.created_at) for a in pending] == [
        ("published", "/0/", T0),
        ("published", "/1/", T0 + MIN),
        ("published", "/2/", T0 + 2 * MIN),
    ]
    assert [a.id for a in await store.pending_announcements(limit=2)] == [
        pending[0].id,
        pending[1].id,
    ]
    await store.complete_announcement(pending[1].id, T0 + 5 * MIN)
    await store.complete_announcement(pending[1].id, T0 + 6 * MIN)  # harmless
    assert [a.id for a in await store.pending_announcements()] == [pending[0].id, pending[2].id]
    # The next page: those after an id, however many come before it.
    assert [a.id for a in await store.pending_announcements(after=pending[0].id)] == [pending[2].id]
    assert await store.pending_announcements(after=pending[2].id) == []
    with pytest.raises(KeyError):
        await store.complete_announcement(999, T0)


async def test_announcement_shows_the_article_as_it_is_now(
    store: Store, content: SourceRow
) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/"))], T0)
    await store.remove_file(content.id, "a.md", T0 + MIN)
    [a] = await store.pending_announcements()
    assert (a.kind, a.article.status) == ("published", "withdrawn")


async def test_database_refuses_a_second_published_announcement(
    store: Store, content: SourceRow
) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/"))], T0)
    with pytest.raises(INTEGRITY_ERRORS):
        await store._connection().execute(
            "INSERT INTO announcements (article_id, kind, created_at) VALUES (1, 'published', 0)"
        )
