"""The shape of a stored message: building, editing, mentions, embeds and components.

Discord answers every message endpoint with a full message object; these functions
produce it the way Discord does (normalised embeds, numbered components, the pings a
message really makes given allowed_mentions and the sender's permissions).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .models import FakeChannel, FakeUser, Permission, Snowflakes, iso_now

if TYPE_CHECKING:
    from .interactions import FakeInteraction

APPLICATION_COMMAND = 2
SUPPRESS_EMBEDS = 1 << 2
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def mentions(
    channel: FakeChannel, content: str, allowed: dict[str, Any] | None, perms: int
) -> dict[str, Any]:
    """Who a message actually pings: allowed_mentions AND Discord's permission rules
    (a non-mentionable role or @everyone is shown but pings nobody without Mention Everyone)."""
    guild = channel.guild
    parse = ["users", "roles", "everyone"] if allowed is None else allowed.get("parse") or []
    allowed = allowed or {}
    users = [
        guild.members[int(uid)]
        for uid in dict.fromkeys(_USER_MENTION.findall(content))
        if int(uid) in guild.members and ("users" in parse or uid in (allowed.get("users") or []))
    ]
    can_ping_all = bool(perms & Permission.MENTION_EVERYONE)
    roles = [
        rid
        for rid in dict.fromkeys(_ROLE_MENTION.findall(content))
        if int(rid) in guild.roles
        and ("roles" in parse or rid in (allowed.get("roles") or []))
        and (guild.roles[int(rid)].mentionable or can_ping_all)
    ]
    everyone = (
        ("@everyone" in content or "@here" in content) and "everyone" in parse and can_ping_all
    )
    return {
        "mentions": [m.user.payload() | {"member": m.payload(with_user=False)} for m in users],
        "mention_roles": roles,
        "mention_everyone": everyone,
    }


def normalize_embeds(embeds: Any) -> list[dict[str, Any]]:
    """Embeds as Discord stores them: no nulls, `type: rich`, timestamps in UTC."""
    out = []
    for embed in embeds or []:
        clean = {k: v for k, v in embed.items() if v is not None}
        clean.setdefault("type", "rich")
        if "timestamp" in clean:
            stamp = dt.datetime.fromisoformat(clean["timestamp"])
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.UTC)
            clean["timestamp"] = stamp.astimezone(dt.UTC).isoformat()
        out.append(clean)
    return out


def build_message(
    ids: Snowflakes,
    author: FakeUser,
    application_id: int,
    channel: FakeChannel,
    body: dict[str, Any],
    *,
    perms: int,
    message_id: int | None = None,
    msg_type: int = 0,
    flags: int = 0,
    interaction: FakeInteraction | None = None,
) -> dict[str, Any]:
    """The message object Discord answers with, for a create body sent by `author`."""
    content = body.get("content") or ""
    message: dict[str, Any] = {
        "id": str(message_id or ids.next()),
        "type": msg_type,
        "channel_id": str(channel.id),
        "author": author.payload(),
        "content": content,
        "embeds": normalize_embeds(body.get("embeds")),
        "components": number_components(body.get("components")),
        "attachments": [
            {
                "id": str(ids.next()),
                "filename": f.get("filename") or "file",
                "size": f["size"],
                "url": "https://cdn.discordapp.com/attachments/fake",
                "proxy_url": "https://media.discordapp.net/attachments/fake",
            }
            for f in body.get("_files") or []
        ],
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "flags": flags,
        "pinned": False,
        "tts": bool(body.get("tts")) and bool(perms & Permission.SEND_TTS_MESSAGES),
        **mentions(channel, content, body.get("allowed_mentions"), perms),
    }
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    if channel.type.is_thread:
        message["position"] = len(channel.messages)
    if interaction is not None:
        user = interaction.member.user.payload()
        message["webhook_id"] = str(application_id)
        message["application_id"] = str(application_id)
        message["interaction_metadata"] = interaction_metadata(interaction, user)
        if interaction.type == APPLICATION_COMMAND:
            message["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.data.get("name", ""),
                "user": user,
            }
    return message


def number_components(components: Any) -> list[dict[str, Any]]:
    """Discord gives every component of a stored message a numeric `id`."""
    counter = 0

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nonlocal counter
        out = []
        for item in items:
            counter += 1
            copy = dict(item)
            copy.setdefault("id", counter)
            if "components" in copy:
                copy["components"] = walk(copy["components"] or [])
            out.append(copy)
        return out

    return walk(list(components or []))


def is_empty(message: dict[str, Any]) -> bool:
    return not (
        message["content"] or message["embeds"] or message["components"] or message["attachments"]
    )


def apply_edit(
    channel: FakeChannel, message: dict[str, Any], body: dict[str, Any], perms: int
) -> None:
    """Apply a PATCH body to a stored message: only the fields present change."""
    edited = dict(message)
    if "content" in body:
        edited["content"] = body["content"] or ""
    if "embeds" in body:
        edited["embeds"] = normalize_embeds(body["embeds"])
    if "components" in body:
        edited["components"] = number_components(body["components"])
    if "attachments" in body and not body["attachments"]:
        edited["attachments"] = []
    if body.get("flags") is not None:  # only Suppress Embeds can be toggled by an edit
        edited["flags"] = (edited["flags"] & ~SUPPRESS_EMBEDS) | (body["flags"] & SUPPRESS_EMBEDS)
    if "content" in body or "allowed_mentions" in body:
        edited.update(mentions(channel, edited["content"], body.get("allowed_mentions"), perms))
    if is_empty(edited):
        raise ApiError(400, 50006, "Cannot send an empty message")
    edited["edited_timestamp"] = iso_now()
    message.update(edited)


def strip_embeds_without_permission(body: dict[str, Any], perms: int) -> dict[str, Any]:
    """Without Embed Links Discord drops a message's embeds (refuses an embeds-only one)."""
    if not body.get("embeds") or perms & Permission.EMBED_LINKS:
        return body
    others = body.get("content") or body.get("components") or body.get("_files")
    if not others and not body.get("sticker_ids") and not body.get("poll"):
        raise ApiError(403, 50013, "Missing Permissions")
    return {k: v for k, v in body.items() if k != "embeds"}


def interaction_metadata(interaction: FakeInteraction, user: dict[str, Any]) -> dict[str, Any]:
    """A message's ``interaction_metadata``: a modal submission's names the interaction
    that showed the modal (``triggering_interaction_metadata``)."""
    metadata: dict[str, Any] = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": user,
        "authorizing_integration_owners": {"0": str(interaction.guild_id)},
    }
    if interaction.message is not None:
        metadata["interacted_message_id"] = interaction.message["id"]
    if interaction.trigger is not None:
        metadata["triggering_interaction_metadata"] = interaction_metadata(
            interaction.trigger, user
        )
    return metadata
