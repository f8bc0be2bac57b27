"""The metrics module: names and labels, the one-line calls, the response trace, one
registry per bot, and the monitor's gauges, health and readiness answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import discord
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

import bot.monitor as monitor
from bot.metrics import Metrics, article_outcomes, status_class
from bot.monitor import Gateway, Monitor, gateway_of
from bot.store import Change, SourceKind, Store
from tests.test_status import CONTENT, FEED, NOW, World, build

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(metrics: Metrics) -> Samples:
    body, content_type = metrics.render()
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    found: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def test_every_metric_is_named_for_the_bot_with_its_unit() -> None:
    body, _ = Metrics().render()
    families = {f.name: f.type for f in text_string_to_metric_families(body.decode())}
    assert all(name.startswith("newsbot_") for name in families), families
    histograms = [name for name, kind in families.items() if kind == "histogram"]
    assert sorted(histograms) == [
        "newsbot_command_duration_seconds",
        "newsbot_database_call_duration_seconds",
        "newsbot_publish_to_post_seconds",
    ]
    assert families["newsbot_outbox_oldest_pending_age_seconds"] == "gauge"
    assert families["newsbot_deliveries"] == "counter"


def test_outcomes_and_status_classes() -> None:
    changes = [Change.NEW, Change.NEW, Change.CHANGED, Change.UNCHANGED, Change.WITHDRAWN]
    changes += [Change.REJECTED, Change.PUBLISHED]
    assert article_outcomes(changes) == {
        "new": 2,
        "updated": 1,
        "withdrawn": 1,
        "rejected": 1,
        "published": 1,
    }
    assert article_outcomes([]) == {}
    assert [status_class(s) for s in (200, 204, 304, 403, 429, 502)] == [
        "2xx",
        "2xx",
        "3xx",
        "4xx",
        "4xx",
        "5xx",
    ]


def test_each_bot_counts_apart() -> None:
    one, other = Metrics(), Metrics()
    one.delivery("paused")
    one.ingested("feed", [Change.NEW])
    assert value(one, "newsbot_deliveries_total", outcome="paused") == 1
    assert value(other, "newsbot_deliveries_total", outcome="paused") == 0  # there, at 0
    assert value(one, "newsbot_articles_total", source="feed", outcome="new") == 1


def test_publish_to_post_is_timed_from_publication_or_from_queueing() -> None:
    metrics = Metrics()
    queued = NOW - timedelta(seconds=30)
    metrics.posted(NOW - timedelta(seconds=40), queued, NOW)  # 40 s after publication
    metrics.posted(NOW - timedelta(days=3), queued, NOW)  # old date or backfill: 30 s
    metrics.posted(None, queued, NOW)  # undated: 30 s
    metrics.posted(NOW + timedelta(minutes=5), queued, NOW)  # a date ahead of the clock: 0
    assert value(metrics, "newsbot_deliveries_total", outcome="sent") == 4
    assert value(metrics, "newsbot_publish_to_post_seconds_count") == 4
    assert value(metrics, "newsbot_publish_to_post_seconds_sum") == 100
    assert value(metrics, "newsbot_publish_to_post_seconds_bucket", le="0.25") == 1


def test_commands_are_counted_and_timed() -> None:
    metrics = Metrics()
    extras: dict[str, object] = {}
    metrics.command_started(extras)
    metrics.command_done("news latest", extras, "ok")
    metrics.command_done("news search", {}, "refused")  # never started: counted, not timed
    assert value(metrics, "newsbot_commands_total", command="news latest", outcome="ok") == 1
    assert value(metrics, "newsbot_command_duration_seconds_count", command="news latest") == 1
    assert value(metrics, "newsbot_commands_total", command="news search", outcome="refused") == 1
    assert value(metrics, "newsbot_command_duration_seconds_count", command="news search") is None


def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    body, content_type = Metrics().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


@pytest.fixture
async def discordish() -> AsyncIterator[str]:
    """A local server answering like Discord: 200, 429s of each scope, 503."""

    async def handler(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        scope = request.query.get("scope")
        return web.Response(status=status, headers={"X-RateLimit-Scope": scope} if scope else {})

    app = web.Application()
    app.router.add_get("/{status}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_the_trace_counts_responses_and_429_scopes(discordish: str) -> None:
    metrics = Metrics()
    async with aiohttp.ClientSession(trace_configs=[metrics.trace_config()]) as session:
        for path in ("200", "204", "429?scope=user", "429?scope=shared", "429", "503"):
            async with session.get(f"{discordish}/{path}") as response:
                await response.read()
    assert value(metrics, "newsbot_discord_responses_total", status_class="2xx") == 2
    assert value(metrics, "newsbot_discord_responses_total", status_class="4xx") == 3
    assert value(metrics, "newsbot_discord_responses_total", status_class="5xx") == 1
    for scope in ("user", "shared", "unknown"):
        assert value(metrics, "newsbot_discord_rate_limits_total", scope=scope) == 1
    metrics.discord_response(101, None)  # a websocket upgrade is no answer
    assert value(metrics, "newsbot_discord_responses_total", status_class="1xx") is None


# -- the monitor ----------------------------------------------------------------------


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    world = await build(tmp_path / "newsbot.sqlite3")
    yield world
    await world.store.close()


async def test_the_scrape_sets_the_outbox_and_source_gauges(world: World) -> None:
    store = world.store
    feed = await store.source(SourceKind.FEED, FEED)
    await store.save_feed_state(
        feed.id, etag=None, last_modified=None, failures=0, next_attempt_at=None,
        failing_since=None, last_error=None, last_polled_at=NOW - timedelta(seconds=90),
    )  # fmt: skip
    await store.source(SourceKind.FEED, "https://never.example.org/feed")  # no success yet
    watch = Monitor(store, lambda: True, clock=lambda: NOW)
    await watch.refresh()
    m = store.metrics
    assert value(m, "newsbot_outbox_pending_deliveries") == 1  # the paused one is held
    assert value(m, "newsbot_outbox_oldest_pending_age_seconds") == 120
    age = "newsbot_source_last_success_age_seconds"
    assert value(m, age, kind="content", source=CONTENT) == 120
    assert value(m, age, kind="feed", source="https://***@example.org/feed.xml") == 90
    assert not [k for k in samples(m) if k[0] == age and "never" in str(k[1])]
    assert "s3cret" not in m.render()[0].decode()


async def test_health_follows_the_database(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    watch = Monitor(world.store, lambda: True)
    assert await watch.health() is None
    monkeypatch.setattr(monitor, "DATABASE_TIMEOUT", 0.05)
    async with world.store._transaction():
        assert await watch.health() == "the database did not answer within 0.05 s"
    assert await watch.health() is None
    await world.store.close()
    assert await watch.health() == "the database cannot be used: the store is closed"


async def test_health_of_a_database_deleted_under_the_bot(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.sqlite3"
    store = await Store.open(path)
    try:
        path.unlink()
        store._database._next_check = 0.0  # look at the file now, not in 2 s
        reason = await Monitor(store, lambda: True).health()
        assert reason is not None and reason.startswith(
            f"the database cannot be used: the database {path} was deleted"
        )
    finally:
        await store.close()


async def test_readiness_waits_for_the_first_scans(world: World) -> None:
    scanned = False
    watch = Monitor(world.store, lambda: scanned)
    assert watch.readiness() == "the sources have not finished their first scan"
    scanned = True
    assert watch.readiness() is None


def test_a_client_that_never_connected_is_not_ready() -> None:
    client = discord.Client(intents=discord.Intents.none())
    assert gateway_of(client) == Gateway(1, {})
    sharded = discord.AutoShardedClient(intents=discord.Intents.none(), shard_count=3)
    assert gateway_of(sharded) == Gateway(3, {})
    chosen = discord.AutoShardedClient(
        intents=discord.Intents.none(), shard_count=8, shard_ids=[2, 3]
    )
    assert gateway_of(chosen) == Gateway(2, {})


async def test_the_routes_over_http(world: World) -> None:
    from bot.web import HttpListener

    watch = Monitor(world.store, lambda: False)
    listener = HttpListener("127.0.0.1:0", watch.routes())
    await listener.start()
    try:
        base = f"http://127.0.0.1:{listener.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 503
                assert await response.json() == {
                    "status": "unavailable",
                    "reason": "the sources have not finished their first scan",
                }
            async with session.get(f"{base}/healthz") as response:
                assert (response.status, await response.json()) == (200, {"status": "ok"})
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                text = await response.text()
                assert "newsbot_outbox_pending_deliveries 1.0" in text
            for method, path in (("POST", "/metrics"), ("GET", "/metrics/x"), ("GET", "/")):
                async with session.request(method, base + path) as response:
                    assert response.status in (404, 405), (method, path)
    finally:
        await listener.close()
