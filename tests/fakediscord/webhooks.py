"""Channel webhooks, as Discord has them: created by a member with Manage Webhooks,
executed with their token (no bot authorization, no nonce), their messages edited
and deleted through the same token.

A webhook's message carries ``webhook_id`` and, as its author, the ``username`` and
avatar the request gave (else the webhook's own). Discord keeps an avatar as a hash of
the image; the fake keeps the URL it was given beside it (:meth:`FakeDiscord.avatar_url`),
so a test sees the avatar a reader sees.

Rate limits: executing a webhook has its own bucket per webhook (5 per 2 s, as
Discord's headers say), and a channel takes at most 30 webhook messages a minute
(Discord's documented webhook limit per channel, whatever the number of webhooks);
beyond it the answer is a 429 like any other.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import messages
from .errors import ApiError, RateLimitedError
from .models import ChannelType, FakeChannel, FakeUser, Permission

if TYPE_CHECKING:
    from .rest import Call
    from .server import FakeDiscord

#: Webhook messages a channel takes per minute.
CHANNEL_WEBHOOK_LIMIT = (30, 60.0)
#: Webhooks a channel holds at most (Discord: 15, error 30007).
MAX_WEBHOOKS = 15
_FORBIDDEN_NAMES = ("clyde", "discord")
_TEXT_TYPES = {ChannelType.text, ChannelType.announcement}
_FORUM_TYPES = {ChannelType.forum, ChannelType.media}


@dataclass(eq=False)
class FakeWebhook:
    id: int
    token: str
    channel: FakeChannel
    name: str
    creator: FakeUser
    application_id: int | None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": 1,
            "guild_id": str(self.channel.guild.id),
            "channel_id": str(self.channel.id),
            "name": self.name,
            "avatar": None,
            "token": self.token,
            "application_id": str(self.application_id) if self.application_id else None,
            "user": self.creator.payload(),
        }


def _name_errors(name: Any, field: str) -> None:
    """Discord refuses webhook names of 1-80 characters holding "clyde" or "discord"."""
    if not isinstance(name, str):
        return
    if not 1 <= len(name) <= 80 or any(word in name.casefold() for word in _FORBIDDEN_NAMES):
        from . import validation

        tree = validation.error_tree([((field,), "USERNAME_INVALID", "Invalid username")])
        raise ApiError(400, 50035, "Invalid Form Body", errors=tree)


def _webhook(server: FakeDiscord, call: Call) -> FakeWebhook:
    webhook = server.webhooks.get(int(call.params["webhook_id"]))
    token = call.params.get("webhook_token")
    if webhook is None:
        raise ApiError(404, 10015, "Unknown Webhook")
    if token is not None and not secrets.compare_digest(token, webhook.token):
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return webhook


async def create_webhook(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    if channel.type not in _TEXT_TYPES | _FORUM_TYPES:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    server._require(channel, Permission.MANAGE_WEBHOOKS)
    body: dict[str, Any] = call.body or {}
    _name_errors(body.get("name"), "name")
    if sum(1 for w in server.webhooks.values() if w.channel is channel) >= MAX_WEBHOOKS:
        raise ApiError(400, 30007, "Maximum number of webhooks reached (15)")
    webhook = FakeWebhook(
        server.ids.next(),
        secrets.token_urlsafe(48),
        channel,
        body["name"],
        server.bot_user,
        server.application_id,
    )
    server.webhooks[webhook.id] = webhook
    return 200, webhook.payload()


async def channel_webhooks(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    server._require(channel, Permission.MANAGE_WEBHOOKS)
    return 200, [w.payload() for w in server.webhooks.values() if w.channel is channel]


async def delete_webhook(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    """``DELETE /webhooks/{id}`` (Manage Webhooks) or ``/webhooks/{id}/{token}``."""
    webhook = _webhook(server, call)
    if "webhook_token" not in call.params:
        server._require(webhook.channel, Permission.MANAGE_WEBHOOKS)
    del server.webhooks[webhook.id]
    return 204, None


def _count_channel_message(server: FakeDiscord, channel: FakeChannel) -> None:
    limit, period = CHANNEL_WEBHOOK_LIMIT
    decision = server._limiter.hit("webhook-channel", str(channel.id), limit, period)
    if not decision.allowed:
        raise RateLimitedError(decision.retry_after)


def _author(server: FakeDiscord, webhook: FakeWebhook, body: dict[str, Any]) -> dict[str, Any]:
    author = FakeUser(webhook.id, body.get("username") or webhook.name, bot=True).payload()
    avatar_url = body.get("avatar_url")
    if avatar_url:
        avatar = hashlib.sha1(avatar_url.encode()).hexdigest()[:32]
        server.avatars[avatar] = avatar_url
        author["avatar"] = avatar
    return author


def _thread(server: FakeDiscord, webhook: FakeWebhook, call: Call) -> FakeChannel | None:
    """The thread of ``?thread_id=``, which must be in the webhook's channel."""
    raw = call.request.query.get("thread_id")
    if raw is None:
        return None
    thread = server._channel_or_none(int(raw)) if raw.isdigit() else None
    if thread is None or thread.parent_id != webhook.channel.id:
        raise ApiError(400, 10003, "Unknown Channel")
    return thread


