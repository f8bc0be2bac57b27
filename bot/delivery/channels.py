"""What the gateway cache says about a channel before posting there.

The bot checks its own permissions first: a post Discord would refuse is never sent
(Discord bans bots that pile up refused requests), and the pause reason can name the
missing permission. A channel missing from the cache (an archived thread, a server
still loading) is simply tried: Discord's answer decides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import discord

from bot.delivery.policy import ForumTag


class Kind(enum.Enum):
    """How a post is made in a channel."""

    TEXT = "text"  # text, voice/stage text chat: POST messages
    NEWS = "news"  # announcement channel: POST messages, then crosspost
    THREAD = "thread"  # a thread: POST messages (Send Messages in Threads)
    FORUM = "forum"  # forum or media channel: one new thread per article
    UNKNOWN = "unknown"  # not in the cache: POST messages and see
    UNUSABLE = "unusable"  # a category or another channel without messages


@dataclass(frozen=True, slots=True)
class Target:
    """A subscribed channel as the bot sees it."""

    kind: Kind
    missing: tuple[str, ...] = ()  # a permission the bot lacks there (from the cache)
    may_mention: bool = False  # whether the subscription's role can be pinged
    tags: tuple[ForumTag, ...] = field(default=())  # forum channels: the tags offered
    can_moderate: bool = False  # forum channels: may apply moderated tags


def _names(flags: list[str]) -> tuple[str, ...]:
    return tuple(flag.replace("_", " ").title() for flag in flags)


def resolve(client: discord.Client, guild_id: int, channel_id: int, role_id: int | None) -> Target:
    """The channel as the cache knows it, with what the bot may do there."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        return Target(Kind.UNKNOWN)
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        return Target(Kind.UNKNOWN)
    perms = channel.permissions_for(guild.me)
    kind: Kind
    send = "send_messages"
    tags: tuple[ForumTag, ...] = ()
    if isinstance(channel, discord.Thread):
        kind = Kind.THREAD
        send = "send_messages_in_threads"
    elif isinstance(channel, discord.ForumChannel):
        kind = Kind.FORUM
        tags = tuple(ForumTag(t.id, t.name, t.moderated) for t in channel.available_tags)
    elif isinstance(channel, discord.TextChannel):
        kind = Kind.NEWS if channel.is_news() else Kind.TEXT
    elif isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        kind = Kind.TEXT
    else:
        return Target(Kind.UNUSABLE)
    # The first missing one says what to fix: without View Channel nothing else counts,
    # and without Send Messages Discord also withholds Embed Links.
    missing = [name for name in ("view_channel", send, "embed_links") if not getattr(perms, name)][
        :1
    ]
    may_mention = False
    if role_id is not None:
        role = guild.get_role(role_id)
        may_mention = role is not None and (role.mentionable or perms.mention_everyone)
    return Target(
        kind,
        _names(missing),
        may_mention,
        tags,
        can_moderate=perms.manage_threads,
    )


def notice_channels(client: discord.Client, guild_id: int, avoid: int, limit: int = 3) -> list[int]:
    """Where to tell a server's moderators something: its system channel, else the
    first text channels the bot can post in (never ``avoid``)."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        return []
    me = guild.me
    candidates: list[discord.TextChannel] = []
    if guild.system_channel is not None:
        candidates.append(guild.system_channel)
    candidates += sorted(guild.text_channels, key=lambda c: (c.position, c.id))
    chosen: list[int] = []
    for channel in candidates:
        if channel.id == avoid or channel.id in chosen:
            continue
        perms = channel.permissions_for(me)
        if perms.view_channel and perms.send_messages:
            chosen.append(channel.id)
            if len(chosen) == limit:
                break
    return chosen
