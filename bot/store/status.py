"""How the whole bot is doing, as the database tells it: for ``newsbot status``, the
metrics' outbox gauges and the health check. Every query reads the whole database
(all servers) and is small: counts, and the few newest rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.codec import from_us, opt_dt
from bot.store.database import Engine, fetch_all, fetch_one, fetch_value, from_row
from bot.store.models import AnnouncementKind


@dataclass(frozen=True, slots=True)
class Outbox:
    """Posts still to make: ``pending`` for active channels (the oldest queued at
    ``oldest_pending_at``), ``held`` for paused ones; ``failed`` for good."""

    pending: int
    oldest_pending_at: datetime | None
    held: int
    failed: int


@dataclass(frozen=True, slots=True)
class RecentAnnouncement:
    """One announcement and how far its article's posts got."""

    id: int
    kind: AnnouncementKind
    created_at: datetime
    done_at: datetime | None
    article_key: str
    title: str
    channels_reached: int  # posts Discord confirmed
    channels_waiting: int  # posts still pending


@dataclass(frozen=True, slots=True)
class PausedSubscription:
    """A subscription that is not being delivered to, and why."""

    guild_id: int
    channel_id: int
    reason: str
    paused_at: datetime


class StatusQueries:
    """Whole-database summaries (no guild id: these are the operator's, not a server's)."""

    def __init__(self, database: Engine) -> None:
        """Read ``database``."""
        self._database = database

    async def ping(self) -> None:
        """One trivial query: returns once the database answers (raises if it cannot)."""
        async with self._database.reading() as db:
            await fetch_value(db, "SELECT 1")

    async def outbox(self, *, with_failed: bool = True) -> Outbox:
        """The outbox's pending and held posts (through the index of rows with work
        due) and, unless ``with_failed`` is false, the failed ones (a full count)."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db,
                """
                SELECT count(*) FILTER (WHERE s.paused_at IS NULL) AS pending,
                       min(d.created_at) FILTER (WHERE s.paused_at IS NULL)
                           AS oldest_pending_at,
                       count(*) FILTER (WHERE s.paused_at IS NOT NULL) AS held
                FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                WHERE d.due_at IS NOT NULL AND d.state = 'pending'
                """,
            )
            failed = 0
            if with_failed:
                failed = await fetch_value(
                    db, "SELECT count(*) FROM deliveries WHERE state = 'failed'"
                )
        assert row is not None
        return from_row(
            Outbox, row, oldest_pending_at=opt_dt(row["oldest_pending_at"]), failed=int(failed)
        )

    async def article_counts(self) -> dict[str, int]:
        """How many articles are in each status."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db, "SELECT status, count(*) AS n FROM articles GROUP BY status ORDER BY status"
            )
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def recent_announcements(self, limit: int = 10) -> list[RecentAnnouncement]:
        """The newest ``limit`` announcements, newest first."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                """
                SELECT n.id, n.kind, n.created_at, n.done_at, a.key AS article_key, a.title,
                       (SELECT count(*) FROM deliveries d
                        WHERE d.article_id = n.article_id AND d.state = 'sent')
                           AS channels_reached,
                       (SELECT count(*) FROM deliveries d
                        WHERE d.article_id = n.article_id AND d.state = 'pending')
                           AS channels_waiting
                FROM announcements n JOIN articles a ON a.id = n.article_id
                ORDER BY n.id DESC
                LIMIT :limit
                """,
                {"limit": limit},
            )
        return [
            from_row(
                RecentAnnouncement,
                row,
                kind=AnnouncementKind(row["kind"]),
                created_at=from_us(row["created_at"]),
                done_at=opt_dt(row["done_at"]),
            )
            for row in rows
        ]

    async def paused_subscriptions(self) -> list[PausedSubscription]:
        """Every paused subscription, by server then channel."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                """
                SELECT guild_id, channel_id, paused_reason AS reason, paused_at
                FROM subscriptions
                WHERE paused_at IS NOT NULL
                ORDER BY guild_id, channel_id
                """,
            )
        return [
            from_row(PausedSubscription, row, paused_at=from_us(row["paused_at"])) for row in rows
        ]
