"""The fake's world: guilds, channels, roles, members, and Discord's permission arithmetic.

Payload builders return the JSON shapes Discord documents (and discord.py reads);
the permission computation follows Discord's documented algorithm
(https://discord.com/developers/docs/topics/permissions#permission-overwrites).
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeDiscord

DISCORD_EPOCH_MS = 1420070400000


class Snowflakes:
    """Monotonic Discord-style ids, so discord.py's `created_at` is meaningful."""

    #: The increment bits of a guild id: far above those of the ids made in the same
    #: millisecond by counting up from it, so the two never meet.
    GUILD_INCREMENT = 1 << 21

    def __init__(self) -> None:
        self._last = 0
        self._guild_ms: int | None = None
        self._lock = threading.Lock()

    def next(self, *, new_millisecond: bool = False) -> int:
        """The next id; with ``new_millisecond`` (guild ids), one of the millisecond after
        the previous such id's, whatever the clock did in between. Shards are picked by
        ``(guild_id >> 22) % shard_count``, so guilds made one after another land on
        shards one after another (every shard gets its share, however slow the machine),
        as real guilds, made over years, spread over every shard."""
        with self._lock:
            now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if new_millisecond:
                self._guild_ms = now_ms if self._guild_ms is None else self._guild_ms + 1
                return (self._guild_ms << 22) | self.GUILD_INCREMENT
            self._last = max(now_ms << 22, self._last + 1)
            return self._last


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class ChannelType(enum.IntEnum):
    text = 0
    voice = 2
    category = 4
    announcement = 5
    announcement_thread = 10
    public_thread = 11
    private_thread = 12
    forum = 15
    media = 16

    # discord.py's names, so either vocabulary works.
    news = 5
    news_thread = 10

    @property
    def is_thread(self) -> bool:
        return self in (
            ChannelType.announcement_thread,
            ChannelType.public_thread,
            ChannelType.private_thread,
        )


class Permission(enum.IntFlag):
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 53) - 1

# What a freshly created Discord server grants @everyone (no Mention Everyone).
DEFAULT_EVERYONE_PERMISSIONS = int(
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.STREAM
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.USE_VAD
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.CREATE_PRIVATE_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
)

# The bot's managed role: what a news bot's invite link asks for.
DEFAULT_BOT_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.EMBED_LINKS
    | Permission.READ_MESSAGE_HISTORY
)

# Lost when a text channel denies Send Messages (Discord's implicit permissions).
_NEEDS_SEND = int(
    Permission.MENTION_EVERYONE
    | Permission.SEND_TTS_MESSAGES
    | Permission.ATTACH_FILES
    | Permission.EMBED_LINKS
)


def as_int(value: Any) -> int:
    """Accept an int, a `Permission` flag or a `discord.Permissions` (has `.value`)."""
    return int(getattr(value, "value", value))


@dataclass(eq=False)
class FakeUser:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "bot": self.bot,
            "primary_guild": None,
            "collectibles": None,
        }


@dataclass(eq=False)
class FakeRole:
    id: int
    guild: FakeGuild
    name: str
    permissions: int
    mentionable: bool = False
    position: int = 0
    managed_for_bot: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": self.managed_for_bot is not None,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.managed_for_bot is not None:
            data["tags"] = {"bot_id": str(self.managed_for_bot)}
        return data

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(eq=False)
class FakeMember:
    user: FakeUser
    guild: FakeGuild
    roles: list[FakeRole] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r.id) for r in self.roles],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data

    def base_permissions(self) -> int:
        """Guild-level permissions: owner, @everyone | roles, Administrator."""
        if self.guild.owner_id == self.id:
            return ALL_PERMISSIONS
        perms = self.guild.everyone.permissions
        for role in self.roles:
            perms |= role.permissions
        if perms & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def permissions_in(self, channel: FakeChannel) -> int:
        """Discord's algorithm: base, then @everyone, role and member overwrites."""
        base = self.base_permissions()
        if base == ALL_PERMISSIONS:
            return ALL_PERMISSIONS
        # Threads take their permissions from the parent channel.
        source = channel.parent if channel.type.is_thread and channel.parent else channel
        overwrites = {int(o["id"]): o for o in source.permission_overwrites}
        perms = base
        everyone = overwrites.get(self.guild.id)
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role in self.roles:
            ow = overwrites.get(role.id)
            if ow:
                allow |= int(ow["allow"])
                deny |= int(ow["deny"])
        perms = (perms & ~deny) | allow
        own = overwrites.get(self.id)
        if own:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        if not perms & Permission.VIEW_CHANNEL:
            return 0
        send = (
            Permission.SEND_MESSAGES_IN_THREADS
            if channel.type.is_thread
            else Permission.SEND_MESSAGES
        )
        if not perms & send:
            perms &= ~_NEEDS_SEND
        return perms


