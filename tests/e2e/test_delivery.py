"""Delivery end to end: the real bot, a real content folder and SQLite, the fake Discord.

Each test starts the bot on a copy of the samples (recorded silently on the first
scan), subscribes channels through the store, drops a new article file into the
folder and looks at what reached the fake Discord.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest

import bot.delivery.policy as policy
from bot.client import NewsBot
from bot.config import Settings
from bot.delivery import Deliverer
from bot.delivery.policy import delivery_nonce
from bot.formats import parse_format
from bot.store import Delivery
from bot.store.codec import to_us
from bot.store.subscriptions import Subscription
from bot.summary import TEST_MARKER, render_message
from tests.delivery.harness import write_article
from tests.e2e.conftest import make_bot, wait_until_idle, wait_until_scanned
from tests.fakediscord import ChannelType, Permission
from tests.fakediscord.models import FakeChannel, FakeGuild, FakeRole
from tests.fakediscord.plugin import BotRunner, RunBot
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

CROSSPOSTED = 1 << 0
POSTS = "/channels/*/messages"


@dataclass
class Desk:
    """A running bot with its content folder, in one guild."""

    fake: FakeDiscord
    runner: BotRunner[NewsBot]
    guild: FakeGuild
    content: Path

    @property
    def bot(self) -> NewsBot:
        return self.runner.bot

    @property
    def deliverer(self) -> Deliverer:
        return self.bot.deliverer

    async def subscribe(
        self,
        channel: FakeChannel,
        *,
        tags: Sequence[str] = (),
        exclude: Sequence[str] = (),
        role: FakeRole | None = None,
        guild: FakeGuild | None = None,
    ) -> Subscription:
        subscription, _ = await self.bot.store.subscribe(
            (guild or self.guild).id,
            channel.id,
            tags=tags,
            exclude_tags=exclude,
            mention_role_id=role.id if role else None,
            by_user_id=1,
            now=self.deliverer._now(),
        )
        return subscription

    def publish(self, slug: str, title: str, **kwargs: Any) -> Path:
        return write_article(self.content, slug, title, **kwargs)

    def posts(self, channel: FakeChannel) -> list[dict[str, Any]]:
        return self.fake.messages(channel)

    async def wait_posts(
        self,
        channel: FakeChannel,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        await self.fake.wait_for(lambda: len(self.posts(channel)) >= count, timeout=timeout)
        return self.posts(channel)

    async def article_id(self, title: str, timeout: float = 5.0) -> int:  # noqa: ASYNC109
        async def stored_id() -> int | None:
            found = await self.bot.store.find_articles(title, 5)
            return next((stored.id for stored in found if stored.title == title), None)

        return await wait_until(stored_id, f"article {title!r} in the store", timeout=timeout)

    async def settled(
        self,
        article_id: int,
        timeout: float = 5.0,  # noqa: ASYNC109
        subscription: Subscription | None = None,
    ) -> list[Delivery]:
        """Wait until no delivery of the article has work due; returns them."""
        sub_id = subscription.id if subscription else None

        async def done() -> list[Delivery] | None:
            found = await self.bot.store.deliveries(article_id=article_id, subscription_id=sub_id)
            return found if found and all(d.due_at is None for d in found) else None

        return await wait_until(
            done, f"deliveries of article {article_id} settled", timeout=timeout
        )

    async def idle(self) -> None:
        """Wait until the bot has nothing left to do (to assert what did not happen)."""
        await wait_until_idle(self.fake, self.bot)

    async def forget_answer(self, delivery: Delivery) -> None:
        """Make the delivery pending again, attempted just now, as if Discord's answer
        to its post never came (the bot died in between), and wake the sender."""
        now = self.deliverer._now()
        async with self.bot.store._transaction() as db:
            await db.execute(
                "UPDATE deliveries SET state = 'pending', message_id = NULL, webhook_id = NULL, "
                "message_channel_id = NULL, due_at = ?, attempted_at = ? WHERE id = ?",
                (to_us(now), to_us(now), delivery.id),
            )
        self.deliverer.wake()

    def requests_to(self, channel: FakeChannel | int, method: str = "*") -> list[Any]:
        channel_id = channel if isinstance(channel, int) else channel.id
        return self.fake.requests_to(method, f"/channels/{channel_id}/*")


async def open_desk(
    fake: FakeDiscord,
    run_bot: RunBot,
    settings: Settings,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    """The bot running with ``settings`` in a new guild, its first scan done."""
    # Retries within the test's time: the schedule itself is unit-tested.
    monkeypatch.setattr(policy, "RETRY_BASE", 0.05)
    monkeypatch.setattr(policy, "RETRY_CAP", 0.2)
    guild = fake.add_guild("Newsroom")
    runner = await run_bot(make_bot(settings))
    await wait_until_scanned(runner.bot)
    return Desk(fake, runner, guild, content_dir)


@pytest.fixture
async def desk(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Desk]:
    yield await open_desk(fake_discord, run_bot, bot_settings, content_dir, monkeypatch)


def sent_body(request: Any) -> dict[str, Any]:
    """A recorded Create Message body without the nonce fields."""
    return {k: v for k, v in request.json.items() if k not in ("nonce", "enforce_nonce")}


# -- matching and the post itself -----------------------------------------------------


async def test_a_new_article_reaches_exactly_the_matching_channels(desk: Desk) -> None:
    guild = desk.guild
    everything = guild.add_channel("everything")
    energy = guild.add_channel("energy")
    sports = guild.add_channel("sports")
    no_climate = guild.add_channel("no-climate")
    await desk.bot.store.set_guild_settings(guild.id, color=0x123456)
    subs = {
        "everything": await desk.subscribe(everything),
        "energy": await desk.subscribe(energy, tags=["ENERGY"]),
        "sports": await desk.subscribe(sports, tags=["Sports"]),
        "no-climate": await desk.subscribe(no_climate, exclude=["climate"]),
    }
    desk.publish("wind", "Wind Farm Opens Off the Coast", tags=["Energy", "Climate"])

    await desk.wait_posts(everything)
    await desk.wait_posts(energy)
    article_id = await desk.article_id("Wind Farm Opens Off the Coast")
    deliveries = await desk.settled(article_id)
    assert sorted(d.subscription_id for d in deliveries) == sorted(
        [subs["everything"].id, subs["energy"].id]
    )
    assert all(d.state == "sent" for d in deliveries)
    assert desk.posts(sports) == [] and desk.posts(no_climate) == []
    assert desk.requests_to(sports) == [] and desk.requests_to(no_climate) == []

    stored = await desk.bot.store.get(article_id)
    assert stored is not None
    expected = render_message(stored.to_article(), color=0x123456)
    for channel, sub in ((everything, subs["everything"]), (energy, subs["energy"])):
        [request] = desk.fake.requests_to("POST", f"/channels/{channel.id}/messages")
        assert sent_body(request) == expected
        assert request.json["nonce"] == delivery_nonce(sub.id, article_id)
        assert request.json["enforce_nonce"] is True
        [post] = desk.posts(channel)
        assert post["embeds"][0]["title"] == "Wind Farm Opens Off the Coast"
        assert post["embeds"][0]["color"] == 0x123456
    # The system channel and the rest of the guild heard nothing.
    assert desk.posts(guild.channel("general")) == []
    assert desk.fake.stats.rate_limited == 0


async def test_only_the_subscription_role_is_pinged(desk: Desk) -> None:
    guild = desk.guild
    readers = guild.add_role("readers", mentionable=True)
    other = guild.add_role("other", mentionable=True)
    quiet = guild.add_role("quiet", mentionable=False)
    pinged = guild.add_channel("pinged")
    unpingable = guild.add_channel("unpingable")
    await desk.subscribe(pinged, role=readers)
    await desk.subscribe(unpingable, role=quiet)
    desk.publish(
        "pings",
        "Council Votes on Budget",
        takeaways=(f"Ping @everyone and @here and <@&{other.id}> now.", "Second point."),
    )

    [post] = await desk.wait_posts(pinged)
    assert post["mention_roles"] == [str(readers.id)]
    assert post["mention_everyone"] is False
    assert post["mentions"] == []
    assert post["content"] == f"<@&{readers.id}>"
    [request] = desk.fake.requests_to("POST", f"/channels/{pinged.id}/messages")
    assert request.json["allowed_mentions"] == {"parse": [], "roles": [str(readers.id)]}

    # A role the bot may not ping (not mentionable, no Mention Everyone): no ping at all.
    [post] = await desk.wait_posts(unpingable)
    assert post["mention_roles"] == [] and post["mention_everyone"] is False
    assert "<@&" not in post["content"]


async def test_a_non_mentionable_role_is_pinged_with_mention_everyone(desk: Desk) -> None:
    guild = desk.guild
    quiet = guild.add_role("quiet", mentionable=False)
    guild.update_role(
        guild.bot_role, permissions=desk.fake.default_bot_permissions | Permission.MENTION_EVERYONE
    )
    channel = guild.add_channel("alerts")
    await desk.subscribe(channel, role=quiet)
    await desk.fake.wait_for(
        lambda: (
            desk.bot.get_guild(guild.id) is not None
            and desk.bot.get_guild(guild.id).me.guild_permissions.mention_everyone
        )  # type: ignore[union-attr]
    )
    desk.publish("alert", "Storm Warning Issued")
    [post] = await desk.wait_posts(channel)
    assert post["mention_roles"] == [str(quiet.id)]


# -- Discord says no ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "why"),
    [
        (403, 50013, "Missing Permissions"),
        (403, 50001, "Missing Access"),
        (404, 10003, "Unknown Channel"),
    ],
)
async def test_a_refused_channel_is_paused_with_one_notice(
    desk: Desk, status: int, code: int, why: str
) -> None:
    guild = desk.guild
    closed = guild.add_channel("closed")
    fine = guild.add_channel("fine")
    sub = await desk.subscribe(closed)
    await desk.subscribe(fine)
    desk.fake.fail_next("POST", f"/channels/{closed.id}/messages", status, code=code, message=why)
    desk.publish("first", "First Story")
    await desk.wait_posts(fine)
    general = guild.channel("general")
    [notice] = await desk.wait_posts(general)

    paused = await desk.bot.store.get_subscription(guild.id, closed.id)
    assert paused is not None and not paused.active
    assert why in (paused.paused_reason or "")
    assert f"<#{closed.id}>" in notice["content"]
    assert why in notice["content"]
    assert "/newsadmin resume" in notice["content"]
    assert notice["mention_roles"] == [] and notice["mentions"] == []

    # Nothing more is sent there, and nobody is told twice.
    desk.publish("second", "Second Story")
    desk.publish("third", "Third Story")
    await desk.wait_posts(fine, 3)
    await desk.idle()
    assert len(desk.requests_to(closed)) == 1
    assert len(desk.posts(general)) == 1
    assert desk.posts(closed) == []

    # Resumed: the post that was refused goes out (the two published while paused
    # were never queued for the paused channel).
    assert await desk.bot.store.resume_subscription(guild.id, closed.id, desk.deliverer._now())
    desk.deliverer.wake()
    [post] = await desk.wait_posts(closed)
    assert post["embeds"][0]["title"] == "First Story"
    [delivery] = await desk.settled(await desk.article_id("First Story"), subscription=sub)
    assert delivery.state == "sent"


async def test_missing_permissions_pause_without_a_request(desk: Desk) -> None:
    guild = desk.guild
    no_embeds = guild.add_channel("no-embeds")
    await desk.subscribe(no_embeds)
    no_embeds.set_permissions(guild.bot_role, deny=Permission.EMBED_LINKS)
    await desk.fake.wait_for(
        lambda: (
            not no_embeds.guild.bot_member.permissions_in(no_embeds) & Permission.EMBED_LINKS
            and desk.bot.get_channel(no_embeds.id) is not None
            and not desk.bot.get_channel(no_embeds.id)  # type: ignore[union-attr]
            .permissions_for(desk.bot.get_guild(guild.id).me)  # type: ignore[union-attr, arg-type]
            .embed_links
        )
    )
    desk.publish("story", "A Story Needing Embeds")
    [notice] = await desk.wait_posts(guild.channel("general"))
    assert "Embed Links" in notice["content"]
    assert desk.requests_to(no_embeds) == []
    assert desk.fake.stats.invalid_requests == 0


async def test_a_locked_thread_pauses_without_a_request(desk: Desk) -> None:
    # Discord lets only members with Manage Threads post in a locked thread: the bot
    # checks that before sending, as for any other missing permission.
    guild = desk.guild
    thread = guild.add_channel("live", ChannelType.public_thread, parent=guild.add_channel("desk"))
    await desk.subscribe(thread)
    thread.lock()

    def locked_in_cache() -> bool:
        cached = desk.bot.get_channel(thread.id)
        return isinstance(cached, discord.Thread) and cached.locked

    await desk.fake.wait_for(locked_in_cache)
    desk.publish("story", "A Story For A Locked Thread")
    [notice] = await desk.wait_posts(guild.channel("general"))
    assert f"<#{thread.id}>" in notice["content"]
    assert "Manage Threads" in notice["content"]
    paused = await desk.bot.store.get_subscription(guild.id, thread.id)
    assert paused is not None and not paused.active
    assert "Manage Threads" in (paused.paused_reason or "")
    assert desk.requests_to(thread) == []
    assert desk.fake.stats.invalid_requests == 0


async def test_the_notice_goes_to_another_channel_without_a_system_channel(
    fake_discord: FakeDiscord, desk: Desk
) -> None:
    quiet = fake_discord.add_guild("Quiet", system_channel=False)
    closed = quiet.add_channel("closed")
    lobby = quiet.add_channel("lobby")
    await desk.fake.wait_for(lambda: desk.bot.get_guild(quiet.id) is not None)
    await desk.subscribe(closed, guild=quiet)
    desk.fake.fail_next("POST", f"/channels/{closed.id}/messages", 403)
    desk.publish("story", "Another Story")
    [notice] = await desk.wait_posts(lobby)
    assert f"<#{closed.id}>" in notice["content"]


async def test_rate_limits_and_server_errors_lose_nothing(desk: Desk) -> None:
    guild = desk.guild
    limited = guild.add_channel("limited")
    flaky = guild.add_channel("flaky")
    steady = guild.add_channel("steady")
    for channel in (limited, flaky, steady):
        await desk.subscribe(channel)
    desk.fake.fail_next("POST", f"/channels/{limited.id}/messages", 429, retry_after=0.05, count=2)
    # 503 reaches us at once (discord.py retries only 500/502/504): our own backoff.
    desk.fake.fail_next("POST", f"/channels/{flaky.id}/messages", 503, count=3)
    desk.publish("story", "Resilient Story")

    await desk.wait_posts(steady)
    await desk.wait_posts(limited)
    await desk.wait_posts(flaky)
    article_id = await desk.article_id("Resilient Story")
    deliveries = await desk.settled(article_id)
    assert [d.state for d in deliveries] == ["sent"] * 3
    flaky_delivery = next(d for d in deliveries if d.channel_id == flaky.id)
    assert flaky_delivery.attempts == 3
    # The failing channel held up nobody else.
    first_steady = desk.fake.requests_to("POST", f"/channels/{steady.id}/messages")[0]
    last_flaky = desk.fake.requests_to("POST", f"/channels/{flaky.id}/messages")[-1]
    assert first_steady.at < last_flaky.at
    for channel in (limited, flaky, steady):
        assert len(desk.posts(channel)) == 1
    statuses = [r.status for r in desk.requests_to(flaky)]
    assert statuses == [503, 503, 503, 200]


async def test_a_stalled_discord_sees_no_burst_over_the_global_limit(desk: Desk) -> None:
    # Discord counts requests when it gets to them. Stalled for 1.5 s in mid fan-out,
    # it would get to the ~67 the bot spaced out meanwhile all at once, and refuse
    # those over 50 with a global 429, had the bot not stopped at 48 unanswered.
    channels = [desk.guild.add_channel(f"news-{n}") for n in range(120)]
    for channel in channels:
        await desk.subscribe(channel)
    desk.publish("stall", "Story Through A Stall")
    posted = desk.fake.requests_to  # the fake records each request as it serves it

    await desk.fake.wait_for(lambda: len(posted("POST", POSTS)) >= 20, timeout=10)
    desk.fake.stall(1.5)
    await desk.fake.wait_for(lambda: all(len(desk.posts(c)) == 1 for c in channels), timeout=25)
    assert desk.fake.stats.rate_limited == 0
    assert desk.fake.busiest_second <= 48  # the pacer's cap
    assert [len(desk.posts(c)) for c in channels] == [1] * len(channels)
    assert len(posted("POST", POSTS)) == len(channels)
    assert desk.fake.stats.stalled > 0  # the stall held requests up, then served them at once


async def test_a_500_is_retried_by_discord_py_with_the_same_nonce(desk: Desk) -> None:
    channel = desk.guild.add_channel("wobbly")
    await desk.subscribe(channel)
    desk.fake.fail_next("POST", f"/channels/{channel.id}/messages", 500)
    desk.publish("story", "Wobbly Story")
    await desk.wait_posts(channel, timeout=8)
    requests = desk.fake.requests_to("POST", f"/channels/{channel.id}/messages")
    assert [r.status for r in requests] == [500, 200]
    assert requests[0].json["nonce"] == requests[1].json["nonce"]
    assert len(desk.posts(channel)) == 1


# -- changes after publication --------------------------------------------------------


async def test_a_changed_article_edits_its_posts(desk: Desk) -> None:
    guild = desk.guild
    channel = guild.add_channel("edits")
    await desk.subscribe(channel)
    path = desk.publish("evolving", "Evolving Story", takeaways=("Version one.",))
    [post] = await desk.wait_posts(channel)
    assert "Version one." in post["embeds"][0]["description"]

    desk.publish("evolving", "Evolving Story", takeaways=("Version two, corrected.",))
    await desk.fake.wait_for_requests("PATCH", f"/channels/{channel.id}/messages/{post['id']}")
    [edited] = desk.posts(channel)
    assert edited["id"] == post["id"]
    assert "Version two, corrected." in edited["embeds"][0]["description"]
    assert edited["edited_timestamp"] is not None
    assert len(desk.fake.requests_to("POST", f"/channels/{channel.id}/messages")) == 1
    article_id = await desk.article_id("Evolving Story")
    stored = await desk.bot.store.get(article_id)
    assert stored is not None
    [patch] = desk.fake.requests_to("PATCH", f"/channels/{channel.id}/messages/*")
    assert patch.json == render_message(stored.to_article())
    [delivery] = await desk.settled(article_id)
    assert delivery.sent_version == stored.version == 2

    # Withdrawn (file deleted): the post stays, nothing more happens.
    path.unlink()
    await _wait_status(desk, article_id, "withdrawn")
    await desk.idle()
    assert len(desk.posts(channel)) == 1
    assert len(desk.requests_to(channel)) == 2


async def test_no_edits_where_the_server_turned_them_off(desk: Desk) -> None:
    guild = desk.guild
    channel = guild.add_channel("frozen")
    await desk.subscribe(channel)
    await desk.bot.store.set_guild_settings(guild.id, edit_on_update=False)
    desk.publish("fixed", "Fixed Story", takeaways=("Version one.",))
    [post] = await desk.wait_posts(channel)
    desk.publish("fixed", "Fixed Story", takeaways=("Version two.",))
    article_id = await desk.article_id("Fixed Story")

    async def updated() -> bool:
        stored = await desk.bot.store.get(article_id)
        return stored is not None and stored.version >= 2

    await wait_until(updated, "version 2 in the store")
    await desk.idle()
    assert desk.fake.requests_to("PATCH", "/channels/*") == []
    assert desk.posts(channel)[0]["embeds"] == post["embeds"]


async def test_a_withdrawn_article_is_not_posted_where_it_was_still_pending(desk: Desk) -> None:
    guild = desk.guild
    held = guild.add_channel("held")
    sub = await desk.subscribe(held)
    # Held back: the bot may not post there yet, so the post waits (paused).
    held.set_permissions(guild.bot_role, deny=Permission.SEND_MESSAGES)
    await desk.fake.wait_for(lambda: not _can_send(desk, held))
    path = desk.publish("oops", "Published By Mistake")
    article_id = await desk.article_id("Published By Mistake")
    await desk.wait_posts(guild.channel("general"))  # the notice
    path.unlink()
    await _wait_status(desk, article_id, "withdrawn")

    held.set_permissions(guild.bot_role, allow=Permission.SEND_MESSAGES)
    await desk.fake.wait_for(lambda: _can_send(desk, held))
    assert await desk.bot.store.resume_subscription(guild.id, held.id, desk.deliverer._now())
    desk.deliverer.wake()
    [delivery] = await desk.settled(article_id, subscription=sub)
    assert delivery.state == "skipped"
    assert desk.requests_to(held) == []


def _can_send(desk: Desk, channel: FakeChannel) -> bool:
    cached = desk.bot.get_channel(channel.id)
    guild = desk.bot.get_guild(desk.guild.id)
    if not isinstance(cached, discord.TextChannel) or guild is None:
        return False
    return cached.permissions_for(guild.me).send_messages


async def _wait_status(desk: Desk, article_id: int, status: str) -> None:
    async def reached() -> bool:
        stored = await desk.bot.store.get(article_id)
        return stored is not None and stored.status == status

    await wait_until(reached, f"article {article_id} {status}")


# -- channel kinds -------------------------------------------------------------------


async def test_announcement_channels_crosspost(desk: Desk) -> None:
    news = desk.guild.add_channel("announcements", ChannelType.announcement)
    await desk.subscribe(news)
    desk.publish("big", "Big News")
    [post] = await desk.wait_posts(news)
    await desk.fake.wait_for_requests(
        "POST", f"/channels/{news.id}/messages/{post['id']}/crosspost"
    )
    [post] = desk.posts(news)
    assert post["flags"] & CROSSPOSTED
    [delivery] = await desk.settled(await desk.article_id("Big News"))
    assert delivery.crosspost == "done"


async def test_forum_channels_get_one_tagged_thread_per_article(desk: Desk) -> None:
    forum = desk.guild.add_channel(
        "articles",
        ChannelType.forum,
        available_tags=[
            "energy",
            "Politics",
            {"name": "CLIMATE"},
            {"name": "grid", "moderated": True},
        ],
    )
    await desk.subscribe(forum)
    title = "A Very Long Headline " + "About The Grid " * 10
    desk.publish("long", title.strip(), tags=["Energy", "Climate", "Grid", "Sports"])
    await desk.fake.wait_for(
        lambda: any(c.parent_id == forum.id for c in desk.guild.channels.values())
    )
    [thread] = [c for c in desk.guild.channels.values() if c.parent_id == forum.id]
    assert len(thread.name) <= 100
    assert thread.name.startswith("A Very Long Headline About The Grid")
    # Case-insensitive, in the article's order; the moderated one needs Manage Threads.
    assert thread.applied_tags == [int(forum.tag("energy")["id"]), int(forum.tag("CLIMATE")["id"])]
    [starter] = desk.posts(thread)
    assert starter["id"] == str(thread.id)
    assert starter["embeds"][0]["title"] == title.strip()

    # Threads work like text channels: an update edits the starter message.
    desk.publish("long", title.strip(), tags=["Energy"], takeaways=("Changed.",))
    await desk.fake.wait_for_requests("PATCH", f"/channels/{thread.id}/messages/{thread.id}")
    assert "Changed." in desk.posts(thread)[0]["embeds"][0]["description"]


async def test_a_saved_format_this_version_cannot_read_posts_the_default_with_one_notice(
    desk: Desk,
) -> None:
    guild = desk.guild
    unreadable, custom = guild.add_channel("unreadable"), guild.add_channel("custom")
    await desk.subscribe(unreadable)
    await desk.subscribe(custom)
    now = desk.deliverer._now()
    await desk.bot.store.set_format(
        guild.id, custom.id, parse_format("", "📰 {{title}}", "", "", ""), now
    )
    # As a newer version would keep a format with a part this one doesn't know.
    async with desk.bot.store._transaction() as db:
        await db.execute(
            "UPDATE subscriptions SET format = ? WHERE channel_id = ?",
            ('{"title": "{{title}}", "layout": "grid"}', unreadable.id),
        )
    desk.publish("first", "First Story")
    [post] = await desk.wait_posts(unreadable)
    [other] = await desk.wait_posts(custom)
    [stored] = await desk.bot.store.latest(None, 1)
    [create] = desk.fake.requests_to("POST", f"/channels/{unreadable.id}/messages")
    assert create.json["embeds"] == render_message(stored.to_article())["embeds"]
    assert post["embeds"][0]["title"] == "First Story"
    assert other["embeds"][0]["title"] == "📰 First Story"
    [notice] = await desk.wait_posts(guild.channel("general"))
    assert notice["content"].startswith(
        f"\N{WARNING SIGN}\N{VARIATION SELECTOR-16} I can't read the saved post format of "
        f"<#{unreadable.id}> (it has parts I don't know: layout), so I post there in the "
        "default format."
    )
    assert f"`/newsadmin format` for <#{unreadable.id}>" in notice["content"]
    assert notice["mention_roles"] == [] and notice["mentions"] == []
    sub = await desk.bot.store.get_subscription(guild.id, unreadable.id)
    assert sub is not None and sub.active
    assert sub.format_error == "it has parts I don't know: layout"

    # Posts go on in the default format, and nobody is told twice.
    desk.publish("second", "Second Story")
    await desk.wait_posts(unreadable, 2)
    await desk.idle()
    assert len(desk.posts(guild.channel("general"))) == 1
    assert desk.posts(unreadable)[1]["embeds"][0]["title"] == "Second Story"


async def test_a_forum_post_made_just_before_a_crash_is_adopted_not_repeated(
    desk: Desk,
) -> None:
    # Forum posts carry no nonce: a thread the bot created but never recorded (it
    # died in between) is recognised in the cache instead of being created again.
    forum = desk.guild.add_channel("forum", ChannelType.forum)
    await desk.subscribe(forum)
    desk.publish("once", "Posted Exactly Once")
    article_id = await desk.article_id("Posted Exactly Once")
    [delivery] = await desk.settled(article_id)
    threads = [c for c in desk.guild.channels.values() if c.parent_id == forum.id]
    assert [t.id for t in threads] == [delivery.message_id]
    await desk.forget_answer(delivery)
    [again] = await desk.settled(article_id)
    assert (again.state, again.message_id) == ("sent", delivery.message_id)
    assert len(desk.fake.requests_to("POST", f"/channels/{forum.id}/threads")) == 1


async def test_a_forum_post_adopted_after_a_crash_is_edited_if_its_article_changed(
    desk: Desk,
) -> None:
    forum = desk.guild.add_channel("forum", ChannelType.forum)
    await desk.subscribe(forum)
    desk.publish("once", "Posted Once", takeaways=("As first told.",))
    article_id = await desk.article_id("Posted Once")
    [delivery] = await desk.settled(article_id)
    # As if the bot had died between creating the thread and recording it, and the
    # article had changed before it was back (the row waits until then).
    async with desk.bot.store._transaction() as db:
        await db.execute(
            "UPDATE deliveries SET state = 'pending', message_id = NULL, "
            "message_channel_id = NULL, due_at = NULL WHERE id = ?",
            (delivery.id,),
        )
    desk.publish("once", "Posted Once", takeaways=("Corrected.",))

    async def edit_asked() -> bool:
        [d] = await desk.bot.store.deliveries(article_id=article_id)
        return d.edit_version == 2

    await wait_until(edit_asked, "the edit asked for")
    async with desk.bot.store._transaction() as db:
        await db.execute(
            "UPDATE deliveries SET due_at = ? WHERE id = ?",
            (to_us(desk.deliverer._now()), delivery.id),
        )
    desk.deliverer.wake()
    await desk.fake.wait_for_requests("PATCH", f"/channels/{delivery.message_id}/messages/*")
    [again] = await desk.settled(article_id)
    assert (again.state, again.message_id, again.sent_version) == ("sent", delivery.message_id, 2)
    [thread] = [c for c in desk.guild.channels.values() if c.parent_id == forum.id]
    assert desk.posts(thread)[0]["embeds"][0]["description"] == "- Corrected."
    assert len(desk.fake.requests_to("POST", f"/channels/{forum.id}/threads")) == 1


async def test_a_subscribed_thread_gets_posts_like_a_channel(desk: Desk) -> None:
    parent = desk.guild.add_channel("discussion")
    thread = desk.guild.add_channel("news-thread", ChannelType.public_thread, parent=parent)
    await desk.fake.wait_for(lambda: desk.bot.get_channel(thread.id) is not None)
    await desk.subscribe(thread)
    desk.publish("threaded", "Threaded Story")
    [post] = await desk.wait_posts(thread)
    assert post["embeds"][0]["title"] == "Threaded Story"


# -- moderators' calls ------------------------------------------------------------------


async def test_backfill_posts_the_newest_matching_articles_once(desk: Desk) -> None:
    channel = desk.guild.add_channel("catch-up")
    subscription = await desk.subscribe(channel, tags=["energy", "space"])
    # Samples: Heatwave (Energy, 2026-07-14), Space Probe (Space, later). Newest first
    # they are Space Probe, Heatwave; posted oldest first.
    assert await desk.deliverer.backfill(subscription, 2) == 2
    posts = await desk.wait_posts(channel, 2)
    assert [p["embeds"][0]["title"] for p in posts] == [
        "Heatwave Pushes Regional Power Grid to Record Demand",
        "Space Probe Enters Orbit Around Jupiter After Six-Year Journey",
    ]
    assert await desk.deliverer.backfill(subscription, 2) == 0
    await desk.idle()
    assert len(desk.posts(channel)) == 2


@pytest.mark.fakediscord(per_channel=(2, 0.5))
async def test_many_posts_in_one_channel_keep_their_order_within_its_limit(desk: Desk) -> None:
    channel = desk.guild.add_channel("busy")
    subscription = await desk.subscribe(channel)
    assert await desk.deliverer.backfill(subscription, 10) == 4  # every published sample
    posts = await desk.wait_posts(channel, 4, timeout=8)
    stamps = [p["embeds"][0].get("timestamp") for p in posts]
    assert stamps == sorted(stamps)  # oldest first, in order
    # discord.py waited out the channel's bucket from Discord's headers: no 429.
    assert desk.fake.stats.rate_limited == 0


async def test_send_test_posts_the_latest_match_marked_as_a_test(desk: Desk) -> None:
    channel = desk.guild.add_channel("trial")
    subscription = await desk.subscribe(channel, tags=["economy"])
    line = await desk.deliverer.send_test(subscription)
    assert "Central Bank Holds Rates Steady" in line
    [post] = desk.posts(channel)
    assert TEST_MARKER in post["content"]
    assert post["embeds"][0]["title"] == "Central Bank Holds Rates Steady, Signals Cut in Spring"
    assert post["flags"] & CROSSPOSTED == 0

    nothing = await desk.subscribe(desk.guild.add_channel("empty"), tags=["no-such-tag"])
    assert "nothing to show as a test" in await desk.deliverer.send_test(nothing)


async def test_leaving_a_guild_or_deleting_a_channel_drops_what_was_left(
    fake_discord: FakeDiscord, desk: Desk
) -> None:
    gone = fake_discord.add_guild("Gone")
    await desk.fake.wait_for(lambda: desk.bot.get_guild(gone.id) is not None)
    channels = [gone.add_channel("one"), desk.guild.add_channel("two")]
    for channel in channels:
        channel.set_permissions(channel.guild.bot_role, deny=Permission.SEND_MESSAGES)
    subs = [await desk.subscribe(c, guild=c.guild) for c in channels]
    desk.publish("story", "Story Nobody Reads")
    article_id = await desk.article_id("Story Nobody Reads")

    async def paused() -> bool:
        found = [await desk.bot.store.get_subscription(s.guild_id, s.channel_id) for s in subs]
        return all(f is not None and not f.active for f in found)

    await wait_until(paused, "the subscriptions paused")
    assert len(await desk.bot.store.deliveries(article_id=article_id)) == 2

    fake_discord.remove_guild(gone)  # GUILD_DELETE: the admin extension forgets the guild
    desk.guild.delete_channel(channels[1])  # CHANNEL_DELETE

    async def dropped() -> bool:
        return not await desk.bot.store.deliveries(article_id=article_id)

    await wait_until(dropped, "the deliveries of removed subscriptions dropped")
    for sub in subs:
        assert await desk.bot.store.get_subscription(sub.guild_id, sub.channel_id) is None
