"""FeedSource against a real HTTP server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest import LogCaptureFixture

from bot.sources.feeds import FeedSource
from bot.sources.http import PollPolicy
from bot.store import Store
from tests.sources.feedserver import FeedServer
from tests.sources.helpers import announcements, articles, db_rows
from tests.waiting import wait_until

LOG = "bot.sources.feeds"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# Short enough for tests; the broken feeds become "failing" after three errors. The
# timeout outlasts a pause of the machine: a healthy feed must never run into it.
POLICY = PollPolicy(
    interval=0.05,
    timeout=1.0,
    max_bytes=1_000_000,
    backoff_base=0.05,
    backoff_max=0.1,
    failing_after=3,
)


def rss(entries: Sequence[tuple[str, str, datetime]], *, title: str = "Desk") -> bytes:
    """An RSS 2.0 document; each entry is ``(guid, title, pubDate)``."""
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example.org/{guid}</link>"
        f"<guid>{guid}</guid><pubDate>{format_datetime(when)}</pubDate>"
        "<category>World</category>"
        f"<description><![CDATA[<h2>Key Takeaways</h2><ul><li>{t}: the first point.</li>"
        "<li>The second point.</li></ul><p>Body.</p>]]></description></item>"
        for guid, t, when in entries
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example.org/</link>{items}"
        "</channel></rss>"
    ).encode()


BASE = [("a", "Alpha", T0), ("b", "Beta", T0 + timedelta(hours=1))]


def feed(store: Store, url: str) -> FeedSource:
    return FeedSource(store, url, policy=POLICY, tz=UTC)


def messages(caplog: pytest.LogCaptureFixture, url: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG and url in r.getMessage()]


async def complete_all(store: Store) -> None:
    """What a deliverer does: mark every pending announcement done."""
    for announcement in await store.pending_announcements():
        await store.complete_announcement(announcement.id, datetime.now(UTC))


async def test_first_poll_is_the_baseline_and_a_later_entry_is_announced_once(
    store: Store,
    session: aiohttp.ClientSession,
    feed_server: FeedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    feed_server.route("/feed.xml", body=rss(BASE))
    source = feed(store, feed_server.url("/feed.xml"))

    state = await source.poll_once(session)
    assert state.failures == 0 and state.next_attempt_at is not None
    stored = await articles(store)
    assert sorted(a.title for a in stored.values()) == ["Alpha", "Beta"]
    assert {a.status for a in stored.values()} == {"published"}
    assert stored["a"].takeaways == ("Alpha: the first point.", "The second point.")
    assert stored["a"].tags == ("World",)
    assert await announcements(store) == []
    assert messages(caplog, "/feed.xml") == [
        f"feed {source.url}: first poll, 2 entries recorded (not announced)"
    ]
    row = await store.source("feed", source.url)
    assert row.baseline_done and row.last_polled_at is not None

    feed_server.route("/feed.xml", body=rss([("c", "Gamma", T0 + timedelta(hours=2)), *BASE]))
    await source.poll_once(session)
    assert await announcements(store) == [("published", "Gamma")]
    # The same document again, and again: nothing new.
    await source.poll_once(session)
    await source.poll_once(session)
    assert await announcements(store) == [("published", "Gamma")]
    assert len(messages(caplog, "/feed.xml")) == 1


async def test_reordering_entries_or_bumping_dates_never_announces_again(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    feed_server.route("/feed.xml", body=rss(BASE))
    source = feed(store, feed_server.url("/feed.xml"))
    await source.poll_once(session)
    gamma = ("c", "Gamma", T0 + timedelta(hours=2))
    feed_server.route("/feed.xml", body=rss([gamma, *BASE]))
    await source.poll_once(session)
    await complete_all(store)  # Gamma's post went out

    variants = [
        [*BASE, gamma],  # reordered
        [BASE[1], gamma, BASE[0]],
        [("c", "Gamma", T0 + timedelta(hours=5)), *BASE],  # Gamma's date bumped
        [("c", "Gamma", T0 + timedelta(hours=5)), ("a", "Alpha", T0 + timedelta(days=3))],
        [("b", "Beta", T0 + timedelta(hours=1))],  # entries dropped off the feed
        [gamma, *BASE],  # and back
    ]
    for entries in variants:
        feed_server.route("/feed.xml", body=rss(entries))
        await source.poll_once(session)
        await complete_all(store)

    made = await announcements(store)
    assert Counter(t for kind, t in made if kind == "published") == Counter(["Gamma"])
    # A changed date changes the post (its timestamp): at most an edit, never a new post.
    assert {kind for kind, _ in made} <= {"published", "updated"}
    stored = await articles(store)
    assert sorted(stored) == ["a", "b", "c"]
    assert {a.status for a in stored.values()} == {"published"}


@pytest.mark.sqlite_only  # reads the file beside the store
async def test_a_304_answer_writes_no_article(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.route(
        "/feed.xml", body=rss(BASE), etag='"v1"', last_modified="Fri, 01 Mar 2024 09:00:00 GMT"
    )
    source = feed(store, feed_server.url("/feed.xml"))
    await source.poll_once(session)
    row = await store.source("feed", source.url)
    assert (row.etag, row.last_modified) == ('"v1"', "Fri, 01 Mar 2024 09:00:00 GMT")
    db = tmp_path / "news.sqlite3"
    tables = ("articles", "article_tags", "announcements", "files")
    before = {t: sorted(db_rows(db, f"SELECT * FROM {t}"), key=repr) for t in tables}

    for _ in range(3):
        state = await source.poll_once(session)
        assert state.failures == 0 and state.etag == '"v1"'

    conditional = feed_server.seen("/feed.xml")[1:]
    assert len(conditional) == 3
    assert all(r.headers.get("If-None-Match") == '"v1"' for r in conditional)
    assert all(
        r.headers.get("If-Modified-Since") == "Fri, 01 Mar 2024 09:00:00 GMT" for r in conditional
    )
    after = {t: sorted(db_rows(db, f"SELECT * FROM {t}"), key=repr) for t in tables}
    assert after == before
    # Counted: one poll with a body, three "not modified"; each a success.
    polls = store.metrics.registry.get_sample_value
    assert polls("newsbot_feed_polls_total", {"outcome": "ok"}) == 1
    assert polls("newsbot_feed_polls_total", {"outcome": "not_modified"}) == 3
    new = polls("newsbot_articles_total", {"source": "feed", "outcome": "new"})
    assert new == len(BASE)
    assert (await store.source("feed", source.url)).last_success_at is not None


BROKEN: dict[str, dict[str, Any]] = {
    "/garbage": {
        "body": b"<<<\x00\xff this is not a feed at all \xfe>>>",
        "content_type": "text/html",
    },
    "/html": {"body": b"<html><body><p>Hello</p></body></html>", "content_type": "text/html"},
    "/missing": {"status": 404, "body": b"no such feed"},
    "/error": {"status": 500, "body": b"oops"},
    "/loop-a": {"redirect_to": "/loop-b"},
    "/loop-b": {"redirect_to": "/loop-a"},
    "/huge": {"stream_bytes": 50_000_000},
    "/silent": {"delay": 30.0},
    "/drop": {"drop": True},
    "/junk": {"raw": b"NOT HTTP AT ALL\r\n\r\n"},
}
REASONS = {
    "/garbage": "not a feed",
    "/html": "not a feed",
    "/missing": "HTTP 404",
    "/error": "HTTP 500",
    "/loop-a": "redirect loop",
    "/huge": "body larger than 1,000,000 bytes",
    "/silent": "timeout after 1 s",
    "/drop": "",
    "/junk": "",
}


async def test_broken_feeds_are_marked_failing_and_logged_once_per_change_of_state(
    store: Store,
    session: aiohttp.ClientSession,
    feed_server: FeedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    for path, options in BROKEN.items():
        feed_server.route(path, **options)
    feed_server.route("/healthy.xml", body=rss(BASE))
    paths = [p for p in REASONS if p != "/loop-b"] + ["/nowhere"]  # /nowhere: a 404 too
    sources = {p: feed(store, feed_server.url(p)) for p in paths}
    healthy = feed(store, feed_server.url("/healthy.xml"))

    async def poll_n(source: FeedSource, n: int) -> None:
        for _ in range(n):
            await source.poll_once(session)

    # Every feed polled four times, all at once: the broken ones never hold up the others.
    await asyncio.wait_for(
        asyncio.gather(*(poll_n(s, 4) for s in [*sources.values(), healthy])), timeout=30
    )

    for path, source in sources.items():
        row = await store.source("feed", source.url)
        assert row.failures == 4, path
        assert row.failing_since is not None and row.last_error, path
        assert REASONS.get(path, "HTTP 404") in row.last_error, (path, row.last_error)
        assert not row.baseline_done
        lines = messages(caplog, source.url)
        # Once when it first fails, once when it becomes "failing": not on every poll.
        assert len(lines) == 2, (path, lines)
        assert lines[0].endswith("(will retry)")
        assert lines[1].startswith(f"feed {source.url} is failing (3 attempts): ")
    assert feed_server.streams["/huge"].sent < 50_000_000  # the download was abandoned
    row = await store.source("feed", healthy.url)
    assert row.failures == 0 and row.baseline_done and row.last_success_at is not None
    errors = store.metrics.registry.get_sample_value(
        "newsbot_feed_polls_total", {"outcome": "error"}
    )
    assert errors == 4 * len(sources)
    for source in sources.values():
        assert (await store.source("feed", source.url)).last_success_at is None

    # One comes back: logged once, its first good answer is its baseline.
    feed_server.route("/error", body=rss([("z", "Zeta", T0)]))
    await poll_n(sources["/error"], 3)
    row = await store.source("feed", sources["/error"].url)
    assert row.failures == 0 and row.failing_since is None and row.last_error is None
    assert row.baseline_done
    lines = messages(caplog, sources["/error"].url)
    assert lines[2:] == [
        f"feed {sources['/error'].url}: first poll, 1 entries recorded (not announced)",
        f"feed {sources['/error'].url} recovered",
    ]
    assert await announcements(store) == []


async def test_run_polls_on_schedule_until_stopped(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    feed_server.route("/feed.xml", body=rss(BASE))
    woken: list[str] = []
    source = FeedSource(
        store,
        feed_server.url("/feed.xml"),
        policy=POLICY,
        tz=UTC,
        on_announce=lambda: woken.append("announce"),
        on_change=lambda: woken.append("change"),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(session, stop))
    try:
        await wait_until(lambda: len(feed_server.seen("/feed.xml")) >= 3, "three polls")
        feed_server.route("/feed.xml", body=rss([("n", "New", T0 + timedelta(days=1)), *BASE]))
        await wait_until(lambda: "announce" in woken, "the new entry")
        assert await announcements(store) == [("published", "New")]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=2)
    assert woken.count("announce") == 1 and "change" in woken


async def test_an_impossible_date_is_logged_once_and_the_entry_announced_undated(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer, caplog: LogCaptureFixture
) -> None:
    feed_server.route("/feed.xml", body=rss(BASE))
    source = feed(store, feed_server.url("/feed.xml"))
    await source.poll_once(session)
    caplog.set_level(logging.INFO, logger=LOG)
    # feedparser alone schedules this one into 2027.
    odd = rss(BASE).replace(
        b"</channel>",
        b"<item><title>Odd</title><link>https://news.example.org/odd</link>"
        b"<pubDate>2026-13-45T99:99:99Z</pubDate></item></channel>",
    )
    feed_server.route("/feed.xml", body=odd)
    await source.poll_once(session)
    await source.poll_once(session)
    assert await announcements(store) == [("published", "Odd")]
    warnings = [m for m in messages(caplog, "/feed.xml") if "Odd" in m]
    assert warnings == [
        f"feed {source.url}: entry Odd: published: not a date: '2026-13-45T99:99:99Z' "
        "(no such day, time or offset); read as no date"
    ]


async def test_poll_now_polls_at_once_whatever_the_schedule(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    feed_server.route("/feed.xml", body=rss(BASE))
    slow = PollPolicy(interval=3600.0, timeout=1.0, max_bytes=1_000_000)
    source = FeedSource(store, feed_server.url("/feed.xml"), policy=slow, tz=UTC)
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(session, stop))
    try:
        await wait_until(lambda: len(feed_server.seen("/feed.xml")) == 1, "the first poll")
        feed_server.route("/feed.xml", body=rss([("n", "New", T0 + timedelta(days=1)), *BASE]))
        source.poll_now()  # POST /hooks/publish: the next poll is an hour away
        await wait_until(lambda: len(feed_server.seen("/feed.xml")) == 2, "a second poll")

        async def announced() -> bool:
            return await announcements(store) == [("published", "New")]

        await wait_until(announced, "the new entry")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=2)


async def test_a_poll_asked_for_is_unfinished_until_it_ends(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    # What a stopping leader passes on (Pipeline.unfinished_look): an asked poll that
    # has not started, or was stopped midway; not one that ended, nor a scheduled one.
    feed = feed_server.route("/feed.xml", body=rss(BASE))
    slow = PollPolicy(interval=3600.0, timeout=30.0, max_bytes=1_000_000)
    source = FeedSource(store, feed_server.url("/feed.xml"), policy=slow, tz=UTC)
    assert not source.poll_unfinished
    source.poll_now()
    assert source.poll_unfinished  # asked, not started
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(session, stop))
    await wait_until(lambda: source.ready.is_set(), "the first poll")
    assert not source.poll_unfinished  # it ended
    feed.delay = 30
    source.poll_now()
    await wait_until(lambda: len(feed_server.seen("/feed.xml")) == 2, "the asked poll")
    assert source.poll_unfinished  # running
    task.cancel()  # its source stops midway (Pipeline.close)
    await asyncio.gather(task, return_exceptions=True)
    assert source.poll_unfinished

    # A scheduled poll stopped midway was not asked for: nothing to pass on.
    feed_server.route("/other.xml", body=rss(BASE), delay=30)
    scheduled = FeedSource(store, feed_server.url("/other.xml"), policy=slow, tz=UTC)
    task = asyncio.create_task(scheduled.run(session, stop))  # a first poll is due at once
    await wait_until(lambda: len(feed_server.seen("/other.xml")) == 1, "the scheduled poll")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not scheduled.poll_unfinished
