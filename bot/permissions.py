"""Which permissions posting needs in each kind of channel, and their names as Discord
shows them to moderators.

One rule for the admin checks (``/newsadmin subscribe``, ``resume``, ``test``), the
delivery check before every post, and every answer that names a permission.

Locked threads: Discord lets only members with Manage Threads create or edit messages
in a locked thread, and that includes bots ("Users (including bot users) without the
MANAGE_THREADS permission are more restricted in locked threads. Users won't be able
to create or update messages in locked threads", Discord's developer documentation,
Topics > Threads > Locked Threads). So posting in a locked thread needs Manage Threads
on top of what any thread needs.

:func:`needed_to_post` and :func:`display_name` are pure; :func:`place_of` and
:func:`missing_to_post` read discord.py's channel objects (no requests).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import discord


class Place(enum.Enum):
    """Where a post goes, as far as permissions are concerned."""

    CHANNEL = "channel"  # text, announcement, voice or stage chat: a message in it
    THREAD = "thread"  # a thread: a message in it (Send Messages has no effect there)
    FORUM = "forum"  # forum or media channel: every article a post (thread) of its own


# ``discord.Permissions`` attribute names -> the names in Discord's settings screens.
# discord.py's names follow the API ("manage_guild"), which is not what moderators see.
NAMES: dict[str, str] = {
    "add_reactions": "Add Reactions",
    "administrator": "Administrator",
    "attach_files": "Attach Files",
    "create_private_threads": "Create Private Threads",
    "create_public_threads": "Create Public Threads",
    "embed_links": "Embed Links",
    "manage_channels": "Manage Channels",
    "manage_guild": "Manage Server",
    "manage_messages": "Manage Messages",
    "manage_roles": "Manage Roles",
    "manage_threads": "Manage Threads",
    "manage_webhooks": "Manage Webhooks",
    "mention_everyone": "Mention @everyone, @here, and All Roles",
    "read_message_history": "Read Message History",
    "read_messages": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "use_application_commands": "Use Application Commands",
    "view_audit_log": "View Audit Log",
    "view_channel": "View Channel",
}


def needed_to_post(
    place: Place,
    *,
    locked: bool = False,
    unmentionable_role: bool = False,
    webhook: bool = False,
    announcement: bool = False,
) -> tuple[str, ...]:
    """The permissions (``discord.Permissions`` attribute names) a post in ``place`` needs,
    the most basic first.

    A thread needs Send Messages in Threads rather than Send Messages, and a ``locked``
    one Manage Threads too (``locked`` only means something for a thread). A forum post
    is created with Send Messages (shown as "Create Posts" on forums), which is all
    Discord asks for a post with its first message: no Create Public Threads. Pinging a
    role that is not mentionable (``unmentionable_role``) needs Mention Everyone.

    Posting through a webhook (``webhook``, ``identity:webhook``) also needs Manage
    Webhooks (to make the webhook, and make it again if it is deleted) and Read Message
    History (after a crash the bot looks for its post before sending again: a webhook
    takes no nonce); in an ``announcement`` channel Manage Messages too, which Discord
    asks for to publish a message that is not the bot's own.
    """
    send = "send_messages_in_threads" if place is Place.THREAD else "send_messages"
    needed = ["view_channel", send, "embed_links"]
    if place is Place.THREAD and locked:
        needed.append("manage_threads")
    if unmentionable_role:
        needed.append("mention_everyone")
    if webhook:
        needed += ["manage_webhooks", "read_message_history"]
        if announcement:
            needed.append("manage_messages")
    return tuple(needed)


def display_name(permission: str, place: Place | None = None) -> str:
    """``permission`` as Discord names it to moderators (in ``place``, where that matters)."""
    name = NAMES.get(permission) or permission.replace("_", " ").title()
    if permission == "send_messages" and place is Place.FORUM:
        name += " (“Create Posts” in a forum)"
    return name


def listed(items: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# Channels whose members can post: messages in text, announcement, voice and stage
# channels and threads; posts in forum and media channels.
Postable = (
    discord.TextChannel
    | discord.VoiceChannel
    | discord.StageChannel
    | discord.ForumChannel
    | discord.Thread
)


def place_of(channel: Postable) -> Place:
    """Where a post in ``channel`` goes."""
    if isinstance(channel, discord.Thread):
        return Place.THREAD
    if isinstance(channel, discord.ForumChannel):  # media channels too
        return Place.FORUM
    return Place.CHANNEL


def missing_to_post(
    channel: Postable,
    have: discord.Permissions,
    *,
    unmentionable_role: bool = False,
    webhook: bool = False,
) -> list[str]:
    """Which of :func:`needed_to_post` ``have`` (the bot's permissions in ``channel``)
    lacks, in that order."""
    locked = isinstance(channel, discord.Thread) and channel.locked
    announcement = isinstance(channel, discord.TextChannel) and channel.is_news()
    needed = needed_to_post(
        place_of(channel),
        locked=locked,
        unmentionable_role=unmentionable_role,
        webhook=webhook,
        announcement=announcement,
    )
    return [name for name in needed if not getattr(have, name)]
