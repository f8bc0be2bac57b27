"""Takeaways from the page: for feed entries that carry none in their content.

Hugo's built-in RSS template sends only each page's summary, so the bot reads an
entry's takeaways from the entry's own page, with these bounds:

* only pages on the feed's own host (the feed's URL or where it redirected to), over
  http(s), answering an HTML media type;
* one conditional GET per version of the entry: what a page gave is kept in the store
  (``meta``) with the entry's fingerprint, its ``ETag`` and ``Last-Modified``, so the
  page is fetched again only when the entry changes, and then conditionally; a page
  that cannot be fetched is tried on :data:`ATTEMPTS` polls at most;
* at most :data:`PAGE_MAX_BYTES` and :data:`PAGE_TIMEOUT` seconds per page,
  :data:`CONCURRENCY` pages at a time and :data:`MAX_PAGES_PER_POLL` per poll (the
  feed's order first, so new entries, usually at its top, are read before they are
  announced).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Final
from urllib.parse import urlsplit

import aiohttp

from bot.articles.model import ArticleError
from bot.articles.page import page_takeaways
from bot.articles.text import Headings
from bot.prepare import Prepared, hash_changed, prepare
from bot.sources.http import FeedState, PollPolicy, fetch_feed
from bot.store import Store

log = logging.getLogger(__name__)

PAGE_MAX_BYTES: Final = 2_000_000
PAGE_TIMEOUT: Final = 10.0
CONCURRENCY: Final = 4
#: Pages fetched per poll at most: Hugo's RSS lists every page of a site by default, so
#: a first poll may hold thousands of entries; the rest are read on later polls.
MAX_PAGES_PER_POLL: Final = 20
ATTEMPTS: Final = 3
_HTML_ACCEPT: Final = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_HTML_TYPES: Final = ("text/html", "application/xhtml+xml")


@dataclasses.dataclass(frozen=True, slots=True)
class _Known:
    """What the store keeps of one page."""

    entry: str  # the fingerprint of the entry (as read from the feed) it was read for
    takeaways: tuple[str, ...]
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0

    def dumps(self) -> str:
        data = dataclasses.asdict(self)
        data["takeaways"] = list(self.takeaways)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> _Known | None:
        try:
            data = json.loads(text)
            return cls(**{**data, "takeaways": tuple(data["takeaways"])})
        except (ValueError, TypeError, KeyError):
            return None  # written by another version: read the page again


def _host(url: str) -> str | None:
    """The host of an http(s) URL (lower case), else ``None``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.hostname if parts.scheme in ("http", "https") else None


class PageReader:
    """Fills in the takeaways of one feed's entries from their pages."""

    def __init__(self, store: Store, feed_url: str, policy: PollPolicy, headings: Headings) -> None:
        """Read pages for the feed at ``feed_url`` with ``policy``'s user agent."""
        self.store = store
        self.feed_url = feed_url
        self.headings = headings
        self.policy = dataclasses.replace(
            policy,
            accept=_HTML_ACCEPT,
            max_bytes=PAGE_MAX_BYTES,
            timeout=min(policy.timeout, PAGE_TIMEOUT),
        )
        self._known: dict[str, _Known] = {}

    async def fill(
        self, session: aiohttp.ClientSession, items: list[Prepared], final_url: str
    ) -> list[Prepared]:
        """``items`` with the takeaways of the pages of those that have none."""
        hosts = {h for h in (_host(self.feed_url), _host(final_url)) if h is not None}
        found: dict[str, tuple[str, ...]] = {}
        due: list[tuple[str, str, _Known | None]] = []
        for item in items:  # in the feed's order: its newest entries usually come first
            url = item.article.url
            if item.article.takeaways or url is None or url in found or _host(url) not in hosts:
                continue
            known = await self._recall(url)
            if (
                known is not None
                and not hash_changed(known.entry, item.article_hash)
                and known.failures
                in (
                    0,
                    ATTEMPTS,
                )
            ):
                found[url] = known.takeaways  # read for this version of the entry already
            elif len(due) < MAX_PAGES_PER_POLL:
                due.append((url, item.article_hash, known))
                found[url] = ()
            elif known is not None:
                found[url] = known.takeaways  # until its turn comes, what it gave before
        limit = asyncio.Semaphore(CONCURRENCY)

        async def fetch(url: str, entry: str, known: _Known | None) -> None:
            async with limit:
                found[url] = await self._fetch(session, url, entry, known)

        await asyncio.gather(*(fetch(*args) for args in due))
        # Entries that left the feed are not asked about again (the store keeps them).
        current = {item.article.url for item in items}
        self._known = {url: known for url, known in self._known.items() if url in current}
        return [
            prepare(dataclasses.replace(item.article, takeaways=takeaways, lede=None))
            if item.article.url is not None and (takeaways := found.get(item.article.url))
            else item
            for item in items
        ]

    async def _recall(self, url: str) -> _Known | None:
        """What was read of the page before, in this process or (kept in the store) an
        earlier one."""
        known = self._known.get(url)
        if known is None and (text := await self.store.get_meta(f"page {url}")) is not None:
            known = _Known.loads(text)
            if known is not None:
                self._known[url] = known
        return known

    async def _fetch(
        self, session: aiohttp.ClientSession, url: str, entry: str, known: _Known | None
    ) -> tuple[str, ...]:
        """Read the page of ``url`` (conditionally, when it was read before) for this
        version of the entry, keep what it gave, and return its takeaways."""
        if known is not None and known.entry != entry:
            known = dataclasses.replace(known, entry=entry, failures=0)
        state = FeedState(
            etag=known.etag if known else None,
            last_modified=known.last_modified if known else None,
        )
        result = await fetch_feed(session, url, state, self.policy)
        previous = known.takeaways if known else ()
        if result.status == "not_modified" and known is not None:
            found = dataclasses.replace(known, failures=0)
        elif result.status == "ok" and result.body is not None and _is_html(result.content_type):
            try:
                takeaways = await asyncio.to_thread(
                    page_takeaways,
                    result.body,
                    page_url=result.final_url,
                    content_type=result.content_type,
                    headings=self.headings,
                )
            except ArticleError as exc:  # read, and refused: not tried again as it is
                log.info("feed %s: the page %s is not read: %s", self.feed_url, url, exc)
                takeaways = ()
            else:
                log.info("feed %s: %d takeaways read from %s", self.feed_url, len(takeaways), url)
            found = _Known(entry, takeaways, result.etag, result.last_modified)
        else:
            reason = result.error or f"not an HTML page ({result.content_type or 'no type'})"
            failures = (known.failures if known else 0) + 1
            found = _Known(entry, previous, state.etag, state.last_modified, failures)
            if failures == 1:
                log.info("feed %s: cannot read the page %s: %s", self.feed_url, url, reason)
        self._known[url] = found
        await self.store.set_meta(f"page {url}", found.dumps())
        return found.takeaways


def _is_html(content_type: str | None) -> bool:
    media = (content_type or "text/html").split(";", 1)[0].strip().lower()
    return media in _HTML_TYPES
