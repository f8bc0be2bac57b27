"""Metrics and health of a running bot against the local Discord: ``/metrics`` scraped
while it ingests and delivers (parsed with prometheus-client's own parser),
``/healthz`` and ``/readyz`` flipping as the gateway and the database come and go."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

import bot.monitor as monitor
from bot.client import NewsBot
from bot.config import Settings
from tests.e2e import test_delivery
from tests.e2e.test_delivery import Desk
from tests.fakediscord import ChannelType
from tests.waiting import wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# The delivery tests' running bot in one guild, on the settings below.
desk = test_delivery.desk


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    """The end-to-end settings, with the HTTP listener on a free port of 127.0.0.1."""
    return bot_settings.model_copy(
        update={"http_addr": "127.0.0.1:0", "webhook_secret": SecretStr("hook-secret")}
    )


def base_url(bot: NewsBot) -> str:
    assert bot.listener is not None
    return f"http://127.0.0.1:{bot.listener.port}"


async def get(bot: NewsBot, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(bot) + path) as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


async def scrape(bot: NewsBot) -> Samples:
    status, content_type, text = await get(bot, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("newsbot_"), family.name
        for sample in family.samples:
            assert "channel" not in sample.labels and "guild" not in sample.labels
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_as_the_bot_ingests_and_delivers(desk: Desk) -> None:
    fake = desk.fake
    open_ = desk.guild.add_channel("energy", ChannelType.text)
    closed = desk.guild.add_channel("closed", ChannelType.text)
    limited = desk.guild.add_channel("limited", ChannelType.text)
    subscriptions = [await desk.subscribe(channel) for channel in (open_, closed, limited)]
    before = await scrape(desk.bot)
    assert value(before, "newsbot_articles_total", source="content", outcome="new") == 7
    assert value(before, "newsbot_gateway_shards_connected") == 1
    assert value(before, "newsbot_gateway_shards") == 1
    assert value(before, "newsbot_deliveries_total", outcome="sent") == 0
    assert value(before, "newsbot_outbox_pending_deliveries") == 0

    fake.fail_next("POST", f"/channels/{closed.id}/messages", 403)
    fake.fail_next("POST", f"/channels/{limited.id}/messages", 429, retry_after=0.05)
    desk.publish("grid", "Grid Holds Up")
    article = await desk.article_id("Grid Holds Up")
    for subscription in (subscriptions[0], subscriptions[2]):
        await desk.settled(article, subscription=subscription)  # recorded as sent
    await wait_until(desk.bot.store.paused_subscriptions, "the closed channel paused")

    after = await scrape(desk.bot)
    assert value(after, "newsbot_articles_total", source="content", outcome="new") == 8
    assert value(after, "newsbot_announcements_total", kind="published") == 1
    assert value(after, "newsbot_deliveries_total", outcome="sent") == 2
    assert value(after, "newsbot_deliveries_total", outcome="paused") == 1
    assert value(after, "newsbot_discord_rate_limits_total", scope="user") == 1
    assert value(after, "newsbot_discord_responses_total", status_class="4xx") >= 2
    assert value(after, "newsbot_discord_responses_total", status_class="2xx") > value(
        before, "newsbot_discord_responses_total", status_class="2xx"
    )
    # Dated a minute ago: each post timed once.
    assert value(after, "newsbot_publish_to_post_seconds_count") == 2
    # The paused channel's post waits for it: held, not pending.
    assert value(after, "newsbot_outbox_pending_deliveries") == 0
    assert value(after, "newsbot_database_call_duration_seconds_count", kind="write") > 0
    assert (
        value(
            after,
            "newsbot_source_last_success_age_seconds",
            kind="content",
            source=str(desk.content.resolve()),
        )
        >= 0
    )
    assert (
        "newsbot_source_last_success_age_seconds",
        (("kind", "content"), ("source", str(desk.content.resolve()))),
    ) in after

    interaction = await fake.invoke(desk.guild, open_, desk.guild.owner, "news latest")
    await interaction.original_message()
    await fake.wait_until_settled()
    counted = await scrape(desk.bot)
    assert value(counted, "newsbot_commands_total", command="news latest", outcome="ok") == 1
    assert value(counted, "newsbot_command_duration_seconds_count", command="news latest") == 1


async def test_readyz_and_healthz_follow_the_gateway_and_the_database(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, fake = desk.bot, desk.fake

    async def answer(path: str) -> tuple[int, dict[str, Any]]:
        status, content_type, text = await get(bot, path)
        assert content_type.startswith("application/json")
        assert "\n" not in text.strip()
        return status, json.loads(text)

    assert await answer("/readyz") == (200, {"status": "ok"})
    assert await answer("/healthz") == (200, {"status": "ok"})

    fake.gateway_outage()

    async def unready() -> dict[str, Any] | None:
        status, body = await answer("/readyz")
        return body if status == 503 else None

    body = await wait_until(unready, "/readyz to answer 503", timeout=10)
    assert body == {
        "status": "unavailable",
        "reason": "the Discord gateway is not connected (0 of 1 shards)",
    }
    assert (await answer("/healthz"))[0] == 200  # the process itself is fine
    fake.gateway_outage(False)

    async def ready() -> bool:
        return (await answer("/readyz"))[0] == 200

    await wait_until(ready, "/readyz to answer 200 again", timeout=30)

    # A database that does not answer (a long transaction holding it) is unhealthy.
    monkeypatch.setattr(monitor, "DATABASE_TIMEOUT", 0.2)
    async with bot.store._transaction():
        status, body = await answer("/healthz")
    assert (status, body) == (
        503,
        {"status": "unavailable", "reason": "the database did not answer within 0.2 s"},
    )
    assert await answer("/healthz") == (200, {"status": "ok"})
