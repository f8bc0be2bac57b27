"""``bot.permissions``: what posting needs where, and the names moderators see."""

from __future__ import annotations

import discord
import pytest

from bot.permissions import NAMES, Place, display_name, listed, missing_to_post, needed_to_post


def test_a_channel_needs_view_send_and_embed() -> None:
    assert needed_to_post(Place.CHANNEL) == ("view_channel", "send_messages", "embed_links")


def test_a_thread_needs_send_messages_in_threads_not_send_messages() -> None:
    assert needed_to_post(Place.THREAD) == (
        "view_channel",
        "send_messages_in_threads",
        "embed_links",
    )


def test_a_locked_thread_also_needs_manage_threads() -> None:
    # Discord: without Manage Threads, users (bots included) cannot create or update
    # messages in a locked thread.
    assert needed_to_post(Place.THREAD, locked=True) == (
        "view_channel",
        "send_messages_in_threads",
        "embed_links",
        "manage_threads",
    )


@pytest.mark.parametrize("place", [Place.CHANNEL, Place.FORUM])
def test_locked_means_nothing_outside_threads(place: Place) -> None:
    assert needed_to_post(place, locked=True) == needed_to_post(place)


def test_a_forum_post_needs_send_messages_and_no_create_public_threads() -> None:
    needed = needed_to_post(Place.FORUM)
    assert needed == ("view_channel", "send_messages", "embed_links")
    assert "create_public_threads" not in needed


@pytest.mark.parametrize("place", list(Place))
def test_an_unmentionable_role_needs_mention_everyone_last(place: Place) -> None:
    needed = needed_to_post(place, locked=True, unmentionable_role=True)
    assert needed[-1] == "mention_everyone"
    assert needed[:-1] == needed_to_post(place, locked=True)


def test_names_are_the_ones_discord_shows() -> None:
    assert display_name("manage_guild") == "Manage Server"
    assert display_name("send_messages_in_threads") == "Send Messages in Threads"
    assert display_name("mention_everyone") == "Mention @everyone, @here, and All Roles"
    assert display_name("view_channel") == display_name("read_messages") == "View Channel"
    assert display_name("manage_threads") == "Manage Threads"


def test_send_messages_in_a_forum_is_also_called_create_posts() -> None:
    assert display_name("send_messages", Place.FORUM) == "Send Messages (“Create Posts” in a forum)"
    assert display_name("send_messages", Place.CHANNEL) == "Send Messages"
    assert display_name("embed_links", Place.FORUM) == "Embed Links"


def test_an_unlisted_permission_falls_back_to_title_case() -> None:
    assert display_name("priority_speaker") == "Priority Speaker"


def test_every_name_is_a_discord_permission() -> None:
    valid = set(discord.Permissions.VALID_FLAGS)
    assert set(NAMES) <= valid
    assert all(name in valid for place in Place for name in needed_to_post(place, locked=True))


def test_listed() -> None:
    assert listed([]) == ""
    assert listed(["A"]) == "A"
    assert listed(["A", "B"]) == "A and B"
    assert listed(["A", "B", "C"]) == "A, B and C"


def _thread(*, locked: bool) -> discord.Thread:
    """A discord.py thread built from a gateway payload, as the cache holds it."""
    data = {
        "id": "11",
        "guild_id": "1",
        "parent_id": "10",
        "owner_id": "5",
        "name": "live-blog",
        "type": 11,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 4320,
            "archive_timestamp": "2026-01-01T00:00:00+00:00",
            "locked": locked,
        },
    }
    return discord.Thread(guild=object(), state=object(), data=data)  # type: ignore[arg-type]


@pytest.mark.parametrize("locked", [False, True])
def test_the_bot_in_a_thread_it_may_post_in(locked: bool) -> None:
    may = discord.Permissions(view_channel=True, send_messages_in_threads=True, embed_links=True)
    expected = ["manage_threads"] if locked else []
    assert missing_to_post(_thread(locked=locked), may) == expected
    moderator = discord.Permissions(may.value | discord.Permissions(manage_threads=True).value)
    assert missing_to_post(_thread(locked=locked), moderator) == []


def test_send_messages_does_not_count_in_a_thread() -> None:
    have = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
    assert missing_to_post(_thread(locked=False), have) == ["send_messages_in_threads"]


@pytest.mark.parametrize("place", [Place.CHANNEL, Place.FORUM])
def test_webhook_posts_need_manage_webhooks_and_read_message_history(place: Place) -> None:
    assert needed_to_post(place, webhook=True)[-2:] == ("manage_webhooks", "read_message_history")
    assert "manage_messages" not in needed_to_post(place, webhook=True)
    assert needed_to_post(place, webhook=True, announcement=True)[-1] == "manage_messages"
    assert display_name("manage_webhooks") == "Manage Webhooks"
    assert display_name("read_message_history") == "Read Message History"
