"""What the process serving a server's gateway publishes about it for the leader.

With many processes (:mod:`bot.leader`) the leader posts in servers it does not serve:
its cache knows nothing of their channels. The process that serves a server keeps,
here, per subscribed channel the facts :func:`bot.delivery.channels.resolve` computed
from its cache (JSON text; :class:`bot.delivery.channels.ChannelFacts` reads and
writes it) and per server the channels where notices would go. The store only keeps
the text: what it says is the delivery's business.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from bot.store.codec import to_us
from bot.store.database import Engine, fetch_all, fetch_one, json_list


class FactQueries:
    """The ``channel_facts`` and ``guild_facts`` tables."""

    def __init__(self, database: Engine) -> None:
        """Read and write ``database``."""
        self._database = database

    async def publish_facts(
        self,
        guild_id: int,
        channels: Mapping[int, str],
        notice_channels: Sequence[int],
        now: datetime,
    ) -> bool:
        """Make the server's facts ``channels`` (channel id: facts) and
        ``notice_channels``, changing only the rows that differ (and forgetting the
        channels not given; no channels: the server's facts are forgotten). Returns
        whether anything changed."""
        params = {"guild_id": guild_id, "now": to_us(now)}
        changed = 0
        async with self._database.transaction() as db:
            kept = await fetch_all(
                db, "SELECT channel_id FROM channel_facts WHERE guild_id = :guild_id", params
            )
            for row in kept:
                if row["channel_id"] not in channels:
                    cursor = await db.execute(
                        "DELETE FROM channel_facts WHERE channel_id = :channel_id",
                        {"channel_id": row["channel_id"]},
                    )
                    changed += cursor.rowcount
            for channel_id, facts in channels.items():
                cursor = await db.execute(
                    """
                    INSERT INTO channel_facts (channel_id, guild_id, facts, updated_at)
                    VALUES (:channel_id, :guild_id, :facts, :now)
                    ON CONFLICT (channel_id) DO UPDATE SET
                        facts = excluded.facts, updated_at = excluded.updated_at
                    WHERE channel_facts.facts <> excluded.facts
                    """,
                    params | {"channel_id": channel_id, "facts": facts},
                )
                changed += cursor.rowcount
            if channels:
                cursor = await db.execute(
                    """
                    INSERT INTO guild_facts (guild_id, notice_channels, updated_at)
                    VALUES (:guild_id, :notices, :now)
                    ON CONFLICT (guild_id) DO UPDATE SET
                        notice_channels = excluded.notice_channels,
                        updated_at = excluded.updated_at
                    WHERE guild_facts.notice_channels <> excluded.notice_channels
                    """,
                    params | {"notices": json_list(notice_channels)},
                )
            else:
                cursor = await db.execute(
                    "DELETE FROM guild_facts WHERE guild_id = :guild_id", params
                )
            changed += cursor.rowcount
        return changed > 0

    async def channel_facts(self, channel_ids: Collection[int]) -> dict[int, str]:
        """The published facts of those of ``channel_ids`` that have some, by channel."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                "SELECT channel_id, facts FROM channel_facts "
                "WHERE channel_id IN (SELECT value FROM json_each(:ids))",
                {"ids": json_list(channel_ids)},
            )
        return {row["channel_id"]: row["facts"] for row in rows}

    async def notice_facts(self, guild_id: int) -> list[int] | None:
        """Where the server's notices would go, as published (best first); ``None``
        when nothing is published for it."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db,
                "SELECT notice_channels FROM guild_facts WHERE guild_id = :guild_id",
                {"guild_id": guild_id},
            )
        return None if row is None else [int(c) for c in json.loads(row["notice_channels"])]

    async def subscribed_guilds(self) -> set[int]:
        """Every server with a subscription (active or paused): those whose facts are
        published."""
        async with self._database.reading() as db:
            rows = await fetch_all(db, "SELECT DISTINCT guild_id FROM subscriptions")
        return {row["guild_id"] for row in rows}
