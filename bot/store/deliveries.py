"""The delivery outbox: which post goes to which channel, and where it stands.

:class:`DeliveryQueries` is one part of :class:`bot.store.Store` (one database, one
lock, one transaction per write), like :mod:`bot.store.subscriptions`. The schema
and the life of a row are described in ``migrations/0004_deliveries.sql``; the
sender that works through the rows is :mod:`bot.delivery`.

The guarantees rest on three writes:

* :meth:`~DeliveryQueries.fan_out` records one pending row per matching subscription
  *and* completes the announcement, in one transaction: a crash before it leaves
  the announcement pending (fanned out again on restart), after it leaves every post
  queued.
* :meth:`~DeliveryQueries.mark_sent` runs only after Discord confirmed the post; a
  crash before it means the post is sent again, with the same nonce, and Discord
  answers with the message it already has.
* every other outcome (retry later, skipped, failed) moves ``due_at`` on, so no row
  is ever worked on in a busy loop.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.formats import DEFAULT_FORMAT, Format, read_format
from bot.store.codec import clean_text, from_us, opt_dt, to_us
from bot.store.database import Connection, Engine, Row, fetch_all, fetch_one, fetch_value, from_row
from bot.store.models import ArticleStatus
from bot.store.subscriptions import (
    Identity,
    Webhook,
    article_keys,
    filters_column,
    mentions,
    parse_filters,
)


class DeliveryState(enum.StrEnum):
    """Where one post stands."""

    PENDING = "pending"  # to be sent (now or at due_at)
    SENT = "sent"  # Discord confirmed it; edits and a crosspost may still be due
    SKIPPED = "skipped"  # will not be sent: withdrawn, or too old when its turn came
    FAILED = "failed"  # will not be sent: Discord will never accept it


class Crosspost(enum.StrEnum):
    """The crosspost of a post in an announcement channel."""

    DUE = "due"
    DONE = "done"
    FAILED = "failed"


#: Error texts kept with a delivery are cut to this length.
MAX_ERROR = 300

_DELIVERY = """
    d.id, d.subscription_id, d.article_id, d.guild_id, d.channel_id, d.nonce, d.state,
    d.due_at, d.created_at, d.attempts, d.attempted_at, d.last_error, d.message_id,
    d.message_channel_id, d.sent_at, d.sent_version, d.edit_version, d.crosspost, d.webhook_id,
    d.attempt_fingerprint
"""

# Work of paused subscriptions waits.
_ACTIVE = "JOIN subscriptions s ON s.id = d.subscription_id AND s.paused_at IS NULL"

_NOTICE = """
    SELECT id, subscription_id, guild_id, channel_id, reason, created_at, attempts
    FROM delivery_notices
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One post of one article in one subscribed channel."""

    id: int
    subscription_id: int
    article_id: int
    guild_id: int
    channel_id: int
    nonce: str
    state: DeliveryState
    due_at: datetime | None  # when there is work to do (post, retry, edit, crosspost)
    created_at: datetime
    attempts: int
    attempted_at: datetime | None
    last_error: str | None
    message_id: int | None
    message_channel_id: int | None  # the channel, or the forum post's thread
    sent_at: datetime | None
    sent_version: int | None
    edit_version: int | None
    crosspost: Crosspost | None  # None: not an announcement channel's post
    webhook_id: int | None = None  # the webhook that posted the message (None: the bot)
    attempt_fingerprint: str | None = None  # what its last send without a nonce said (a digest)

    @property
    def edit_due(self) -> bool:
        """Whether the posted message shows an older version than asked for."""
        return (
            self.state == DeliveryState.SENT
            and self.edit_version is not None
            and (self.sent_version is None or self.edit_version > self.sent_version)
        )


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A delivery with work due, and what the sender needs to do it."""

    delivery: Delivery
    mention_role_ids: tuple[int, ...]  # of the channel's filters matching the article now
    color: int | None  # the guild's embed colour (None: the default)
    edit_on_update: bool
    article_status: ArticleStatus
    article_version: int
    article_title: str
    article_tags: tuple[str, ...]
    article_json: str
    format: Format = DEFAULT_FORMAT  # the subscription's message format
    identity: Identity = Identity.BOT  # who posts in the channel now
    webhook: Webhook | None = None  # the channel's webhook, once made
    format_error: str | None = None  # why its format can't be read (then: the default)
    # What the process serving the channel's server published about it (JSON, see
    # bot.delivery.channels.ChannelFacts), for a sender whose cache lacks that server.
    facts: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A message owed to a server's moderators: delivery to a channel stopped."""

    id: int
    subscription_id: int
    guild_id: int
    channel_id: int
    reason: str
    created_at: datetime
    attempts: int


