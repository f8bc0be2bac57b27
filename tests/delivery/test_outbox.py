"""The delivery outbox in the store: fan-out, order, sent-after-confirm, edits, removal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import Announcement, SourceRow, Store
from bot.store.subscriptions import Subscription
from tests.store.helpers import INTEGRITY_ERRORS, T0, art, item

MIN = timedelta(minutes=1)
GUILD = 1000


async def subscribe(
    store: Store, channel_id: int, guild_id: int = GUILD, tags: tuple[str, ...] = ()
) -> Subscription:
    sub, _ = await store.subscribe(
        guild_id, channel_id, tags=tags, exclude_tags=(), mention_role_id=None, by_user_id=1, now=T0
    )
    return sub


async def publish(store: Store, content: SourceRow, key: str, **kwargs: object) -> Announcement:
    await store.record_files(content.id, [item(f"{key}.md", art(f"/{key}/", **kwargs))], T0)  # type: ignore[arg-type]
    [announcement] = [a for a in await store.pending_announcements() if a.article.key == f"/{key}/"]
    return announcement


def targets(*subs: Subscription) -> list[tuple[int, int, int, str]]:
    return [(s.id, s.guild_id, s.channel_id, f"n{s.id}") for s in subs]


async def test_fan_out_queues_posts_and_completes_the_announcement_at_once(
    store: Store, content: SourceRow
) -> None:
    a, b = await subscribe(store, 1), await subscribe(store, 2)
    announcement = await publish(store, content, "a")
    queued = await store.fan_out(announcement.id, announcement.article.id, targets(a, b), T0)
    assert queued == 2
    assert await store.pending_announcements() == []
    rows = await store.deliveries(article_id=announcement.article.id)
    assert [(d.subscription_id, d.state, d.due_at, d.nonce) for d in rows] == [
        (a.id, "pending", T0, f"n{a.id}"),
        (b.id, "pending", T0, f"n{b.id}"),
    ]
    assert await store.due_subscriptions(T0) == [a.id, b.id]


async def test_fan_out_is_idempotent(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    assert await store.fan_out(announcement.id, announcement.article.id, targets(a), T0) == 0
    assert len(await store.deliveries()) == 1
    with pytest.raises(KeyError):
        await store.fan_out(999, announcement.article.id, targets(a), T0)


async def test_fan_out_skips_a_subscription_removed_meanwhile(
    store: Store, content: SourceRow
) -> None:
    a, b = await subscribe(store, 1), await subscribe(store, 2)
    announcement = await publish(store, content, "a")
    assert await store.unsubscribe(GUILD, 2)
    assert await store.fan_out(announcement.id, announcement.article.id, targets(a, b), T0) == 1


async def test_fan_out_is_all_or_nothing(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    broken = [(a.id, GUILD, 1, None)]  # a NULL nonce breaks the insert
    with pytest.raises(INTEGRITY_ERRORS):
        await store.fan_out(announcement.id, announcement.article.id, broken, T0)  # type: ignore[arg-type]
    assert await store.deliveries() == []
    assert [p.id for p in await store.pending_announcements()] == [announcement.id]


async def test_a_post_is_sent_only_once_confirmed(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    [work] = await store.due_work(a.id, T0)
    assert work.delivery.state == "pending"
    assert (work.article_status, work.article_version) == ("published", 1)
    # Not confirmed yet (a crash here): still pending, sent again after a restart.
    assert [d.state for d in await store.deliveries()] == ["pending"]
    assert await store.mark_sent(
        work.delivery.id, message_id=55, message_channel_id=1, version=1, crosspost=False, now=T0
    )
    [done] = await store.deliveries()
    assert (done.state, done.message_id, done.sent_version, done.due_at) == ("sent", 55, 1, None)
    assert await store.due_subscriptions(T0 + MIN) == []
    # A late duplicate confirmation changes nothing.
    assert not await store.mark_sent(
        work.delivery.id, message_id=56, message_channel_id=1, version=1, crosspost=False, now=T0
    )


async def test_an_attempt_keeps_what_a_webhook_sent_and_a_post_is_recorded_once(
    store: Store, content: SourceRow
) -> None:
    a, b = await subscribe(store, 1), await subscribe(store, 2)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a, b), T0)
    [work] = await store.due_work(a.id, T0)
    await store.mark_attempt(work.delivery.id, T0, "digest")
    [attempted] = await store.due_work(a.id, T0)
    assert (attempted.delivery.attempted_at, attempted.delivery.attempt_fingerprint) == (
        T0,
        "digest",
    )
    assert not await store.is_recorded(a.id, 55)
    await store.mark_sent(
        work.delivery.id, message_id=55, message_channel_id=1, version=1, crosspost=False, now=T0
    )
    assert await store.is_recorded(a.id, 55)
    assert not await store.is_recorded(b.id, 55)  # another channel's subscription
    # A bot post's attempt (a nonce's, no fingerprint) clears a webhook's.
    [other] = await store.due_work(b.id, T0)
    await store.mark_attempt(other.delivery.id, T0, "digest")
    await store.mark_attempt(other.delivery.id, T0 + MIN)
    [again] = await store.due_work(b.id, T0 + MIN)
    assert again.delivery.attempt_fingerprint is None


async def test_a_crosspost_is_due_after_the_post(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    [work] = await store.due_work(a.id, T0)
    await store.mark_sent(
        work.delivery.id, message_id=5, message_channel_id=1, version=1, crosspost=True, now=T0
    )
    [due] = await store.due_work(a.id, T0)
    assert (due.delivery.state, due.delivery.crosspost) == ("sent", "due")
    await store.mark_crossposted(due.delivery.id, ok=True, error=None)
    assert await store.due_work(a.id, T0) == []
    assert (await store.deliveries())[0].crosspost == "done"


async def test_a_retry_holds_back_later_posts_of_that_channel_only(
    store: Store, content: SourceRow
) -> None:
    a, b = await subscribe(store, 1), await subscribe(store, 2)
    first = await publish(store, content, "first")
    await store.fan_out(first.id, first.article.id, targets(a, b), T0)
    second = await publish(store, content, "second")
    await store.fan_out(second.id, second.article.id, targets(a, b), T0)
    [head, _] = await store.due_work(a.id, T0)
    await store.retry_later(head.delivery.id, T0 + 5 * MIN, "503", T0)
    assert await store.due_subscriptions(T0 + MIN) == [b.id]
    assert [w.delivery.article_id for w in await store.due_work(b.id, T0)] == [
        first.article.id,
        second.article.id,
    ]
    # A post queued while the channel waits waits too, behind the others.
    third = await publish(store, content, "third")
    await store.fan_out(third.id, third.article.id, targets(a), T0 + MIN)
    assert await store.due_work(a.id, T0 + 4 * MIN) == []
    due = await store.due_work(a.id, T0 + 5 * MIN)
    assert [w.delivery.article_id for w in due] == [
        first.article.id,
        second.article.id,
        third.article.id,
    ]
    assert due[0].delivery.attempts == 1 and due[0].delivery.last_error == "503"
    assert await store.next_due_at() == T0


async def test_a_paused_subscription_holds_its_posts(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    assert await store.pause_subscription(GUILD, 1, "Missing Access", T0)
    assert await store.due_subscriptions(T0) == []
    assert await store.due_work(a.id, T0) == []
    assert await store.next_due_at() is None
    assert await store.resume_subscription(GUILD, 1, T0)
    assert await store.due_subscriptions(T0) == [a.id]


async def test_finished_posts_leave_the_queue(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    [work] = await store.due_work(a.id, T0)
    await store.finish_delivery(work.delivery.id, "skipped", "article withdrawn")
    [row] = await store.deliveries()
    assert (row.state, row.due_at, row.last_error) == ("skipped", None, "article withdrawn")
    with pytest.raises(ValueError):
        await store.finish_delivery(work.delivery.id, "sent", "no")


async def test_the_article_as_it_is_now_decides(store: Store, content: SourceRow) -> None:
    a = await subscribe(store, 1)
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a), T0)
    await store.remove_file(content.id, "a.md", T0 + MIN)
    [work] = await store.due_work(a.id, T0 + MIN)
    assert work.article_status == "withdrawn"


async def test_edits_are_queued_only_where_the_server_wants_them(
    store: Store, content: SourceRow
) -> None:
    editing = await subscribe(store, 1, guild_id=1)
    frozen = await subscribe(store, 2, guild_id=2)
    still_pending = await subscribe(store, 3, guild_id=1)
    await store.set_guild_settings(2, edit_on_update=False)
    announcement = await publish(store, content, "a", takeaways=("one",))
    article_id = announcement.article.id
    await store.fan_out(announcement.id, article_id, targets(editing, frozen, still_pending), T0)
    for sub in (editing, frozen):
        [work] = await store.due_work(sub.id, T0)
        await store.mark_sent(
            work.delivery.id,
            message_id=sub.id,
            message_channel_id=sub.channel_id,
            version=1,
            crosspost=False,
            now=T0,
        )

    await store.record_files(content.id, [item("a.md", art("/a/", takeaways=("two",)))], T0 + MIN)
    [update] = await store.pending_announcements()
    assert (update.kind, update.article.version) == ("updated", 2)
    assert await store.queue_edits(update.id, article_id, 2, T0 + MIN) == 1
    assert await store.pending_announcements() == []
    assert await store.queue_edits(update.id, article_id, 2, T0 + MIN) == 0  # idempotent

    [edit] = await store.due_work(editing.id, T0 + MIN)
    assert edit.delivery.edit_due and edit.delivery.edit_version == 2
    assert await store.due_work(frozen.id, T0 + MIN) == []
    # The pending post will show version 2 anyway; if it went out with version 1
    # (read before the change), it is edited afterwards.
    [pending] = await store.due_work(still_pending.id, T0 + MIN)
    assert pending.delivery.edit_version == 2
    await store.mark_sent(
        pending.delivery.id,
        message_id=9,
        message_channel_id=3,
        version=1,
        crosspost=False,
        now=T0 + MIN,
    )
    [late] = await store.due_work(still_pending.id, T0 + MIN)
    assert late.delivery.edit_due

    await store.mark_edited(edit.delivery.id, 2, T0 + MIN)
    assert await store.due_work(editing.id, T0 + MIN) == []
    await store.drop_edit(late.delivery.id, "message deleted")
    assert await store.due_work(still_pending.id, T0 + MIN) == []


async def test_backfill_queues_what_is_missing_and_revives_skipped_posts(
    store: Store, content: SourceRow
) -> None:
    a = await subscribe(store, 1)
    first = await publish(store, content, "first")
    second = await publish(store, content, "second")
    third = await publish(store, content, "third")
    await store.fan_out(first.id, first.article.id, targets(a), T0)
    await store.fan_out(second.id, second.article.id, targets(a), T0)
    [w1, w2] = await store.due_work(a.id, T0)
    await store.mark_sent(
        w1.delivery.id, message_id=1, message_channel_id=1, version=1, crosspost=False, now=T0
    )
    await store.finish_delivery(w2.delivery.id, "skipped", "too old")
    wanted = [(x.article.id, f"b{x.article.id}") for x in (first, second, third)]
    assert await store.queue_backfill(a.id, GUILD, 1, wanted, T0 + MIN) == 2
    due = await store.due_work(a.id, T0 + MIN)
    assert [(w.delivery.article_id, w.delivery.state) for w in due] == [
        (second.article.id, "pending"),
        (third.article.id, "pending"),
    ]


async def test_removing_a_subscription_removes_its_deliveries_and_notices(
    store: Store, content: SourceRow
) -> None:
    a, b, c = (
        await subscribe(store, 1),
        await subscribe(store, 2, guild_id=7),
        await subscribe(store, 3),
    )
    announcement = await publish(store, content, "a")
    await store.fan_out(announcement.id, announcement.article.id, targets(a, b, c), T0)
    await store.add_notice(a.id, GUILD, 1, "Missing Access", T0)
    assert await store.remove_channel(1) == 1
    assert await store.remove_guild(7) == 1
    assert [d.subscription_id for d in await store.deliveries()] == [c.id]
    assert await store.due_notices(T0) == []
    assert await store.unsubscribe(GUILD, 3)
    assert await store.deliveries() == []


async def test_notices_are_owed_until_posted(store: Store) -> None:
    a = await subscribe(store, 1)
    notice_id = await store.add_notice(a.id, GUILD, 1, "Missing Access", T0)
    [notice] = await store.due_notices(T0)
    assert (notice.id, notice.channel_id, notice.reason) == (notice_id, 1, "Missing Access")
    await store.retry_notice(notice_id, T0 + MIN)
    assert await store.due_notices(T0) == []
    assert await store.next_notice_at() == T0 + MIN
    [again] = await store.due_notices(T0 + MIN)
    assert again.attempts == 1
    await store.finish_notice(notice_id, 99, T0 + MIN)
    assert await store.due_notices(T0 + 2 * MIN) == []
    assert len(await store.notices(GUILD)) == 1
    assert await store.add_notice(12345, GUILD, 1, "gone", T0) == 0  # no such subscription
