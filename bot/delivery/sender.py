"""The requests delivery makes, through discord.py's HTTP client and the global pacer.

Bodies go out exactly as given (``render_message``'s dict, plus the nonce): the
low-level ``client.http`` calls send the JSON as is, where ``channel.send`` would
rebuild it from ``discord.Embed`` objects. discord.py still does the rest: per-route
buckets from Discord's headers, waiting out 429s, retrying 500/502/504. Webhook
routes go through the same client (their buckets key on the webhook); their tokens
are in the URLs, which discord.py logs at DEBUG: :class:`bot.redaction.RedactingFilter`
cuts them out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from discord.http import MultipartParameters, Route

from bot.delivery.limiter import RateLimiter
from bot.store import Webhook

log = logging.getLogger(__name__)

#: Failures that mean "try again later": the network, or Discord's edge.
TRANSIENT = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why Discord refused a request: HTTP status, JSON error code, message."""

    status: int
    code: int
    text: str

    @classmethod
    def of(cls, error: discord.HTTPException) -> Refusal:
        """The refusal carried by a discord.py HTTP exception."""
        return cls(int(error.status), int(error.code or 0), str(error.text or ""))

    def __str__(self) -> str:
        detail = f" {self.code}" if self.code else ""
        return f"{self.status}{detail} {self.text}".strip()


def _params(payload: dict[str, Any]) -> MultipartParameters:
    return MultipartParameters(payload=payload, multipart=None, files=None)


class Sender:
    """Delivery's requests to Discord; each one runs in a slot of the pacer, from before
    it is sent until discord.py returns (its retries included)."""

    def __init__(self, client: discord.Client, limiter: RateLimiter) -> None:
        self.client = client
        self.limiter = limiter

    async def post(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /channels/{id}/messages``; returns the message."""
        async with self.limiter.slot():
            data = await self.client.http.send_message(channel_id, params=_params(body))
        return dict(data)

    async def edit(self, channel_id: int, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /channels/{id}/messages/{message_id}``; returns the message."""
        async with self.limiter.slot():
            data = await self.client.http.edit_message(channel_id, message_id, params=_params(body))
        return dict(data)

    async def crosspost(self, channel_id: int, message_id: int) -> dict[str, Any]:
        """``POST .../messages/{message_id}/crosspost``: publish to following servers."""
        async with self.limiter.slot():
            data = await self.client.http.publish_message(channel_id, message_id)
        return dict(data)

    async def forum_post(
        self, forum_id: int, name: str, tag_ids: Sequence[int], body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /channels/{forum}/threads``: a new post (thread with its first message).

        Returns the thread, whose ``message`` is the starter message (same id).
        """
        payload: dict[str, Any] = {"name": name, "message": body}
        if tag_ids:
            payload["applied_tags"] = [str(t) for t in tag_ids]
        async with self.limiter.slot():
            data = await self.client.http.start_thread_in_forum(forum_id, params=_params(payload))
        return dict(data)

    async def create_webhook(self, channel_id: int, name: str) -> Webhook:
        """``POST /channels/{id}/webhooks`` (needs Manage Webhooks)."""
        async with self.limiter.slot():
            data = await self.client.http.create_webhook(channel_id, name=name)
        return Webhook(int(data["id"]), str(data["token"]))

    async def own_webhooks(self, channel_id: int, application_id: int) -> list[Webhook]:
        """``GET /channels/{id}/webhooks``: those this application made (with a token)."""
        async with self.limiter.slot():
            found = await self.client.http.channel_webhooks(channel_id)
        return [
            Webhook(int(w["id"]), str(w["token"]))
            for w in found
            if w.get("token") and str(w.get("application_id")) == str(application_id)
        ]

    async def execute(
        self,
        webhook: Webhook,
        body: dict[str, Any],
        *,
        thread_name: str | None = None,
        tag_ids: Sequence[int] = (),
    ) -> dict[str, Any]:
        """``POST /webhooks/{id}/{token}?wait=true``: a message (in a forum, with
        ``thread_name``, a new post whose thread has the message's id); returns it."""
        payload = dict(body)
        if thread_name is not None:
            payload["thread_name"] = thread_name
            if tag_ids:
                payload["applied_tags"] = [str(t) for t in tag_ids]
        route = Route(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            webhook_id=webhook.id,
            webhook_token=webhook.token,
        )
        async with self.limiter.slot():
            data = await self.client.http.request(route, json=payload, params={"wait": "true"})
        return dict(data)

    async def edit_webhook_message(
        self, webhook: Webhook, message_id: int, body: dict[str, Any], *, thread_id: int | None
    ) -> dict[str, Any]:
        """``PATCH /webhooks/{id}/{token}/messages/{message_id}`` (``thread_id``: the
        forum post's thread it is in)."""
        route = Route(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            webhook_id=webhook.id,
            webhook_token=webhook.token,
            message_id=message_id,
        )
        params = {"thread_id": str(thread_id)} if thread_id is not None else None
        async with self.limiter.slot():
            data = await self.client.http.request(route, json=body, params=params)
        return dict(data)

    async def history_after(
        self, channel_id: int, after: int, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``GET /channels/{id}/messages?after=``: up to ``limit`` messages after the id
        ``after`` (needs Read Message History; without it Discord answers none)."""
        async with self.limiter.slot():
            found = await self.client.http.logs_from(channel_id, limit, after=after)
        return [dict(m) for m in found]
