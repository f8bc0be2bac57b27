"""Publishing what this process's cache knows of its servers, for the leader.

With many processes on one PostgreSQL database (:mod:`bot.leader`), each serves the
gateway of its own shards, so its cache holds only its own servers; the leader
posts in all of them. For every server it serves that has a subscription, a process
publishes into the database what the leader needs before posting there
(:mod:`bot.store.facts`): per subscribed channel, :func:`~bot.delivery.channels.resolve`'s
answer (:class:`~bot.delivery.channels.ChannelFacts`), and the channels
:func:`~bot.delivery.channels.notice_channels` would pick for a notice. They are the
same functions the leader runs on its own servers, so the rules live in one place.

A server is published again when its facts may have changed (:meth:`ServerFacts.touch`:
the gateway's events, a moderator's command), all such servers together
:data:`DELAY` seconds after the first one, and the rows that did not change are
left alone. Before work for a server is handed to the leader (a backfill, a test
post), it is published at once (:meth:`ServerFacts.publish`).

On SQLite one process serves every server: nothing is published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import discord

from bot.delivery.channels import NOTICE_LIMIT, channel_facts, notice_channels
from bot.store import DatabaseLost, Store

log = logging.getLogger(__name__)

#: Servers touched within this many seconds of each other are published together.
DELAY = 1.0

#: A server's facts as last published by this process: channel id: facts, and the
#: notice channels.
Published = tuple[dict[int, str], list[int]]


def utcnow() -> datetime:
    """The current time, aware (UTC)."""
    return datetime.now(UTC)


class ServerFacts:
    """Publishes the facts of the servers in ``client``'s cache that have
    subscriptions; :meth:`close` on shutdown."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        delay: float = DELAY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.store = store
        self.delay = delay
        self._now = clock
        self._dirty: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._published: dict[int, Published] = {}

    def touch(self, guild_ids: Iterable[int]) -> None:
        """These servers' facts may have changed: publish them soon."""
        self._dirty.update(guild_ids)
        if self._dirty and self._task is None:
            self._task = asyncio.create_task(self._publish_later(), name="server facts")

    def forget(self, guild_id: int) -> None:
        """The bot left the server (its stored facts go with its setup)."""
        self._published.pop(guild_id, None)
        self._dirty.discard(guild_id)

    async def close(self) -> None:
        """Stop publishing (what was touched and not yet published is dropped)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def publish(self, guild_id: int) -> bool:
        """Publish the server's facts now, if this process serves it; returns whether
        the stored facts changed."""
        async with self._lock:
            guild = self.client.get_guild(guild_id)
            if guild is None or guild.me is None:
                return False  # not served here: its own process publishes it
            channels: dict[int, str] = {}
            for subscription in await self.store.subscriptions(guild_id):
                roles = [f.mention_role_id for f in subscription.filters if f.mention_role_id]
                facts = channel_facts(self.client, guild_id, subscription.channel_id, roles)
                if facts is not None:
                    channels[subscription.channel_id] = facts.to_json()
            settings = await self.store.guild_settings(guild_id)
            # One more than offered: the leader leaves out the channel it has to avoid.
            notices = notice_channels(
                self.client, guild_id, 0, settings.notices_channel_id, NOTICE_LIMIT + 1
            )
            published = (channels, notices)
            if self._published.get(guild_id) == published:
                return False
            changed = await self.store.publish_facts(guild_id, channels, notices, self._now())
            self._published[guild_id] = published
            if changed:
                log.debug("published the facts of guild %d (%d channels)", guild_id, len(channels))
            return changed

    async def _publish_later(self) -> None:
        try:
            while self._dirty:
                await asyncio.sleep(self.delay)
                dirty, self._dirty = self._dirty, set()
                failed: dict[int, Exception] = {}
                try:
                    # Only servers with subscriptions, and those that had some (their
                    # facts are forgotten).
                    wanted = await self.store.subscribed_guilds() | self._published.keys()
                    for guild_id in sorted(dirty & wanted):
                        try:
                            await self.publish(guild_id)
                        except DatabaseLost:
                            raise
                        except Exception as exc:
                            failed[guild_id] = exc
                except DatabaseLost:
                    return
                except Exception as exc:
                    failed = dict.fromkeys(dirty, exc)
                if failed:
                    log.warning(
                        "could not publish the facts of %d servers (%r); trying again",
                        len(failed),
                        next(iter(failed.values())),
                    )
                    self._dirty |= failed.keys()  # after the delay
        finally:
            if self._task is asyncio.current_task():
                self._task = None
