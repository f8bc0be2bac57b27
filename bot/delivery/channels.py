"""What the gateway cache says about a channel before posting there.

The bot checks its own permissions first: a post Discord would refuse is never sent
(Discord bans bots that pile up refused requests), and the pause reason can name the
missing permission. A channel missing from the cache (an archived thread, a server
still loading) is simply tried: Discord's answer decides.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from bot.delivery.policy import ForumTag
from bot.permissions import Postable, display_name, missing_to_post, place_of


class Kind(enum.Enum):
    """How a post is made in a channel."""

    TEXT = "text"  # text, voice/stage text chat: POST messages
    NEWS = "news"  # announcement channel: POST messages, then crosspost
    THREAD = "thread"  # a thread: POST messages (see bot.permissions for what it needs)
    FORUM = "forum"  # forum or media channel: one new thread per article
    UNKNOWN = "unknown"  # not in the cache: POST messages and see
    UNUSABLE = "unusable"  # a category or another channel without messages


@dataclass(frozen=True, slots=True)
class Target:
    """A subscribed channel as the bot sees it."""

    kind: Kind
    missing: tuple[str, ...] = ()  # a permission the bot lacks there (from the cache)
    pingable: tuple[int, ...] = ()  # the roles asked for that can be pinged there
    tags: tuple[ForumTag, ...] = field(default=())  # forum channels: the tags offered
    can_moderate: bool = False  # forum channels: may apply moderated tags


def resolve(
    client: discord.Client,
    guild_id: int,
    channel_id: int,
    role_ids: Sequence[int] = (),
    *,
    webhook: bool = False,
) -> Target:
    """The channel as the cache knows it, with what the bot may do there (posting
    through a webhook with ``webhook``: see :func:`bot.permissions.needed_to_post`)."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        return Target(Kind.UNKNOWN)
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        return Target(Kind.UNKNOWN)
    if not isinstance(channel, Postable):
        return Target(Kind.UNUSABLE)
    perms = channel.permissions_for(guild.me)
    kind: Kind
    tags: tuple[ForumTag, ...] = ()
    if isinstance(channel, discord.Thread):
        kind = Kind.THREAD
    elif isinstance(channel, discord.ForumChannel):
        kind = Kind.FORUM
        tags = tuple(ForumTag(t.id, t.name, t.moderated) for t in channel.available_tags)
    elif isinstance(channel, discord.TextChannel) and channel.is_news():
        kind = Kind.NEWS
    else:
        kind = Kind.TEXT
    # The first missing one says what to fix: without View Channel nothing else counts,
    # and without Send Messages Discord also withholds Embed Links.
    missing = missing_to_post(channel, perms, webhook=webhook and kind is not Kind.THREAD)[:1]
    pingable = []
    for role_id in role_ids:
        role = guild.get_role(role_id)
        if role is not None and (role.mentionable or perms.mention_everyone):
            pingable.append(role_id)
    return Target(
        kind,
        tuple(display_name(name, place_of(channel)) for name in missing),
        tuple(pingable),
        tags,
        can_moderate=perms.manage_threads,
    )


def notice_channels(
    client: discord.Client, guild_id: int, avoid: int, chosen: int | None = None, limit: int = 3
) -> list[int]:
    """Where to tell a server's moderators something: the channel they ``chosen``
    (``/newsadmin settings notices_channel:``), else the system channel, else the first
    text channels the bot can post in (never ``avoid``)."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        return []
    me = guild.me
    candidates: list[discord.TextChannel] = []
    preferred = guild.get_channel(chosen) if chosen is not None else None
    if isinstance(preferred, discord.TextChannel):
        candidates.append(preferred)
    if guild.system_channel is not None:
        candidates.append(guild.system_channel)
    candidates += sorted(guild.text_channels, key=lambda c: (c.position, c.id))
    found: list[int] = []
    for channel in candidates:
        if channel.id == avoid or channel.id in found:
            continue
        perms = channel.permissions_for(me)
        if perms.view_channel and perms.send_messages:
            found.append(channel.id)
            if len(found) == limit:
                break
    return found
