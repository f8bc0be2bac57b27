"""Feed polling: each feed on its own schedule, its state kept in the store."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import aiohttp

from bot.articles.feed import EntryError, parse_feed
from bot.articles.model import ArticleError
from bot.articles.text import DEFAULT_HEADINGS, Headings
from bot.logs import ids
from bot.prepare import Prepared, prepare
from bot.sources.events import stopped_within, wait_any
from bot.sources.http import FeedState, FetchResult, PollPolicy, StateChange, fetch_feed, next_state
from bot.sources.pages import PageReader
from bot.store import Change, DatabaseLost, SourceKind, SourceRow, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Read:
    """A fetched feed, parsed and rendered (pure work, done in a worker thread)."""

    prepared: list[Prepared]
    errors: list[EntryError]
    ttl_seconds: float | None
    warnings: tuple[EntryError, ...] = ()


def _state_of(row: SourceRow) -> FeedState:
    return FeedState(
        etag=row.etag,
        last_modified=row.last_modified,
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
        failing_since=row.failing_since,
        last_error=row.last_error,
    )


def _read_feed(body: bytes, feed_url: str, tz: tzinfo, headings: Headings) -> _Read:
    """Parse the document and render each entry's post; raises ArticleError for a non-feed."""
    parsed = parse_feed(body, feed_url=feed_url, tz=tz, headings=headings)
    prepared: list[Prepared] = []
    errors = list(parsed.errors)
    for article in parsed.articles:
        try:
            prepared.append(prepare(article))
        except Exception as exc:  # a bug in rendering must cost one entry, not the feed
            errors.append(EntryError(article.id, f"internal error: {type(exc).__name__}: {exc}"))
    ttl = parsed.ttl_minutes * 60.0 if parsed.ttl_minutes else None
    return _Read(prepared, errors, ttl, parsed.warnings)


class FeedSource:
    """Polls one feed URL and records its entries."""

    def __init__(
        self,
        store: Store,
        url: str,
        *,
        policy: PollPolicy,
        tz: tzinfo,
        on_announce: Callable[[], None] = lambda: None,
        on_change: Callable[[], None] = lambda: None,
        rng: random.Random | None = None,
        headings: Headings = DEFAULT_HEADINGS,
    ) -> None:
        self.store = store
        self.url = url
        self.policy = policy
        self.tz = tz
        self.headings = headings
        # Entries without takeaways get them from their pages.
        self.pages = PageReader(store, url, policy, headings)
        self.on_announce = on_announce
        # Called after a poll changed any article (the publish-time re-check listens).
        self.on_change = on_change
        self.rng = rng or random.Random()
        self._logged_errors: set[str] = set()
        self._poll_wanted = asyncio.Event()
        # Whether the poll running now is one poll_now() asked for.
        self._asked_poll = False
        # Set once the first poll of this run has ended, whatever its outcome.
        self.ready = asyncio.Event()

    def poll_now(self) -> None:
        """Poll at once, whatever the schedule says (``POST /hooks/publish``)."""
        self._poll_wanted.set()

    @property
    def poll_unfinished(self) -> bool:
        """Whether a poll :meth:`poll_now` asked for has not ended: not started yet, or
        stopped midway (its source stopped: the next to run it should poll at once)."""
        return self._poll_wanted.is_set() or self._asked_poll

    async def poll_once(self, session: aiohttp.ClientSession) -> FeedState:
        """Fetch, parse and record the feed once; returns the new state (already saved)."""
        row = await self.store.source(SourceKind.FEED, self.url)
        state = _state_of(row)
        result = await fetch_feed(session, self.url, state, self.policy)
        feed_ttl: float | None = None
        if result.status == "ok" and result.body is not None:
            try:
                read = await asyncio.to_thread(
                    _read_feed, result.body, result.final_url, self.tz, self.headings
                )
            except ArticleError as exc:
                result = FetchResult(
                    status="error",
                    body=None,
                    final_url=result.final_url,
                    error=f"not a feed: {exc}",
                    etag=None,
                    last_modified=None,
                    min_interval=result.min_interval,
                    retry_after=None,
                )
            else:
                feed_ttl = read.ttl_seconds
                prepared = await self.pages.fill(session, read.prepared, result.final_url)
                await self._record(row, dataclasses.replace(read, prepared=prepared))
        now = datetime.now(UTC)
        new, change = next_state(state, result, self.policy, now, rng=self.rng, feed_ttl=feed_ttl)
        self.store.metrics.polled(result.status)
        if change is StateChange.FAILING:
            log.warning(
                "feed %s is failing (%d attempts): %s",
                self.url,
                new.failures,
                new.last_error,
                extra=ids(source=self.url),
            )
        elif change is StateChange.RECOVERED:
            log.info("feed %s recovered", self.url, extra=ids(source=self.url))
        elif result.status == "error" and new.failures == 1:
            log.info("feed %s: %s (will retry)", self.url, result.error, extra=ids(source=self.url))
        await self.store.save_feed_state(
            row.id,
            etag=new.etag,
            last_modified=new.last_modified,
            failures=new.failures,
            next_attempt_at=new.next_attempt_at,
            failing_since=new.failing_since,
            last_error=new.last_error,
            last_polled_at=now,
        )
        return new

    async def _record(self, row: SourceRow, read: _Read) -> None:
        notes = [("rejected entry", e) for e in read.errors]
        notes += [("entry", w) for w in read.warnings]  # read, but part of it ignored
        for what, note in notes:
            key = f"{note.entry}: {note.reason}"
            if key not in self._logged_errors:
                self._logged_errors.add(key)
                log.warning("feed %s: %s %s", self.url, what, key, extra=ids(source=self.url))
        items = [(p.article, p.article_hash, p.message) for p in read.prepared]
        results = await self.store.record_entries(row.id, items, datetime.now(UTC))
        self.store.metrics.ingested(SourceKind.FEED, (result.change for result in results))
        if not row.baseline_done:
            await self.store.mark_baseline_done(row.id, datetime.now(UTC))
            log.info(
                "feed %s: first poll, %d entries recorded (not announced)", self.url, len(items)
            )
        if any(result.change is not Change.UNCHANGED for result in results):
            self.on_change()
        if any(result.announced for result in results):
            self.on_announce()

    async def run(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, honouring the schedule kept in the store."""
        source_id = (await self.store.source(SourceKind.FEED, self.url)).id
        while not stop.is_set():
            row = await self.store.get_source(source_id)
            due = row.next_attempt_at if row is not None else None
            delay = 0.0 if due is None else (due - datetime.now(UTC)).total_seconds()
            if delay > 0 and not self._poll_wanted.is_set():
                await wait_any(stop, self._poll_wanted, seconds=delay)
                if stop.is_set():
                    return
            self._asked_poll = self._poll_wanted.is_set()
            self._poll_wanted.clear()
            try:
                await self.poll_once(session)
            except DatabaseLost:
                return  # the bot is stopping; its database watch says why, once
            except Exception:
                # Never let one feed's surprise stop the others; back off like an error.
                log.exception("feed %s: unexpected error while polling", self.url)
                self._asked_poll = False
                self.ready.set()
                if await stopped_within(stop, max(self.policy.interval, self.policy.backoff_base)):
                    return
            self._asked_poll = False  # (a cancelled poll leaves it set)
            self.ready.set()
