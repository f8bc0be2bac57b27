"""fetch_feed against a real local server, and the pure scheduling in next_state."""

from __future__ import annotations

import asyncio
import gzip
import random
import socket
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.sources.http import (
    FeedState,
    FetchResult,
    PollPolicy,
    StateChange,
    backoff_bounds,
    fetch_feed,
    next_state,
)
from tests.sources.feedserver import FeedServer
from tests.waiting import wait_until

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>https://example.com/a</link></item></channel></rss>"""
LAST_MODIFIED = "Wed, 21 Oct 2025 07:28:00 GMT"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = PollPolicy(timeout=5.0)


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    state: FeedState | None = None,
    policy: PollPolicy = POLICY,
) -> FetchResult:
    # Every network test is bounded even if fetch_feed's own timeout were broken.
    return await asyncio.wait_for(fetch_feed(session, url, state or FeedState(), policy), 10)


def result(status: str = "ok", **fields: object) -> FetchResult:
    values: dict[str, object] = {
        "status": status,
        "body": b"" if status == "ok" else None,
        "final_url": "http://feed.test/rss",
        "error": "HTTP 500" if status == "error" else None,
        "etag": None,
        "last_modified": None,
        "min_interval": None,
        "retry_after": None,
    }
    values.update(fields)
    return FetchResult(**values)  # type: ignore[arg-type]


def delay_of(state: FeedState) -> float:
    assert state.next_attempt_at is not None
    return (state.next_attempt_at - NOW).total_seconds()


# --- fetch_feed: success and conditional requests -----------------------------------