async def execute(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    """``POST /webhooks/{id}/{token}`` for a channel webhook (``?wait=true`` answers
    with the message, else 204)."""
    webhook = _webhook(server, call)
    body: dict[str, Any] = call.body or {}
    _name_errors(body.get("username"), "username")
    parent = webhook.channel
    thread = _thread(server, webhook, call)
    _count_channel_message(server, parent)
    # A webhook posts with its own permissions, whatever the bot's: embeds and
    # mentions as allowed_mentions says (roles pinged if mentionable, as for members).
    perms = int(Permission.EMBED_LINKS | Permission.SEND_MESSAGES)
    first_of_thread = False
    if parent.type in _FORUM_TYPES and thread is None:
        if not body.get("thread_name"):
            raise ApiError(
                400,
                220001,
                "Webhooks posted to forum channels must have a thread_name or thread_id",
            )
        thread = _new_forum_thread(server, webhook, body)
        first_of_thread = True
    elif body.get("thread_name"):
        raise ApiError(400, 220003, "Webhooks can only create threads in forum channels")
    where = thread or parent
    message = server._new_message(
        where,
        body,
        perms=perms,
        message_id=where.id if first_of_thread else None,
        flags=(body.get("flags") or 0) & (messages.SUPPRESS_EMBEDS | (1 << 12)),
    )
    message["author"] = _author(server, webhook, body)
    message["webhook_id"] = str(webhook.id)
    if webhook.application_id:
        message["application_id"] = str(webhook.application_id)
    if messages.is_empty(message):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if first_of_thread:
        parent.guild.channels[where.id] = where
        parent.last_message_id = where.id
        server.gateway.dispatch(
            "THREAD_CREATE",
            where.payload() | {"newly_created": True},
            intent=1 << 0,
            guild_id=parent.guild.id,
        )
    server._store(where, message)
    if call.request.query.get("wait", "").lower() in ("1", "true"):
        return 200, message
    return 204, None


def _new_forum_thread(
    server: FakeDiscord, webhook: FakeWebhook, body: dict[str, Any]
) -> FakeChannel:
    parent = webhook.channel
    tag_ids = [int(t) for t in body.get("applied_tags") or []]
    known = {int(t["id"]) for t in parent.available_tags}
    if any(t not in known for t in tag_ids):
        raise ApiError(400, 50035, "Invalid Form Body")
    if parent.flags & (1 << 4) and not tag_ids:
        raise ApiError(400, 40067, "A tag is required to create a forum post in this channel")
    # Discord makes the webhook the owner of the thread it starts.
    return FakeChannel(
        server.ids.next(),
        parent.guild,
        body["thread_name"],
        ChannelType.public_thread,
        parent_id=parent.id,
        owner_id=webhook.id,
        applied_tags=tag_ids,
    )


def _own_message(
    server: FakeDiscord, webhook: FakeWebhook, call: Call
) -> tuple[FakeChannel, dict[str, Any]]:
    where = _thread(server, webhook, call) or webhook.channel
    raw = call.params["message_id"]
    message = where.messages.get(int(raw)) if raw.isdigit() else None
    if message is None or message.get("webhook_id") != str(webhook.id):
        raise ApiError(404, 10008, "Unknown Message")
    return where, message


async def get_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, _own_message(server, _webhook(server, call), call)[1]


async def edit_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    webhook = _webhook(server, call)
    where, message = _own_message(server, webhook, call)
    body: dict[str, Any] = call.body or {}
    messages.apply_edit(where, message, body, int(Permission.EMBED_LINKS))
    server._dispatch_message("MESSAGE_UPDATE", where, message)
    return 200, message


async def delete_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    webhook = _webhook(server, call)
    where, message = _own_message(server, webhook, call)
    server._remove_message(where, message)
    return 204, None


def is_channel_webhook(server: FakeDiscord, call: Call) -> bool:
    """Whether the ``{webhook_id}`` of the call is a channel webhook (not the
    application's interaction webhook)."""
    raw = call.params["webhook_id"]
    return raw.isdigit() and int(raw) in server.webhooks