def _delivery(row: Row) -> Delivery:
    return from_row(
        Delivery,
        row,
        state=DeliveryState(row["state"]),
        due_at=opt_dt(row["due_at"]),
        created_at=from_us(row["created_at"]),
        attempted_at=opt_dt(row["attempted_at"]),
        sent_at=opt_dt(row["sent_at"]),
        crosspost=None if row["crosspost"] is None else Crosspost(row["crosspost"]),
    )


def _work_item(row: Row) -> WorkItem:
    fmt, format_error = read_format(row["format"])
    return WorkItem(
        delivery=_delivery(row),
        mention_role_ids=_mentions(row),
        color=row["color"],
        edit_on_update=bool(row["edit_on_update"]),
        article_status=ArticleStatus(row["article_status"]),
        article_version=row["article_version"],
        article_title=row["article_title"],
        article_tags=tuple(json.loads(row["article_tags"])),
        article_json=row["article_json"],
        format=fmt,
        format_error=format_error,
        identity=Identity(row["identity"]),
        webhook=(
            Webhook(row["channel_webhook_id"], row["webhook_token"])
            if row["channel_webhook_id"] is not None
            else None
        ),
        facts=row["channel_facts"],
    )


def _mentions(row: Row) -> tuple[int, ...]:
    """The roles a work item's post pings: those of the channel's filters that match
    its article as it is now (as the fan-out matched it)."""
    keys = article_keys(json.loads(row["article_tags"]), json.loads(row["article_categories"]))
    return mentions(parse_filters(row["filters"]), *keys)


def _notice(row: Row) -> Notice:
    return from_row(Notice, row, created_at=from_us(row["created_at"]))


def _error(text: str) -> str:
    return clean_text(text)[:MAX_ERROR]


# New rows of one subscription are due no earlier than the last pending one: posts in
# a channel go out in order even while an earlier one waits for a retry. A
# subscription removed meanwhile gets none.
_INSERT = """
    INSERT INTO deliveries (subscription_id, article_id, guild_id, channel_id, nonce, state,
                            due_at, created_at)
    SELECT :subscription_id, :article_id, :guild_id, :channel_id, :nonce, 'pending',
           max(:now, coalesce(
               (SELECT max(e.due_at) FROM deliveries e
                WHERE e.subscription_id = :subscription_id AND e.state = 'pending'
                AND e.due_at IS NOT NULL),
               :now)),
           :now
    WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = :subscription_id)
    ON CONFLICT (subscription_id, article_id) DO NOTHING
"""

_COMPLETE_ANNOUNCEMENT = "UPDATE announcements SET done_at = :now WHERE id = :id"


