"""``NEWSBOT_WAIT_LIVE``: a new article is announced once its page answers.

A site that builds and deploys after a push serves a 404 for a while after the file
lands. The :class:`LiveGate` holds a newly published article's announcement back
until its URL answers 2xx, checking 1 s, 2 s, 3 s ... (at most 15 s) apart, so the
post follows the page within seconds. When the wait runs out (counted from the
announcement's creation, which the store keeps) the article is announced anyway,
with a warning: never lost. Updates and withdrawn articles are never held back.

The gate keeps nothing of its own: a held announcement simply stays pending in the
store, so after a restart it is held (or, its time being up, announced) again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from bot.store import Announcement, AnnouncementKind, ArticleStatus

log = logging.getLogger(__name__)

#: The check intervals grow by this much each time, up to :data:`MAX_INTERVAL`.
STEP = 1.0
MAX_INTERVAL = 15.0
#: One check may take this long (a hanging server counts as "not live yet").
CHECK_TIMEOUT = 10.0


class LiveGate:
    """Decides, for each pending announcement, whether it may go out now."""

    def __init__(
        self,
        wait: float,
        on_ready: Callable[[], None],
        *,
        user_agent: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Hold new articles for up to ``wait`` seconds; call ``on_ready`` when one may go."""
        self.wait = wait
        self.on_ready = on_ready
        self.user_agent = user_agent
        self.now = now
        self._watches: dict[int, asyncio.Task[None]] = {}
        self._ready: set[int] = set()
        self._session: aiohttp.ClientSession | None = None

    def ready(self, announcement: Announcement) -> bool:
        """True when ``announcement`` may be delivered now; otherwise its page is being
        watched and ``on_ready`` is called once it may."""
        article = announcement.article
        if (
            self.wait <= 0
            or announcement.kind != AnnouncementKind.PUBLISHED
            or article.status != ArticleStatus.PUBLISHED  # withdrawn: nothing to wait for
            or not article.url
            or not article.url.startswith(("http://", "https://"))
            or announcement.id in self._ready
        ):
            return True
        if announcement.id not in self._watches:
            log.info("%s: waiting up to %g s for the page to answer", article.url, self.wait)
            self._watches[announcement.id] = asyncio.create_task(
                self._watch(announcement), name=f"wait live {article.url}"
            )
        return False

    def forget(self, announcement_id: int) -> None:
        """The announcement is delivered: drop what the gate knew of it, and stop
        watching its page if it went out without waiting (withdrawn meanwhile)."""
        self._ready.discard(announcement_id)
        watch = self._watches.pop(announcement_id, None)
        if watch is not None:
            watch.cancel()

    async def _watch(self, announcement: Announcement) -> None:
        url = announcement.article.url
        assert url is not None
        deadline = announcement.created_at.timestamp() + self.wait
        interval = STEP
        checks = 0
        try:
            while True:
                checks += 1
                status = await self._check(url)
                if status is not None and 200 <= status < 300:
                    log.info("%s is live (check %d): announcing it", url, checks)
                    break
                remaining = deadline - self.now().timestamp()
                if remaining <= 0:
                    log.warning(
                        "%s is still not live after %g s (last answer: %s): announcing it anyway",
                        url,
                        self.wait,
                        status if status is not None else "no answer",
                    )
                    break
                await asyncio.sleep(min(interval, remaining))
                interval = min(interval + STEP, MAX_INTERVAL)
        except Exception:
            # A surprise must never lose the post: announce it.
            log.exception("checking whether %s is live failed; announcing it", url)
        finally:
            self._watches.pop(announcement.id, None)
        self._ready.add(announcement.id)
        self.on_ready()

    async def _check(self, url: str) -> int | None:
        """The page's HTTP status (redirects followed), or ``None`` when it gave none."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.get(
                url,
                headers={"User-Agent": self.user_agent, "Cache-Control": "no-cache"},
                timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT),
                max_redirects=5,
            ) as resp:
                return resp.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.debug("%s: no answer yet (%s)", url, exc)
            return None

    async def close(self) -> None:
        """Stop watching (what was held stays pending in the store) and close."""
        tasks = list(self._watches.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watches.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
