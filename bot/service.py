"""The long-running service: sources feeding the store, and announcements going out.

``newsbot run --dry-run`` uses :class:`DryRunAnnouncer`, which prints each post instead
of sending it; the Discord client (``bot.client``, which builds on this module and not
the other way round) plugs its own announcer into the same pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import aiohttp

from bot import __version__
from bot.articles.site import Site
from bot.config import Settings, env_name
from bot.hooks import FETCH, REFRESH, Ask, Asked, hook_routes
from bot.monitor import Monitor
from bot.prepare import HASH_COVERS
from bot.sources.content import ContentSource
from bot.sources.events import wait_any
from bot.sources.feeds import FeedSource
from bot.sources.git import GitSource, clone_path
from bot.sources.http import PollPolicy
from bot.sources.live import LiveGate
from bot.sources.site import load_site
from bot.store import Announcement, DatabaseLost, SourceKind, Store, StoreError
from bot.summary import render_text
from bot.web import HttpListener, ListenerError

if TYPE_CHECKING:
    import discord

log = logging.getLogger(__name__)

# Scheduled publish and expiry times are re-checked at the next known transition, and at
# least this often in case the clock jumped.
RECHECK_SECONDS = 60.0
# Announcements are also looked for this often, in case a wake-up was missed.
ANNOUNCE_POLL_SECONDS = 1.0
ANNOUNCE_BATCH = 100
# After a failed database call of the re-check, try again this much later.
RETRY_SECONDS = 5.0
# How long closing waits for the content watcher to finish its batch before cancelling.
CLOSE_SECONDS = 10.0

#: The settings that shape the post of an article read from a content folder. When one
#: changes, the stored articles are read again at start and their posts re-rendered
#: (nothing announced again). A new setting that shapes posts joins by being named here.
POST_SETTINGS = ("site_url", "timezone", "takeaways_headings")
#: The entry of :func:`post_settings` for the site's own Hugo configuration.
SITE_CONFIG = "site config"
#: The entry of :func:`post_settings` for what an article's hash covers
#: (:data:`bot.prepare.HASH_COVERS`).
ARTICLE_HASH = "article hash"


def post_settings(settings: Settings, site: Site | None = None) -> dict[str, str | None]:
    """The values of :data:`POST_SETTINGS`, as text, by environment variable (the
    settings as the site's config completed them), the fingerprint of the ``site``
    the articles are read in (its permalinks, languages, name...) as ``site config``,
    and what an article's hash covers as ``article hash``."""
    values = {name: getattr(settings, name) for name in POST_SETTINGS}
    shown = {
        env_name(name): None if v is None else ", ".join(v) if isinstance(v, tuple) else str(v)
        for name, v in values.items()
    }
    return {**shown, SITE_CONFIG: (site or Site()).fingerprint(), ARTICLE_HASH: HASH_COVERS}


class Pipeline:
    """Sources (content folder, git repository, feeds) and the publish-time re-check, all
    feeding the store."""

    def __init__(
        self, settings: Settings, store: Store, *, policy: PollPolicy | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        # Set by the sources whenever they changed an article: a scheduled one may have
        # appeared, so the re-check must look at the next transition again.
        self.recheck = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        user_agent = f"newsbot/{__version__} (Discord news bot; feed reader)"
        # Holds new articles back until their page answers (NEWSBOT_WAIT_LIVE).
        self.live = LiveGate(settings.wait_live, self.wake.set, user_agent=user_agent)
        self.content: ContentSource | None = None
        content_dir = settings.effective_content_dir
        if content_dir is not None:
            # The site root, holding the Hugo configuration, is the folder's parent.
            self.content = self.content_source(content_dir, content_dir.resolve().parent)
        self.git: GitSource | None = None
        if settings.git_url is not None:
            self.git = GitSource(
                store,
                settings.git_url,
                clone_dir=clone_path(settings.local_data, settings.git_url),
                branch=settings.git_branch,
                interval=settings.git_interval,
                content_source=self.content_source,
            )
        if policy is None:
            policy = PollPolicy(
                interval=settings.feed_interval,
                timeout=settings.feed_timeout,
                max_bytes=settings.feed_max_bytes,
                user_agent=user_agent,
            )
        self.feeds = [
            FeedSource(
                store,
                url,
                policy=policy,
                tz=settings.tz,
                on_announce=self.wake.set,
                on_change=self.recheck.set,
                headings=settings.headings,
            )
            for url in settings.feeds
        ]

    def content_source(self, content_dir: Path, site_root: Path) -> ContentSource:
        """The source of ``content_dir`` (a configured folder, or a git checkout's),
        its articles shaped by the Hugo configuration at ``site_root``: its URL, time
        zone, name, permalinks and languages, where the environment sets none. Raises
        :class:`~bot.articles.site.SiteConfigError`."""
        site, settings = load_site(self.settings, site_root, content_dir)
        if settings.site_url is None:
            log.warning(
                "NEWSBOT_SITE_URL is not set (nor a baseURL in the site's config): posts of "
                "%s have no link, and their site-relative images are left out; set it to "
                "the site's public URL (stored posts follow at the next start)",
                content_dir,
            )
        return ContentSource(
            self.store,
            content_dir,
            site_url=settings.site_url,
            site=site,
            headings=settings.headings,
            tz=settings.tz,
            max_bytes=settings.max_file_bytes,
            on_announce=self.wake.set,
            on_change=self.recheck.set,
            post_settings=post_settings(settings, site),
        )

    def watched(self) -> set[tuple[str, str]]:
        """``(kind, locator)`` of every source this pipeline runs, as the store names
        them (the store also remembers sources the operator has since removed)."""
        found = {(SourceKind.FEED.value, feed.url) for feed in self.feeds}
        for content in (self.content, self.git.content if self.git is not None else None):
            if content is not None:
                found.add((SourceKind.CONTENT.value, str(content.root)))
        return found

    def scanned(self) -> bool:
        """Whether every source has finished its first scan (a feed: its first poll;
        a repository: its first checkout read)."""
        if self.content is not None and not self.content.ready.is_set():
            return False
        if self.git is not None and not self.git.ready.is_set():
            return False
        return all(feed.ready.is_set() for feed in self.feeds)

    def listener(
        self,
        client: discord.Client | None = None,
        *,
        scanned: Callable[[], bool] | None = None,
        ask: Ask | None = None,
    ) -> HttpListener | None:
        """The HTTP listener (``NEWSBOT_HTTP_ADDR``; ``None`` when off) with every route:
        health and metrics over this pipeline's store, sources (or ``scanned``, what
        readiness waits for instead) and Discord ``client`` (none in the dry run), and
        the webhooks, which ``ask`` the sources to look (by default: these ones)."""
        if self.settings.http_addr is None:
            return None
        routes = [
            *Monitor(self.store, scanned or self.scanned, client).routes(),
            *hook_routes(self.settings, self.git, self.looks, ask or self.look_here),
        ]
        return HttpListener(self.settings.http_addr, routes)

    def start(self) -> None:
        """Start every source as a background task (again after :meth:`close`: a
        process that leads again)."""
        self.stop.clear()
        if self.content is not None:
            self._spawn(self.content.watch(self.stop), "content")
        if self.git is not None:
            self._spawn(self.git.run(self.stop), "git")
        if self.feeds:
            self._session = aiohttp.ClientSession()
            for feed in self.feeds:
                self._spawn(feed.run(self._session, self.stop), f"feed {feed.url}")
        self._spawn(self._recheck_loop(), "publish re-check")

    def refresh(self) -> None:
        """Look at every source now (``POST /hooks/publish``): what :meth:`looks` names."""
        if self.content is not None:
            self.content.request_scan()
        if self.git is not None:
            self.git.fetch_now()
        for feed in self.feeds:
            feed.poll_now()

    def looks(self) -> list[str]:
        """The sources :meth:`refresh` asks to look, in words."""
        named = []
        if self.content is not None:
            named.append("content folder")
        if self.git is not None:
            named.append("git repository")
        if self.feeds:
            named.append(f"{len(self.feeds)} feeds" if len(self.feeds) > 1 else "1 feed")
        return named

    def look_now(self, what: str) -> None:
        """Have these sources look now: :data:`~bot.hooks.FETCH` the repository, or
        :data:`~bot.hooks.REFRESH` every source (a webhook's work, here or sent by
        another process to this one, the leader)."""
        if what == FETCH:
            if self.git is not None:
                self.git.fetch_now()
        else:
            self.refresh()

    def unfinished_look(self) -> str | None:
        """What of the looks asked of these sources (:meth:`look_now`) is left undone
        when they stop: :data:`~bot.hooks.REFRESH` if a feed's asked poll did not end.
        (Whoever runs the sources next reads the content folder and the repository in
        full as it starts, but polls a feed only when due.)"""
        return REFRESH if any(feed.poll_unfinished for feed in self.feeds) else None

    async def look_here(self, what: str) -> Asked:
        """:meth:`look_now`, for a process that alone runs these sources."""
        self.look_now(what)
        return Asked.HERE

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except DatabaseLost:
                return  # the bot is stopping; its database watch says why, once
            except Exception:
                log.exception("%s stopped unexpectedly", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _recheck_loop(self) -> None:
        while not self.stop.is_set():
            self.recheck.clear()
            delay = RECHECK_SECONDS
            try:
                results = await self.store.refresh_statuses(datetime.now(UTC))
                if any(result.announced for result in results):
                    self.wake.set()
                due = await self.store.next_transition_at()
            except DatabaseLost:
                return  # the bot is stopping; its database watch says why, once
            except Exception:
                # A busy or failing database must not end the re-check: try again later.
                log.exception("could not re-check publish times; retrying")
                due = None
                delay = RETRY_SECONDS
            if due is not None:
                delay = min(delay, max(0.0, (due - datetime.now(UTC)).total_seconds()))
            await wait_any(self.stop, self.recheck, seconds=delay + 0.01)

    async def close(self) -> None:
        """Stop the sources and wait for them; safe to call twice."""
        self.stop.set()
        for task in self._tasks:
            if task.get_name() not in ("content", "git"):
                task.cancel()
        # The content watcher and the git source stop between two batches on the stop
        # event (a cancelled batch would be rolled back whole anyway); cancel them if
        # they take too long.
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=CLOSE_SECONDS)
            for task in late:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.live.close()
        if self._session is not None:
            await self._session.close()
            self._session = None


Deliver = Callable[[Announcement], Awaitable[None]]


async def announce_loop(
    store: Store,
    wake: asyncio.Event,
    stop: asyncio.Event,
    deliver: Deliver,
    gate: LiveGate | None = None,
) -> None:
    """Work through pending announcements oldest first; each is completed after delivery.

    Delivery comes first and completion second, so a crash between the two (even
    ``kill -9``) delivers that one announcement again on restart: at least once, and at
    most one repeat per crash. Once ``stop`` is set, the announcement being delivered
    is finished and completed, and the loop returns. An announcement the ``gate``
    holds back (its page is not live yet) stays pending and is passed over; the gate
    sets ``wake`` when it may go.
    """
    failed: set[int] = set()
    while not stop.is_set():
        wake.clear()
        async with contextlib.aclosing(_each_pending(store)) as pending:
            async for announcement in pending:
                if stop.is_set():
                    return
                if gate is not None and not gate.ready(announcement):
                    continue
                try:
                    await deliver(announcement)
                except Exception:
                    # Keep the order: retry this one (and those after it) after a pause;
                    # one log line per announcement, not one per attempt.
                    if announcement.id not in failed:
                        failed.add(announcement.id)
                        log.exception(
                            "could not deliver announcement %d; will retry", announcement.id
                        )
                    break
                failed.discard(announcement.id)
                await store.complete_announcement(announcement.id, datetime.now(UTC))
                if gate is not None:
                    gate.forget(announcement.id)
                store.metrics.announced(announcement.kind)
        await wait_any(wake, stop, seconds=ANNOUNCE_POLL_SECONDS)


async def _each_pending(store: Store) -> AsyncGenerator[Announcement]:
    """Every pending announcement, oldest first, read a page at a time: however many
    are held back, the newer ones behind them are reached."""
    after = 0
    while True:
        page = await store.pending_announcements(ANNOUNCE_BATCH, after=after)
        for announcement in page:
            yield announcement
        if len(page) < ANNOUNCE_BATCH:
            return
        after = page[-1].id


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


async def until_stopped(store: Store, stop: asyncio.Event) -> DatabaseLost | None:
    """Wait until ``stop`` is set, or the database is lost under the running service
    (then ``stop`` is set too and the loss returned)."""
    watch = asyncio.ensure_future(store.wait_lost())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({watch, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        stopping.cancel()
        await asyncio.gather(watch, stopping, return_exceptions=True)
    if watch.cancelled() or watch.exception() is not None:
        return None
    stop.set()
    return watch.result()


async def run_dry(settings: Settings, *, out: TextIO = sys.stdout) -> int:
    """The whole pipeline with printed posts, until SIGINT/SIGTERM; returns the exit
    code (1: the database cannot be used, or was deleted or replaced under it)."""
    try:
        store = await Store.open(settings.database)
    except (StoreError, sqlite3.Error) as exc:
        log.error("cannot use the database %s: %s", settings.database_shown, exc)
        return 1
    try:
        pipeline = Pipeline(settings, store)
    except BaseException:
        await store.close()
        raise
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop.set)
    if settings.uses_samples:
        log.info(
            "no sources configured: watching the bundled samples in %s "
            "(drop a new .md file there to see its post)",
            settings.effective_content_dir,
        )
    log.info("dry run: posts are printed, not sent; database %s", settings.database_shown)
    lost: DatabaseLost | None = None
    listener = pipeline.listener()
    try:
        if listener is not None:
            try:
                await listener.start()
            except ListenerError as exc:
                log.error("%s", exc)
                return 1
        pipeline.start()
        announcer = asyncio.create_task(
            announce_loop(store, pipeline.wake, pipeline.stop, DryRunAnnouncer(out), pipeline.live)
        )
        lost = await until_stopped(store, pipeline.stop)
        if lost is not None:
            log.error("%s", lost)
        log.info("stopping")
        # The announcer finishes the post in hand (printed and completed), then returns.
        _, late = await asyncio.wait({announcer}, timeout=CLOSE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(announcer, return_exceptions=True)
        await pipeline.close()
    finally:
        if listener is not None:
            await listener.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await store.close()
    return 0 if lost is None else 1
