"""Test posts handed to the leader (``/newsadmin test`` on a process that does not send).

The process that handled the command adds a request and waits for its result; the
leader claims waiting requests (one ``UPDATE ... RETURNING``, so each is claimed once
even with two claimers at a time: PostgreSQL's second ``UPDATE`` waits for the first
and then sees the row claimed), posts each and writes the answer. A request still
waiting at its ``expires_at`` is never claimed; its waiter withdraws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.codec import from_us, opt_dt, to_us
from bot.store.database import Engine, Row, fetch_all, fetch_one, from_row

#: Requests whose expiry is this far past are deleted at the next claim (the leftovers
#: of a waiter that died).
STALE = timedelta(hours=1)

_COLUMNS = "id, guild_id, channel_id, created_at, expires_at, claimed_at, result, done_at"


@dataclass(frozen=True, slots=True)
class TestRequest:
    """One test post asked of the leader: waiting (``claimed_at`` None), being sent,
    or done (``result``: what the moderator is shown)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    id: int
    guild_id: int
    channel_id: int
    created_at: datetime
    expires_at: datetime
    claimed_at: datetime | None
    result: str | None
    done_at: datetime | None


def _request(row: Row) -> TestRequest:
    return from_row(
        TestRequest,
        row,
        created_at=from_us(row["created_at"]),
        expires_at=from_us(row["expires_at"]),
        claimed_at=opt_dt(row["claimed_at"]),
        done_at=opt_dt(row["done_at"]),
    )


class TestRequestQueries:
    """The ``test_requests`` table."""

    __test__ = False

    def __init__(self, database: Engine) -> None:
        """Read and write ``database``."""
        self._database = database

    async def add_test_request(
        self, guild_id: int, channel_id: int, now: datetime, expires_at: datetime
    ) -> int:
        """Ask for a test post in a channel, to be claimed before ``expires_at``;
        returns the request's id."""
        async with self._database.transaction() as db:
            row = await fetch_one(
                db,
                """
                INSERT INTO test_requests (guild_id, channel_id, created_at, expires_at)
                VALUES (:guild_id, :channel_id, :now, :expires_at)
                RETURNING id
                """,
                {
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                    "now": to_us(now),
                    "expires_at": to_us(expires_at),
                },
            )
        assert row is not None
        return int(row["id"])

    async def claim_test_requests(self, now: datetime) -> list[TestRequest]:
        """Take every waiting request not expired by ``now``, oldest first: each is
        returned to one caller only. Also deletes requests long expired."""
        async with self._database.transaction() as db:
            await db.execute(
                "DELETE FROM test_requests WHERE expires_at <= :stale",
                {"stale": to_us(now - STALE)},
            )
            rows = await fetch_all(
                db,
                f"""
                UPDATE test_requests SET claimed_at = :now
                WHERE claimed_at IS NULL AND expires_at > :now
                RETURNING {_COLUMNS}
                """,
                {"now": to_us(now)},
            )
        return sorted((_request(row) for row in rows), key=lambda r: r.id)

    async def finish_test_request(self, request_id: int, result: str, now: datetime) -> None:
        """Record what a claimed request's post came to."""
        async with self._database.transaction() as db:
            await db.execute(
                "UPDATE test_requests SET result = :result, done_at = :now WHERE id = :id",
                {"id": request_id, "result": result, "now": to_us(now)},
            )

    async def test_request(self, request_id: int) -> TestRequest | None:
        """A request as it stands, if it is still kept."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db, f"SELECT {_COLUMNS} FROM test_requests WHERE id = :id", {"id": request_id}
            )
        return _request(row) if row is not None else None

    async def withdraw_test_request(self, request_id: int) -> bool:
        """Delete a request, unless the leader claimed it and has not finished it
        (then False: its post is on its way). Its waiter calls this when it gives up
        waiting, or once it has read the result."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                DELETE FROM test_requests
                WHERE id = :id AND (claimed_at IS NULL OR done_at IS NOT NULL)
                """,
                {"id": request_id},
            )
        return cursor.rowcount == 1
