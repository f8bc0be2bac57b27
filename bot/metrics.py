"""The bot's Prometheus metrics, on ``prometheus-client``, in one registry per bot.

Every metric is named ``newsbot_...`` with its unit in the name, and labelled only
with values from small fixed sets (an outcome, a status class, a command name, a
source kind, the few configured sources): never a channel or guild id. The parts of
the bot record with one call each (``store.metrics.delivery("sent")``); the values
that are a state rather than a count (the outbox, the sources' ages, the gateway) are
set just before each scrape by :mod:`bot.monitor`.

The registry is this object's own, not the library's global default, so several bots
in one process (the tests) count apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

# Seconds from publication to a confirmed post: a file's post takes a fraction of a
# second, a feed's up to its poll interval, a large fan-out tens of seconds.
PUBLISH_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Slash commands answer within Discord's 3 s; the store's calls take micro- to milliseconds.
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DATABASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

#: A post queued this long after its article's publish date is timed from when it was
#: queued instead: a backfill, or a file that reached the site long after its date.
LATE_QUEUE_SECONDS = 3600.0

# What an ingest step did (the store's Change values), as the articles counter names
# it: a content change is an update; an unchanged article is not counted.
_RENAMED = {"changed": "updated", "unchanged": None}


def status_class(status: int) -> str:
    """``"2xx"`` for 204, and so on."""
    return f"{status // 100}xx"


def article_outcomes(changes: Iterable[str]) -> dict[str, int]:
    """How many ingest steps had each outcome (new, updated, withdrawn, rejected, ...),
    from their changes (:class:`bot.store.Change` values)."""
    counts: dict[str, int] = {}
    for change in changes:
        outcome = _RENAMED.get(change, change)
        if outcome is not None:
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


class Metrics:
    """The bot's metrics and its registry; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.articles = Counter(
            "newsbot_articles",
            "Articles seen by the sources, by source kind and outcome "
            "(new, updated, published, withdrawn, rejected, ...).",
            ["source", "outcome"],
            registry=registry,
        )
        self.announcements = Counter(
            "newsbot_announcements",
            "Announcements handed to delivery: published (new article) or updated.",
            ["kind"],
            registry=registry,
        )
        self.deliveries = Counter(
            "newsbot_deliveries",
            "Delivery steps by outcome: sent, edited, paused, failed, retried, skipped.",
            ["outcome"],
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "newsbot_outbox_pending_deliveries",
            "Posts waiting in the outbox (paused channels' included).",
            registry=registry,
        )
        self.outbox_oldest = Gauge(
            "newsbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest post waiting in the outbox (0 when none waits).",
            registry=registry,
        )
        self.publish_to_post = Histogram(
            "newsbot_publish_to_post_seconds",
            "From an article's publish time (or, when it was queued over an hour later, "
            "from being queued) to Discord confirming its post.",
            buckets=PUBLISH_BUCKETS,
            registry=registry,
        )
        self.discord_responses = Counter(
            "newsbot_discord_responses",
            "HTTP responses from Discord, by status class.",
            ["status_class"],
            registry=registry,
        )
        self.discord_rate_limits = Counter(
            "newsbot_discord_rate_limits",
            "429 responses from Discord, by X-RateLimit-Scope (user, global, shared).",
            ["scope"],
            registry=registry,
        )
        self.feed_polls = Counter(
            "newsbot_feed_polls",
            "Feed polls by outcome: ok, not_modified, error.",
            ["outcome"],
            registry=registry,
        )
        self.source_age = Gauge(
            "newsbot_source_last_success_age_seconds",
            "Seconds since each source last succeeded (a feed poll answered, a content "
            "folder scanned); absent until it first does.",
            ["kind", "source"],
            registry=registry,
        )
        self.gateway_latency = Gauge(
            "newsbot_gateway_latency_seconds",
            "Heartbeat round trip of each gateway shard of this process.",
            ["shard"],
            registry=registry,
        )
        self.shards_connected = Gauge(
            "newsbot_gateway_shards_connected",
            "Gateway shards of this process that are connected.",
            registry=registry,
        )
        self.shards = Gauge(
            "newsbot_gateway_shards", "Gateway shards this process runs.", registry=registry
        )
        self.commands = Counter(
            "newsbot_commands",
            "Slash commands answered, by command and outcome (ok, error).",
            ["command", "outcome"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "newsbot_command_duration_seconds",
            "Time from a slash command reaching the bot to its answer being sent.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )
        database_seconds = Histogram(
            "newsbot_database_call_duration_seconds",
            "Database calls (waiting for the connection included), by kind: read, write.",
            ["kind"],
            buckets=DATABASE_BUCKETS,
            registry=registry,
        )
        self.database_read = database_seconds.labels("read")
        self.database_write = database_seconds.labels("write")
        # Known outcomes start at 0, so that an alert on "no posts" has a series to read
        # before the first post (a label set that was never counted does not exist).
        for kind in ("published", "updated"):
            self.announcements.labels(kind)
        for outcome in ("sent", "edited", "paused", "failed", "retried", "skipped"):
            self.deliveries.labels(outcome)
        for outcome in ("ok", "not_modified", "error"):
            self.feed_polls.labels(outcome)

    # -- the one-line calls of the hot paths ---------------------------------------------

    def ingested(self, source: str, changes: Iterable[str]) -> None:
        """Count what one ingest batch of a source (``content``, ``feed``) did, from the
        ``change`` of each of its results."""
        for outcome, count in article_outcomes(changes).items():
            self.articles.labels(source, outcome).inc(count)

    def announced(self, kind: str) -> None:
        """One announcement (``published`` or ``updated``) was handed to delivery."""
        self.announcements.labels(kind).inc()

    def delivery(self, outcome: str) -> None:
        """One delivery step ended with ``outcome``."""
        self.deliveries.labels(outcome).inc()

    def posted(self, published_at: datetime | None, queued_at: datetime, now: datetime) -> None:
        """A new post was confirmed: count it, and time it from its article's publication
        (see :data:`LATE_QUEUE_SECONDS`)."""
        self.deliveries.labels("sent").inc()
        start = queued_at
        late = (queued_at - published_at).total_seconds() if published_at else LATE_QUEUE_SECONDS
        if published_at is not None and late < LATE_QUEUE_SECONDS:
            start = published_at
        self.publish_to_post.observe(max(0.0, (now - start).total_seconds()))

    def polled(self, outcome: str) -> None:
        """One feed poll ended with ``outcome`` (ok, not_modified, error)."""
        self.feed_polls.labels(outcome).inc()

    def command_started(self, extras: dict[str, object]) -> None:
        """A slash command arrived; ``extras`` is its interaction's ``extras``."""
        extras["newsbot_started"] = time.perf_counter()

    def command_done(self, command: str, extras: dict[str, object], outcome: str) -> None:
        """A slash command was answered (``ok``) or failed (``error``)."""
        self.commands.labels(command, outcome).inc()
        started = extras.get("newsbot_started")
        if isinstance(started, float):
            self.command_seconds.labels(command).observe(time.perf_counter() - started)

    def discord_response(self, status: int, scope: str | None) -> None:
        """Discord answered a request with ``status`` (and a 429's scope header)."""
        if status < 200:
            return  # the gateway's websocket upgrade: not an answer to a request
        self.discord_responses.labels(status_class(status)).inc()
        if status == 429:
            self.discord_rate_limits.labels(scope or "unknown").inc()

    def trace_config(self) -> aiohttp.TraceConfig:
        """An aiohttp trace counting every response of the session it is given to
        (discord.py's ``http_trace``)."""

        async def on_request_end(
            session: aiohttp.ClientSession,
            context: object,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            response = params.response
            self.discord_response(response.status, response.headers.get("X-RateLimit-Scope"))

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_request_end)
        return trace

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """Every metric, and the content type, in the format the scraper's ``Accept``
        header asks for (Prometheus' text format unless it asks for OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
