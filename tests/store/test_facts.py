"""Servers' facts published for the leader: written only when they change, read many
at once and with the work items, forgotten with a channel, a server or its last
subscription."""

from __future__ import annotations

from datetime import timedelta

from bot.store import SourceRow, Store
from tests.delivery.test_outbox import publish, subscribe, targets
from tests.store.helpers import T0

SECOND = timedelta(seconds=1)
GUILD = 1000
OTHER = 2000


async def updated(store: Store, channel_id: int) -> int:
    async with store.database.reading() as db:
        rows = list(
            await db.execute_fetchall(
                f"SELECT updated_at FROM channel_facts WHERE channel_id = {channel_id}"
            )
        )
    return int(rows[0][0])


async def test_facts_are_written_changed_read_and_forgotten(store: Store) -> None:
    assert await store.channel_facts([1, 2]) == {}
    assert await store.notice_facts(GUILD) is None

    assert await store.publish_facts(GUILD, {1: '{"a":1}', 2: '{"b":2}'}, [7, 8], T0)
    assert await store.publish_facts(OTHER, {3: '{"c":3}'}, [], T0)
    assert await store.channel_facts([1, 2, 3, 4]) == {1: '{"a":1}', 2: '{"b":2}', 3: '{"c":3}'}
    assert await store.channel_facts([2]) == {2: '{"b":2}'}
    assert await store.channel_facts([]) == {}
    assert await store.notice_facts(GUILD) == [7, 8]
    assert await store.notice_facts(OTHER) == []

    # The same again: nothing written (not even the time).
    assert not await store.publish_facts(GUILD, {1: '{"a":1}', 2: '{"b":2}'}, [7, 8], T0 + SECOND)
    assert await updated(store, 1) == await updated(store, 2)

    # One channel changed, one no longer subscribed, the notices moved.
    assert await store.publish_facts(GUILD, {1: '{"a":9}'}, [8], T0 + 2 * SECOND)
    assert await store.channel_facts([1, 2]) == {1: '{"a":9}'}
    assert await store.notice_facts(GUILD) == [8]
    assert await updated(store, 1) > await updated(store, 3)
    # Only the notices changed: that is a change too.
    assert await store.publish_facts(GUILD, {1: '{"a":9}'}, [9], T0 + 3 * SECOND)

    # No subscribed channel left: the server's facts are forgotten, the others' kept.
    assert await store.publish_facts(GUILD, {}, [9], T0 + 4 * SECOND)
    assert await store.channel_facts([1]) == {}
    assert await store.notice_facts(GUILD) is None
    assert not await store.publish_facts(GUILD, {}, [], T0 + 5 * SECOND)
    assert await store.channel_facts([3]) == {3: '{"c":3}'}


async def test_facts_go_with_the_server_and_the_channel(store: Store) -> None:
    await subscribe(store, 1)
    await subscribe(store, 2)
    await subscribe(store, 3, guild_id=OTHER)
    assert await store.subscribed_guilds() == {GUILD, OTHER}
    await store.publish_facts(GUILD, {1: "{}", 2: "{}"}, [5], T0)
    await store.publish_facts(OTHER, {3: "{}"}, [6], T0)

    assert await store.remove_channel(2) == 1
    assert await store.channel_facts([1, 2, 3]) == {1: "{}", 3: "{}"}

    assert await store.remove_guild(GUILD) == 1
    assert await store.channel_facts([1, 3]) == {3: "{}"}
    assert await store.notice_facts(GUILD) is None
    assert await store.notice_facts(OTHER) == [6]
    assert await store.subscribed_guilds() == {OTHER}


async def test_work_items_carry_their_channels_facts(store: Store, content: SourceRow) -> None:
    a, b = await subscribe(store, 1), await subscribe(store, 2)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a, b), T0)
    await store.publish_facts(GUILD, {1: '{"kind":"news"}'}, [], T0)
    [first] = await store.due_work(a.id, T0)
    [second] = await store.due_work(b.id, T0)
    assert first.facts == '{"kind":"news"}'
    assert second.facts is None
