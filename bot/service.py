"""The long-running service: sources feeding the store, and announcements going out.

``newsbot run --dry-run`` uses :class:`DryRunAnnouncer`, which prints each post instead
of sending it; the Discord client plugs its own announcer into the same pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TextIO

import aiohttp

from bot import __version__
from bot.config import Settings
from bot.sources.content import ContentSource
from bot.sources.feeds import FeedSource
from bot.sources.http import PollPolicy
from bot.store import Announcement, Store
from bot.summary import render_text

log = logging.getLogger(__name__)

# Scheduled publish and expiry times are re-checked at the next known transition, and at
# least this often in case the clock jumped.
RECHECK_SECONDS = 60.0
# Announcements are also looked for this often, in case a wake-up was missed.
ANNOUNCE_POLL_SECONDS = 1.0


class Pipeline:
    """Sources (content folder, feeds) and the publish-time re-check, all feeding the store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.content: ContentSource | None = None
        content_dir = settings.effective_content_dir
        if content_dir is not None:
            self.content = ContentSource(
                store,
                content_dir,
                site_url=settings.site_url,
                tz=settings.tz,
                max_bytes=settings.max_file_bytes,
                on_announce=self.wake.set,
            )
        policy = PollPolicy(
            interval=settings.feed_interval,
            timeout=settings.feed_timeout,
            max_bytes=settings.feed_max_bytes,
            user_agent=f"newsbot/{__version__} (Discord news bot; feed reader)",
        )
        self.feeds = [
            FeedSource(store, url, policy=policy, tz=settings.tz, on_announce=self.wake.set)
            for url in settings.feeds
        ]

    def start(self) -> None:
        """Start every source as a background task."""
        if self.content is not None:
            self._spawn(self.content.watch(self.stop), "content")
        if self.feeds:
            self._session = aiohttp.ClientSession()
            for feed in self.feeds:
                self._spawn(feed.run(self._session, self.stop), f"feed {feed.url}")
        self._spawn(self._recheck_loop(), "publish re-check")

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped unexpectedly", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _recheck_loop(self) -> None:
        while not self.stop.is_set():
            results = await self.store.refresh_statuses(datetime.now(UTC))
            if any(result.announced for result in results):
                self.wake.set()
            due = await self.store.next_transition_at()
            delay = RECHECK_SECONDS
            if due is not None:
                delay = min(delay, max(0.0, (due - datetime.now(UTC)).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay + 0.01)

    async def close(self) -> None:
        """Stop the sources and wait for them; safe to call twice."""
        self.stop.set()
        for task in self._tasks:
            if task.get_name() != "content":
                task.cancel()
        # The watcher ends on the stop event, so a scan batch is never cut half-way.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None


Deliver = Callable[[Announcement], Awaitable[None]]


async def announce_loop(
    store: Store, wake: asyncio.Event, stop: asyncio.Event, deliver: Deliver
) -> None:
    """Work through pending announcements oldest first; each is completed after delivery."""
    while not stop.is_set():
        wake.clear()
        for announcement in await store.pending_announcements():
            await deliver(announcement)
            await store.complete_announcement(announcement.id, datetime.now(UTC))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=ANNOUNCE_POLL_SECONDS)


class DryRunAnnouncer:
    """Prints each post the bot would send (``--dry-run``)."""

    def __init__(self, out: TextIO = sys.stdout, *, as_json: bool = False) -> None:
        self.out = out
        self.as_json = as_json

    async def __call__(self, announcement: Announcement) -> None:
        article = announcement.article
        if self.as_json:
            line = {
                "kind": announcement.kind,
                "article_id": article.key,
                "message": article.message,
            }
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            verb = "NEW POST" if announcement.kind == "published" else "EDIT (article updated)"
            self.out.write(f"\n=== {verb}: {article.key}\n{render_text(article.message)}\n")
        self.out.flush()


async def run_dry(settings: Settings, *, out: TextIO = sys.stdout) -> None:
    """The whole pipeline with printed posts, until SIGINT/SIGTERM."""
    store = await Store.open(settings.database)
    pipeline = Pipeline(settings, store)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop.set)
    if settings.uses_samples:
        log.info(
            "no sources configured: watching the bundled samples in %s "
            "(drop a new .md file there to see its post)",
            settings.effective_content_dir,
        )
    log.info("dry run: posts are printed, not sent; database %s", settings.database)
    try:
        pipeline.start()
        announcer = asyncio.create_task(
            announce_loop(store, pipeline.wake, pipeline.stop, DryRunAnnouncer(out))
        )
        await pipeline.stop.wait()
        log.info("stopping")
        announcer.cancel()
        await asyncio.gather(announcer, return_exceptions=True)
        await pipeline.close()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await store.close()


def run_service(settings: Settings, *, dry_run: bool) -> int:
    """``newsbot run``: returns the process exit code."""
    if dry_run:
        asyncio.run(run_dry(settings))
        return 0
    if settings.discord_token is None:
        print(
            "newsbot: DISCORD_TOKEN is not set. Put it in .env or the environment, "
            "or use `newsbot run --dry-run` to print posts without Discord.",
            file=sys.stderr,
        )
        return 2
    from bot.client import run_bot

    return asyncio.run(run_bot(settings))
