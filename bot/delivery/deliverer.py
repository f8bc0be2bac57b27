"""Delivery: announcements in, posts out, in every channel that subscribed.

:class:`Deliverer` has three parts:

* :meth:`Deliverer.announce` is the announcer's hook: a new article is matched
  against the active subscriptions and one post per matching channel is queued, in
  the transaction that completes the announcement (the fan-out); a changed article
  has its posts marked for an edit.
* a dispatcher task hands each channel with work due to a worker (at most
  ``workers`` at once). A worker does its channel's work in order, one request at a
  time, so posts in a channel keep their order and a slow or failing channel holds
  up no other. Every request runs in a slot of the shared global pacer.
* the moderators' calls: :meth:`backfill`, :meth:`test_post`, :meth:`wake`.

With many processes (:mod:`bot.leader`) only the leader's deliverer runs; another
process's :meth:`test_post` hands the test to it through the database and waits for
the answer, so that every post leaves through the one sender and its pacer. In a
server its cache lacks, the leader goes by the facts the serving process published
(:mod:`bot.delivery.facts`): they come with the work items.

What happens when Discord says no is decided by :func:`bot.delivery.policy.classify`:
403/404 pause the subscription and owe the server one notice; 5xx, network failures
and rate limits retry later with backoff, holding back only that channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.articles.model import Article
from bot.config import check_post_name
from bot.delivery.channels import Kind, Target, notice_channels, resolve
from bot.delivery.limiter import RateLimiter
from bot.delivery.policy import (
    MAX_DELIVERY_AGE,
    UNKNOWN_WEBHOOK,
    WEBHOOK_DELETED_AGAIN,
    Verdict,
    backoff_delay,
    classify,
    delivery_nonce,
    forum_tags,
    is_webhook_post,
    missing_permissions_reason,
    notice_text,
    pause_reason,
    post_fingerprint,
    thread_name,
    unreadable_format_reason,
)
from bot.delivery.sender import TRANSIENT, Refusal, Sender
from bot.formats import DEFAULT_FORMAT, Format, render_formatted
from bot.interactions import APOLOGY
from bot.leader import TESTED
from bot.logs import ids
from bot.redaction import redact
from bot.store import (
    Announcement,
    AnnouncementKind,
    ArticleStatus,
    Crosspost,
    DatabaseLost,
    Delivery,
    DeliveryState,
    Identity,
    Notice,
    Store,
    StoredArticle,
    Webhook,
    WorkItem,
)
from bot.store.codec import article_from_data
from bot.store.requests import TestRequest
from bot.store.subscriptions import Subscription, article_keys

if TYPE_CHECKING:
    from bot.delivery.facts import ServerFacts
    from bot.leader import Leadership

log = logging.getLogger(__name__)

#: Channels worked on at once. Far more than the pacer's rate times a request's
#: round trip, so the pacer, not the workers, sets the pace.
DEFAULT_WORKERS = 64
#: Work items a worker loads at a time.
BATCH = 20
#: The dispatcher looks for due work at least this often, in case a wake-up was missed.
POLL_SECONDS = 5.0
#: How long a crosspost may wait on Discord (10 per hour per channel) before it is
#: put off: a worker must not sleep an hour in a rate limit.
CROSSPOST_TIMEOUT = 5.0
#: Crossposts and notices are given up after this many failed attempts.
MAX_SIDE_ATTEMPTS = 8
#: How far back a forum post created just before a crash is looked for (and a webhook
#: post, before its attempt: room for clocks that disagree).
ADOPT_WINDOW = timedelta(minutes=5)
#: Pages of 100 messages read, at most, to find a webhook post made before a crash.
HISTORY_PAGES = 10
_HISTORY_PAGE = 100
#: How long a test post handed to the leader may wait for it to be taken (a failover
#: takes up to 15 s); then it is withdrawn and never posted.
TEST_WAIT = 15.0
#: How long, once the leader took a test post, its answer is waited for.
TEST_ANSWER_WAIT = 30.0
#: How often the waiting process looks at its request, in case a NOTIFY was missed.
TEST_CHECK_SECONDS = 1.0
NO_SENDER = (
    "No process is sending posts right now (another one is about to take over), so "
    "the test post was not made. Try again in a minute."
)
#: Published articles looked at to find matching ones for a backfill or a test post.
SCAN_LIMIT = 5000
_SCAN_PAGE = 200
_RENDER_CACHE = 512


def utcnow() -> datetime:
    """The current time, aware (UTC)."""
    return datetime.now(UTC)


def is_for(subscription: Subscription, article: StoredArticle) -> bool:
    """Whether the subscription wants the article (by its tags and categories)."""
    return subscription.matches(*article_keys(article.tags, article.categories))


class Deliverer:
    """Fans announcements out to subscribed channels and delivers the posts.

    ``start()`` once the client is set up, ``await close()`` on shutdown. Posting
    waits for the client to be ready (the channel cache decides how to post).
    """

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        limiter: RateLimiter | None = None,
        workers: int = DEFAULT_WORKERS,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        post_name: str | None = None,
        post_avatar_url: str | None = None,
    ) -> None:
        """``post_name`` and ``post_avatar_url``: the name and avatar of webhook posts
        (``identity:webhook``); ``None``, the bot's own."""
        self.client = client
        self.post_name = post_name
        self.post_avatar_url = post_avatar_url
        self.store = store
        self.limiter = limiter or RateLimiter()
        self.sender = Sender(client, self.limiter)
        self.workers = workers
        self._now = clock
        self._rand = rand
        self._wake = asyncio.Event()
        # Where :meth:`wake` reaches the sender: here, unless the client routes it to
        # the leading process (:meth:`bot.leader.Leadership.wake`).
        self.notify: Callable[[], None] = self.poke
        # Who sends, with many processes (set by the client): the leader's deliverer
        # runs; another process's hands its test posts over. None: this one sends.
        self.leadership: Leadership | None = None
        # What publishes this process's servers' facts for the leader (PostgreSQL).
        self.facts: ServerFacts | None = None
        self._tests_wanted = asyncio.Event()
        self._tests: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(workers)
        self._channels: dict[int, asyncio.Task[None]] = {}
        self._notices: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._closing = False
        self._renders: dict[
            tuple[int, int, int | None, tuple[int, ...], bool, Format], dict[str, Any]
        ] = {}

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the dispatcher (idempotent)."""
        if self._dispatcher is None:
            self._closing = False
            self._dispatcher = asyncio.create_task(self._dispatch(), name="deliverer")
            if self.leadership is not None and not self.leadership.alone:
                self._tests = asyncio.create_task(self._serve_tests(), name="test posts")

    async def close(self) -> None:
        """Stop every task. A request cut short is sent again, with its nonce, later."""
        self._closing = True
        tasks = [t for t in (self._dispatcher, self._notices, self._tests) if t is not None]
        tasks += list(self._channels.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.limiter.close()
        self._dispatcher = None
        self._notices = None
        self._tests = None
        self._channels.clear()

    def wake(self) -> None:
        """Work is due (new posts, a backfill, a resumed channel): have the sender look
        now, in whichever process sends."""
        self.notify()

    def poke(self) -> None:
        """Look for due work (and test posts other processes asked for) now, in this
        process."""
        self._wake.set()
        self._tests_wanted.set()

    @property
    def busy(self) -> int:
        """How many channels are being worked on right now."""
        return len(self._channels)

    # -- announcements (the fan-out) -----------------------------------------------------

    async def announce(self, announcement: Announcement) -> None:
        """The announcer's hook: queue the posts of a new article, or the edits of a
        changed one, completing the announcement in the same transaction."""
        article = announcement.article
        now = self._now()
        if article.status != ArticleStatus.PUBLISHED:
            # Withdrawn before it went out: nothing to announce (posts already out stay).
            await self.store.complete_announcement(announcement.id, now)
            return
        if announcement.kind == AnnouncementKind.PUBLISHED:
            targets = [
                (s.id, s.guild_id, s.channel_id, delivery_nonce(s.id, article.id))
                for s in await self.store.active_subscriptions()
                if is_for(s, article)
            ]
            queued = await self.store.fan_out(announcement.id, article.id, targets, now)
            log.info(
                "article %s: queued %d posts", article.key, queued, extra=ids(article=article.key)
            )
        else:
            edits = await self.store.queue_edits(announcement.id, article.id, article.version, now)
            log.info(
                "article %s changed: %d posts to edit",
                article.key,
                edits,
                extra=ids(article=article.key),
            )
        self.poke()

    # -- moderators' calls -------------------------------------------------------------

    async def backfill(self, subscription: Subscription, count: int) -> int:
        """Queue the newest ``count`` published articles matching the subscription
        (oldest first, so the newest ends up last); returns how many were queued.

        Articles already posted in that channel are not posted again.
        """
        if count <= 0:
            return 0
        await self.publish_facts(subscription.guild_id)
        found = await self._matching(subscription, count)
        found.reverse()
        queued = await self.store.queue_backfill(
            subscription.id,
            subscription.guild_id,
            subscription.channel_id,
            [(a.id, delivery_nonce(subscription.id, a.id)) for a in found],
            self._now(),
        )
        log.info(
            "backfill of %d articles for channel %d: %d queued",
            len(found),
            subscription.channel_id,
            queued,
        )
        self.wake()
        return queued

    async def test_post(self, subscription: Subscription) -> str:
        """``/newsadmin test``: :meth:`send_test`, in the process that sends (this one,
        or the leader, which is asked through the database); returns its line, or
        :data:`NO_SENDER` when no process took it within :data:`TEST_WAIT` seconds."""
        leadership = self.leadership
        if leadership is None or leadership.runs_here:
            return await self.send_test(subscription)
        await self.publish_facts(subscription.guild_id)
        now = self._now()
        request = await self.store.add_test_request(
            subscription.guild_id,
            subscription.channel_id,
            now,
            now + timedelta(seconds=TEST_WAIT),
        )
        loop = asyncio.get_running_loop()
        taken_by = loop.time() + TEST_WAIT
        with leadership.hearing(f"{TESTED}{request}") as answered:
            leadership.wake()
            while True:
                answered.clear()
                found = await self.store.test_request(request)
                if found is None:  # cannot happen while waiting; said plainly if it does
                    return "The test post's request was lost; please try again."
                if found.result is not None:
                    await self.store.withdraw_test_request(request)
                    return found.result
                late = loop.time() - taken_by
                if found.claimed_at is None and late >= 0:
                    if await self.store.withdraw_test_request(request):
                        log.warning(
                            "no process took the test post for channel %d within %g s",
                            subscription.channel_id,
                            TEST_WAIT,
                        )
                        return NO_SENDER
                    continue  # taken just now: its answer follows
                if late >= TEST_ANSWER_WAIT:
                    return (
                        "The sending process took the test post but has not said how it "
                        f"went; look in <#{subscription.channel_id}>."
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(answered.wait(), TEST_CHECK_SECONDS)

    async def send_test(self, subscription: Subscription) -> str:
        """Post the newest matching article, marked as a test, in the subscribed
        channel now; returns one line saying what happened."""
        channel = f"<#{subscription.channel_id}>"
        found = await self._matching(subscription, 1)
        if not found:
            return _nothing_to_test(subscription)
        stored = found[0]
        settings = await self.store.guild_settings(subscription.guild_id)
        roles = subscription.mentions(*article_keys(stored.tags, stored.categories))
        by_webhook = subscription.identity is Identity.WEBHOOK
        target = resolve(
            self.client,
            subscription.guild_id,
            subscription.channel_id,
            roles,
            webhook=by_webhook,
            stored=await self._stored_facts(subscription.guild_id, subscription.channel_id),
        )
        if target.kind is Kind.UNUSABLE:
            return f"{channel} is not a channel I can post articles in."
        if target.missing:
            return f"I can't post in {channel}: {missing_permissions_reason(target.missing)}."
        body = self._render(
            stored.to_article(),
            stored.id,
            stored.version,
            settings.color,
            target.pingable,
            subscription.format,
            test=True,
        )
        forum = target.kind is Kind.FORUM
        tags = forum_tags(target.tags, stored.tags, can_moderate=target.can_moderate)
        try:
            if by_webhook and target.kind is not Kind.THREAD:
                webhook = await self.store.webhook(
                    subscription.guild_id, subscription.channel_id
                ) or await self._make_webhook(subscription.guild_id, subscription.channel_id)
                await self.sender.execute(
                    webhook,
                    self._as_publication(body, stored.to_article()),
                    thread_name=thread_name(stored.title) if forum else None,
                    tag_ids=tags if forum else (),
                )
            elif forum:
                await self.sender.forum_post(
                    subscription.channel_id, thread_name(stored.title), tags, body
                )
            else:
                await self.sender.post(subscription.channel_id, body)
        except discord.HTTPException as error:
            refusal = Refusal.of(error)
            return f"Discord refused the test post in {channel}: {_reason(refusal)}."
        except TRANSIENT:
            log.warning("test post in %d failed", subscription.channel_id, exc_info=True)
            return "I couldn't reach Discord just now; please try again in a minute."
        poster = self.poster(subscription, stored.to_article())
        line = f"Sent a test post of “{stored.title}” to {channel}, as {poster}."
        if len(target.pingable) < len(roles):
            line += (
                " A role was not pinged: it is not mentionable (or gone) and I don't have "
                "the Mention Everyone permission there."
            )
        return line

    async def publish_facts(self, guild_id: int) -> None:
        """Publish the server's facts before work there goes to the sender, which may
        be another process whose cache lacks the server."""
        if self.facts is not None:
            await self.facts.publish(guild_id)

    async def _stored_facts(self, guild_id: int, channel_id: int) -> str | None:
        """The channel's published facts, when the server is not in the cache."""
        if self.client.get_guild(guild_id) is not None:
            return None
        return (await self.store.channel_facts([channel_id])).get(channel_id)

    def poster(self, subscription: Subscription, article: Article | None = None) -> str:
        """Who a subscription's posts (of ``article``) come from, in words: "the bot"
        or "“Name” (a webhook)"."""
        if subscription.identity is Identity.WEBHOOK:
            return f"“{self._publication_name(article)}” (a webhook)"
        return "the bot"

    async def preview(
        self, subscription: Subscription, fmt: Format | None = None, *, test: bool = True
    ) -> dict[str, Any] | str:
        """The message :meth:`send_test` would post (pinging the subscription's role
        whether or not it can be pinged there), in ``fmt`` (default: the subscription's
        format; ``test=False``: without the test marker), or why there is none."""
        found = await self._matching(subscription, 1)
        if not found:
            return _nothing_to_test(subscription)
        stored = found[0]
        settings = await self.store.guild_settings(subscription.guild_id)
        return self._render(
            stored.to_article(),
            stored.id,
            stored.version,
            settings.color,
            subscription.mentions(*article_keys(stored.tags, stored.categories)),
            subscription.format if fmt is None else fmt,
            test=test,
        )

    async def _matching(self, subscription: Subscription, count: int) -> list[StoredArticle]:
        """The newest ``count`` published articles the subscription matches."""
        found: list[StoredArticle] = []
        offset = 0
        while len(found) < count and offset < SCAN_LIMIT:
            page = await self.store.latest(None, _SCAN_PAGE, offset)
            for stored in page:
                if is_for(subscription, stored):
                    found.append(stored)
                    if len(found) == count:
                        break
            if len(page) < _SCAN_PAGE:
                break
            offset += _SCAN_PAGE
        return found

    async def _serve_tests(self) -> None:
        """The leader's side of :meth:`test_post`: take the test posts other processes
        asked for (when woken, and every :data:`POLL_SECONDS`), post each with
        :meth:`send_test` and tell its waiter."""
        await self.client.wait_until_ready()
        while not self._closing:
            self._tests_wanted.clear()
            try:
                for request in await self.store.claim_test_requests(self._now()):
                    await self._serve_test(request)
            except DatabaseLost:
                return
            except Exception:
                log.exception("could not serve the test posts asked for; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tests_wanted.wait(), timeout=POLL_SECONDS)

    async def _serve_test(self, request: TestRequest) -> None:
        subscription = await self.store.get_subscription(request.guild_id, request.channel_id)
        if subscription is None:
            result = f"<#{request.channel_id}> is no longer subscribed; nothing was posted."
        else:
            try:
                result = await self.send_test(subscription)
            except DatabaseLost:
                raise
            except Exception:
                log.exception("test post %d in channel %d failed", request.id, request.channel_id)
                result = APOLOGY
        await self.store.finish_test_request(request.id, result, self._now())
        log.info(
            "test post for channel %d, asked by another process: %s",
            request.channel_id,
            result,
            extra=ids(guild=request.guild_id, channel=request.channel_id),
        )
        assert self.leadership is not None
        self.leadership.tell(f"{TESTED}{request.id}")

    # -- the dispatcher ---------------------------------------------------------------

    async def _dispatch(self) -> None:
        await self.client.wait_until_ready()
        log.info("delivering posts (%.0f requests/s at most)", self.limiter.rate)
        while not self._closing:
            try:
                await self._dispatch_once()
                delay = await self._idle_delay()
            except asyncio.CancelledError:
                raise
            except DatabaseLost:
                return  # the bot is stopping; its database watch says why, once
            except Exception:
                # A busy or failing database must not end delivery: look again later.
                log.exception("delivery dispatcher failed; retrying")
                delay = POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _dispatch_once(self) -> None:
        self._wake.clear()
        now = self._now()
        for subscription_id in await self.store.due_subscriptions(now):
            if subscription_id in self._channels:
                continue
            await self._slots.acquire()
            if self._closing:
                self._slots.release()
                return
            self._channels[subscription_id] = asyncio.create_task(
                self._work_channel(subscription_id), name=f"deliver {subscription_id}"
            )
        if self._notices is None and await self.store.due_notices(now, limit=1):
            self._notices = asyncio.create_task(self._send_notices(), name="delivery notices")

    async def _idle_delay(self) -> float:
        now = self._now()
        due = [d for d in (await self.store.next_due_at(), await self.store.next_notice_at()) if d]
        if not due:
            return POLL_SECONDS
        wait = (min(due) - now).total_seconds()
        # Work already due belongs to a running worker, which wakes us when it is done.
        return POLL_SECONDS if wait <= 0 else min(POLL_SECONDS, wait + 0.001)

    # -- one channel's worker ------------------------------------------------------------

    async def _work_channel(self, subscription_id: int) -> None:
        seen: set[tuple[int, str, int | None, int | None, str | None]] = set()
        try:
            while not self._closing:
                items = await self.store.due_work(subscription_id, self._now(), BATCH)
                if not items:
                    return
                for item in items:
                    d = item.delivery
                    state = (d.id, d.state, d.sent_version, d.edit_version, d.crosspost)
                    if state in seen:
                        # Work that did not move on: never loop on it.
                        log.error("delivery %d did not progress; putting it off", d.id)
                        await self._retry(d, "no progress")
                        return
                    seen.add(state)
                    if not await self._work(item):
                        return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery to subscription %d failed", subscription_id)
        finally:
            self._channels.pop(subscription_id, None)
            self._slots.release()
            self._wake.set()

    async def _work(self, item: WorkItem) -> bool:
        """Do one item's work; False when the channel must wait (paused, retrying)."""
        d = item.delivery
        try:
            if item.format_error is not None:
                await self._unreadable_format(item, item.format_error)
            if d.state == DeliveryState.PENDING:
                return await self._post(item)
            if d.state == DeliveryState.SENT and d.edit_due and not await self._edit(item):
                return False
            if d.state == DeliveryState.SENT and d.crosspost == Crosspost.DUE:
                return await self._crosspost(item)
            if d.state == DeliveryState.SENT and not d.edit_due:
                # An edit asked for but already shown (or given up): settle the row.
                await self.store.mark_edited(d.id, d.sent_version or 0, self._now())
            return True
        except asyncio.CancelledError:
            raise
        except TRANSIENT as error:
            await self._retry_said(d, repr(error))
            return False
        except discord.RateLimited as error:
            await self._retry(d, "rate limited", at_least=error.retry_after)
            return False
        except Exception as error:
            log.exception(
                "delivery %d to channel %d failed; will retry",
                d.id,
                d.channel_id,
                extra=ids(guild=d.guild_id, channel=d.channel_id),
            )
            await self._retry(d, repr(error))
            return False

    async def _post(self, item: WorkItem) -> bool:
        d = item.delivery
        now = self._now()
        if item.article_status != ArticleStatus.PUBLISHED:
            await self.store.finish_delivery(
                d.id, DeliveryState.SKIPPED, f"article {item.article_status}"
            )
            self.store.metrics.delivery("skipped")
            return True
        if now - d.created_at > MAX_DELIVERY_AGE:
            await self.store.finish_delivery(
                d.id, DeliveryState.SKIPPED, "too old when its turn came"
            )
            self.store.metrics.delivery("skipped")
            log.info("delivery %d to channel %d dropped: too old", d.id, d.channel_id)
            return True
        by_webhook = item.identity is Identity.WEBHOOK
        target = resolve(
            self.client,
            d.guild_id,
            d.channel_id,
            item.mention_role_ids,
            webhook=by_webhook,
            stored=item.facts,
        )
        if target.kind is Kind.UNUSABLE:
            await self._pause(d, "the channel cannot hold posts (not a text or forum channel)")
            return False
        if target.missing:
            await self._pause(d, missing_permissions_reason(target.missing))
            return False
        article = article_from_data(json.loads(item.article_json))
        body = self._render(
            article, d.article_id, item.article_version, item.color, target.pingable, item.format
        )
        if by_webhook and target.kind is not Kind.THREAD:
            return await self._post_by_webhook(item, target, body, article)
        crosspost = False
        fingerprint = post_fingerprint(body)
        # What the post shows: the version in hand, unless it was made before a crash
        # and the article has changed since (then it is edited next, when edits are on).
        version = item.article_version
        try:
            if target.kind is Kind.FORUM:
                tags = forum_tags(target.tags, item.article_tags, can_moderate=target.can_moderate)
                name = thread_name(item.article_title)
                thread_id = self._adopt_forum_post(d, name)
                if thread_id is None:
                    await self.store.mark_attempt(d.id, now, fingerprint)
                    data = await self.sender.forum_post(d.channel_id, name, tags, body)
                    thread_id = int(data["id"])
                elif d.attempt_fingerprint != fingerprint:
                    version -= 1
                message_id, where = thread_id, thread_id
            else:
                sent = dict(body, nonce=d.nonce, enforce_nonce=True)
                data = await self.sender.post(d.channel_id, sent)
                message_id, where = int(data["id"]), d.channel_id
                # A repeated nonce returns the message already posted: maybe crossposted,
                # and saying what the article said then.
                crosspost = target.kind is Kind.NEWS and not int(data.get("flags") or 0) & 1
                if post_fingerprint(data) != fingerprint:
                    version -= 1
        except discord.HTTPException as error:
            return await self._refused(d, Refusal.of(error), editing=False)
        await self.store.mark_sent(
            d.id,
            message_id=message_id,
            message_channel_id=where,
            version=version,
            crosspost=crosspost,
            now=self._now(),
        )
        self.store.metrics.posted(article.published_at, d.created_at, self._now())
        log.debug("delivery %d: posted %d in %d", d.id, message_id, where)
        return True

    async def _post_by_webhook(
        self, item: WorkItem, target: Target, body: dict[str, Any], article: Article
    ) -> bool:
        """Post through the channel's webhook (made first if there is none).

        A webhook takes no nonce: a delivery attempted before (a crash between the send
        and :meth:`Store.mark_sent`) first looks for its post in the channel, and is
        only sent when it is not there. A webhook Discord says is gone is made again
        once; when that one goes too, the subscription is paused.
        """
        d = item.delivery
        forum = target.kind is Kind.FORUM
        name = thread_name(item.article_title) if forum else None
        tags = (
            forum_tags(target.tags, item.article_tags, can_moderate=target.can_moderate)
            if forum
            else []
        )
        webhook = item.webhook
        fingerprint = post_fingerprint(body)
        version = item.article_version
        try:
            if webhook is None:
                webhook = await self._make_webhook(d.guild_id, d.channel_id)
            data = await self._find_webhook_post(d, webhook, name)
            if data is not None and d.attempt_fingerprint != fingerprint:
                # Found, but the article has changed since: it shows an older version
                # (edited next, when edits are on).
                version -= 1
            if data is None:
                await self.store.mark_attempt(d.id, self._now(), fingerprint)
                data = await self.sender.execute(
                    webhook, self._as_publication(body, article), thread_name=name, tag_ids=tags
                )
        except discord.HTTPException as error:
            refusal = Refusal.of(error)
            if refusal.code == UNKNOWN_WEBHOOK and webhook is not None:
                return await self._webhook_lost(item, webhook)
            return await self._refused(d, refusal, editing=False)
        message_id = int(data["id"])
        await self.store.mark_sent(
            d.id,
            message_id=message_id,
            message_channel_id=int(data.get("channel_id") or d.channel_id),
            version=version,
            crosspost=target.kind is Kind.NEWS and not int(data.get("flags") or 0) & 1,
            now=self._now(),
            webhook_id=webhook.id,
        )
        self.store.metrics.posted(article.published_at, d.created_at, self._now())
        log.debug("delivery %d: posted %d through webhook %d", d.id, message_id, webhook.id)
        return True

    async def _find_webhook_post(
        self, d: Delivery, webhook: Webhook, forum_name: str | None
    ) -> dict[str, Any] | None:
        """The post of an attempted delivery, if the webhook made it before a crash:
        in a forum, a thread the webhook owns with the article's headline (from the
        cache, as for the bot's own forum posts); elsewhere, a message of the channel
        since the attempt, by the webhook, saying what the attempt sent (its
        fingerprint, kept at the attempt: the article may have changed since) and
        recorded by no other delivery (a format may give two articles the same
        words)."""
        if d.attempted_at is None:
            return None
        if forum_name is not None:
            thread_id = self._adopt_forum_post(d, forum_name, owner_id=webhook.id)
            # A forum post's starter message has its thread's id.
            return None if thread_id is None else {"id": thread_id, "channel_id": thread_id}
        if d.attempt_fingerprint is None:
            return None
        after = discord.utils.time_snowflake(d.attempted_at - ADOPT_WINDOW)
        for _ in range(HISTORY_PAGES):
            page = await self.sender.history_after(d.channel_id, after, _HISTORY_PAGE)
            for message in page:
                if is_webhook_post(
                    message, webhook.id, d.attempt_fingerprint
                ) and not await self.store.is_recorded(d.subscription_id, int(message["id"])):
                    log.info("delivery %d: found its webhook post %s", d.id, message["id"])
                    return message
            if len(page) < _HISTORY_PAGE:
                return None
            after = max(int(m["id"]) for m in page)
        log.warning("delivery %d: its post not found in %d pages", d.id, HISTORY_PAGES)
        return None

    async def _make_webhook(self, guild_id: int, channel_id: int) -> Webhook:
        """The channel's webhook, kept in the store: one this application made before
        (a crash may have come between making it and keeping it), else a new one."""
        app_id = self.client.application_id
        mine = await self.sender.own_webhooks(channel_id, app_id) if app_id else []
        webhook = mine[0] if mine else None
        if webhook is None:
            webhook = await self.sender.create_webhook(channel_id, self._publication_name())
            log.info("made a webhook in channel %d (guild %d)", channel_id, guild_id)
        if not await self.store.set_webhook(guild_id, channel_id, webhook, replacing=None):
            kept = await self.store.webhook(guild_id, channel_id)
            if kept is not None:  # another request made one first: use that one
                return kept
        return webhook

    async def _webhook_lost(self, item: WorkItem, webhook: Webhook) -> bool:
        d = item.delivery
        lost = await self.store.lose_webhook(d.guild_id, d.channel_id, webhook.id)
        log.warning(
            "delivery %d: the webhook of channel %d was deleted (%d since resumed)",
            d.id,
            d.channel_id,
            lost,
            extra=ids(guild=d.guild_id, channel=d.channel_id),
        )
        if lost == 0:  # another worker already replaced it
            await self._retry(d, "the channel's webhook changed")
            return False
        if lost > 1:
            await self._pause(d, WEBHOOK_DELETED_AGAIN)
            return False
        # Not posted (Discord refused it): make the webhook again and post now.
        return await self._post(replace(item, webhook=None))

    def _publication_name(self, article: Article | None = None) -> str:
        """``NEWSBOT_POST_NAME``, else the title of the article's site (its Hugo
        config's ``title``) when Discord takes it as a name, else the bot's name."""
        if self.post_name:
            return self.post_name
        if article is not None and article.site_name:
            with contextlib.suppress(ValueError):
                return check_post_name(article.site_name)
        user = self.client.user
        return user.name if user is not None else "News"

    def _as_publication(self, body: dict[str, Any], article: Article) -> dict[str, Any]:
        """``body`` as a webhook posts it: with the publication's name and avatar."""
        user = self.client.user
        avatar = self.post_avatar_url or (user.display_avatar.url if user is not None else None)
        extra: dict[str, Any] = {"username": self._publication_name(article)}
        if avatar:
            extra["avatar_url"] = avatar
        return dict(body, **extra)

    def _adopt_forum_post(
        self, d: Delivery, name: str, *, owner_id: int | None = None
    ) -> int | None:
        """A forum post made just before a crash (forum posts carry no nonce): its thread
        is in the cache, by the bot (or ``owner_id``, the webhook that made it), with
        the article's headline."""
        if d.attempted_at is None:
            return None
        guild = self.client.get_guild(d.guild_id)
        forum = guild.get_channel(d.channel_id) if guild else None
        user = self.client.user
        if not isinstance(forum, discord.ForumChannel) or user is None:
            return None
        owner = owner_id if owner_id is not None else user.id
        since = d.attempted_at - ADOPT_WINDOW
        for thread in forum.threads:
            created = thread.created_at
            if thread.owner_id == owner and thread.name == name and created and created >= since:
                log.info("delivery %d: adopting forum post %d", d.id, thread.id)
                return thread.id
        return None

    async def _edit(self, item: WorkItem) -> bool:
        d = item.delivery
        if not item.edit_on_update:
            await self.store.drop_edit(d.id, None)
            return True
        if item.article_status != ArticleStatus.PUBLISHED:
            # Withdrawn: the posts stay as they were.
            await self.store.drop_edit(d.id, f"article {item.article_status}")
            return True
        assert d.message_id is not None and d.message_channel_id is not None
        target = resolve(
            self.client, d.guild_id, d.channel_id, item.mention_role_ids, stored=item.facts
        )
        article = article_from_data(json.loads(item.article_json))
        body = self._render(
            article, d.article_id, item.article_version, item.color, target.pingable, item.format
        )
        try:
            if d.webhook_id is None:
                await self.sender.edit(d.message_channel_id, d.message_id, body)
            elif item.webhook is not None and item.webhook.id == d.webhook_id:
                thread = d.message_channel_id if d.message_channel_id != d.channel_id else None
                await self.sender.edit_webhook_message(
                    item.webhook, d.message_id, body, thread_id=thread
                )
            else:
                # Only the webhook that posted a message can edit it, and it is gone.
                await self.store.drop_edit(d.id, "the webhook that posted it is gone")
                return True
        except discord.HTTPException as error:
            return await self._refused(d, Refusal.of(error), editing=True)
        await self.store.mark_edited(d.id, item.article_version, self._now())
        self.store.metrics.delivery("edited")
        log.debug("delivery %d: edited to version %d", d.id, item.article_version)
        return True

    async def _crosspost(self, item: WorkItem) -> bool:
        d = item.delivery
        assert d.message_id is not None
        if d.attempts >= MAX_SIDE_ATTEMPTS:
            await self.store.mark_crossposted(d.id, ok=False, error="crosspost: too many attempts")
            return True
        try:
            await asyncio.wait_for(
                self.sender.crosspost(d.channel_id, d.message_id), timeout=CROSSPOST_TIMEOUT
            )
        except TimeoutError:
            # Most likely Discord's 10 crossposts per hour: try again later.
            await self._retry(d, "crosspost waiting on Discord", at_least=60.0)
            return True
        except discord.HTTPException as error:
            refusal = Refusal.of(error)
            verdict = classify(refusal.status, refusal.code, editing=True)
            if verdict is Verdict.DONE:
                await self.store.mark_crossposted(d.id, ok=True, error=None)
            elif verdict is Verdict.RETRY:
                await self._retry(d, f"crosspost: {refusal}")
            else:
                log.warning("delivery %d: crosspost refused: %s", d.id, refusal)
                await self.store.mark_crossposted(d.id, ok=False, error=f"crosspost: {refusal}")
            return True
        await self.store.mark_crossposted(d.id, ok=True, error=None)
        return True

    async def _refused(self, d: Delivery, refusal: Refusal, *, editing: bool) -> bool:
        verdict = classify(refusal.status, refusal.code, editing=editing)
        if verdict is Verdict.PAUSE:
            await self._pause(d, _reason(refusal))
            return False
        if verdict is Verdict.RETRY:
            await self._retry_said(d, str(refusal))
            return False
        if d.state == DeliveryState.SENT:
            # The message is gone, or Discord will not take the edit: keep the post.
            await self.store.drop_edit(d.id, str(refusal))
            return True
        log.error(
            "delivery %d to channel %d refused for good: %s",
            d.id,
            d.channel_id,
            refusal,
            extra=ids(guild=d.guild_id, channel=d.channel_id),
        )
        self.store.metrics.delivery("failed")
        await self.store.finish_delivery(d.id, DeliveryState.FAILED, str(refusal))
        return True

    async def _retry(self, d: Delivery, error: str, *, at_least: float = 0.0) -> None:
        self.store.metrics.delivery("retried")
        error = redact(error)  # a network error's text may hold a webhook's URL
        delay = max(at_least, backoff_delay(d.attempts + 1, rand=self._rand()))
        await self.store.retry_later(
            d.id, self._now() + timedelta(seconds=delay), error, self._now()
        )

    async def _retry_said(self, d: Delivery, error: str) -> None:
        """:meth:`_retry`, with a warning in the log (a failure worth an operator's eye)."""
        log.warning(
            "delivery %d to channel %d: %s; will retry",
            d.id,
            d.channel_id,
            error,
            extra=ids(guild=d.guild_id, channel=d.channel_id),
        )
        await self._retry(d, error)

    async def _pause(self, d: Delivery, reason: str) -> None:
        """Stop delivering to the channel; the moderators are told once."""
        self.store.metrics.delivery("paused")
        now = self._now()
        if await self.store.pause_subscription(d.guild_id, d.channel_id, reason, now):
            log.warning(
                "paused delivery to channel %d (guild %d): %s",
                d.channel_id,
                d.guild_id,
                reason,
                extra=ids(guild=d.guild_id, channel=d.channel_id),
            )
            await self.store.add_notice(d.subscription_id, d.guild_id, d.channel_id, reason, now)
            self.poke()

    async def _unreadable_format(self, item: WorkItem, error: str) -> None:
        """The channel's saved format can't be read: its posts use the default format,
        and the moderators are told once (for each reason)."""
        d = item.delivery
        reason = unreadable_format_reason(error)
        if await self.store.add_notice(
            d.subscription_id, d.guild_id, d.channel_id, reason, self._now(), once=True
        ):
            log.warning(
                "channel %d (guild %d): its saved format can't be read (%s); posting in "
                "the default format",
                d.channel_id,
                d.guild_id,
                error,
                extra=ids(guild=d.guild_id, channel=d.channel_id),
            )
            self.poke()

    def _render(
        self,
        article: Article,
        article_id: int,
        version: int,
        color: int | None,
        roles: tuple[int, ...],
        fmt: Format = DEFAULT_FORMAT,
        *,
        test: bool = False,
    ) -> dict[str, Any]:
        """The channel's post in its format (cached: a fan-out renders one body per
        color, roles and format, not one per channel). Returns a fresh copy."""
        key = (article_id, version, color, roles, test, fmt)
        body = self._renders.get(key)
        if body is None:
            if len(self._renders) >= _RENDER_CACHE:
                self._renders.clear()
            body = render_formatted(article, fmt, color=color, mention_role_ids=roles, test=test)
            self._renders[key] = body
        return copy.deepcopy(body)

    # -- notices to moderators -------------------------------------------------------------

    async def _send_notices(self) -> None:
        try:
            while not self._closing:
                notices = await self.store.due_notices(self._now())
                if not notices:
                    return
                for notice in notices:
                    await self._send_notice(notice)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sending notices failed")
        finally:
            self._notices = None
            self._wake.set()

    async def _send_notice(self, notice: Notice) -> None:
        now = self._now()
        settings = await self.store.guild_settings(notice.guild_id)
        stored = (
            await self.store.notice_facts(notice.guild_id)
            if self.client.get_guild(notice.guild_id) is None
            else None
        )
        candidates = notice_channels(
            self.client,
            notice.guild_id,
            notice.channel_id,
            settings.notices_channel_id,
            stored=stored,
        )
        if not candidates:
            log.warning(
                "no channel to tell guild %d that delivery to %d stopped: %s",
                notice.guild_id,
                notice.channel_id,
                notice.reason,
            )
            await self.store.finish_notice(notice.id, None, now)
            return
        body = {
            "content": notice_text(notice.channel_id, notice.reason),
            "allowed_mentions": {"parse": []},
            "nonce": f"notice-{notice.id:x}",
            "enforce_nonce": True,
        }
        for channel_id in candidates:
            try:
                await self.sender.post(channel_id, body)
            except discord.HTTPException as error:
                refusal = Refusal.of(error)
                if classify(refusal.status, refusal.code) is Verdict.PAUSE:
                    continue  # that channel is closed to the bot too: try the next one
                return await self._retry_notice(notice, str(refusal))
            except TRANSIENT as error:
                return await self._retry_notice(notice, repr(error))
            await self.store.finish_notice(notice.id, channel_id, self._now())
            log.info(
                "told guild %d in %d about channel %d",
                notice.guild_id,
                channel_id,
                notice.channel_id,
            )
            return
        await self.store.finish_notice(notice.id, None, self._now())

    async def _retry_notice(self, notice: Notice, error: str) -> None:
        if notice.attempts + 1 >= MAX_SIDE_ATTEMPTS:
            log.warning("giving up a notice to guild %d: %s", notice.guild_id, error)
            await self.store.finish_notice(notice.id, None, self._now())
            return
        delay = backoff_delay(notice.attempts + 1, rand=self._rand())
        await self.store.retry_notice(notice.id, self._now() + timedelta(seconds=delay))


def _nothing_to_test(subscription: Subscription) -> str:
    return (
        f"No published article matches <#{subscription.channel_id}>'s filters yet, so "
        "there is nothing to show as a test."
    )


def _reason(refusal: Refusal) -> str:
    return pause_reason(refusal.status, refusal.code, refusal.text)
