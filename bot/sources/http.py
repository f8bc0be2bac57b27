"""The HTTP side of feed polling: one conditional GET, and when to try again.

Two pieces, both free of the store and of feed parsing:

- :func:`fetch_feed` performs one poll: a conditional GET that follows redirects
  itself, enforces a size cap and a total timeout, and turns every network-level
  problem into a :class:`FetchResult` with ``status="error"`` instead of raising.
- :func:`next_state` is pure: it folds a result into the persisted
  :class:`FeedState` (validators, failure count, next attempt time) and reports a
  :class:`StateChange` only when a feed starts failing or recovers, so the caller
  logs once per change rather than on every poll.

Scheduling rules (all delays in seconds):

- After ``ok`` / ``not_modified``: wait
  ``max(interval, min(max(hints), max_interval))`` where the hints are the
  server's ``Cache-Control: max-age`` / ``Expires`` (``min_interval``), the feed's
  own ``<ttl>`` (``feed_ttl``) and any ``Retry-After``. A server can slow us down
  but never speed us up, and never silence a feed for longer than ``max_interval``.
- After an error (``n`` = consecutive failures including this one)::

      ceiling = max(interval, min(backoff_max, backoff_base * 2 ** (n - 1)))
      delay   = uniform(interval, ceiling)                  # "full jitter" above the floor
      delay   = max(delay, min(retry_after, max_interval))  # Retry-After is a lower bound

  The floor is ``interval`` on purpose: a broken feed is never polled more often
  than a healthy one (errors are often the server being overloaded), and the jitter
  spreads retries of feeds that failed together (say, our own network was down).
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import logging
import math
import random
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

log = logging.getLogger(__name__)

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK_SIZE = 64 * 1024
# 2 ** 62 * any sane base already exceeds every cap; larger exponents would overflow floats.
_MAX_EXPONENT = 62
_MAX_REASON = 300
_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the caller persists for one feed between polls.

    ``failing_since`` is the time of the first failed poll of the current run of
    failures (set on the first failure, not when the threshold is crossed), so a
    "failing" report can say when the outage began.
    """

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one poll. Only ``ok`` carries a body."""

    status: Literal["ok", "not_modified", "error"]
    body: bytes | None
    final_url: str
    error: str | None
    etag: str | None
    last_modified: str | None
    min_interval: float | None
    retry_after: float | None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Timing and size limits for polling. Delays and timeouts are in seconds."""

    interval: float = 300.0
    timeout: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    backoff_base: float = 60.0
    backoff_max: float = 6 * 3600.0
    failing_after: int = 5
    user_agent: str = "newsbot/0.1 (Discord news bot; feed poller)"
    accept: str = _ACCEPT
    # Upper bound on any delay a server or feed asks for (max-age, Expires, <ttl>,
    # Retry-After): CDNs happily send max-age=31536000 on feed files.
    max_interval: float = 6 * 3600.0


class StateChange(enum.Enum):
    """A transition worth one log line (or one moderator notice)."""

    FAILING = "failing"
    RECOVERED = "recovered"