async def test_etag_then_not_modified(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/feed", body=RSS, etag='"v1"')
    url = feed_server.url("/feed")

    first = await fetch(session, url)
    assert first.status == "ok"
    assert first.body == RSS
    assert first.etag == '"v1"'
    assert first.final_url == url
    assert first.error is None

    state, change = next_state(FeedState(), first, POLICY, NOW)
    assert change is None
    second = await fetch(session, url, state)
    assert second.status == "not_modified"
    assert second.body is None
    assert feed_server.seen("/feed")[1].headers["If-None-Match"] == '"v1"'
    assert "If-None-Match" not in feed_server.seen("/feed")[0].headers

    kept, _ = next_state(state, second, POLICY, NOW)
    assert kept.etag == '"v1"'


async def test_last_modified_conditional(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/feed", body=RSS, last_modified=LAST_MODIFIED)
    url = feed_server.url("/feed")

    first = await fetch(session, url)
    assert first.status == "ok"
    assert first.last_modified == LAST_MODIFIED
    state, _ = next_state(FeedState(), first, POLICY, NOW)

    second = await fetch(session, url, state)
    assert second.status == "not_modified"
    assert feed_server.seen("/feed")[1].headers["If-Modified-Since"] == LAST_MODIFIED


async def test_request_headers(feed_server: FeedServer, session: aiohttp.ClientSession) -> None:
    feed_server.route("/feed", body=RSS)
    await fetch(session, feed_server.url("/feed"), policy=PollPolicy(user_agent="ua-test/1"))
    headers = feed_server.seen("/feed")[0].headers
    assert headers["User-Agent"] == "ua-test/1"
    assert "application/rss+xml" in headers["Accept"]
    assert "application/atom+xml" in headers["Accept"]


async def test_garbage_body_is_ok_at_this_layer(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    html = b"<html><body>Not a feed \xff\xfe</body></html>"
    feed_server.route("/page", body=html, content_type="text/html")
    got = await fetch(session, feed_server.url("/page"))
    assert got.status == "ok"
    assert got.body == html


async def test_body_exactly_at_cap_is_ok(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/feed", body=b"x" * 1000)
    got = await fetch(session, feed_server.url("/feed"), policy=PollPolicy(max_bytes=1000))
    assert got.status == "ok"
    assert got.body is not None and len(got.body) == 1000


# --- fetch_feed: HTTP errors ----------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500, 410, 403])
async def test_http_error_status(
    feed_server: FeedServer, session: aiohttp.ClientSession, status: int
) -> None:
    feed_server.route("/feed", status=status, body=b"nope")
    got = await fetch(session, feed_server.url("/feed"))
    assert got.status == "error"
    assert got.error == f"HTTP {status}"
    assert got.body is None
    assert got.retry_after is None


async def test_429_with_retry_after_seconds(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/feed", status=429, headers={"Retry-After": "120"})
    got = await fetch(session, feed_server.url("/feed"))
    assert got.status == "error"
    assert got.error == "HTTP 429"
    assert got.retry_after == 120.0


async def test_503_with_retry_after_date(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route(
        "/feed",
        status=503,
        headers={
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            "Retry-After": "Wed, 21 Oct 2026 07:38:00 GMT",
        },
    )
    got = await fetch(session, feed_server.url("/feed"))
    assert got.error == "HTTP 503"
    assert got.retry_after == 600.0


# --- fetch_feed: redirects ------------------------------------------------------------


async def test_redirect_chain_within_limit(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/a", redirect_to="/b", status=301)
    feed_server.route("/b", redirect_to=feed_server.url("/c"), status=307)
    feed_server.route("/c", redirect_to="/feed", status=308)
    feed_server.route("/feed", body=RSS)
    got = await fetch(session, feed_server.url("/a"))
    assert got.status == "ok"
    assert got.body == RSS
    assert got.final_url == feed_server.url("/feed")


async def test_relative_redirect(feed_server: FeedServer, session: aiohttp.ClientSession) -> None:
    feed_server.route("/blog/old/rss", redirect_to="../new/rss.xml")
    feed_server.route("/blog/new/rss.xml", body=RSS)
    got = await fetch(session, feed_server.url("/blog/old/rss"))
    assert got.status == "ok"
    assert got.final_url == feed_server.url("/blog/new/rss.xml")


async def test_conditional_headers_follow_redirects(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/old", redirect_to="/feed", status=301)
    feed_server.route("/feed", body=RSS, etag='"v2"')
    got = await fetch(session, feed_server.url("/old"), FeedState(etag='"v2"'))
    assert got.status == "not_modified"
    assert got.final_url == feed_server.url("/feed")


async def test_redirect_loop_is_an_error(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/a", redirect_to="/b")
    feed_server.route("/b", redirect_to="/a")
    got = await fetch(session, feed_server.url("/a"))
    assert got.status == "error"
    assert got.error is not None and "redirect loop" in got.error
    assert len(feed_server.requests) == 2


async def test_too_many_redirects(feed_server: FeedServer, session: aiohttp.ClientSession) -> None:
    for i in range(10):
        feed_server.route(f"/r{i}", redirect_to=f"/r{i + 1}")
    feed_server.route("/r10", body=RSS)
    got = await fetch(session, feed_server.url("/r0"), policy=PollPolicy(max_redirects=3))
    assert got.status == "error"
    assert got.error == "too many redirects (limit 3)"
    assert len(feed_server.requests) == 4  # the original request and 3 redirects


async def test_redirect_to_other_scheme_refused(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/a", redirect_to="file:///etc/passwd")
    got = await fetch(session, feed_server.url("/a"))
    assert got.status == "error"
    assert got.error is not None and "unsupported scheme 'file'" in got.error


async def test_redirect_without_location(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/a", status=302)
    got = await fetch(session, feed_server.url("/a"))
    assert got.status == "error"
    assert got.error is not None and "without a Location" in got.error


# --- fetch_feed: size cap -------------------------------------------------------------


async def test_huge_streaming_body_is_cut_off(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/huge", stream_bytes=50_000_000)
    policy = PollPolicy(max_bytes=1_000_000)
    started = time.monotonic()
    got = await fetch(session, feed_server.url("/huge"), policy=policy)
    assert time.monotonic() - started < 3
    assert got.status == "error"
    assert got.error == "body larger than 1,000,000 bytes"
    assert got.body is None

    stats = feed_server.streams["/huge"]
    await asyncio.wait_for(stats.finished.wait(), 3)
    assert not stats.completed
    # Loopback kernel buffers absorb a few MB before the client closes; what matters
    # is that the generator stopped far short of the 50 MB.
    assert stats.sent < 25_000_000


async def test_content_length_over_cap_rejected_early(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/big", stream_bytes=20_000_000, content_length=20_000_000)
    got = await fetch(session, feed_server.url("/big"), policy=PollPolicy(max_bytes=1_000_000))
    assert got.status == "error"
    assert got.error == "body larger than 1,000,000 bytes"
    stats = feed_server.streams["/big"]
    await asyncio.wait_for(stats.finished.wait(), 3)
    assert not stats.completed


async def test_gzip_bomb_is_capped_after_decompression(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    feed_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    got = await fetch(session, feed_server.url("/bomb"), policy=PollPolicy(max_bytes=1_000_000))
    assert got.status == "error"
    assert got.error == "body larger than 1,000,000 bytes"


async def test_gzip_body_is_decompressed(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/feed", body=gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    got = await fetch(session, feed_server.url("/feed"))
    assert got.body == RSS


# --- fetch_feed: network failures -----------------------------------------------------


async def test_server_that_never_answers_times_out(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/slow", delay=30)
    started = time.monotonic()
    got = await fetch(session, feed_server.url("/slow"), policy=PollPolicy(timeout=0.5))
    assert time.monotonic() - started < 2
    assert got.status == "error"
    assert got.error == "timeout after 0.5 s"


async def test_timeout_covers_the_whole_redirect_chain(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    # Each hop is well within the timeout (0.3 s or more to spare, so a timeout per hop
    # could not end it), the two together are not.
    feed_server.route("/a", redirect_to="/b", delay=0.5)
    feed_server.route("/b", body=RSS, delay=0.7)
    got = await fetch(session, feed_server.url("/a"), policy=PollPolicy(timeout=1.0))
    assert got.error == "timeout after 1 s"
    assert got.final_url == feed_server.url("/b")


async def test_connection_dropped_without_answer(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/drop", drop=True)
    got = await fetch(session, feed_server.url("/drop"))
    assert got.status == "error"
    assert got.error in {"server closed the connection without a response", "connection reset"}


@pytest.mark.parametrize(
    "raw",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>truncated",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbroken",
    ],
)
async def test_broken_http_answers_are_errors(
    feed_server: FeedServer, session: aiohttp.ClientSession, raw: bytes
) -> None:
    feed_server.route("/junk", raw=raw)
    got = await fetch(session, feed_server.url("/junk"))
    assert got.status == "error"
    assert got.error is not None
    assert "\n" not in got.error
    assert 0 < len(got.error) <= 300


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    got = await fetch(session, f"http://127.0.0.1:{port}/feed")
    assert got.status == "error"
    assert got.error == "connection refused"
    assert got.final_url == f"http://127.0.0.1:{port}/feed"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://example.com/feed", "unsupported scheme 'ftp'"),
        ("not a url", "invalid URL 'not a url'"),
        ("/feed.xml", "expected http:// or https://"),
        ("http:///feed", "no host"),
    ],
)
async def test_bad_urls_are_errors(session: aiohttp.ClientSession, url: str, fragment: str) -> None:
    got = await fetch(session, url)
    assert got.status == "error"
    assert got.error is not None and fragment in got.error


async def test_cancellation_propagates(
    feed_server: FeedServer, session: aiohttp.ClientSession
) -> None:
    feed_server.route("/slow", delay=30)
    task = asyncio.create_task(fetch_feed(session, feed_server.url("/slow"), FeedState(), POLICY))
    await wait_until(lambda: feed_server.seen("/slow"), "the request at the server")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


# --- fetch_feed: caching hints ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "public, max-age=3600"}, 3600.0),
        ({"Cache-Control": "max-age=3600", "Age": "600"}, 3000.0),
        ({"Cache-Control": "no-cache"}, None),
        (
            {"Date": "Wed, 21 Oct 2026 07:28:00 GMT", "Expires": "Wed, 21 Oct 2026 08:28:00 GMT"},
            3600.0,
        ),
        ({"Expires": "0"}, 0.0),
        ({}, None),
    ],
)
async def test_min_interval_from_headers(
    feed_server: FeedServer,
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    feed_server.route("/feed", body=RSS, headers=headers)
    got = await fetch(session, feed_server.url("/feed"))
    assert got.status == "ok"
    assert got.min_interval == expected


# --- next_state: success ----------------------------------------------------------------


def test_success_uses_default_interval() -> None:
    state, change = next_state(FeedState(), result(etag='"a"', last_modified="x"), POLICY, NOW)
    assert change is None
    assert delay_of(state) == POLICY.interval
    assert state == FeedState(etag='"a"', last_modified="x", next_attempt_at=state.next_attempt_at)


def test_max_age_respected() -> None:
    state, _ = next_state(FeedState(), result(min_interval=3600.0), POLICY, NOW)
    assert delay_of(state) == 3600.0


def test_short_max_age_never_speeds_polling_up() -> None:
    state, _ = next_state(FeedState(), result(min_interval=10.0), POLICY, NOW)
    assert delay_of(state) == POLICY.interval


def test_feed_ttl_and_largest_hint_win() -> None:
    state, _ = next_state(
        FeedState(), result(min_interval=600.0), POLICY, NOW, feed_ttl=60 * 60 * 2.0
    )
    assert delay_of(state) == 7200.0


def test_server_hints_are_capped() -> None:
    state, _ = next_state(FeedState(), result(min_interval=31_536_000.0), POLICY, NOW)
    assert delay_of(state) == POLICY.max_interval


def test_not_modified_keeps_validators_unless_new_ones_given() -> None:
    old = FeedState(etag='"a"', last_modified="old")
    kept, _ = next_state(old, result("not_modified"), POLICY, NOW)
    assert (kept.etag, kept.last_modified) == ('"a"', "old")
    renewed, _ = next_state(old, result("not_modified", etag='"b"'), POLICY, NOW)
    assert (renewed.etag, renewed.last_modified) == ('"b"', "old")


def test_ok_replaces_validators_with_the_latest() -> None:
    old = FeedState(etag='"a"', last_modified="old")
    new, _ = next_state(old, result(etag=None, last_modified="new"), POLICY, NOW)
    assert (new.etag, new.last_modified) == (None, "new")


def test_error_keeps_validators() -> None:
    old = FeedState(etag='"a"', last_modified="old")
    new, _ = next_state(old, result("error"), POLICY, NOW, rng=random.Random(1))
    assert (new.etag, new.last_modified) == ('"a"', "old")
    assert new.last_error == "HTTP 500"


# --- next_state: errors and backoff -------------------------------------------------------


def test_backoff_bounds_grow_then_cap() -> None:
    policy = PollPolicy(interval=300.0, backoff_base=60.0, backoff_max=6 * 3600.0)
    highs = [backoff_bounds(n, policy)[1] for n in range(1, 16)]
    assert highs[:3] == [300.0, 300.0, 300.0]  # the floor: never faster than healthy polling
    assert highs[3:6] == [480.0, 960.0, 1920.0]
    assert highs == sorted(highs)
    assert highs[-1] == policy.backoff_max
    assert all(backoff_bounds(n, policy)[0] == policy.interval for n in range(1, 16))
    # A feed dead for years must not overflow the exponent.
    assert backoff_bounds(100_000, policy) == (policy.interval, policy.backoff_max)


def test_backoff_jitter_within_bounds_and_spread() -> None:
    policy = PollPolicy()
    rng = random.Random(42)
    for failures in range(0, 20):
        low, high = backoff_bounds(failures + 1, policy)
        delays = [
            delay_of(
                next_state(FeedState(failures=failures), result("error"), policy, NOW, rng=rng)[0]
            )
            for _ in range(50)
        ]
        assert all(low <= d <= high for d in delays)
        if high > low:
            assert max(delays) - min(delays) > (high - low) / 4  # really jittered


def test_backoff_is_reproducible_with_seeded_rng() -> None:
    def run(seed: int) -> list[float]:
        rng = random.Random(seed)
        state = FeedState()
        out: list[float] = []
        for _ in range(8):
            state, _ = next_state(state, result("error"), POLICY, NOW, rng=rng)
            out.append(delay_of(state))
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_retry_after_is_honoured_on_error() -> None:
    rng = random.Random(3)
    state, _ = next_state(FeedState(), result("error", retry_after=3000.0), POLICY, NOW, rng=rng)
    assert delay_of(state) >= 3000.0
    huge, _ = next_state(FeedState(), result("error", retry_after=1e9), POLICY, NOW, rng=rng)
    assert delay_of(huge) == POLICY.max_interval


def test_failing_reported_once_then_recovered_once() -> None:
    policy = PollPolicy(failing_after=3)
    rng = random.Random(0)
    state = FeedState()
    changes: list[StateChange | None] = []
    first_failure_at = NOW
    for i in range(8):
        now = NOW + timedelta(minutes=i)
        state, change = next_state(state, result("error"), policy, now, rng=rng)
        changes.append(change)
        assert state.failures == i + 1
        assert state.failing_since == first_failure_at
    assert changes == [None, None, StateChange.FAILING, None, None, None, None, None]

    state, change = next_state(state, result("not_modified"), policy, NOW)
    assert change is StateChange.RECOVERED
    assert (state.failures, state.failing_since, state.last_error) == (0, None, None)
    state, change = next_state(state, result(), policy, NOW)
    assert change is None


def test_short_outage_below_threshold_reports_nothing() -> None:
    policy = PollPolicy(failing_after=3)
    state, change1 = next_state(FeedState(), result("error"), policy, NOW, rng=random.Random(0))
    state, change2 = next_state(state, result("error"), policy, NOW, rng=random.Random(0))
    state, change3 = next_state(state, result(), policy, NOW)
    assert (change1, change2, change3) == (None, None, None)
    assert state.failures == 0
