"""REST v10 handlers: start-up, application commands, interactions, webhooks, channels.

Each handler takes the server and the parsed call and returns (status, JSON body), or
raises `ApiError` with Discord's code. Auth, rate limits, injected failures and body
validation happen before a handler runs (see `FakeDiscord._serve`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import messages, validation, webhooks
from .errors import ApiError, RateLimitedError
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    EPHEMERAL,
    LOADING,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    FakeInteraction,
    modal_errors,
)
from .models import ChannelType, FakeChannel, Permission

if TYPE_CHECKING:
    from .server import FakeDiscord, RecordedRequest

CROSSPOSTED = 1 << 0
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
GUILDS_INTENT = 1 << 0
_TEXT_CAPABLE = {
    ChannelType.text,
    ChannelType.voice,
    ChannelType.announcement,
    ChannelType.announcement_thread,
    ChannelType.public_thread,
    ChannelType.private_thread,
}


@dataclass
class Call:
    request: web.Request
    params: dict[str, str]
    body: Any
    record: RecordedRequest


Handler = Callable[["FakeDiscord", Call], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    bot_auth: bool = True


# -- handlers: start-up --------------------------------------------------------------


async def get_gateway(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, {"url": server.gateway_url}


async def get_gateway_bot(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, {
        "url": server.gateway_url,
        "shards": server.gateway.recommended_shards(),
        "session_start_limit": server.gateway.session_start_limit(),
    }


async def get_me(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, server.bot_user.payload() | {
        "verified": True,
        "mfa_enabled": False,
        "locale": "en-US",
        "email": None,
        "premium_type": 0,
    }


async def get_application(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, {
        "id": str(server.application_id),
        "name": server.bot_user.username,
        "icon": None,
        "description": "",
        "type": None,
        "bot": server.bot_user.payload(),
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": server.verify_key,
        "flags": 0,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": server.app_owner.payload(),
        "team": None,
        "approximate_guild_count": len(server.guilds),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "integration_types_config": {"0": {}},
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
    }


# -- handlers: application commands -----------------------------------------------------


def _command_scope(server: FakeDiscord, call: Call) -> int | None:
    if call.params["application_id"] != str(server.application_id):
        raise ApiError(403, 50001, "Missing Access")
    if "guild_id" not in call.params:
        return None
    guild_id = int(call.params["guild_id"]) if call.params["guild_id"].isdigit() else 0
    if guild_id not in server.guilds:
        raise ApiError(403, 50001, "Missing Access")
    return guild_id


async def get_commands(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    return 200, server.commands.get(_command_scope(server, call), [])


async def put_commands(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    scope = _command_scope(server, call)
    previous = {(c["name"], c["type"]): c["id"] for c in server.commands.get(scope, [])}
    stored = []
    for cmd in call.body or []:
        ctype = cmd.get("type") or 1
        perms = cmd.get("default_member_permissions")
        entry = {k: v for k, v in cmd.items() if v is not None}
        entry.update(
            id=previous.get((cmd["name"], ctype)) or str(server.ids.next()),
            application_id=str(server.application_id),
            version=str(server.ids.next()),
            type=ctype,
            description=cmd.get("description") or "",
            default_member_permissions=None if perms is None else str(perms),
            nsfw=bool(cmd.get("nsfw")),
        )
        if scope is not None:
            entry["guild_id"] = str(scope)
        stored.append(entry)
    server.commands[scope] = stored
    server.command_syncs.append(scope)
    return 200, stored


# -- handlers: interactions ---------------------------------------------------------


async def interaction_callback(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    raw_id = call.params["interaction_id"]
    interaction = server.interactions.get(int(raw_id)) if raw_id.isdigit() else None
    if interaction is None or interaction.token != call.params["interaction_token"]:
        raise ApiError(404, 10062, "Unknown interaction")
    record = call.record
    delay = server.clock() - interaction.created_at
    if interaction.callback is not None:
        server._violate("already_acknowledged", record, "a second callback for one interaction")
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if delay > server.interaction_deadline:
        server._violate(
            "late_interaction_response",
            record,
            f"answered after {delay:.2f}s; Discord allows {server.interaction_deadline}s",
        )
        raise ApiError(404, 10062, "Unknown interaction")
    body: dict[str, Any] = call.body
    kind = body["type"]
    allowed = {
        APPLICATION_COMMAND: {4, 5, 9},
        MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
        AUTOCOMPLETE: {8},
        # No modal after a modal; updating a message only when the modal came from one.
        MODAL_SUBMIT: {4, 5, 6, 7} if interaction.message is not None else {4, 5},
    }
    if kind not in allowed.get(interaction.type, set()):
        tree = validation.error_tree(
            [
                (
                    ("type",),
                    "INTERACTION_CALLBACK_TYPE_INVALID",
                    "Invalid callback type for this interaction",
                )
            ]
        )
        server._violate("invalid_body", record, json.dumps(tree))
        raise ApiError(400, 50035, "Invalid Form Body", errors=tree)

    data = dict(body.get("data") or {})
    problems = modal_errors(data) if kind == 9 else []
    if problems:
        tree = validation.error_tree(problems)
        server._violate("invalid_body", record, json.dumps(tree))
        raise ApiError(400, 50035, "Invalid Form Body", errors=tree)
    channel = interaction.channel
    perms = channel.guild.bot_member.permissions_in(channel)
    msg_type = 20 if interaction.type == APPLICATION_COMMAND else 0
    resource: dict[str, Any] | None = None
    if kind in (4, 5):
        flags = (data.get("flags") or 0) & (EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS)
        if kind == 5:
            flags = (flags & EPHEMERAL) | LOADING
            data = {}
        message = server._new_message(
            channel, data, perms=perms, msg_type=msg_type, flags=flags, interaction=interaction
        )
        if kind == 4 and messages.is_empty(message):
            raise ApiError(400, 50006, "Cannot send an empty message")
        server._store(channel, message)
        interaction.original_id = int(message["id"])
        if kind == 4:
            resource = {"type": 4, "message": message}
    elif kind in (6, 7):
        assert interaction.message is not None
        interaction.original_id = int(interaction.message["id"])
        if kind == 7:
            target = server._find_message(interaction.original_id)
            if target is None:
                raise ApiError(404, 10008, "Unknown Message")
            messages.apply_edit(channel, target, data, perms)
            resource = {"type": 7, "message": target}
    interaction.callback = body
    interaction.callback_delay = delay
    if call.request.query.get("with_response", "").lower() not in ("1", "true"):
        return 204, None
    original = interaction.original
    summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
    if original is not None and kind in (4, 5, 7):
        summary.update(
            response_message_id=original["id"],
            response_message_loading=bool(original["flags"] & LOADING),
            response_message_ephemeral=bool(original["flags"] & EPHEMERAL),
        )
    answer: dict[str, Any] = {"interaction": summary}
    if resource is not None:
        answer["resource"] = resource
    return 200, answer


def _webhook_interaction(server: FakeDiscord, call: Call) -> FakeInteraction:
    """Interaction tokens double as webhook tokens for the application's id."""
    token = call.params["webhook_token"]
    interaction = next((i for i in server.interactions.values() if i.token == token), None)
    if call.params["webhook_id"] != str(server.application_id) or interaction is None:
        raise ApiError(404, 10015, "Unknown Webhook")
    age = server.clock() - interaction.created_at
    if age > server.interaction_token_ttl:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    if interaction.callback is None:  # follow-ups need an acknowledged interaction
        raise ApiError(404, 10015, "Unknown Webhook")
    return interaction