class _FetchError(Exception):
    """Internal: a poll ended in an error with a human-readable reason."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _answer(
    status: Literal["ok", "not_modified"],
    body: bytes | None,
    final_url: str,
    headers: CIMultiDictProxy[str],
) -> FetchResult:
    """A successful fetch, with the validators and caching hints the server sent."""
    return FetchResult(
        status=status,
        body=body,
        final_url=final_url,
        error=None,
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        min_interval=_min_interval(headers),
        retry_after=None,
        content_type=headers.get("Content-Type"),
    )


async def fetch_feed(
    session: aiohttp.ClientSession, url: str, state: FeedState, policy: PollPolicy
) -> FetchResult:
    """Poll ``url`` once with a conditional GET and return what happened.

    Sends ``If-None-Match`` / ``If-Modified-Since`` from ``state``, follows up to
    ``policy.max_redirects`` redirects itself (http and https only, loops detected),
    gives up after ``policy.timeout`` seconds in total and stops reading once the
    body exceeds ``policy.max_bytes``. Network-level failures (timeouts, refused or
    reset connections, DNS and TLS errors, bad URLs, broken bodies) come back as
    ``status="error"`` with a readable ``error``; only programming errors and
    cancellation propagate.
    """
    track = [url]
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(session, url, state, policy, track)
    except _FetchError as exc:
        return _error(track[-1], exc.reason, retry_after=exc.retry_after)
    except TimeoutError:
        return _error(track[-1], f"timeout after {policy.timeout:g} s")
    except aiohttp.ClientError as exc:
        return _error(track[-1], _describe_client_error(exc))
    except OSError as exc:
        # Raw socket errors that slip past aiohttp's wrapping still mean "network".
        return _error(track[-1], _describe_os_error(exc))


async def _fetch(
    session: aiohttp.ClientSession,
    url: str,
    state: FeedState,
    policy: PollPolicy,
    track: list[str],
) -> FetchResult:
    """Run the redirect loop; ``track[-1]`` is always the URL being tried."""
    target = _parse_url(url, what="URL")
    headers = {"User-Agent": policy.user_agent, "Accept": policy.accept}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    seen = {str(target)}
    redirects = 0
    while True:
        async with session.get(
            target,
            headers=headers,
            allow_redirects=False,
            raise_for_status=False,
            timeout=aiohttp.ClientTimeout(total=policy.timeout),
        ) as resp:
            status = resp.status
            if status in _REDIRECT_STATUSES:
                location = resp.headers.get("Location")
                if not location:
                    raise _FetchError(f"HTTP {status} redirect without a Location header")
                try:
                    nxt = resp.url.join(URL(location))
                except ValueError as exc:
                    raise _FetchError(f"redirect to an invalid URL {location!r:.200}") from exc
                nxt = _check_url(nxt, what="redirect target")
                redirects += 1
                if str(nxt) in seen:
                    raise _FetchError(
                        f"redirect loop: {nxt!s:.200} was already visited "
                        f"(after {redirects} redirects)"
                    )
                if redirects > policy.max_redirects:
                    raise _FetchError(f"too many redirects (limit {policy.max_redirects})")
                seen.add(str(nxt))
                log.debug("feed %s: HTTP %s redirect to %s", url, status, nxt)
                target = nxt
                track.append(str(nxt))
                continue

            final_url = url if redirects == 0 else str(resp.url)
            if status == 304:
                return _answer("not_modified", None, final_url, resp.headers)
            if not 200 <= status < 300:
                retry_after = (
                    _retry_after(resp.headers) if status in _RETRY_AFTER_STATUSES else None
                )
                raise _FetchError(f"HTTP {status}", retry_after=retry_after)
            body = await _read_capped(resp, policy.max_bytes)
            return _answer("ok", body, final_url, resp.headers)


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the body in chunks, giving up as soon as it is larger than ``max_bytes``."""
    too_big = f"body larger than {max_bytes:,} bytes"
    if resp.content_length is not None and resp.content_length > max_bytes:
        resp.close()
        raise _FetchError(too_big)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK_SIZE):
        size += len(chunk)
        if size > max_bytes:
            # close() drops the connection, so the server stops sending too.
            resp.close()
            raise _FetchError(too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_url(raw: str, *, what: str) -> URL:
    try:
        parsed = URL(raw)
    except (ValueError, TypeError) as exc:
        raise _FetchError(f"invalid {what} {raw!r:.200}") from exc
    return _check_url(parsed, what=what, shown=raw)


def _check_url(url: URL, *, what: str, shown: str | None = None) -> URL:
    shown = str(url) if shown is None else shown
    if not url.scheme:
        raise _FetchError(f"invalid {what} {shown!r:.200}: expected http:// or https://")
    if url.scheme not in ("http", "https"):
        raise _FetchError(f"{what} has unsupported scheme {url.scheme!r}: only http and https")
    if not url.host:
        raise _FetchError(f"{what} has no host: {shown!r:.200}")
    return url


def _error(final_url: str, reason: str, *, retry_after: float | None = None) -> FetchResult:
    # One line, bounded: the reason ends up in logs and moderator-facing listings.
    reason = " ".join(reason.split())
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 1] + "…"
    return FetchResult(
        status="error",
        body=None,
        final_url=final_url,
        error=reason,
        etag=None,
        last_modified=None,
        min_interval=None,
        retry_after=retry_after,
    )