class DeliveryQueries:
    """The delivery outbox and the notices owed to moderators."""

    def __init__(self, database: Engine) -> None:
        """Keep the outbox in ``database``."""
        self._database = database

    # -- writing the outbox --------------------------------------------------------

    async def fan_out(
        self,
        announcement_id: int,
        article_id: int,
        targets: Sequence[tuple[int, int, int, str]],
        now: datetime,
    ) -> int:
        """Queue the article's post for ``targets`` and complete the announcement, at once.

        ``targets`` are ``(subscription_id, guild_id, channel_id, nonce)``. Idempotent:
        an announcement already completed queues nothing, a post already queued for a
        subscription is not queued again, and a subscription removed meanwhile is
        skipped. Returns how many posts were queued.
        """
        stamp = to_us(now)
        async with self._database.transaction() as db:
            if not await _is_open(db, announcement_id):
                return 0
            queued = await _insert(db, article_id, targets, stamp)
            await db.execute(_COMPLETE_ANNOUNCEMENT, {"now": stamp, "id": announcement_id})
        return queued

    async def queue_edits(
        self, announcement_id: int, article_id: int, version: int, now: datetime
    ) -> int:
        """An article changed after it was announced: ask for its posts to be edited to
        ``version`` (in servers that edit on update) and complete the announcement.

        Posts still pending are marked too: one being sent right now shows the version
        read before the change, and is edited once it is confirmed. Returns how many
        posts were already out and are now due for an edit.
        """
        params = {"article_id": article_id, "version": version, "now": to_us(now)}
        # The posts of the article not yet asked to show this version, in servers
        # that edit on update (the default).
        editing = """
            article_id = :article_id AND coalesce(edit_version, 0) < :version
            AND coalesce(
                (SELECT g.edit_on_update FROM guild_settings g
                 WHERE g.guild_id = deliveries.guild_id),
                1) = 1
        """
        async with self._database.transaction() as db:
            if not await _is_open(db, announcement_id):
                return 0
            cursor = await db.execute(
                f"""
                UPDATE deliveries SET edit_version = :version, due_at = coalesce(due_at, :now)
                WHERE {editing} AND state = 'sent' AND coalesce(sent_version, 0) < :version
                """,
                params,
            )
            edits = cursor.rowcount
            await db.execute(
                f"""
                UPDATE deliveries SET edit_version = :version
                WHERE {editing} AND state = 'pending'
                """,
                params,
            )
            await db.execute(_COMPLETE_ANNOUNCEMENT, {**params, "id": announcement_id})
        return edits

    async def queue_backfill(
        self,
        subscription_id: int,
        guild_id: int,
        channel_id: int,
        articles: Sequence[tuple[int, str]],
        now: datetime,
    ) -> int:
        """Queue posts of ``(article_id, nonce)`` for one subscription, in that order.

        A post already delivered there is not queued again; one that was skipped or
        failed is queued anew. Returns how many were queued.
        """
        stamp = to_us(now)
        async with self._database.transaction() as db:
            queued = 0
            for article_id, nonce in articles:
                cursor = await db.execute(
                    """
                    UPDATE deliveries
                    SET state = 'pending', due_at = :now, attempts = 0,
                        last_error = NULL, attempted_at = NULL
                    WHERE subscription_id = :subscription_id AND article_id = :article_id
                    AND state IN ('skipped', 'failed')
                    """,
                    {"now": stamp, "subscription_id": subscription_id, "article_id": article_id},
                )
                if cursor.rowcount:
                    queued += 1
                else:
                    target = (subscription_id, guild_id, channel_id, nonce)
                    queued += await _insert(db, article_id, [target], stamp)
        return queued

    # -- the sender's queries --------------------------------------------------------

    async def due_subscriptions(self, now: datetime, limit: int = 10_000) -> list[int]:
        """Active subscriptions with work due by ``now``, oldest work first."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"""
                SELECT d.subscription_id FROM deliveries d {_ACTIVE}
                WHERE d.due_at IS NOT NULL AND d.due_at <= :now
                GROUP BY d.subscription_id
                ORDER BY min(d.id)
                LIMIT :limit
                """,
                {"now": to_us(now), "limit": limit},
            )
        return [int(row["subscription_id"]) for row in rows]

    async def next_due_at(self) -> datetime | None:
        """When the next work of an active subscription is due (may be in the past)."""
        async with self._database.reading() as db:
            earliest = await fetch_value(
                db,
                f"SELECT min(d.due_at) FROM deliveries d {_ACTIVE} WHERE d.due_at IS NOT NULL",
            )
        return opt_dt(earliest)

    async def due_work(
        self, subscription_id: int, now: datetime, limit: int = 50
    ) -> list[WorkItem]:
        """The subscription's work due by ``now``, in order (none while it is paused)."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"""
                SELECT {_DELIVERY}, {filters_column("s.id")} AS filters, g.color, s.format,
                       coalesce(g.edit_on_update, 1) AS edit_on_update,
                       a.status AS article_status, a.version AS article_version,
                       a.title AS article_title, a.tags AS article_tags,
                       a.categories AS article_categories, a.article_json,
                       s.identity, s.webhook_id AS channel_webhook_id, s.webhook_token,
                       f.facts AS channel_facts
                FROM deliveries d {_ACTIVE}
                JOIN articles a ON a.id = d.article_id
                LEFT JOIN guild_settings g ON g.guild_id = d.guild_id
                LEFT JOIN channel_facts f ON f.channel_id = d.channel_id
                WHERE d.subscription_id = :subscription_id
                AND d.due_at IS NOT NULL AND d.due_at <= :now
                ORDER BY d.id
                LIMIT :limit
                """,
                {"subscription_id": subscription_id, "now": to_us(now), "limit": limit},
            )
        return [_work_item(row) for row in rows]

    async def mark_attempt(
        self, delivery_id: int, now: datetime, fingerprint: str | None = None
    ) -> None:
        """A request for this delivery is about to start (a webhook's or a forum post's:
        posting what ``fingerprint`` stands for, :func:`bot.delivery.policy.post_fingerprint`)."""
        async with self._database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET attempted_at = :now, attempt_fingerprint = :fingerprint "
                "WHERE id = :id",
                {"now": to_us(now), "fingerprint": fingerprint, "id": delivery_id},
            )

    async def is_recorded(self, subscription_id: int, message_id: int) -> bool:
        """Whether a delivery of the subscription has recorded ``message_id`` as its post."""
        async with self._database.reading() as db:
            found = await fetch_value(
                db,
                "SELECT count(*) FROM deliveries "
                "WHERE subscription_id = :subscription_id AND message_id = :message_id",
                {"subscription_id": subscription_id, "message_id": message_id},
            )
        return bool(found)

    async def mark_sent(
        self,
        delivery_id: int,
        *,
        message_id: int,
        message_channel_id: int,
        version: int,
        crosspost: bool,
        now: datetime,
        webhook_id: int | None = None,
    ) -> bool:
        """Discord confirmed the post: record its message (and the webhook that
        posted it, if one did). False if the row is gone (its subscription was
        removed meanwhile) or was not pending."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE deliveries
                SET state = 'sent', message_id = :message_id,
                    message_channel_id = :message_channel_id, webhook_id = :webhook_id,
                    sent_at = :now, sent_version = :version, last_error = NULL,
                    crosspost = CASE WHEN :crosspost THEN 'due' END,
                    due_at = CASE WHEN :crosspost OR coalesce(edit_version, 0) > :version
                                  THEN CAST(:now AS BIGINT) END
                WHERE id = :id AND state = 'pending'
                """,
                {
                    "id": delivery_id,
                    "message_id": message_id,
                    "message_channel_id": message_channel_id,
                    "version": version,
                    "crosspost": crosspost,
                    "now": to_us(now),
                    "webhook_id": webhook_id,
                },
            )
            return cursor.rowcount > 0

    async def mark_edited(self, delivery_id: int, version: int, now: datetime) -> None:
        """The posted message now shows ``version`` (or no edit is wanted any more)."""
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE deliveries
                SET sent_version = max(coalesce(sent_version, 0), :version),
                    last_error = NULL,
                    due_at = CASE
                        WHEN crosspost = 'due'
                          OR coalesce(edit_version, 0) > max(coalesce(sent_version, 0), :version)
                        THEN coalesce(due_at, :now)
                    END
                WHERE id = :id AND state = 'sent'
                """,
                {"version": version, "now": to_us(now), "id": delivery_id},
            )

    async def drop_edit(self, delivery_id: int, reason: str | None) -> None:
        """Give up editing this post (deleted by a moderator, withdrawn, edits off)."""
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE deliveries
                SET edit_version = sent_version, last_error = :error,
                    due_at = CASE WHEN crosspost = 'due' THEN due_at END
                WHERE id = :id AND state = 'sent'
                """,
                {"error": None if reason is None else _error(reason), "id": delivery_id},
            )

    async def mark_crossposted(self, delivery_id: int, *, ok: bool, error: str | None) -> None:
        """The crosspost of a post in an announcement channel is done (or given up)."""
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE deliveries
                SET crosspost = :crosspost, last_error = coalesce(:error, last_error),
                    due_at = CASE WHEN coalesce(edit_version, 0) > coalesce(sent_version, 0)
                                  THEN due_at END
                WHERE id = :id AND crosspost = 'due'
                """,
                {
                    "crosspost": Crosspost.DONE if ok else Crosspost.FAILED,
                    "error": None if error is None else _error(error),
                    "id": delivery_id,
                },
            )

    async def retry_later(
        self, delivery_id: int, due_at: datetime, error: str, now: datetime
    ) -> None:
        """Try this delivery's work again at ``due_at``.

        Later pending posts of the same subscription wait too: posts keep their order.
        """
        due = to_us(due_at)
        async with self._database.transaction() as db:
            retried = await fetch_one(
                db,
                """
                UPDATE deliveries
                SET due_at = :due, attempts = attempts + 1, last_error = :error
                WHERE id = :id AND due_at IS NOT NULL
                RETURNING subscription_id, state
                """,
                {"due": due, "error": _error(error), "id": delivery_id},
            )
            if retried is not None and retried["state"] == DeliveryState.PENDING:
                await db.execute(
                    """
                    UPDATE deliveries SET due_at = max(due_at, :due)
                    WHERE subscription_id = :subscription_id AND state = 'pending'
                    AND id > :id AND due_at IS NOT NULL
                    """,
                    {"due": due, "subscription_id": retried["subscription_id"], "id": delivery_id},
                )

    async def finish_delivery(self, delivery_id: int, state: DeliveryState, reason: str) -> None:
        """A pending post will not be sent: ``SKIPPED`` (withdrawn, too old) or
        ``FAILED`` (Discord will never accept it)."""
        if state not in (DeliveryState.SKIPPED, DeliveryState.FAILED):
            raise ValueError(f"not a final state: {state!r}")
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE deliveries SET state = :state, due_at = NULL, last_error = :reason
                WHERE id = :id AND state = 'pending'
                """,
                {"state": state, "reason": _error(reason), "id": delivery_id},
            )

    # -- reading the outbox ------------------------------------------------------------

    async def deliveries(
        self, *, article_id: int | None = None, subscription_id: int | None = None
    ) -> list[Delivery]:
        """Deliveries of an article and/or a subscription, by id."""
        # Only the conditions given, so that SQLite can use their indexes.
        conditions = ["TRUE"]
        if article_id is not None:
            conditions.append("d.article_id = :article_id")
        if subscription_id is not None:
            conditions.append("d.subscription_id = :subscription_id")
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"""
                SELECT {_DELIVERY} FROM deliveries d
                WHERE {" AND ".join(conditions)}
                ORDER BY d.id
                """,
                {"article_id": article_id, "subscription_id": subscription_id},
            )
        return [_delivery(row) for row in rows]

    async def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state (for logs and benchmarks)."""
        async with self._database.reading() as db:
            rows = await fetch_all(db, "SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {str(row["state"]): int(row["n"]) for row in rows}

    # -- notices to moderators -----------------------------------------------------------

    async def add_notice(
        self,
        subscription_id: int,
        guild_id: int,
        channel_id: int,
        reason: str,
        now: datetime,
        *,
        once: bool = False,
    ) -> int:
        """Owe the server's moderators a notice about a channel (that delivery there
        stopped, :func:`bot.delivery.policy.notice_text`); ``once``: unless the
        subscription was given one for this reason already. Returns its id (0: none)."""
        async with self._database.transaction() as db:
            row = await fetch_one(
                db,
                """
                INSERT INTO delivery_notices
                    (subscription_id, guild_id, channel_id, reason, created_at, due_at)
                SELECT :subscription_id, :guild_id, :channel_id, :reason, :now, :now
                WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = :subscription_id)
                AND NOT (:once AND EXISTS (
                    SELECT 1 FROM delivery_notices
                    WHERE subscription_id = :subscription_id AND reason = :reason
                ))
                RETURNING id
                """,
                {
                    "subscription_id": subscription_id,
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                    "reason": _error(reason),
                    "now": to_us(now),
                    "once": once,
                },
            )
            return int(row["id"]) if row is not None else 0

    async def due_notices(self, now: datetime, limit: int = 50) -> list[Notice]:
        """Notices to send by ``now``, oldest first."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"""
                {_NOTICE}
                WHERE due_at IS NOT NULL AND due_at <= :now
                ORDER BY id
                LIMIT :limit
                """,
                {"now": to_us(now), "limit": limit},
            )
        return [_notice(row) for row in rows]

    async def next_notice_at(self) -> datetime | None:
        """When the next notice is due, if any."""
        async with self._database.reading() as db:
            earliest = await fetch_value(
                db, "SELECT min(due_at) FROM delivery_notices WHERE due_at IS NOT NULL"
            )
        return opt_dt(earliest)

    async def notices(self, guild_id: int) -> list[Notice]:
        """Every notice owed or sent to one server, oldest first."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db, f"{_NOTICE} WHERE guild_id = :guild_id ORDER BY id", {"guild_id": guild_id}
            )
        return [_notice(row) for row in rows]

    async def finish_notice(self, notice_id: int, posted_in: int | None, now: datetime) -> None:
        """The notice was posted in ``posted_in`` (None: given up)."""
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE delivery_notices SET due_at = NULL, done_at = :now, posted_in = :posted_in
                WHERE id = :id
                """,
                {"now": to_us(now), "posted_in": posted_in, "id": notice_id},
            )

    async def retry_notice(self, notice_id: int, due_at: datetime) -> None:
        """Try the notice again at ``due_at``."""
        async with self._database.transaction() as db:
            await db.execute(
                """
                UPDATE delivery_notices SET due_at = :due, attempts = attempts + 1
                WHERE id = :id
                """,
                {"due": to_us(due_at), "id": notice_id},
            )


async def _is_open(db: Connection, announcement_id: int) -> bool:
    """Whether the announcement still waits to be handled (``KeyError`` if unknown)."""
    row = await fetch_one(
        db, "SELECT done_at FROM announcements WHERE id = :id", {"id": announcement_id}
    )
    if row is None:
        raise KeyError(f"no announcement {announcement_id}")
    return bool(row["done_at"] is None)


async def _insert(
    db: Connection,
    article_id: int,
    targets: Sequence[tuple[int, int, int, str]],
    stamp: int,
) -> int:
    before = await _delivery_count(db, article_id)
    await db.executemany(
        _INSERT,
        [
            {
                "subscription_id": subscription_id,
                "article_id": article_id,
                "guild_id": guild_id,
                "channel_id": channel_id,
                "nonce": nonce,
                "now": stamp,
            }
            for subscription_id, guild_id, channel_id, nonce in targets
        ],
    )
    # Counted, not executemany's row count: PostgreSQL's pipelined one has none.
    return await _delivery_count(db, article_id) - before


async def _delivery_count(db: Connection, article_id: int) -> int:
    """How many deliveries of the article there are (its own index counts them)."""
    sql = "SELECT count(*) FROM deliveries WHERE article_id = :article_id"
    return int(await fetch_value(db, sql, {"article_id": article_id}))


__all__ = [
    "Crosspost",
    "Delivery",
    "DeliveryQueries",
    "DeliveryState",
    "Notice",
    "WorkItem",
]