def _webhook_message(
    server: FakeDiscord, call: Call, interaction: FakeInteraction
) -> dict[str, Any]:
    raw = call.params.get("message_id")
    mid = interaction.original_id if raw is None else (int(raw) if raw.isdigit() else 0)
    if mid is None or (mid != interaction.original_id and mid not in interaction.followup_ids):
        raise ApiError(404, 10008, "Unknown Message")
    message = server._find_message(mid)
    if message is None:
        raise ApiError(404, 10008, "Unknown Message")
    return message


async def execute_webhook(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    if webhooks.is_channel_webhook(server, call):
        return await webhooks.execute(server, call)
    interaction = _webhook_interaction(server, call)
    body: dict[str, Any] = call.body or {}
    channel = interaction.channel
    perms = channel.guild.bot_member.permissions_in(channel)
    original = interaction.original
    if original is not None and original["flags"] & LOADING:
        # The first follow-up after a deferred answer replaces the "thinking" message,
        # keeping the ephemeral choice made when deferring.
        messages.apply_edit(channel, original, body, perms)
        original["flags"] &= ~LOADING
        original["edited_timestamp"] = None
        if not original["flags"] & EPHEMERAL:
            server._dispatch_message("MESSAGE_UPDATE", channel, original)
        message = original
    else:
        flags = (body.get("flags") or 0) & (EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS)
        msg_type = 20 if interaction.type == APPLICATION_COMMAND else 0
        message = server._new_message(
            channel, body, perms=perms, msg_type=msg_type, flags=flags, interaction=interaction
        )
        if messages.is_empty(message):
            raise ApiError(400, 50006, "Cannot send an empty message")
        server._store(channel, message)
        interaction.followup_ids.append(int(message["id"]))
    if call.request.query.get("wait", "").lower() in ("1", "true"):
        return 200, message
    return 204, None


async def get_webhook_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    if webhooks.is_channel_webhook(server, call):
        return await webhooks.get_message(server, call)
    return 200, _webhook_message(server, call, _webhook_interaction(server, call))


async def edit_webhook_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    if webhooks.is_channel_webhook(server, call):
        return await webhooks.edit_message(server, call)
    interaction = _webhook_interaction(server, call)
    message = _webhook_message(server, call, interaction)
    channel = interaction.channel
    messages.apply_edit(
        channel, message, call.body or {}, server.bot_permissions(channel.guild, channel)
    )
    message["flags"] &= ~LOADING
    if not message["flags"] & EPHEMERAL:
        server._dispatch_message("MESSAGE_UPDATE", channel, message)
    return 200, message


async def delete_webhook_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    if webhooks.is_channel_webhook(server, call):
        return await webhooks.delete_message(server, call)
    interaction = _webhook_interaction(server, call)
    message = _webhook_message(server, call, interaction)
    server._remove_message(interaction.channel, message)
    return 204, None


# -- handlers: channels and messages -----------------------------------------------------


async def get_channel(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    server._require(channel)
    return 200, channel.payload()


async def create_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    body: dict[str, Any] = call.body or {}
    if channel.type not in _TEXT_CAPABLE:
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    send = (
        Permission.SEND_MESSAGES_IN_THREADS if channel.type.is_thread else Permission.SEND_MESSAGES
    )
    perms = server._require(channel, send)
    _refuse_if_locked(channel, perms)
    nonce_key = (channel.id, str(body.get("nonce")))
    if body.get("enforce_nonce") and body.get("nonce") is not None:
        seen = server._nonces.get(nonce_key)
        if seen and server.clock() - seen[1] < server.nonce_ttl:
            existing = server._find_message(seen[0])
            if existing is not None:
                return 200, existing
    body = messages.strip_embeds_without_permission(body, perms)
    msg_type = 0
    reference = body.get("message_reference")
    if reference:
        referenced = channel.messages.get(int(reference.get("message_id") or 0))
        if referenced is None and reference.get("fail_if_not_exists", True):
            tree = validation.error_tree(
                [
                    (
                        ("message_reference",),
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    )
                ]
            )
            raise ApiError(400, 50035, "Invalid Form Body", errors=tree)
        msg_type = 19 if referenced else 0
    message = server._new_message(channel, body, perms=perms, msg_type=msg_type)
    if reference and msg_type == 19:
        message["message_reference"] = {
            "type": 0,
            "channel_id": str(channel.id),
            "message_id": str(reference["message_id"]),
            "guild_id": str(channel.guild.id),
        }
    if messages.is_empty(message):
        raise ApiError(400, 50006, "Cannot send an empty message")
    server._store(channel, message)
    if body.get("enforce_nonce") and body.get("nonce") is not None:
        server._nonces[nonce_key] = (int(message["id"]), server.clock())
    return 200, message


async def list_messages(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    """``GET /channels/{id}/messages``, newest first, ``before``/``after`` ids and
    ``limit`` (1-100, default 50) as Discord takes them. Without Read Message History
    Discord answers with no messages rather than an error."""
    channel = server._channel(call.params["channel_id"])
    perms = server._require(channel)
    query = call.request.query
    limit = int(query.get("limit") or 50)
    if not 1 <= limit <= 100:
        tree = validation.error_tree([(("limit",), "NUMBER_TYPE_MAX", "Must be 1 to 100.")])
        raise ApiError(400, 50035, "Invalid Form Body", errors=tree)
    if not perms & Permission.READ_MESSAGE_HISTORY:
        return 200, []
    ids = sorted(m for m, msg in channel.messages.items() if not msg["flags"] & EPHEMERAL)
    if "after" in query:
        ids = [m for m in ids if m > int(query["after"])][:limit]
    elif "before" in query:
        ids = [m for m in ids if m < int(query["before"])][-limit:]
    else:
        ids = ids[-limit:]
    return 200, [channel.messages[m] for m in reversed(ids)]


async def get_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    server._require(channel, Permission.READ_MESSAGE_HISTORY)
    return 200, server._message_in(channel, call.params["message_id"])


def _refuse_if_locked(channel: FakeChannel, perms: int) -> None:
    """Only members with Manage Threads create or update messages in a locked thread."""
    if channel.locked and not perms & Permission.MANAGE_THREADS:
        raise ApiError(403, 160005, "Thread is locked")


async def edit_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    perms = server._require(channel)
    _refuse_if_locked(channel, perms)
    message = server._message_in(channel, call.params["message_id"])
    body: dict[str, Any] = call.body or {}
    if message["author"]["id"] != str(server.bot_user.id) and (
        {"content", "embeds", "components", "attachments"} & body.keys()
    ):
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    if body.get("embeds") and not perms & Permission.EMBED_LINKS:
        remaining_content = body.get("content", message["content"])
        if not remaining_content and not message["components"]:
            raise ApiError(403, 50013, "Missing Permissions")
        body = {k: v for k, v in body.items() if k != "embeds"}
    if message["flags"] & CROSSPOSTED:
        _count_published_edit(server, int(message["id"]))
    messages.apply_edit(channel, message, body, perms)
    server._dispatch_message("MESSAGE_UPDATE", channel, message)
    return 200, message


def _count_published_edit(server: FakeDiscord, message_id: int) -> None:
    """Discord lets a published (crossposted) message be edited 3 times per hour."""
    now = time.monotonic()
    edits = [t for t in server._published_edits.get(message_id, []) if now - t < 3600]
    if len(edits) >= 3:
        raise RateLimitedError(round(3600 - (now - edits[0]), 3))
    server._published_edits[message_id] = [*edits, now]


async def delete_message(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    perms = server._require(channel)
    message = server._message_in(channel, call.params["message_id"])
    if (
        message["author"]["id"] != str(server.bot_user.id)
        and not perms & Permission.MANAGE_MESSAGES
    ):
        raise ApiError(403, 50013, "Missing Permissions")
    server._remove_message(channel, message)
    return 204, None


async def crosspost(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    channel = server._channel(call.params["channel_id"])
    if channel.type != ChannelType.announcement:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    perms = server._require(channel)
    message = server._message_in(channel, call.params["message_id"])
    own = message["author"]["id"] == str(server.bot_user.id)
    if not perms & (Permission.SEND_MESSAGES if own else Permission.MANAGE_MESSAGES):
        raise ApiError(403, 50013, "Missing Permissions")
    if message["flags"] & CROSSPOSTED:
        raise ApiError(400, 40033, "This message has already been crossposted.")
    message["flags"] |= CROSSPOSTED
    server._dispatch_message("MESSAGE_UPDATE", channel, message)
    return 200, message


async def create_thread(server: FakeDiscord, call: Call) -> tuple[int, Any]:
    parent = server._channel(call.params["channel_id"])
    body: dict[str, Any] = call.body or {}
    if parent.type in (ChannelType.text, ChannelType.announcement):
        return _create_thread_without_message(server, parent, body)
    if parent.type not in (ChannelType.forum, ChannelType.media):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    perms = server._require(parent, Permission.SEND_MESSAGES)
    tag_ids = [int(t) for t in body.get("applied_tags") or []]
    known = {int(t["id"]): t for t in parent.available_tags}
    unknown = [i for i, t in enumerate(tag_ids) if t not in known]
    if unknown:
        tree = validation.error_tree(
            [(("applied_tags", i), "BASE_TYPE_CHOICES", "Unknown tag") for i in unknown]
        )
        raise ApiError(400, 50035, "Invalid Form Body", errors=tree)
    if any(known[t]["moderated"] for t in tag_ids) and not perms & Permission.MANAGE_THREADS:
        raise ApiError(403, 50013, "Missing Permissions")
    if parent.flags & (1 << 4) and not tag_ids:
        raise ApiError(400, 40067, "A tag is required to create a forum post in this channel")
    first = messages.strip_embeds_without_permission(dict(body.get("message") or {}), perms)
    thread = FakeChannel(
        server.ids.next(),
        parent.guild,
        body["name"],
        ChannelType.public_thread,
        parent_id=parent.id,
        owner_id=server.bot_user.id,
        applied_tags=tag_ids,
    )
    # A forum post's starter message has the thread's id.
    message = server._new_message(thread, first, perms=perms, message_id=thread.id)
    if messages.is_empty(message):
        raise ApiError(400, 50006, "Cannot send an empty message")
    parent.guild.channels[thread.id] = thread
    parent.last_message_id = thread.id
    server.gateway.dispatch(
        "THREAD_CREATE",
        thread.payload() | {"newly_created": True},
        intent=GUILDS_INTENT,
        guild_id=parent.guild.id,
    )
    server._store(thread, message)
    answer = thread.payload() | {
        "message": message,
        "member": {
            "id": str(thread.id),
            "user_id": str(server.bot_user.id),
            "join_timestamp": thread.created_at,
            "flags": 1,
        },
    }
    return 201, answer


def _create_thread_without_message(
    server: FakeDiscord, parent: FakeChannel, body: dict[str, Any]
) -> tuple[int, Any]:
    if parent.type == ChannelType.announcement:
        kind = ChannelType.announcement_thread
    else:
        kind = ChannelType(body.get("type") or ChannelType.private_thread)
    if kind == ChannelType.private_thread:
        server._require(parent, Permission.CREATE_PRIVATE_THREADS)
    else:
        server._require(parent, Permission.CREATE_PUBLIC_THREADS)
    thread = FakeChannel(
        server.ids.next(),
        parent.guild,
        body["name"],
        kind,
        parent_id=parent.id,
        owner_id=server.bot_user.id,
    )
    parent.guild.channels[thread.id] = thread
    payload = thread.payload()
    server.gateway.dispatch(
        "THREAD_CREATE",
        payload | {"newly_created": True},
        intent=GUILDS_INTENT,
        guild_id=parent.guild.id,
    )
    return 201, payload


ROUTES = [
    Route("GET", "/gateway", get_gateway, bot_auth=False),
    Route("GET", "/gateway/bot", get_gateway_bot),
    Route("GET", "/users/@me", get_me),
    Route("GET", "/oauth2/applications/@me", get_application),
    Route("GET", "/applications/{application_id}/commands", get_commands),
    Route("PUT", "/applications/{application_id}/commands", put_commands),
    Route("GET", "/applications/{application_id}/guilds/{guild_id}/commands", get_commands),
    Route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", put_commands),
    Route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        interaction_callback,
        bot_auth=False,
    ),
    Route("POST", "/webhooks/{webhook_id}/{webhook_token}", execute_webhook, bot_auth=False),
    *(
        Route(m, f"/webhooks/{{webhook_id}}/{{webhook_token}}/messages/{mid}", h, bot_auth=False)
        for mid in ("@original", "{message_id}")
        for m, h in (
            ("GET", get_webhook_message),
            ("PATCH", edit_webhook_message),
            ("DELETE", delete_webhook_message),
        )
    ),
    Route("DELETE", "/webhooks/{webhook_id}", webhooks.delete_webhook),
    Route(
        "DELETE", "/webhooks/{webhook_id}/{webhook_token}", webhooks.delete_webhook, bot_auth=False
    ),
    Route("GET", "/channels/{channel_id}", get_channel),
    Route("GET", "/channels/{channel_id}/webhooks", webhooks.channel_webhooks),
    Route("POST", "/channels/{channel_id}/webhooks", webhooks.create_webhook),
    Route("GET", "/channels/{channel_id}/messages", list_messages),
    Route("POST", "/channels/{channel_id}/messages", create_message),
    Route("GET", "/channels/{channel_id}/messages/{message_id}", get_message),
    Route("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message),
    Route("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message),
    Route("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", crosspost),
    Route("POST", "/channels/{channel_id}/threads", create_thread),
]
