"""``/newsadmin``: the real bot against the fake Discord, driven as moderators would."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.client import NewsBot
from bot.config import Settings
from bot.interactions import APOLOGY
from bot.store import Subscription
from tests.e2e.conftest import make_bot, wait_until_idle, wait_until_scanned, write_article
from tests.e2e.test_errors import assert_logged_once_with_traceback, explode
from tests.fakediscord import (
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    InvalidInvocation,
    Permission,
)
from tests.fakediscord.interactions import FakeInteraction
from tests.fakediscord.plugin import BotRunner, RunBot
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

EPHEMERAL = 1 << 6
MENTION_EVERYONE = "Mention @everyone, @here, and All Roles"


@dataclass
class Server:
    """One guild with a moderator (Manage Server), a reader, and channels of every kind."""

    fake: FakeDiscord
    guild: FakeGuild
    mod: FakeMember
    reader: FakeMember
    news: FakeChannel
    announcements: FakeChannel
    forum: FakeChannel
    thread: FakeChannel

    @classmethod
    def create(cls, fake: FakeDiscord, name: str) -> Server:
        guild = fake.add_guild(name)
        news = guild.add_channel("news")
        return cls(
            fake,
            guild,
            guild.add_member(f"{name}-mod", permissions=Permission.MANAGE_GUILD),
            guild.add_member(f"{name}-reader"),
            news,
            guild.add_channel("announcements", ChannelType.announcement),
            guild.add_channel("articles", ChannelType.forum, available_tags=["news"]),
            guild.add_channel("live-blog", ChannelType.public_thread, parent=news),
        )

    async def invoke(
        self, command: str, member: FakeMember | None = None, **options: Any
    ) -> FakeInteraction:
        return await self.fake.invoke(
            self.guild,
            self.guild.channel("general"),
            member or self.mod,
            f"newsadmin {command}",
            options=options,
        )

    async def run(self, command: str, member: FakeMember | None = None, **options: Any) -> str:
        """Run ``/newsadmin <command>``; returns the private answer's text."""
        interaction = await self.invoke(command, member, **options)
        message = await interaction.original_message()
        assert message["flags"] & EPHEMERAL, "every /newsadmin answer is private"
        return str(message["content"])

    async def answer(self, command: str, **options: Any) -> dict[str, Any]:
        interaction = await self.invoke(command, **options)
        message = await interaction.original_message()
        assert message["flags"] & EPHEMERAL
        return message

    async def complete(self, command: str, focused: str, value: str, **kw: Any) -> list[str]:
        member = kw.pop("member", self.mod)
        choices = await self.fake.autocomplete(
            self.guild,
            self.guild.channel("general"),
            member,
            f"newsadmin {command}",
            focused=focused,
            value=value,
            options=kw,
        )
        return [c["value"] for c in choices]


@dataclass
class Desk:
    fake: FakeDiscord
    runner: BotRunner[NewsBot]
    a: Server

    @property
    def bot(self) -> NewsBot:
        return self.runner.bot

    async def sub(self, channel: FakeChannel) -> Subscription | None:
        return await self.bot.store.get_subscription(channel.guild.id, channel.id)

    async def synced(self, check: Callable[[], bool]) -> None:
        """Wait until the bot's cache reflects a change made at the fake."""
        await self.fake.wait_for(check)

    async def role(self, name: str, *, mentionable: bool = True) -> FakeRole:
        """A new role of server A, once the bot's cache has it."""
        role = self.a.guild.add_role(name, mentionable=mentionable)
        guild = self.bot.get_guild(self.a.guild.id)
        assert guild is not None
        await self.synced(lambda: guild.get_role(role.id) is not None)
        return role

    def bot_can(self, channel: FakeChannel, permission: str) -> bool:
        """Whether the bot's own cache says it has ``permission`` in ``channel``."""
        guild = self.bot.get_guild(channel.guild.id)
        assert guild is not None and guild.me is not None
        cached = guild.get_channel_or_thread(channel.id)
        assert cached is not None
        return bool(getattr(cached.permissions_for(guild.me), permission))


async def start_desk(fake: FakeDiscord, run_bot: RunBot, settings: Settings) -> Desk:
    a = Server.create(fake, "Alpha")
    runner = await run_bot(make_bot(settings))
    await wait_until_scanned(runner.bot)
    return Desk(fake, runner, a)