def overwrite(
    target: FakeRole | FakeMember | FakeUser, *, allow: Any = 0, deny: Any = 0
) -> dict[str, Any]:
    """A permission overwrite for a role (type 0) or a member (type 1)."""
    kind = 0 if isinstance(target, FakeRole) else 1
    return {
        "id": str(target.id),
        "type": kind,
        "allow": str(as_int(allow)),
        "deny": str(as_int(deny)),
    }


@dataclass(eq=False)
class FakeChannel:
    id: int
    guild: FakeGuild
    name: str
    type: ChannelType
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    permission_overwrites: list[dict[str, Any]] = field(default_factory=list)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    # thread-only
    owner_id: int | None = None
    applied_tags: list[int] = field(default_factory=list)
    locked: bool = False  # only members with Manage Threads may post (see lock())
    created_at: str = field(default_factory=iso_now)
    # state
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_message_id: int | None = None

    @property
    def parent(self) -> FakeChannel | None:
        return self.guild.channels.get(self.parent_id) if self.parent_id else None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def tag(self, name: str) -> dict[str, Any]:
        """A forum tag by name (for `applied_tags`)."""
        for tag in self.available_tags:
            if tag["name"] == name:
                return tag
        raise KeyError(name)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(self.guild.id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": self.flags,
        }
        if self.type.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=len(self.messages),
                total_message_sent=len(self.messages),
                member_count=1,
                applied_tags=[str(t) for t in self.applied_tags],
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 4320,
                    "archive_timestamp": self.created_at,
                    "locked": self.locked,
                    "create_timestamp": self.created_at,
                },
            )
            return data
        data.update(
            position=self.position,
            permission_overwrites=list(self.permission_overwrites),
            nsfw=False,
            topic=self.topic,
        )
        if self.type in (ChannelType.forum, ChannelType.media):
            data.update(
                available_tags=list(self.available_tags),
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        return data

    def lock(self, locked: bool = True) -> None:
        """Lock (or unlock) a thread, as a moderator does; dispatches THREAD_UPDATE."""
        if not self.type.is_thread:
            raise ValueError("only threads can be locked")
        self.locked = locked
        self.guild.server._dispatch("THREAD_UPDATE", self.payload(), intent=1 << 0)

    def set_permissions(
        self, target: FakeRole | FakeMember | FakeUser, *, allow: Any = 0, deny: Any = 0
    ) -> None:
        """Replace `target`'s overwrite in this channel; dispatches CHANNEL_UPDATE."""
        self.permission_overwrites = [
            o for o in self.permission_overwrites if int(o["id"]) != target.id
        ] + [overwrite(target, allow=allow, deny=deny)]
        self.guild.server._dispatch("CHANNEL_UPDATE", self.payload(), intent=1 << 0)


class FakeGuild:
    """A guild the bot is a member of. Build it with `FakeDiscord.add_guild`."""

    def __init__(
        self,
        server: FakeDiscord,
        name: str,
        *,
        owner: FakeUser,
        bot_permissions: int,
        everyone_permissions: int,
    ) -> None:
        self.server = server
        self.id = server.ids.next(new_millisecond=True)
        self.name = name
        self.owner_id = owner.id
        self.roles: dict[int, FakeRole] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.members: dict[int, FakeMember] = {}
        self.system_channel_id: int | None = None
        self.everyone = FakeRole(self.id, self, "@everyone", everyone_permissions, position=0)
        self.roles[self.id] = self.everyone
        self.bot_role = FakeRole(
            server.ids.next(),
            self,
            server.bot_user.username,
            bot_permissions,
            position=1,
            managed_for_bot=server.bot_user.id,
        )
        self.roles[self.bot_role.id] = self.bot_role
        self.owner = self._add_member(owner, [])
        self.bot_member = self._add_member(server.bot_user, [self.bot_role])

    def _add_member(self, user: FakeUser, roles: list[FakeRole]) -> FakeMember:
        member = FakeMember(user, self, list(roles))
        self.members[user.id] = member
        return member

    # -- building ---------------------------------------------------------

    def add_role(self, name: str, *, permissions: Any = 0, mentionable: bool = False) -> FakeRole:
        role = FakeRole(
            self.server.ids.next(),
            self,
            name,
            as_int(permissions),
            mentionable,
            position=len(self.roles),
        )
        self.roles[role.id] = role
        self.server._dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()}, intent=1 << 0
        )
        return role

    def update_role(
        self, role: FakeRole, *, permissions: Any = None, mentionable: bool | None = None
    ) -> None:
        """Change a role (e.g. the bot's `bot_role`); dispatches GUILD_ROLE_UPDATE."""
        if permissions is not None:
            role.permissions = as_int(permissions)
        if mentionable is not None:
            role.mentionable = mentionable
        self.server._dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(self.id), "role": role.payload()}, intent=1 << 0
        )

    def add_member(
        self, user_name: str, *, roles: list[FakeRole] | None = None, permissions: Any = None
    ) -> FakeMember:
        """A human member. `permissions` gives them a personal role with those permissions."""
        user = FakeUser(self.server.ids.next(), user_name)
        roles = list(roles or [])
        if permissions is not None:
            roles.append(self.add_role(f"{user_name}-role", permissions=permissions))
        member = self._add_member(user, roles)
        data = member.payload() | {"guild_id": str(self.id)}
        self.server._dispatch("GUILD_MEMBER_ADD", data, intent=1 << 1)
        return member

    def add_channel(
        self,
        name: str,
        type: ChannelType | int = ChannelType.text,
        *,
        permission_overwrites: list[dict[str, Any]] | None = None,
        available_tags: list[str | dict[str, Any]] | None = None,
        parent: FakeChannel | None = None,
        topic: str | None = None,
        require_tag: bool = False,
    ) -> FakeChannel:
        """A channel; `type` is a `ChannelType` (text, announcement, forum, a thread...).

        Threads need `parent`. Forum tags may be names or full tag dicts
        (`{"name": ..., "moderated": True}`)."""
        ctype = ChannelType(type)
        if ctype.is_thread and parent is None:
            raise ValueError("a thread needs a parent channel")
        tags = []
        for tag in available_tags or []:
            spec = {"name": tag} if isinstance(tag, str) else dict(tag)
            tags.append(
                {
                    "id": str(self.server.ids.next()),
                    "name": spec["name"],
                    "moderated": bool(spec.get("moderated", False)),
                    "emoji_id": None,
                    "emoji_name": spec.get("emoji_name"),
                }
            )
        channel = FakeChannel(
            self.server.ids.next(),
            self,
            name,
            ctype,
            position=len(self.channels),
            parent_id=parent.id if parent else None,
            topic=topic,
            permission_overwrites=list(permission_overwrites or []),
            available_tags=tags,
            flags=(1 << 4) if require_tag else 0,
            owner_id=self.owner_id if ctype.is_thread else None,
        )
        self.channels[channel.id] = channel
        event = "THREAD_CREATE" if ctype.is_thread else "CHANNEL_CREATE"
        self.server._dispatch(event, channel.payload(), intent=1 << 0)
        return channel

    def delete_channel(self, channel: FakeChannel) -> None:
        """Remove a channel; dispatches CHANNEL_DELETE (THREAD_DELETE for threads)."""
        self.channels.pop(channel.id, None)
        if channel.type.is_thread:
            data = {
                "id": str(channel.id),
                "guild_id": str(self.id),
                "parent_id": str(channel.parent_id),
                "type": int(channel.type),
            }
            self.server._dispatch("THREAD_DELETE", data, intent=1 << 0)
        else:
            self.server._dispatch("CHANNEL_DELETE", channel.payload(), intent=1 << 0)

    # -- reading ------------------------------------------------------------

    def channel(self, name: str) -> FakeChannel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(name)

    def member(self, name: str) -> FakeMember:
        for member in self.members.values():
            if member.user.username == name:
                return member
        raise KeyError(name)

    def payload(self, *, all_members: bool) -> dict[str, Any]:
        """The GUILD_CREATE body (a guild the bot can see, with its own member entry)."""
        members = list(self.members.values()) if all_members else [self.bot_member]
        plain = [c for c in self.channels.values() if not c.type.is_thread]
        threads = [c for c in self.channels.values() if c.type.is_thread]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "application_id": None,
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in plain],
            "threads": [c.payload() for c in threads],
            "members": [m.payload() for m in members],
            "member_count": len(self.members),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "lazy": True,
            "joined_at": self.bot_member.joined_at,
        }
