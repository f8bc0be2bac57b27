"""Takeaways from the page: for feed entries that carry none in their content.

Hugo's built-in RSS template sends only each page's summary, so the bot reads an
entry's takeaways from the entry's own page, with these bounds:

* only pages on the feed's own host (the feed's URL or where it redirected to), over
  http(s), answering an HTML media type;
* one conditional GET per version of the entry: what a page gave is kept in the store
  (``meta``) with the entry's fingerprint, its ``ETag`` and ``Last-Modified``, so the
  page is fetched again only when the entry changes, and then conditionally; a page
  that cannot be fetched is tried on :data:`ATTEMPTS` polls at most;
* at most :data:`PAGE_MAX_BYTES` and :data:`PAGE_TIMEOUT` seconds per page, and
  :data:`CONCURRENCY` pages at a time.
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
from bot.prepare import Prepared, prepare
from bot.sources.http import FeedState, PollPolicy, fetch_feed
from bot.store import Store

log = logging.getLogger(__name__)

PAGE_MAX_BYTES: Final = 2_000_000
PAGE_TIMEOUT: Final = 10.0
CONCURRENCY: Final = 4
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


def _origin(url: str) -> tuple[str, str | None, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port


def same_host(url: str, hosts: set[str | None]) -> bool:
    """Whether ``url`` is an http(s) URL on one of ``hosts`` (host names, lower case)."""
    origin = _origin(url)
    return origin is not None and origin[1] in hosts


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
        hosts = {o[1] for o in (_origin(self.feed_url), _origin(final_url)) if o is not None}
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(item: Prepared) -> Prepared:
            url = item.article.url
            if item.article.takeaways or url is None or not same_host(url, hosts):
                return item
            async with limit:
                takeaways = await self._takeaways(session, url, item.article_hash)
            if not takeaways:
                return item
            return prepare(dataclasses.replace(item.article, takeaways=takeaways, lede=None))

        filled = list(await asyncio.gather(*(one(item) for item in items)))
        # Entries that left the feed are not asked about again (the store keeps them).
        current = {item.article.url for item in items}
        self._known = {url: known for url, known in self._known.items() if url in current}
        return filled

    async def _takeaways(
        self, session: aiohttp.ClientSession, url: str, entry: str
    ) -> tuple[str, ...]:
        key = f"page {url}"
        known = self._known.get(url)
        if known is None and (text := await self.store.get_meta(key)) is not None:
            known = _Known.loads(text)
        if known is not None and known.entry == entry and known.failures in (0, ATTEMPTS):
            self._known[url] = known
            return known.takeaways  # read for this version of the entry already
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
        await self.store.set_meta(key, found.dumps())
        return found.takeaways


def _is_html(content_type: str | None) -> bool:
    media = (content_type or "text/html").split(";", 1)[0].strip().lower()
    return media in _HTML_TYPES