@pytest.fixture
async def desk(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> Desk:
    return await start_desk(fake_discord, run_bot, bot_settings)


# -- subscribe ------------------------------------------------------------------------


async def test_subscribe_without_filters(desk: Desk) -> None:
    a = desk.a
    text = await a.run("subscribe", channel=a.news)
    assert f"Subscribed <#{a.news.id}>" in text
    assert "Every new article" in text and "State: active" in text
    sub = await desk.sub(a.news)
    assert sub is not None and sub.active
    assert (
        sub.filters[0].tags == ()
        and sub.filters[0].exclude_tags == ()
        and sub.filters[0].mention_role_id is None
    )
    assert sub.created_by == a.mod.id and sub.guild_id == a.guild.id


async def test_subscribe_with_filters_and_a_role(desk: Desk) -> None:
    a = desk.a
    role = await desk.role("news-pings")
    text = await a.run(
        "subscribe",
        channel=a.forum,
        tags="energy,  Climate, ENERGY",
        exclude_tags="Opinion",
        mention=role,
    )
    assert f"Subscribed <#{a.forum.id}>" in text
    assert "tagged **energy**, **Climate**, except those tagged **Opinion**" in text
    assert f"Pings <@&{role.id}>" in text
    # Tags nobody uses yet are fine, but worth a word.
    assert "no published article is tagged **Opinion** yet" in text
    sub = await desk.sub(a.forum)
    assert sub is not None
    assert sub.filters[0].tags == ("energy", "Climate") and sub.filters[0].exclude_tags == (
        "Opinion",
    )
    assert sub.filters[0].mention_role_id == role.id


async def test_every_kind_of_channel_can_be_subscribed(desk: Desk) -> None:
    a = desk.a
    for channel in (a.news, a.announcements, a.forum, a.thread):
        assert "Subscribed" in await a.run("subscribe", channel=channel)
    assert [s.channel_id for s in await desk.bot.store.subscriptions(a.guild.id)] == [
        a.news.id,
        a.announcements.id,
        a.forum.id,
        a.thread.id,
    ]


async def test_channels_that_cannot_carry_posts_are_not_offered(desk: Desk) -> None:
    a = desk.a
    category = a.guild.add_channel("Desk", ChannelType.category)
    with pytest.raises(InvalidInvocation, match="channel type"):
        await a.invoke("subscribe", channel=category)


async def test_a_filter_the_store_refuses_is_explained(desk: Desk) -> None:
    a = desk.a
    text = await a.run("subscribe", channel=a.news, tags="Energy", exclude_tags="energy")
    assert "both wanted and excluded" in text
    assert await desk.sub(a.news) is None


async def test_resubscribing_changes_only_the_options_given(desk: Desk) -> None:
    a = desk.a
    first_role = await desk.role("energy-news")
    second_role = await desk.role("all-news")
    await a.run(
        "subscribe", channel=a.news, tags="Energy", exclude_tags="Opinion", mention=first_role
    )

    text = await a.run("subscribe", channel=a.news, mention=second_role)
    assert text.startswith(
        f"Updated the subscription of <#{a.news.id}>: "
        f"pings <@&{first_role.id}> → <@&{second_role.id}>."
    )
    assert "tagged **Energy**, except those tagged **Opinion**" in text
    sub = await desk.sub(a.news)
    assert (
        sub is not None
        and sub.filters[0].tags == ("Energy",)
        and sub.filters[0].exclude_tags == ("Opinion",)
    )
    assert sub.filters[0].mention_role_id == second_role.id

    text = await a.run("subscribe", channel=a.news, tags="none", no_mention=True)
    assert f"tags **Energy** → any; pings <@&{second_role.id}> → nobody." in text.splitlines()[0]
    assert "Every new article, except those tagged **Opinion**" in text
    assert f"Nothing changed in the subscription of <#{a.news.id}>." in await a.run(
        "subscribe", channel=a.news
    )
    assert "not both" in await a.run(
        "subscribe", channel=a.news, mention=first_role, no_mention=True
    )


async def test_resubscribing_never_resumes(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    await a.run("pause", channel=str(a.news.id), reason="quiet week")
    text = await a.run("subscribe", channel=a.news, tags="Space")
    assert "State: **paused**" in text and "quiet week" in text
    assert "It stays paused: `/newsadmin resume` resumes it." in text
    sub = await desk.sub(a.news)
    assert sub is not None and not sub.active and sub.filters[0].tags == ("Space",)


async def test_resubscribing_updates(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news, tags="Energy")
    first = await desk.sub(a.news)
    text = await a.run("subscribe", channel=a.news, tags="Space, Jupiter")
    assert f"Updated the subscription of <#{a.news.id}>" in text
    assert "**Space**, **Jupiter**" in text
    second = await desk.sub(a.news)
    assert first is not None and second is not None
    assert second.id == first.id and second.filters[0].tags == ("Space", "Jupiter")
    assert len(await desk.bot.store.subscriptions(a.guild.id)) == 1


async def test_changes_are_logged_with_who_made_them(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    a = desk.a
    with caplog.at_level(logging.INFO, logger="cogs.admin"):
        await a.run("subscribe", channel=a.news, tags="Energy")
        await a.run("subscribe", channel=a.news)
        await a.run("pause", channel=str(a.news.id), reason="quiet week")
        await a.run("resume", channel=str(a.news.id))
        await a.run("settings", color="#1e90ff")
        await a.run("unsubscribe", channel=str(a.news.id))
        await a.run("list")  # reading changes nothing and is not logged
    lines = [r.getMessage() for r in caplog.records if r.name == "cogs.admin"]
    who = f"{a.mod.user.username} ({a.mod.id})"
    expected = [
        "subscribed #news",
        "updated the subscription of #news",
        "paused #news",
        "resumed #news",
        "changed settings",
        "unsubscribed #news",
    ]
    assert len(lines) == len(expected)
    for line, action in zip(lines, expected, strict=True):
        assert line.startswith(f"guild {a.guild.id}: {who} {action}"), line


# -- permissions the bot needs -----------------------------------------------------------


async def test_missing_embed_links_is_named(desk: Desk) -> None:
    a = desk.a
    a.news.set_permissions(a.guild.bot_role, deny=Permission.EMBED_LINKS)
    await desk.synced(lambda: not desk.bot_can(a.news, "embed_links"))
    text = await a.run("subscribe", channel=a.news)
    assert f"I can't post in <#{a.news.id}>" in text
    assert "missing the **Embed Links** permission" in text
    assert await desk.sub(a.news) is None


async def test_missing_view_channel_is_named(desk: Desk) -> None:
    a = desk.a
    a.announcements.set_permissions(a.guild.bot_member, deny=Permission.VIEW_CHANNEL)
    await desk.synced(lambda: not desk.bot_can(a.announcements, "view_channel"))
    text = await a.run("subscribe", channel=a.announcements)
    # Without View Channel Discord grants nothing else in the channel either.
    assert "**View Channel**" in text and "**Send Messages**" in text
    assert await desk.sub(a.announcements) is None


async def test_forum_needs_send_messages_shown_as_create_posts(desk: Desk) -> None:
    a = desk.a
    a.forum.set_permissions(a.guild.bot_role, deny=Permission.SEND_MESSAGES)
    await desk.synced(lambda: not desk.bot_can(a.forum, "send_messages"))
    text = await a.run("subscribe", channel=a.forum)
    assert "**Send Messages (“Create Posts” in a forum)**" in text
    assert await desk.sub(a.forum) is None


async def test_forum_needs_no_create_public_threads(desk: Desk) -> None:
    """Discord creates a forum post with Send Messages alone; the bot asks for no more."""
    a = desk.a
    a.forum.set_permissions(a.guild.bot_role, deny=Permission.CREATE_PUBLIC_THREADS)
    await desk.synced(lambda: not desk.bot_can(a.forum, "create_public_threads"))
    assert "Subscribed" in await a.run("subscribe", channel=a.forum)


async def test_thread_needs_send_messages_in_threads(desk: Desk) -> None:
    a = desk.a
    a.news.set_permissions(a.guild.bot_role, deny=Permission.SEND_MESSAGES_IN_THREADS)
    await desk.synced(lambda: not desk.bot_can(a.thread, "send_messages_in_threads"))
    text = await a.run("subscribe", channel=a.thread)
    # Like Discord, no Send Messages in Threads means no Embed Links there either.
    assert "missing the **Send Messages in Threads** and **Embed Links** permissions" in text
    assert await desk.sub(a.thread) is None
    # The parent channel itself is fine.
    assert "Subscribed" in await a.run("subscribe", channel=a.news)


async def test_unmentionable_role_needs_mention_everyone(desk: Desk) -> None:
    a = desk.a
    quiet = await desk.role("quiet", mentionable=False)
    loud = await desk.role("loud")

    text = await a.run("subscribe", channel=a.news, mention=quiet)
    assert f"missing the **{MENTION_EVERYONE}** permission" in text
    assert f"<@&{quiet.id}> is not mentionable" in text
    assert await desk.sub(a.news) is None

    assert "Subscribed" in await a.run("subscribe", channel=a.news, mention=loud)

    a.guild.update_role(
        a.guild.bot_role, permissions=a.guild.bot_role.permissions | Permission.MENTION_EVERYONE
    )
    await desk.synced(lambda: desk.bot_can(a.announcements, "mention_everyone"))
    assert "Subscribed" in await a.run("subscribe", channel=a.announcements, mention=quiet)


async def test_everyone_cannot_be_the_mention(desk: Desk) -> None:
    a = desk.a
    text = await a.run("subscribe", channel=a.news, mention=a.guild.everyone)
    assert "@everyone can't be pinged" in text
    assert await desk.sub(a.news) is None


# -- unsubscribe, list, pause, resume -----------------------------------------------------


async def test_unsubscribe(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    await a.run("subscribe", channel=a.forum)
    text = await a.run("unsubscribe", channel=str(a.news.id))
    assert f"Unsubscribed <#{a.news.id}>" in text
    assert await desk.sub(a.news) is None
    # By name or mention too; and a second time there is nothing left to remove.
    assert "Unsubscribed" in await a.run("unsubscribe", channel="#Articles")
    assert "no subscription for that channel" in await a.run(
        "unsubscribe", channel=f"<#{a.news.id}>"
    )
    assert await desk.bot.store.subscriptions(a.guild.id) == []


async def test_list_shows_filters_and_state(desk: Desk) -> None:
    a = desk.a
    assert "No channel here gets articles yet" in await a.run("list")
    await a.run("subscribe", channel=a.news, tags="Energy", exclude_tags="Space")
    await a.run("subscribe", channel=a.forum)
    await a.run("pause", channel=str(a.forum.id), reason="summer break")
    message = await a.answer("list")
    [embed] = message["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert set(fields) == {"#news", "#articles"}
    assert "tagged **Energy**, except those tagged **Space**" in fields["#news"]
    assert "State: active" in fields["#news"]
    assert "Every new article" in fields["#articles"]
    assert "State: **paused** since <t:" in fields["#articles"]
    assert f"paused by {a.mod.user.username}: summer break" in fields["#articles"]
    assert "2 subscribed channels, 1 paused" in embed["footer"]["text"]


async def test_long_lists_are_paged_within_embed_limits(desk: Desk) -> None:
    a = desk.a
    long_tags = [f"{'x' * 90} {n}" for n in range(25)]
    for n in range(23):
        await desk.bot.store.subscribe(
            a.guild.id,
            10_000 + n,  # channels deleted while the bot was offline
            tags=long_tags,
            by_user_id=a.mod.id,
            now=datetime.now(UTC),
        )
    message = await a.answer("list")
    [embed] = message["embeds"]
    footer = embed["footer"]["text"]
    assert footer.startswith("Page 1 of ")
    pages = int(footer.split(" of ")[1].split(" ")[0])
    assert pages > 1
    seen: list[str] = []
    for n in range(1, pages + 1):
        if n > 1:
            await (await desk.fake.click(message, "pager:next", a.mod)).response()
            turned = desk.fake._find_message(int(message["id"]))
            assert turned is not None
            [embed] = turned["embeds"]
        assert embed["footer"]["text"].startswith(f"Page {n} of {pages}")
        seen += [f["name"] for f in embed["fields"]]
        size = sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        assert size + len(embed["title"]) + len(embed["footer"]["text"]) <= 6000
        assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert seen == [f"#deleted-channel ({10_000 + n})" for n in range(23)]
    # Stale subscriptions can still be removed by id, but not resumed.
    await desk.bot.store.pause_subscription(
        a.guild.id, 10_001, "Unknown Channel", datetime.now(UTC)
    )
    assert "I can't find <#10001> any more" in await a.run("resume", channel="10001")
    assert "Unsubscribed" in await a.run("unsubscribe", channel="10000")


async def test_pause_and_resume(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    text = await a.run("pause", channel=str(a.news.id))
    assert f"Paused <#{a.news.id}>" in text
    sub = await desk.sub(a.news)
    assert sub is not None and not sub.active
    assert sub.paused_reason == f"paused by {a.mod.user.username}"
    assert "already paused" in await a.run("pause", channel=str(a.news.id))

    text = await a.run("resume", channel=str(a.news.id))
    assert f"Resumed <#{a.news.id}>" in text
    sub = await desk.sub(a.news)
    assert sub is not None and sub.active
    assert "is not paused" in await a.run("resume", channel=str(a.news.id))


async def test_resume_rechecks_permissions(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    # Delivery pauses a channel when Discord refuses a post; the moderator fixes it later.
    await desk.bot.store.pause_subscription(
        a.guild.id, a.news.id, "Discord refused: Missing Permissions", datetime.now(UTC)
    )
    a.news.set_permissions(a.guild.bot_role, deny=Permission.EMBED_LINKS)
    await desk.synced(lambda: not desk.bot_can(a.news, "embed_links"))
    text = await a.run("resume", channel=str(a.news.id))
    assert "missing the **Embed Links** permission" in text
    sub = await desk.sub(a.news)
    assert sub is not None and sub.paused_reason == "Discord refused: Missing Permissions"

    a.news.set_permissions(a.guild.bot_role, allow=Permission.EMBED_LINKS)
    await desk.synced(lambda: desk.bot_can(a.news, "embed_links"))
    assert "Resumed" in await a.run("resume", channel=str(a.news.id))
    sub = await desk.sub(a.news)
    assert sub is not None and sub.active


# -- settings ---------------------------------------------------------------------------


async def test_settings(desk: Desk) -> None:
    a = desk.a
    text = await a.run("settings")
    assert "Edit posted messages when their article changes: **on**" in text
    assert "Color of the posts: the default" in text

    text = await a.run("settings", edit_on_update=False, color="#1e90ff")
    assert text.startswith("Saved.")
    assert "**off**" in text and "`#1E90FF`" in text
    settings = await desk.bot.store.guild_settings(a.guild.id)
    assert settings.edit_on_update is False and settings.color == 0x1E90FF

    text = await a.run("settings", color="blue-ish")
    assert "“blue-ish” is not a color" in text and "#1e90ff" in text
    assert (await desk.bot.store.guild_settings(a.guild.id)).color == 0x1E90FF

    await a.run("settings", color="none")
    settings = await desk.bot.store.guild_settings(a.guild.id)
    assert settings.color is None and settings.edit_on_update is False


# -- who may use it ----------------------------------------------------------------------


async def test_hidden_from_members_without_manage_server(desk: Desk) -> None:
    a = desk.a
    [command] = [c for c in desk.fake.commands[None] if c["name"] == "newsadmin"]
    assert int(command["default_member_permissions"]) == Permission.MANAGE_GUILD
    assert command["contexts"] == [0]  # servers only
    with pytest.raises(InvalidInvocation, match="default_member_permissions"):
        await a.invoke("list", a.reader)


async def test_a_server_can_delegate_the_commands_to_a_role(desk: Desk) -> None:
    """Server Settings > Integrations lets a role use /newsadmin without Manage Server;
    Discord enforces that, and the bot honours it rather than refusing at run time."""
    a = desk.a
    editors = a.guild.add_role("news-editors")
    editor = a.guild.add_member("editor", roles=[editors])
    with pytest.raises(InvalidInvocation, match="default_member_permissions"):
        await a.invoke("list", editor)

    desk.fake.set_command_permissions(a.guild, "newsadmin", {editors: True})
    assert f"Subscribed <#{a.news.id}>" in await a.run("subscribe", editor, channel=a.news)
    assert await a.complete("pause", "channel", "", member=editor) == [str(a.news.id)]
    assert "Paused" in await a.run("pause", editor, channel=str(a.news.id))
    assert "Saved." in await a.run("settings", editor, color="#000000")
    sub = await desk.sub(a.news)
    assert sub is not None and sub.created_by == editor.id and not sub.active
    # Members without the role still cannot, nor can the role once it is denied again.
    with pytest.raises(InvalidInvocation):
        await a.invoke("list", a.reader)
    desk.fake.set_command_permissions(a.guild, "newsadmin", {editors: False})
    with pytest.raises(InvalidInvocation):
        await a.invoke("list", editor)


async def test_another_server_can_neither_see_nor_change(desk: Desk) -> None:
    a = desk.a
    b = Server.create(desk.fake, "Beta")
    await desk.synced(lambda: desk.bot.get_guild(b.guild.id) is not None)
    await a.run("subscribe", channel=a.news, tags="Energy")
    await b.run("subscribe", channel=b.news)
    before = await desk.sub(a.news)

    # B's moderator names A's channel by id: as far as B is concerned it does not exist.
    for name in ("unsubscribe", "pause", "resume", "test"):
        text = await b.run(name, channel=str(a.news.id))
        assert "This server has no subscription for that channel" in text, name
    text = await b.run("subscribe", channel=a.news)  # a forged cross-server channel
    assert f"I can't see <#{a.news.id}> in this server" in text
    message = await b.answer("list")
    assert [f["name"] for f in message["embeds"][0]["fields"]] == ["#news"]
    assert f"<#{b.news.id}>" in message["embeds"][0]["fields"][0]["value"]
    assert await b.complete("unsubscribe", "channel", "") == [str(b.news.id)]

    assert await desk.sub(a.news) == before
    assert await desk.bot.store.get_subscription(b.guild.id, a.news.id) is None


# -- channels, threads and servers going away -------------------------------------------


async def test_deleted_channel_and_thread_lose_their_subscriptions(desk: Desk) -> None:
    a = desk.a
    for channel in (a.news, a.thread, a.forum):
        await a.run("subscribe", channel=channel)
    store = desk.bot.store

    a.guild.delete_channel(a.thread)

    async def thread_gone() -> bool:
        return await desk.sub(a.thread) is None

    await wait_until(thread_gone, "the thread's subscription gone")
    a.guild.delete_channel(a.forum)

    async def forum_gone() -> bool:
        return await desk.sub(a.forum) is None

    await wait_until(forum_gone, "the forum's subscription gone")
    assert [s.channel_id for s in await store.subscriptions(a.guild.id)] == [a.news.id]


async def test_threads_of_a_deleted_channel_lose_their_subscriptions(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.thread)
    a.guild.delete_channel(a.news)  # the thread's parent

    async def gone() -> bool:
        return await desk.bot.store.subscriptions(a.guild.id) == []

    await wait_until(gone, "the subscriptions gone")


async def test_removed_from_a_server(desk: Desk) -> None:
    a = desk.a
    b = Server.create(desk.fake, "Beta")
    await desk.synced(lambda: desk.bot.get_guild(b.guild.id) is not None)
    await a.run("subscribe", channel=a.news)
    await a.run("subscribe", channel=a.forum)
    await a.run("settings", color="#123456")
    await b.run("subscribe", channel=b.news)

    desk.fake.remove_guild(a.guild)

    async def gone() -> bool:
        return await desk.bot.store.subscriptions(a.guild.id) == []

    await wait_until(gone, "the subscriptions gone")
    assert (await desk.bot.store.guild_settings(a.guild.id)).color is None
    assert [s.channel_id for s in await desk.bot.store.subscriptions(b.guild.id)] == [b.news.id]


# -- autocomplete -----------------------------------------------------------------------


async def test_tag_autocomplete_completes_the_last_item(desk: Desk) -> None:
    a = desk.a
    known = [t for t, _ in await desk.bot.store.tags()]
    assert {"Energy", "Climate", "Space"} <= set(known)

    assert await a.complete("subscribe", "tags", "", channel=a.news) == known[:25]
    assert await a.complete("subscribe", "tags", "ener", channel=a.news) == ["Energy"]
    # Prefix matches first, then the tags that merely contain the text ("Cycling").
    completed = await a.complete("subscribe", "tags", "Energy, cli", channel=a.news)
    assert completed[0] == "Energy, Climate"
    assert all(v.startswith("Energy, ") and "cli" in v[8:].casefold() for v in completed)
    # Items already in the list are not offered again; spacing is tidied.
    after = await a.complete("subscribe", "exclude_tags", "energy ,", channel=a.news)
    assert after and all(v.startswith("energy, ") for v in after)
    assert "energy, Energy" not in after
    assert await a.complete("subscribe", "tags", "Energy, zzz", channel=a.news) == []


async def test_subscription_autocomplete(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news, tags="Energy")
    await a.run("subscribe", channel=a.forum)
    await a.run("pause", channel=str(a.forum.id))
    choices = await desk.fake.autocomplete(
        a.guild, a.guild.channel("general"), a.mod, "newsadmin unsubscribe", focused="channel"
    )
    assert [(c["name"], c["value"]) for c in choices] == [
        ("#news — Energy", str(a.news.id)),
        ("#articles (paused) — all articles", str(a.forum.id)),
    ]
    assert await a.complete("test", "channel", "") == [str(a.news.id), str(a.forum.id)]
    # Each command offers the channels it applies to.
    assert await a.complete("resume", "channel", "") == [str(a.forum.id)]
    assert await a.complete("pause", "channel", "") == [str(a.news.id)]
    assert await a.complete("pause", "channel", "art") == []
    # Typed by hand, the others are still found and answered.
    assert "is not paused" in await a.run("resume", channel="#news")


# -- with the delivery service -----------------------------------------------------------


async def test_backfill_queues_recent_articles(desk: Desk) -> None:
    assert desk.bot.deliverer is not None  # the real one, from cogs.delivery
    a = desk.a
    text = await a.run("subscribe", channel=a.news, backfill=2)
    assert "Posting the 2 most recent matching articles" in text
    await desk.fake.wait_for(lambda: len(desk.fake.messages(a.news)) >= 2, timeout=10)


async def test_test_post(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    interaction = await a.invoke("test", channel=str(a.news.id))
    message = await interaction.original_message(timeout=10)
    assert message["flags"] & EPHEMERAL and message["content"]
    await desk.fake.wait_for(lambda: desk.fake.messages(a.news), timeout=10)


async def test_without_a_deliverer_backfill_and_test_say_so(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If delivery failed to load, moderators are told instead of left waiting."""
    monkeypatch.delattr(desk.bot, "deliverer")
    a = desk.a
    text = await a.run("subscribe", channel=a.news, backfill=3)
    assert "Subscribed" in text and "delivery is not running" in text
    assert "delivery is not running" in await a.run("test", channel=str(a.news.id))


class RecordingDeliverer:
    """Stands in for ``bot.deliverer`` to check what the cog asks of it (the interface)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.delay = delay

    async def backfill(self, subscription: Subscription, count: int) -> int:
        self.calls.append(("backfill", (subscription.channel_id, count)))
        return 1

    async def test_post(self, subscription: Subscription) -> str:
        self.calls.append(("test_post", subscription.channel_id))
        await asyncio.sleep(self.delay)
        return f"Posted a test in <#{subscription.channel_id}>."

    def wake(self) -> None:
        self.calls.append(("wake", None))


async def test_what_the_cog_asks_of_the_deliverer(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = desk.a
    stub = RecordingDeliverer()
    monkeypatch.setattr(desk.bot, "deliverer", stub, raising=False)
    text = await a.run("subscribe", channel=a.news, tags="Energy", backfill=5)
    assert "Posting the 1 most recent matching article." in text
    text = await a.run("test", channel=str(a.news.id))
    assert text == f"Posted a test in <#{a.news.id}>. Format: default."
    await a.run("pause", channel=str(a.news.id))
    await a.run("resume", channel=str(a.news.id))
    # No backfill asked: none requested.
    await a.run("subscribe", channel=a.forum)
    assert stub.calls == [
        ("backfill", (a.news.id, 5)),
        ("test_post", a.news.id),
        ("wake", None),
    ]


async def test_a_slow_test_post_is_deferred_privately(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = desk.a
    monkeypatch.setattr(desk.bot, "deliverer", RecordingDeliverer(delay=2.0), raising=False)
    await a.run("subscribe", channel=a.news)
    interaction = await a.invoke("test", channel=str(a.news.id))
    message = await interaction.original_message(timeout=10)
    assert interaction.callback_type == 5  # "thinking...", within Discord's 3 seconds
    assert interaction.callback_delay is not None and interaction.callback_delay < 3
    assert message["flags"] & EPHEMERAL
    assert message["content"] == f"Posted a test in <#{a.news.id}>. Format: default."


async def test_store_failure_while_finding_the_subscription_gets_an_apology(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The channel option is read into a subscription before the command runs: a store
    # failure there is ours, logged with its traceback, not the user's input.
    a = desk.a
    await a.run("subscribe", channel=a.news)
    monkeypatch.setattr(desk.bot.store, "subscriptions", explode)
    monkeypatch.setattr(desk.bot.store, "get_subscription", explode)
    caplog.clear()
    assert await a.run("pause", channel=str(a.news.id)) == APOLOGY
    await desk.fake.wait_until_settled()
    assert_logged_once_with_traceback(caplog, "command /newsadmin pause failed")


async def test_failing_subscription_autocomplete_offers_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    monkeypatch.setattr(desk.bot.store, "subscriptions", explode)
    monkeypatch.setattr(desk.bot.store, "tags", explode)
    assert await a.complete("pause", "channel", "ne") == []
    assert await a.complete("subscribe", "tags", "En", channel=str(a.news.id)) == []


async def test_a_private_test_post_is_shown_only_to_the_moderator(desk: Desk) -> None:
    a = desk.a
    role = a.guild.add_role("space-news", mentionable=True)
    await a.run("subscribe", channel=a.news, tags="Space", mention=role)
    await a.run("pause", channel=str(a.news.id))  # a preview needs no posting at all
    message = await a.answer("test", channel=str(a.news.id), private=True)
    assert message["content"].startswith(
        f"Only you see this: the post <#{a.news.id}> would get (format: default), from the bot."
    )
    assert f"<@&{role.id}>" in message["content"]
    [embed] = message["embeds"]
    assert embed["title"] == "Space Probe Enters Orbit Around Jupiter After Six-Year Journey"
    await wait_until_idle(desk.fake, desk.bot)
    assert desk.fake.messages(a.news) == []

    await a.run("subscribe", channel=a.forum, tags="Nothing-Tagged-So")
    text = await a.run("test", channel=str(a.forum.id), private=True)
    assert "No published article matches" in text and "nothing to show as a test" in text


def _described(node: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(node["name"], node.get("description", ""))]
    for option in node.get("options") or []:
        found += _described(option)
    return found


async def test_descriptions_are_written_one_way(desk: Desk) -> None:
    """Across /news and /newsadmin: no full stop at the end, and "Color" as the option."""
    described = [d for c in desk.fake.commands[None] for d in _described(c)]
    assert {name for name, _ in described} >= {"news", "newsadmin", "color", "private"}
    for name, text in described:
        assert text and not text.endswith("."), (name, text)
        assert "colour" not in text.casefold(), (name, text)


async def test_notices_go_to_the_channel_the_moderators_chose(desk: Desk) -> None:
    a = desk.a
    mod_log = a.guild.add_channel("mod-log")
    hidden = a.guild.add_channel("hidden")
    await desk.synced(lambda: desk.bot.get_channel(hidden.id) is not None)
    hidden.set_permissions(a.guild.bot_role, deny=Permission.SEND_MESSAGES)
    await desk.synced(lambda: not desk.bot_can(hidden, "send_messages"))
    text = await a.run("settings", notices_channel=hidden)
    assert "I can't post in" in text and "**Send Messages**" in text
    assert (await desk.bot.store.guild_settings(a.guild.id)).notices_channel_id is None
    assert "the system channel, else the first channel I can post in" in await a.run("settings")

    text = await a.run("settings", notices_channel=mod_log)
    assert f"My notices to moderators (a channel paused, say) go to: <#{mod_log.id}>" in text
    # Another setting changed later leaves the choice alone.
    assert f"<#{mod_log.id}>" in await a.run("settings", color="#123456")

    desk.fake.fail_next("POST", f"/channels/{a.news.id}/messages", 403, code=50013)
    await a.run("subscribe", channel=a.news, backfill=1)
    [notice] = await desk.fake.wait_for(lambda: desk.fake.messages(mod_log), timeout=10)
    assert f"<#{a.news.id}>" in notice["content"] and "/newsadmin resume" in notice["content"]
    await wait_until_idle(desk.fake, desk.bot)
    assert desk.fake.messages(a.guild.channel("general")) == []

    # Back to the system channel: no_notices_channel, as no_mention stops a ping.
    text = await a.run("settings", notices_channel=mod_log, no_notices_channel=True)
    assert text == "Give `notices_channel` or `no_notices_channel`, not both."
    text = await a.run("settings", no_notices_channel=True)
    assert "go to: the system channel, else the first channel I can post in" in text
    assert (await desk.bot.store.guild_settings(a.guild.id)).notices_channel_id is None


async def test_status_shows_sources_the_last_article_and_paused_channels(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    await a.run("subscribe", channel=a.forum)
    await a.run("pause", channel=str(a.forum.id), reason="summer break")
    message = await a.answer("status")
    [embed] = message["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Sources (chosen by the bot's operator)"] == "The site's content folder: watched"
    assert fields["Last article"].startswith(
        "**[City Council Approves 40 km of Protected Bike Lanes](https://news.example.org/"
    )
    assert fields["Paused here"].startswith(f"<#{a.forum.id}> since <t:")
    assert fields["Paused here"].endswith("summer break")
    assert embed["footer"]["text"] == "2 subscribed channels, 1 paused"


async def test_subscribing_by_category(desk: Desk) -> None:
    a = desk.a
    assert await a.complete("subscribe", "categories", "sc", channel=a.news) == ["Science"]
    assert await a.complete("subscribe", "categories", "Science, bu", channel=a.news) == [
        "Science, Business"
    ]
    assert "Science" not in await a.complete("subscribe", "tags", "", channel=a.news)

    # A category typed as a tag matches nothing: the answer says what was meant.
    text = await a.run("subscribe", channel=a.news, tags="Science")
    assert "**Science** is a category, not a tag: use `categories:`" in text

    text = await a.run("subscribe", channel=a.news, tags="none", categories="science", backfill=5)
    assert "categories any → **science**" in text and "tags **Science** → any" in text
    assert "New articles in the categories **science**." in text
    assert "Posting the 1 most recent matching article." in text
    [post] = await desk.fake.wait_for(lambda: desk.fake.messages(a.news), timeout=10)
    assert post["embeds"][0]["title"] == (
        "Space Probe Enters Orbit Around Jupiter After Six-Year Journey"
    )
    # Tags or categories: adding a tag adds its articles (the backfill skips the one
    # already posted).
    text = await a.run("subscribe", channel=a.news, tags="Energy", backfill=5)
    assert "New articles tagged **Energy** or in the categories **science**." in text
    await desk.fake.wait_for(lambda: len(desk.fake.messages(a.news)) == 2, timeout=10)
    await wait_until_idle(desk.fake, desk.bot)
    titles = [m["embeds"][0]["title"] for m in desk.fake.messages(a.news)]
    assert titles[1] == "Heatwave Pushes Regional Power Grid to Record Demand"
    note = await a.run("subscribe", channel=a.forum, categories="Sport")
    assert "no published article is in the categories **Sport** yet" in note


async def test_one_channel_with_several_filters_gets_one_post_per_article(
    desk: Desk, content_dir: Path
) -> None:
    a = desk.a
    politics = await desk.role("politics-news")
    energy = await desk.role("energy-news")
    await a.run("subscribe", channel=a.news, tags="Politics", mention=politics)
    text = await a.run("subscribe", channel=a.news, filter=2, tags="Energy", mention=energy)
    assert text.splitlines()[:3] == [
        f"Added filter 2 to the subscription of <#{a.news.id}>.",
        f"Filter 1: new articles tagged **Politics**, pinging <@&{politics.id}>.",
        f"Filter 2: new articles tagged **Energy**, pinging <@&{energy.id}>.",
    ]
    text = await a.run("subscribe", channel=a.news, filter=2, exclude_tags="Opinion")
    assert text.startswith(
        f"Updated filter 2 of the subscription of <#{a.news.id}>: excluded tags none → **Opinion**."
    )

    write_article(
        content_dir,
        "both",
        "Energy Policy Vote",
        date="2026-03-01T10:00:00Z",
        tags=["Politics", "Energy"],
    )
    [post] = await desk.fake.wait_for(lambda: desk.fake.messages(a.news), timeout=10)
    assert post["content"] == f"<@&{politics.id}> <@&{energy.id}>"
    assert sorted(post["mention_roles"]) == sorted([str(politics.id), str(energy.id)])
    write_article(
        content_dir, "energy", "Wind Farm Opens", date="2026-03-02T10:00:00Z", tags=["Energy"]
    )
    await desk.fake.wait_for(lambda: len(desk.fake.messages(a.news)) == 2, timeout=10)
    await wait_until_idle(desk.fake, desk.bot)
    first, second = desk.fake.messages(a.news)
    assert first == post and second["content"] == f"<@&{energy.id}>"
    sub = await desk.sub(a.news)
    assert sub is not None
    assert len(await desk.bot.store.deliveries(subscription_id=sub.id)) == 2

    text = await a.run("unsubscribe", channel="#news", filter=1)
    assert text == f"Removed filter 1 of <#{a.news.id}>; its others stay."
    assert "no filter 1" in await a.run("unsubscribe", channel="#news", filter=1)
    sub = await desk.sub(a.news)
    assert sub is not None and [f.number for f in sub.filters] == [2]
    # The last filter goes with the subscription.
    assert "Unsubscribed" in await a.run("unsubscribe", channel="#news", filter=2)
    assert await desk.sub(a.news) is None


async def test_a_backfill_posts_what_the_filter_just_set_wants(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.announcements, tags="Space")
    text = await a.run("subscribe", channel=a.announcements, filter=2, tags="Energy", backfill=5)
    assert "Posting the 1 most recent matching article." in text
    [post] = await desk.fake.wait_for(lambda: desk.fake.messages(a.announcements), timeout=10)
    assert post["embeds"][0]["title"] == "Heatwave Pushes Regional Power Grid to Record Demand"
    await wait_until_idle(desk.fake, desk.bot)
    assert len(desk.fake.messages(a.announcements)) == 1
