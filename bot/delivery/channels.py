"""What the gateway cache says about a channel before posting there.

The bot checks its own permissions first: a post Discord would refuse is never sent
(Discord bans bots that pile up refused requests), and the pause reason can name the
missing permission. A channel missing from the cache (an archived thread, a server
still loading) is simply tried: Discord's answer decides.

With many processes (:mod:`bot.leader`) the sender's cache holds only the servers of
its own shards. The process serving a server publishes what :func:`resolve` and
:func:`notice_channels` find there (:class:`ChannelFacts`, computed by these same
functions: :mod:`bot.delivery.facts`), and the sender uses that for a server missing
from its cache (``stored``). Its own cache, when it has the server, comes first;
with nothing published either, a channel is simply tried.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import discord

from bot.delivery.policy import ForumTag
from bot.permissions import Postable, display_name, missing_to_post, place_of

log = logging.getLogger(__name__)

#: How many channels :func:`notice_channels` offers, at most.
NOTICE_LIMIT = 3


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


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """A subscribed channel as the process serving its server sees it, published for
    a sender whose cache lacks that server: :func:`resolve`'s answer for the bot's own
    posts (``target``, with every role the subscription may ping that can be pinged
    there) and what posting through a webhook lacks (``webhook_missing``)."""

    target: Target
    webhook_missing: tuple[str, ...] = ()

    def target_for(self, role_ids: Sequence[int], *, webhook: bool) -> Target:
        """What :func:`resolve` would say with ``role_ids`` and ``webhook``."""
        return replace(
            self.target,
            missing=self.webhook_missing if webhook else self.target.missing,
            pingable=tuple(r for r in role_ids if r in self.target.pingable),
        )

    def to_json(self) -> str:
        """The facts as stored (:meth:`from_json` reads them back)."""
        t = self.target
        return json.dumps(
            {
                "kind": t.kind.value,
                "missing": list(t.missing),
                "webhook_missing": list(self.webhook_missing),
                "pingable": list(t.pingable),
                "tags": [[tag.id, tag.name, tag.moderated] for tag in t.tags],
                "can_moderate": t.can_moderate,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ChannelFacts:
        """Facts from :meth:`to_json`'s text; raises :class:`ValueError` for anything
        else."""
        try:
            data = json.loads(text)
            target = Target(
                Kind(data["kind"]),
                _strings(data["missing"]),
                tuple(_int(r) for r in data["pingable"]),
                tuple(ForumTag(_int(i), _string(n), _bool(m)) for i, n, m in data["tags"]),
                can_moderate=_bool(data["can_moderate"]),
            )
            return cls(target, _strings(data["webhook_missing"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a channel's facts: {text[:80]!r}") from exc


def _strings(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise ValueError(f"not a list: {values!r}")
    return tuple(_string(v) for v in values)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def _int(value: object) -> int:
    if type(value) is not int:
        raise ValueError(f"not an id: {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not true or false: {value!r}")
    return value


def channel_facts(
    client: discord.Client, guild_id: int, channel_id: int, role_ids: Sequence[int]
) -> ChannelFacts | None:
    """What to publish about a channel the cache knows (``None``: it does not), for a
    subscription that may ping ``role_ids``."""
    target = resolve(client, guild_id, channel_id, role_ids)
    if target.kind is Kind.UNKNOWN:
        return None
    return ChannelFacts(target, resolve(client, guild_id, channel_id, webhook=True).missing)


def resolve(
    client: discord.Client,
    guild_id: int,
    channel_id: int,
    role_ids: Sequence[int] = (),
    *,
    webhook: bool = False,
    stored: str | None = None,
) -> Target:
    """The channel as the cache knows it, with what the bot may do there (posting
    through a webhook with ``webhook``: see :func:`bot.permissions.needed_to_post`).

    ``stored``: the channel's :class:`ChannelFacts` as published by the process serving
    its server, used when that server is not in this process's cache."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        if stored is None:
            return Target(Kind.UNKNOWN)
        try:
            return ChannelFacts.from_json(stored).target_for(role_ids, webhook=webhook)
        except ValueError:
            log.warning("channel %d: unreadable published facts; trying it", channel_id)
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
    client: discord.Client,
    guild_id: int,
    avoid: int,
    chosen: int | None = None,
    limit: int = NOTICE_LIMIT,
    *,
    stored: Sequence[int] | None = None,
) -> list[int]:
    """Where to tell a server's moderators something: the channel they ``chosen``
    (``/newsadmin settings notices_channel:``), else the system channel, else the first
    text channels the bot can post in (never ``avoid``).

    ``stored``: what the process serving the server published (this function's answer
    there, with nothing to avoid and one more channel), used when the server is not in
    this process's cache."""
    guild = client.get_guild(guild_id)
    if guild is None or guild.me is None:
        return [c for c in stored or () if c != avoid][:limit]
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
