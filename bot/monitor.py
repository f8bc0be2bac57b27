"""What operators' tools read over the HTTP listener: ``GET /metrics`` (Prometheus),
``GET /healthz`` (the process is up and its database answers) and ``GET /readyz``
(the gateway is connected, every shard of this process, and the sources have
finished their first scan).

Health answers are one line of JSON: ``{"status": "ok"}``, or with 503
``{"status": "unavailable", "reason": "..."}``, for systemd, Kubernetes and load
balancers alike.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import discord
from aiohttp import web

from bot.redaction import redact
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

#: How long the health check waits for the database before calling it unhealthy.
DATABASE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Gateway:
    """The gateway shards of this process: how many it runs, and the heartbeat latency
    (seconds, NaN before the first heartbeat) of each connected one."""

    shards: int
    connected: dict[int, float] = field(default_factory=dict)


def gateway_of(client: discord.Client) -> Gateway:
    """The gateway's state, read from discord.py's public API (a plain client has one
    connection; an ``AutoShardedClient`` one per shard it runs)."""
    if isinstance(client, discord.AutoShardedClient):
        shards = client.shards
        expected = len(client.shard_ids) if client.shard_ids else client.shard_count
        connected = {i: info.latency for i, info in shards.items() if not info.is_closed()}
        return Gateway(max(expected or 0, len(shards), 1), connected)
    socket: discord.gateway.DiscordWebSocket | None = client.ws
    up = socket is not None and socket.open and client.is_ready() and not client.is_closed()
    return Gateway(1, {client.shard_id or 0: client.latency} if up else {})


def _answer(reason: str | None) -> web.Response:
    if reason is None:
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable", "reason": reason}, status=503)


class Monitor:
    """The three routes, over the bot's store (its metrics too), its sources'
    readiness (``scanned``) and, outside the dry run, its Discord client."""

    def __init__(
        self,
        store: Store,
        scanned: Callable[[], bool],
        client: discord.Client | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.metrics = store.metrics
        self.scanned = scanned
        self.client = client
        self._now = clock

    def routes(self) -> list[web.RouteDef]:
        """``GET /metrics``, ``/healthz``, ``/readyz`` for :class:`bot.web.HttpListener`."""
        return [
            web.get("/metrics", self.serve_metrics),
            web.get("/healthz", self.serve_healthz),
            web.get("/readyz", self.serve_readyz),
        ]

    async def refresh(self) -> None:
        """Set the gauges that are a state: the outbox, the sources' ages, the gateway."""
        m = self.metrics
        now = self._now()
        outbox = await self.store.outbox(with_failed=False)
        m.outbox_pending.set(outbox.pending)
        oldest = outbox.oldest_pending_at
        m.outbox_oldest.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        m.source_age.clear()
        for source in await self.store.sources():
            if source.last_success_at is not None:
                age = max(0.0, (now - source.last_success_at).total_seconds())
                m.source_age.labels(source.kind.value, redact(source.locator)).set(age)
        if self.client is not None:
            gateway = gateway_of(self.client)
            m.shards.set(gateway.shards)
            m.shards_connected.set(len(gateway.connected))
            m.gateway_latency.clear()
            for shard, latency in gateway.connected.items():
                if not math.isnan(latency) and not math.isinf(latency):
                    m.gateway_latency.labels(str(shard)).set(latency)

    async def serve_metrics(self, request: web.Request) -> web.Response:
        """``GET /metrics``: every metric in Prometheus' text format."""
        try:
            await self.refresh()
        except (StoreError, sqlite3.Error):
            # The counters still tell a story: serve them, with the last states.
            log.warning("metrics: could not read the outbox and sources", exc_info=True)
        body, content_type = self.metrics.render(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def health(self) -> str | None:
        """Why the process is not healthy (its database does not answer), or None."""
        try:
            await asyncio.wait_for(self.store.ping(), DATABASE_TIMEOUT)
        except TimeoutError:
            return f"the database did not answer within {DATABASE_TIMEOUT:g} s"
        except (StoreError, sqlite3.Error, ValueError) as exc:
            return f"the database cannot be used: {exc}"
        return None

    def readiness(self) -> str | None:
        """Why the bot is not ready to serve (gateway, first scans), or None."""
        if self.client is not None:
            gateway = gateway_of(self.client)
            if len(gateway.connected) < gateway.shards:
                return (
                    f"the Discord gateway is not connected "
                    f"({len(gateway.connected)} of {gateway.shards} shards)"
                )
        if not self.scanned():
            return "the sources have not finished their first scan"
        return None

    async def serve_healthz(self, request: web.Request) -> web.Response:
        """``GET /healthz``: 200 while the process is up and its database answers."""
        return _answer(await self.health())

    async def serve_readyz(self, request: web.Request) -> web.Response:
        """``GET /readyz``: 200 once connected (every shard) and the sources scanned."""
        return _answer(self.readiness())
