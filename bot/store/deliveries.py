"""The delivery outbox: which post goes to which channel, and where it stands.

:class:`DeliveryQueries` is a mixin of :class:`bot.store.Store` (one connection, one
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

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.codec import from_us, opt_dt, to_us

if TYPE_CHECKING:
    import aiosqlite

PENDING = "pending"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"

_MAX_ERROR = 300

_DELIVERY_COLUMNS = (
    "d.id, d.subscription_id, d.article_id, d.guild_id, d.channel_id, d.nonce, d.state, "
    "d.due_at, d.created_at, d.attempts, d.attempted_at, d.last_error, d.message_id, "
    "d.message_channel_id, d.sent_at, d.sent_version, d.edit_version, d.crosspost"
)
_ACTIVE = "JOIN subscriptions s ON s.id = d.subscription_id AND s.paused_at IS NULL"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One post of one article in one subscribed channel."""

    id: int
    subscription_id: int
    article_id: int
    guild_id: int
    channel_id: int
    nonce: str
    state: str  # 'pending', 'sent', 'skipped' or 'failed'
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
    crosspost: str | None  # None, 'due', 'done' or 'failed'

    @property
    def edit_due(self) -> bool:
        """Whether the posted message shows an older version than asked for."""
        return (
            self.state == SENT
            and self.edit_version is not None
            and (self.sent_version is None or self.edit_version > self.sent_version)
        )


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A delivery with work due, and what the sender needs to do it."""

    delivery: Delivery
    mention_role_id: int | None
    color: int | None  # the guild's embed colour (None: the default)
    edit_on_update: bool
    article_status: str
    article_version: int
    article_title: str
    article_tags: tuple[str, ...]
    article_json: str


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


def _delivery(r: Any, offset: int = 0) -> Delivery:
    r = r[offset:]
    return Delivery(
        id=r[0],
        subscription_id=r[1],
        article_id=r[2],
        guild_id=r[3],
        channel_id=r[4],
        nonce=r[5],
        state=r[6],
        due_at=opt_dt(r[7]),
        created_at=from_us(r[8]),
        attempts=r[9],
        attempted_at=opt_dt(r[10]),
        last_error=r[11],
        message_id=r[12],
        message_channel_id=r[13],
        sent_at=opt_dt(r[14]),
        sent_version=r[15],
        edit_version=r[16],
        crosspost=r[17],
    )


_DELIVERY_WIDTH = 18


def _error(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")[:_MAX_ERROR]


# New rows of one subscription are due no earlier than the last pending one: posts in
# a channel go out in order even while an earlier one waits for a retry.
_INSERT = (
    "INSERT INTO deliveries "
    "(subscription_id, article_id, guild_id, channel_id, nonce, state, due_at, created_at) "
    "SELECT ?1, ?2, ?3, ?4, ?5, 'pending', "
    " max(?6, coalesce((SELECT max(e.due_at) FROM deliveries e"
    "  WHERE e.subscription_id = ?1 AND e.state = 'pending' AND e.due_at IS NOT NULL), ?6)), ?6 "
    "WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?1) "
)


class DeliveryQueries:
    """The delivery outbox queries of :class:`bot.store.Store`."""

    if TYPE_CHECKING:
        # Provided by Store: one write transaction / a consistent read, under the lock.
        def _transaction(self) -> contextlib.AbstractAsyncContextManager[aiosqlite.Connection]:
            raise NotImplementedError

        def _reading(self) -> contextlib.AbstractAsyncContextManager[aiosqlite.Connection]:
            raise NotImplementedError

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
        async with self._transaction() as db:
            if not await _is_open(db, announcement_id):
                return 0
            queued = await _insert(db, article_id, targets, stamp)
            await db.execute(
                "UPDATE announcements SET done_at = ? WHERE id = ?", (stamp, announcement_id)
            )
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
        stamp = to_us(now)
        async with self._transaction() as db:
            if not await _is_open(db, announcement_id):
                return 0
            editing = (
                "article_id = ? AND state IN ('pending', 'sent') "
                "AND coalesce(edit_version, 0) < ? "
                "AND coalesce((SELECT g.edit_on_update FROM guild_settings g "
                "WHERE g.guild_id = deliveries.guild_id), 1) = 1"
            )
            cursor = await db.execute(
                "UPDATE deliveries SET edit_version = ?, due_at = coalesce(due_at, ?) "
                f"WHERE {editing} AND state = 'sent' AND coalesce(sent_version, 0) < ?",
                (version, stamp, article_id, version, version),
            )
            edits = cursor.rowcount
            await db.execute(
                f"UPDATE deliveries SET edit_version = ? WHERE {editing} AND state = 'pending'",
                (version, article_id, version),
            )
            await db.execute(
                "UPDATE announcements SET done_at = ? WHERE id = ?", (stamp, announcement_id)
            )
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
        targets = [(subscription_id, guild_id, channel_id, nonce) for _, nonce in articles]
        async with self._transaction() as db:
            queued = 0
            for (article_id, _), target in zip(articles, targets, strict=True):
                cursor = await db.execute(
                    "UPDATE deliveries SET state = 'pending', due_at = ?, attempts = 0, "
                    "last_error = NULL, attempted_at = NULL "
                    "WHERE subscription_id = ? AND article_id = ? "
                    "AND state IN ('skipped', 'failed')",
                    (stamp, subscription_id, article_id),
                )
                if cursor.rowcount:
                    queued += 1
                else:
                    queued += await _insert(db, article_id, [target], stamp)
        return queued

    # -- the sender's queries --------------------------------------------------------

    async def due_subscriptions(self, now: datetime, limit: int = 10_000) -> list[int]:
        """Active subscriptions with work due by ``now``, oldest work first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                f"SELECT d.subscription_id FROM deliveries d {_ACTIVE} "
                "WHERE d.due_at IS NOT NULL AND d.due_at <= ? "
                "GROUP BY d.subscription_id ORDER BY min(d.id) LIMIT ?",
                (to_us(now), limit),
            )
        return [int(r[0]) for r in rows]

    async def next_due_at(self) -> datetime | None:
        """When the next work of an active subscription is due (may be in the past)."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT min(d.due_at) FROM deliveries d {_ACTIVE} WHERE d.due_at IS NOT NULL"
                )
            )
        return opt_dt(rows[0][0])

    async def due_work(
        self, subscription_id: int, now: datetime, limit: int = 50
    ) -> list[WorkItem]:
        """The subscription's work due by ``now``, in order (none while it is paused)."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_DELIVERY_COLUMNS}, s.mention_role_id, g.color, "
                "coalesce(g.edit_on_update, 1), a.status, a.version, a.title, a.tags, "
                "a.article_json "
                f"FROM deliveries d {_ACTIVE} "
                "JOIN articles a ON a.id = d.article_id "
                "LEFT JOIN guild_settings g ON g.guild_id = d.guild_id "
                "WHERE d.subscription_id = ? AND d.due_at IS NOT NULL AND d.due_at <= ? "
                "ORDER BY d.id LIMIT ?",
                (subscription_id, to_us(now), limit),
            )
        w = _DELIVERY_WIDTH
        return [
            WorkItem(
                delivery=_delivery(r),
                mention_role_id=r[w],
                color=r[w + 1],
                edit_on_update=bool(r[w + 2]),
                article_status=r[w + 3],
                article_version=r[w + 4],
                article_title=r[w + 5],
                article_tags=tuple(json.loads(r[w + 6])),
                article_json=r[w + 7],
            )
            for r in rows
        ]

    async def mark_attempt(self, delivery_id: int, now: datetime) -> None:
        """A request for this delivery is about to start."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET attempted_at = ? WHERE id = ?", (to_us(now), delivery_id)
            )

    async def mark_sent(
        self,
        delivery_id: int,
        *,
        message_id: int,
        message_channel_id: int,
        version: int,
        crosspost: bool,
        now: datetime,
    ) -> bool:
        """Discord confirmed the post: record its message. False if the row is gone
        (its subscription was removed meanwhile) or was not pending."""
        stamp = to_us(now)
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, message_channel_id = ?, "
                "sent_at = ?, sent_version = ?, last_error = NULL, "
                "crosspost = CASE WHEN ? THEN 'due' END, "
                "due_at = CASE WHEN ? OR coalesce(edit_version, 0) > ? THEN ? END "
                "WHERE id = ? AND state = 'pending'",
                (
                    message_id,
                    message_channel_id,
                    stamp,
                    version,
                    crosspost,
                    crosspost,
                    version,
                    stamp,
                    delivery_id,
                ),
            )
            return cursor.rowcount > 0

    async def mark_edited(self, delivery_id: int, version: int, now: datetime) -> None:
        """The posted message now shows ``version`` (or no edit is wanted any more)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET sent_version = max(coalesce(sent_version, 0), ?), "
                "last_error = NULL, "
                "due_at = CASE WHEN crosspost = 'due' "
                "OR coalesce(edit_version, 0) > max(coalesce(sent_version, 0), ?) "
                "THEN coalesce(due_at, ?) END "
                "WHERE id = ? AND state = 'sent'",
                (version, version, to_us(now), delivery_id),
            )

    async def drop_edit(self, delivery_id: int, reason: str | None) -> None:
        """Give up editing this post (deleted by a moderator, withdrawn, edits off)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET edit_version = sent_version, last_error = ?, "
                "due_at = CASE WHEN crosspost = 'due' THEN due_at END "
                "WHERE id = ? AND state = 'sent'",
                (None if reason is None else _error(reason), delivery_id),
            )

    async def mark_crossposted(self, delivery_id: int, *, ok: bool, error: str | None) -> None:
        """The crosspost of a post in an announcement channel is done (or given up)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET crosspost = ?, last_error = coalesce(?, last_error), "
                "due_at = CASE WHEN coalesce(edit_version, 0) > coalesce(sent_version, 0) "
                "THEN due_at END "
                "WHERE id = ? AND crosspost = 'due'",
                ("done" if ok else "failed", None if error is None else _error(error), delivery_id),
            )

    async def retry_later(
        self, delivery_id: int, due_at: datetime, error: str, now: datetime
    ) -> None:
        """Try this delivery's work again at ``due_at``.

        Later pending posts of the same subscription wait too: posts keep their order.
        """
        due = to_us(due_at)
        async with self._transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    "UPDATE deliveries SET due_at = ?, attempts = attempts + 1, last_error = ? "
                    "WHERE id = ? AND due_at IS NOT NULL RETURNING subscription_id, state",
                    (due, _error(error), delivery_id),
                )
            )
            if rows and rows[0][1] == PENDING:
                await db.execute(
                    "UPDATE deliveries SET due_at = max(due_at, ?) "
                    "WHERE subscription_id = ? AND state = 'pending' AND id > ? "
                    "AND due_at IS NOT NULL",
                    (due, rows[0][0], delivery_id),
                )

    async def finish_delivery(self, delivery_id: int, state: str, reason: str) -> None:
        """A pending post will not be sent: ``'skipped'`` (withdrawn, too old) or
        ``'failed'`` (Discord will never accept it)."""
        if state not in (SKIPPED, FAILED):
            raise ValueError(f"not a final state: {state!r}")
        async with self._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET state = ?, due_at = NULL, last_error = ? "
                "WHERE id = ? AND state = 'pending'",
                (state, _error(reason), delivery_id),
            )

    # -- reading the outbox ------------------------------------------------------------

    async def deliveries(
        self, *, article_id: int | None = None, subscription_id: int | None = None
    ) -> list[Delivery]:
        """Deliveries of an article and/or a subscription, by id."""
        where: list[str] = []
        params: list[Any] = []
        if article_id is not None:
            where.append("d.article_id = ?")
            params.append(article_id)
        if subscription_id is not None:
            where.append("d.subscription_id = ?")
            params.append(subscription_id)
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries d"
        if where:
            sql += " WHERE " + " AND ".join(where)
        async with self._reading() as db:
            rows = await db.execute_fetchall(sql + " ORDER BY d.id", params)
        return [_delivery(r) for r in rows]

    async def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state (for logs and benchmarks)."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT state, count(*) FROM deliveries GROUP BY state"
            )
        return {str(r[0]): int(r[1]) for r in rows}

    # -- notices to moderators -----------------------------------------------------------

    async def add_notice(
        self, subscription_id: int, guild_id: int, channel_id: int, reason: str, now: datetime
    ) -> int:
        """Owe the server's moderators a notice that delivery to a channel stopped."""
        stamp = to_us(now)
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO delivery_notices "
                "(subscription_id, guild_id, channel_id, reason, created_at, due_at) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
                (
                    subscription_id,
                    guild_id,
                    channel_id,
                    _error(reason),
                    stamp,
                    stamp,
                    subscription_id,
                ),
            )
            return int(cursor.lastrowid or 0) if cursor.rowcount else 0

    async def due_notices(self, now: datetime, limit: int = 50) -> list[Notice]:
        """Notices to send by ``now``, oldest first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT id, subscription_id, guild_id, channel_id, reason, created_at, attempts "
                "FROM delivery_notices WHERE due_at IS NOT NULL AND due_at <= ? "
                "ORDER BY id LIMIT ?",
                (to_us(now), limit),
            )
        return [Notice(r[0], r[1], r[2], r[3], r[4], from_us(r[5]), r[6]) for r in rows]

    async def next_notice_at(self) -> datetime | None:
        """When the next notice is due, if any."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT min(due_at) FROM delivery_notices WHERE due_at IS NOT NULL"
                )
            )
        return opt_dt(rows[0][0])

    async def notices(self, guild_id: int) -> list[Notice]:
        """Every notice owed or sent to one server, oldest first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT id, subscription_id, guild_id, channel_id, reason, created_at, attempts "
                "FROM delivery_notices WHERE guild_id = ? ORDER BY id",
                (guild_id,),
            )
        return [Notice(r[0], r[1], r[2], r[3], r[4], from_us(r[5]), r[6]) for r in rows]

    async def finish_notice(self, notice_id: int, posted_in: int | None, now: datetime) -> None:
        """The notice was posted in ``posted_in`` (None: given up)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE delivery_notices SET due_at = NULL, done_at = ?, posted_in = ? "
                "WHERE id = ?",
                (to_us(now), posted_in, notice_id),
            )

    async def retry_notice(self, notice_id: int, due_at: datetime) -> None:
        """Try the notice again at ``due_at``."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE delivery_notices SET due_at = ?, attempts = attempts + 1 WHERE id = ?",
                (to_us(due_at), notice_id),
            )


async def _is_open(db: aiosqlite.Connection, announcement_id: int) -> bool:
    """Whether the announcement still waits to be handled (``KeyError`` if unknown)."""
    rows = list(
        await db.execute_fetchall(
            "SELECT done_at FROM announcements WHERE id = ?", (announcement_id,)
        )
    )
    if not rows:
        raise KeyError(f"no announcement {announcement_id}")
    return bool(rows[0][0] is None)


async def _insert(
    db: aiosqlite.Connection,
    article_id: int,
    targets: Sequence[tuple[int, int, int, str]],
    stamp: int,
) -> int:
    cursor = await db.executemany(
        _INSERT + "ON CONFLICT (subscription_id, article_id) DO NOTHING",
        [(sub, article_id, guild, channel, nonce, stamp) for sub, guild, channel, nonce in targets],
    )
    # executemany sums the rows each statement changed.
    return max(0, cursor.rowcount)


__all__ = [
    "FAILED",
    "PENDING",
    "SENT",
    "SKIPPED",
    "Delivery",
    "DeliveryQueries",
    "Notice",
    "WorkItem",
]
