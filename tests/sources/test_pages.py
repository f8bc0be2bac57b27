"""Takeaways from the page: a local site whose feed entries carry only a summary (as
Hugo's built-in RSS template writes them) while their pages carry the takeaways."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from bot.articles.text import Headings
from bot.sources import pages
from bot.sources.feeds import FeedSource
from bot.sources.pages import ATTEMPTS
from bot.store import Store
from tests.sources.feedserver import FeedServer
from tests.sources.helpers import announcements, articles
from tests.sources.test_feeds import POLICY
from tests.test_metrics import value

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def hugo_rss(base: str, entries: Sequence[tuple[str, str, datetime]]) -> bytes:
    """Hugo's RSS: a summary only, the permalink as guid and link; an entry's slug may
    be a whole URL (a page elsewhere)."""
    items = ""
    for slug, title, when in entries:
        link = slug if "://" in slug else f"{base}/posts/{slug}/"
        items += (
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>The summary of {title}.</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Site</title>'
        f"<link>{base}/</link>{items}</channel></rss>"
    ).encode()


def page(title: str, heading: str = "Key Takeaways") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1><p>Intro."
        f"<h2>{heading}</h2><ul><li>{title}: first point<li>Second point</ul>"
        "<p>Body.</article><footer>(c)</footer></body></html>"
    ).encode()


def serve(server: FeedServer, slug: str, title: str, **options: object) -> None:
    options.setdefault("content_type", "text/html")
    server.route(f"/posts/{slug}/", body=page(title), etag=f'"{slug}-v1"', **options)


ENTRIES = [("alpha", "Alpha", T0), ("beta", "Beta", T0 + timedelta(hours=1))]


def source(store: Store, server: FeedServer, **options: object) -> FeedSource:
    return FeedSource(store, server.url("/index.xml"), policy=POLICY, tz=UTC, **options)  # type: ignore[arg-type]


async def test_a_feed_without_takeaways_gets_them_from_its_pages_once(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    for slug, title, _ in ENTRIES:
        serve(feed_server, slug, title)
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, ENTRIES))
    feed = source(store, feed_server)
    await feed.poll_once(session)  # the first poll: recorded, not announced
    stored = await articles(store)
    alpha = stored[feed_server.url("/posts/alpha/")]
    assert alpha.takeaways == ("Alpha: first point", "Second point")
    assert [len(feed_server.seen(f"/posts/{s}/")) for s, _, _ in ENTRIES] == [1, 1]
    seen = feed_server.seen("/posts/alpha/")[0]
    assert "text/html" in seen.headers["Accept"]

    # A new entry: its page is read before it is announced, with its takeaways.
    serve(feed_server, "gamma", "Gamma")
    entries = [("gamma", "Gamma", T0 + timedelta(hours=2)), *ENTRIES]
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, entries))
    await feed.poll_once(session)
    assert await announcements(store) == [("published", "Gamma")]
    pending = await store.pending_announcements()
    description = pending[0].article.message["embeds"][0]["description"]
    assert "Gamma: first point" in description and "summary" not in description

    # Polled again and again, and by a restarted bot: no page is fetched again.
    await feed.poll_once(session)
    await source(store, feed_server).poll_once(session)
    assert [len(feed_server.seen(f"/posts/{s}/")) for s, _, _ in entries] == [1, 1, 1]
    assert await announcements(store) == [("published", "Gamma")]
    # The metrics count feed polls (the page fetches are none) and the articles read.
    assert value(store.metrics, "newsbot_feed_polls_total", outcome="ok") == 4
    assert value(store.metrics, "newsbot_articles_total", source="feed", outcome="new") == 3


async def test_a_changed_entry_asks_again_conditionally(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    serve(feed_server, "alpha", "Alpha")
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, ENTRIES[:1]))
    feed = source(store, feed_server)
    await feed.poll_once(session)
    renamed = [("alpha", "Alpha, updated", T0)]
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, renamed))
    await feed.poll_once(session)
    second = feed_server.seen("/posts/alpha/")[1]
    assert second.headers["If-None-Match"] == '"alpha-v1"'  # answered 304
    stored = (await articles(store))[feed_server.url("/posts/alpha/")]
    assert (stored.title, stored.takeaways) == (
        "Alpha, updated",
        ("Alpha: first point", "Second point"),
    )


async def test_pages_elsewhere_failing_or_not_html_are_left_alone(
    store: Store,
    session: aiohttp.ClientSession,
    feed_server: FeedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sources.pages")
    other = feed_server.base_url.replace("127.0.0.1", "localhost")  # same server, other host
    serve(feed_server, "elsewhere", "Elsewhere")
    feed_server.route("/posts/broken/", status=500)
    feed_server.route("/posts/pdf/", body=b"%PDF-1.4", content_type="application/pdf")
    serve(feed_server, "huge", "Huge", stream_bytes=5_000_000)
    elsewhere = f"{other}/posts/elsewhere/"
    entries = [("broken", "Broken", T0), ("pdf", "Pdf", T0), ("huge", "Huge", T0)]
    body = hugo_rss(feed_server.base_url, [*entries, (elsewhere, "Elsewhere", T0)])
    feed_server.route("/index.xml", body=body)
    feed = source(store, feed_server)
    for _ in range(ATTEMPTS + 2):
        await feed.poll_once(session)
    stored = await articles(store)
    assert len(stored) == 4
    assert all(a.takeaways == () for a in stored.values())
    assert stored[elsewhere].description == "The summary of Elsewhere."
    assert feed_server.seen("/posts/elsewhere/") == []  # never on another host
    assert len(feed_server.seen("/posts/broken/")) == ATTEMPTS  # then left alone
    assert len(feed_server.seen("/posts/pdf/")) == ATTEMPTS
    assert len(feed_server.seen("/posts/huge/")) == ATTEMPTS
    assert "body larger than 2,000,000 bytes" in caplog.text
    assert caplog.text.count("cannot read the page") == 3  # once per page, not per try


async def test_the_configured_headings_are_read_in_pages(
    store: Store, session: aiohttp.ClientSession, feed_server: FeedServer
) -> None:
    feed_server.route(
        "/posts/alpha/", body=page("Alpha", heading="Key points:"), content_type="text/html"
    )
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, ENTRIES[:1]))
    feed = source(store, feed_server, headings=Headings.of(["Key Points", "At a glance"]))
    await feed.poll_once(session)
    stored = (await articles(store))[feed_server.url("/posts/alpha/")]
    assert stored.takeaways == ("Alpha: first point", "Second point")


async def test_a_long_feed_is_read_a_few_pages_per_poll_newest_first(
    store: Store,
    session: aiohttp.ClientSession,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pages, "MAX_PAGES_PER_POLL", 3)
    entries = [(f"p{n}", f"Page {n}", T0 - timedelta(hours=n)) for n in range(7)]
    for slug, title, _ in entries:
        serve(feed_server, slug, title)
    feed_server.route("/index.xml", body=hugo_rss(feed_server.base_url, entries))
    feed = source(store, feed_server)

    def fetched() -> list[int]:
        return [len(feed_server.seen(f"/posts/{slug}/")) for slug, _, _ in entries]

    await feed.poll_once(session)
    assert fetched() == [1, 1, 1, 0, 0, 0, 0]  # the feed's first (newest) entries first
    await feed.poll_once(session)
    assert fetched() == [1, 1, 1, 1, 1, 1, 0]
    await feed.poll_once(session)
    await feed.poll_once(session)
    assert fetched() == [1] * 7
    stored = await articles(store)
    assert all(len(a.takeaways) == 2 for a in stored.values())
