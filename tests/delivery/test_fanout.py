"""The announcer's hook: which subscriptions an announcement is fanned out to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest

from bot.delivery import Deliverer
from bot.delivery.policy import delivery_nonce
from bot.store import SourceRow, Store
from tests.delivery.test_outbox import GUILD, subscribe
from tests.store.helpers import T0, art, item


@pytest.fixture
async def deliverer(store: Store) -> AsyncIterator[Deliverer]:
    # Fan-out needs no connection: the client is never logged in here.
    client = discord.Client(intents=discord.Intents.none())
    deliverer = Deliverer(client, store, clock=lambda: T0)
    try:
        yield deliverer
    finally:
        await deliverer.close()
        await client.close()


async def test_matching_subscriptions_get_one_post_each(
    store: Store, content: SourceRow, deliverer: Deliverer
) -> None:
    everything = await subscribe(store, 1)
    energy = await subscribe(store, 2, tags=("  ENERGY ",))
    sports = await subscribe(store, 3, tags=("sports",))
    excluding, _ = await store.subscribe(
        GUILD, 4, tags=(), exclude_tags=("Climate",), mention_role_id=None, by_user_id=1, now=T0
    )
    paused = await subscribe(store, 5)
    await store.pause_subscription(GUILD, 5, "Missing Access", T0)
    await store.record_files(content.id, [item("a.md", art("/a/", tags=("Energy", "climate")))], T0)
    [announcement] = await store.pending_announcements()
    await deliverer.announce(announcement)

    assert await store.pending_announcements() == []
    rows = await store.deliveries(article_id=announcement.article.id)
    assert [(d.subscription_id, d.channel_id, d.nonce) for d in rows] == [
        (everything.id, 1, delivery_nonce(everything.id, announcement.article.id)),
        (energy.id, 2, delivery_nonce(energy.id, announcement.article.id)),
    ]
    assert sports.id not in {d.subscription_id for d in rows}
    assert excluding.id not in {d.subscription_id for d in rows}
    assert paused.id not in {d.subscription_id for d in rows}

    # The announcer completes it again after the hook: harmless, nothing doubles.
    await store.complete_announcement(announcement.id, T0)
    await deliverer.announce(announcement)
    assert len(await store.deliveries()) == 2


async def test_an_article_withdrawn_before_fan_out_goes_nowhere(
    store: Store, content: SourceRow, deliverer: Deliverer
) -> None:
    await subscribe(store, 1)
    await store.record_files(content.id, [item("a.md", art("/a/"))], T0)
    await store.remove_file(content.id, "a.md", T0)
    [announcement] = await store.pending_announcements()
    assert announcement.article.status == "withdrawn"
    await deliverer.announce(announcement)
    assert await store.pending_announcements() == []
    assert await store.deliveries() == []


async def test_an_update_marks_the_posts_for_an_edit(
    store: Store, content: SourceRow, deliverer: Deliverer
) -> None:
    sub = await subscribe(store, 1)
    await store.record_files(content.id, [item("a.md", art("/a/", takeaways=("one",)))], T0)
    [announcement] = await store.pending_announcements()
    await deliverer.announce(announcement)
    [work] = await store.due_work(sub.id, T0)
    await store.mark_sent(
        work.delivery.id, message_id=7, message_channel_id=1, version=1, crosspost=False, now=T0
    )
    await store.record_files(content.id, [item("a.md", art("/a/", takeaways=("two",)))], T0)
    [update] = await store.pending_announcements()
    await deliverer.announce(update)
    assert await store.pending_announcements() == []
    [edit] = await store.due_work(sub.id, T0)
    assert edit.delivery.edit_due and edit.delivery.edit_version == 2