def _describe_client_error(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate error: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Checked via the OS error rather than ClientConnectorDNSError (aiohttp >= 3.10).
        if isinstance(exc.os_error, socket.gaierror):
            return f"DNS lookup failed for {exc.host}"
        return _describe_os_error(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL {str(exc.url)!r:.200}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"malformed HTTP response: {exc.message}"
    if isinstance(exc, OSError):
        return _describe_os_error(exc)
    return f"{type(exc).__name__}: {exc}"


def _describe_os_error(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ConnectionAbortedError):
        return "connection aborted"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"connection failed: {reason}"


# --- response headers -> scheduling hints ------------------------------------------


def _min_interval(headers: CIMultiDictProxy[str]) -> float | None:
    """Freshness the server grants: ``max-age`` (minus ``Age``), else ``Expires``."""
    directives = _cache_control(headers.getall("Cache-Control", []))
    max_age = directives.get("max-age")
    if max_age is not None:
        seconds = _non_negative_int(max_age)
        if seconds is not None:
            age = _non_negative_int(headers.get("Age", "")) or 0
            return float(max(0, seconds - age))
    expires = headers.get("Expires")
    if expires is None:
        return None
    # RFC 9111: an unparseable Expires (often "0" or "-1") means "already expired".
    expires_at = _http_date(expires)
    if expires_at is None:
        return 0.0
    return max(0.0, (expires_at - _server_now(headers)).total_seconds())


def _retry_after(headers: CIMultiDictProxy[str]) -> float | None:
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    seconds = _non_negative_int(value)
    if seconds is not None:
        return float(seconds)
    when = _http_date(value)
    if when is None:
        return None
    return max(0.0, (when - _server_now(headers)).total_seconds())


def _cache_control(values: list[str]) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for value in values:
        for part in value.split(","):
            name, sep, arg = part.partition("=")
            name = name.strip().lower()
            if name and name not in directives:
                directives[name] = arg.strip().strip('"') if sep else None
    return directives


def _non_negative_int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _server_now(headers: CIMultiDictProxy[str]) -> datetime:
    """The server's clock when it answered, so a skewed local clock doesn't matter."""
    date = _http_date(headers.get("Date", ""))
    return date if date is not None else datetime.now(UTC)


# --- scheduling ----------------------------------------------------------------------


def next_state(
    state: FeedState,
    result: FetchResult,
    policy: PollPolicy,
    now: datetime,
    *,
    rng: random.Random | None = None,
    feed_ttl: float | None = None,
) -> tuple[FeedState, StateChange | None]:
    """Fold one poll result into the feed's state; pure apart from ``rng``.

    Returns the new state and a :class:`StateChange` when the feed has just become
    failing (``policy.failing_after`` consecutive errors) or has just recovered from
    being failing; ``None`` otherwise. ``feed_ttl`` is the feed's own ``<ttl>`` in
    seconds, if the caller parsed one. See the module docstring for the delays.
    """
    threshold = max(1, policy.failing_after)
    cap = max(policy.interval, policy.max_interval)
    if result.status == "error":
        failures = state.failures + 1
        delay = _backoff(failures, policy, rng if rng is not None else _RNG)
        if result.retry_after is not None:
            delay = max(delay, min(result.retry_after, cap))
        change = StateChange.FAILING if state.failures < threshold <= failures else None
        return (
            FeedState(
                etag=state.etag,
                last_modified=state.last_modified,
                failures=failures,
                next_attempt_at=now + timedelta(seconds=delay),
                failing_since=state.failing_since or now,
                last_error=result.error,
            ),
            change,
        )

    hints = [h for h in (result.min_interval, feed_ttl, result.retry_after) if h is not None]
    delay = policy.interval
    if hints:
        delay = max(delay, min(max(hints), cap))
    if result.status == "ok":
        # The validators belong to the body we just got; old ones would be wrong.
        etag, last_modified = result.etag, result.last_modified
    else:
        etag = result.etag if result.etag is not None else state.etag
        last_modified = (
            result.last_modified if result.last_modified is not None else state.last_modified
        )
    change = StateChange.RECOVERED if state.failures >= threshold else None
    return (
        FeedState(
            etag=etag,
            last_modified=last_modified,
            failures=0,
            next_attempt_at=now + timedelta(seconds=delay),
            failing_since=None,
            last_error=None,
        ),
        change,
    )


def backoff_bounds(failures: int, policy: PollPolicy) -> tuple[float, float]:
    """The ``(low, high)`` range the error delay is drawn from after ``failures`` errors."""
    exponent = min(max(failures, 1) - 1, _MAX_EXPONENT)
    grown = policy.backoff_base * math.pow(2.0, exponent)
    high = max(policy.interval, min(policy.backoff_max, grown))
    return policy.interval, high


def _backoff(failures: int, policy: PollPolicy, rng: random.Random) -> float:
    low, high = backoff_bounds(failures, policy)
    return rng.uniform(low, high)
