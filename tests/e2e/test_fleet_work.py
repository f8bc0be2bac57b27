"""Work handled on a follower reaches the leader: two real bot processes on two shards
share one PostgreSQL database and follow one git repository (fetched only when asked:
the interval is an hour). A ``/newsadmin test`` in the follower's server is posted by
the leader; a forge's push and ``/hooks/publish`` sent to the follower's listener make
the leader fetch at once; a test with no process leading is refused and never posted;
a webhook while no process leads is done by the next leader, feeds included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.delivery.deliverer import NO_SENDER
from bot.forges import Forge
from bot.hooks import Asked
from bot.leader import LEADER_KEY, LOCK_SPACE
from bot.summary import TEST_MARKER
from tests.delivery.harness import article_text, kill, stop, subscribe_channels
from tests.e2e.conftest import PUBLISHED_NEWEST_FIRST, SAMPLES
from tests.e2e.fleet import Fleet
from tests.fakediscord import FakeChannel, FakeGuild, FakeMember, Permission
from tests.fakediscord.server import FakeDiscord
from tests.sources.feedserver import FeedServer, Route
from tests.sources.gitrepos import Site
from tests.sources.test_feeds import rss
from tests.test_forges import signed
from tests.waiting import wait_until

SHARDS = 2
RANGES = ("0", "1")
SECRET = "fleet-hook-secret"
NEWEST = PUBLISHED_NEWEST_FIRST[0]
EPHEMERAL = 1 << 6
DEFERRED = 5  # "thinking...", answered by a follow-up

pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS)


class Newsroom:
    """One server on each shard, with a moderator and a subscribed channel; the
    processes, one per shard, not started yet."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        fake = self.fake = fleet.fake
        self.guilds: dict[str, FakeGuild] = {}
        for n in range(SHARDS * 10):
            guild = fake.add_guild(f"Server {n}")
            self.guilds.setdefault(str(fake.shard_of(guild, SHARDS)), guild)
            if len(self.guilds) == SHARDS:
                break
        self.mods: dict[str, FakeMember] = {
            shards: g.add_member("mod", permissions=Permission.MANAGE_GUILD)
            for shards, g in self.guilds.items()
        }
        self.channels: dict[str, FakeChannel] = {
            shards: g.add_channel("news") for shards, g in self.guilds.items()
        }

    async def start(self) -> None:
        await subscribe_channels(
            self.fleet.url, [(c.guild.id, c.id, ()) for c in self.channels.values()]
        )
        await self.fleet.start_all(RANGES)

    async def led(self) -> tuple[str, str]:
        """Wait for one process to lead and make its first scan; (leader, follower)."""
        leader = await self.fleet.led()
        (follower,) = [s for s in RANGES if s != leader]
        return leader, follower

    async def test_post(self, shards: str) -> str:
        """``/newsadmin test`` of the news channel in the server of ``shards``'s shard;
        the moderator's answer (private, after a "thinking..." within Discord's 3 s
        when it has to wait)."""
        guild = self.guilds[shards]
        interaction = await self.fake.invoke(
            guild,
            guild.channel("general"),
            self.mods[shards],
            "newsadmin test",
            options={"channel": str(self.channels[shards].id)},
        )
        message = await interaction.original_message(timeout=60)
        assert message["flags"] & EPHEMERAL
        if interaction.callback_type == DEFERRED:
            assert interaction.callback_delay is not None and interaction.callback_delay < 3
        return str(message["content"])

    async def publish_hook(self, shards: str) -> tuple[int, str]:
        """``POST /hooks/publish`` to the listener of ``shards``'s process: the answer's
        status and text."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{self.fleet.port(shards)}/hooks/publish",
                headers={"Authorization": f"Bearer {SECRET}"},
            ) as response,
        ):
            return response.status, await response.text()

    def posts(self, shards: str) -> list[dict[str, Any]]:
        self.fleet.check_alive()
        return self.fake.messages(self.channels[shards])

    def last_titles(self) -> list[str | None]:
        """The title of the latest post in each channel."""
        return [
            str(posts[-1]["embeds"][0]["title"]) if (posts := self.posts(s)) else None
            for s in RANGES
        ]

    def stop(self) -> None:
        fleet = self.fleet
        for shards, process in list(fleet.processes.items()):
            assert stop(process) == 0, shards
            del fleet.processes[shards]
        for shards in RANGES:
            assert "Traceback" not in fleet.log(shards).read_text(errors="replace")
        assert not self.fake.violations


@pytest.fixture
async def newsroom(
    fake_discord: FakeDiscord, tmp_path: Path, postgres_url: str, site: Site
) -> AsyncIterator[Newsroom]:
    fleet = Fleet(fake_discord, tmp_path, postgres_url, SAMPLES, SHARDS)
    del fleet.env["NEWSBOT_CONTENT_DIR"]
    fleet.env.update(
        NEWSBOT_GIT_URL=str(site.origin),
        NEWSBOT_GIT_INTERVAL="3600",  # only the webhooks (and a new leader) fetch
        NEWSBOT_HTTP_ADDR="127.0.0.1:0",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
    )
    try:
        yield Newsroom(fleet)
    finally:
        for process in fleet.processes.values():
            kill(process)


async def test_a_test_post_asked_on_a_follower_is_posted_by_the_leader(
    newsroom: Newsroom,
) -> None:
    await newsroom.start()
    leader, follower = await newsroom.led()
    answer = await newsroom.test_post(follower)
    channel = newsroom.channels[follower]
    assert answer == (
        f"Sent a test post of “{NEWEST}” to <#{channel.id}>, as the bot. Format: default."
    )
    await newsroom.fake.wait_until_settled()
    [post] = newsroom.posts(follower)
    assert TEST_MARKER in str(post["content"])
    asked = f"test post for channel {channel.id}, asked by another process"
    assert newsroom.fleet.said(leader, asked) == 1
    assert newsroom.fleet.said(follower, asked) == 0
    assert not await newsroom.fleet.count("SELECT count(*) FROM test_requests")
    newsroom.stop()


async def test_webhooks_sent_to_a_follower_make_the_leader_fetch_at_once(
    newsroom: Newsroom, site: Site
) -> None:
    await newsroom.start()
    leader, follower = await newsroom.led()
    fleet = newsroom.fleet
    await wait_until(lambda: fleet.port(follower), "the follower's listener")
    base = f"http://127.0.0.1:{fleet.port(follower)}"
    async with aiohttp.ClientSession() as session:

        async def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            async with session.post(base + path, data=body, headers=headers) as response:
                return response.status, await response.text()

        # A forge's push, checked by the follower as the leader would check it.
        site.publish("content/articles/pushed.md", article_text("Pushed Story"))
        push = json.dumps({"ref": "refs/heads/main"}).encode()
        forged = signed(Forge.GITHUB, push, secret="guess", delivery="x")
        assert (await post("/hooks/push", push, forged))[0] == 401
        headers = signed(Forge.GITHUB, push, secret=SECRET, delivery="d1")
        assert await post("/hooks/push", push, headers) == (
            200,
            "fetching: passed to the leading process\n",
        )
        await wait_until(
            lambda: newsroom.last_titles() == ["Pushed Story"] * 2, "the pushes", timeout=30
        )
        status, text = await post("/hooks/push", push, headers)  # redelivered
        assert status == 200 and "already received" in text

        # A pipeline that is no git push.
        site.publish("content/articles/ci.md", article_text("Published By CI"))
        bearer = {"Authorization": f"Bearer {SECRET}"}
        assert await post("/hooks/publish", b"", bearer) == (
            202,
            "looking now at: git repository: passed to the leading process\n",
        )
        await wait_until(
            lambda: newsroom.last_titles() == ["Published By CI"] * 2, "the CI", timeout=30
        )
    await newsroom.fake.wait_until_settled()
    assert [len(newsroom.posts(s)) for s in RANGES] == [2, 2]
    # One fetch at start and one per webhook, all by the leader.
    assert fleet.said(leader, "files changed: 1") == 2
    assert fleet.said(follower, "files changed") == 0
    newsroom.stop()


async def test_a_test_post_with_no_leader_is_refused_and_never_posted_later(
    newsroom: Newsroom,
) -> None:
    fleet = newsroom.fleet
    # The leader's lock, held by no bot: every process follows, none sends.
    holder = await asyncpg.connect(fleet.url)
    try:
        await holder.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, LEADER_KEY)
        await newsroom.start()
        answer = await newsroom.test_post("0")
        assert answer == f"{NO_SENDER} Format: default."  # after 15 s: deferred first
        assert newsroom.fake.requests_to("POST", "/interactions/*")[-1].json["type"] == DEFERRED
        assert newsroom.posts("0") == []
        assert not await fleet.count("SELECT count(*) FROM test_requests")
    finally:
        await holder.close()  # the lock is free: a process leads
    leader, follower = await newsroom.led()
    # A test asked now goes through the leader's claim, which would also find the
    # refused one had it been left behind.
    answer = await newsroom.test_post(follower)
    assert answer.startswith(f"Sent a test post of “{NEWEST}”")
    await newsroom.fake.wait_until_settled()
    assert len(newsroom.posts(follower)) == 1
    assert newsroom.posts(leader) == []
    assert fleet.said(leader, "asked by another process") == 1
    newsroom.stop()


FeedEntry = tuple[str, str, datetime]


async def led_with_an_hourly_feed(
    newsroom: Newsroom, feed_server: FeedServer
) -> tuple[Route, FeedEntry, str, str]:
    """The newsroom started with a feed polled hourly (a new leader polls it when due,
    unless a webhook asked) and led, the first look of each source made: the feed's
    route, its entry, the leader, the follower."""
    fleet = newsroom.fleet
    first = ("first", "First From The Feed", datetime.now(UTC) - timedelta(hours=1))
    feed = feed_server.route("/feed.xml", body=rss([first]))
    fleet.env.update(NEWSBOT_FEEDS=feed_server.url("/feed.xml"), NEWSBOT_FEED_INTERVAL="3600")
    await newsroom.start()
    leader, follower = await newsroom.led()

    async def both_looked() -> bool:
        return await fleet.count("SELECT count(*) FROM sources WHERE baseline_done_at > 0") == 2

    await wait_until(both_looked, "the first look of the repository and the feed", timeout=30)
    return feed, first, leader, follower


async def polled_and_posted_by(
    newsroom: Newsroom, feed_server: FeedServer, new_leader: str, polls: int
) -> None:
    """``new_leader`` did the look asked of the fleet: it polled the feed (``polls``
    requests in all) and posted its new article "Polled At Once" in both servers; no
    look is left asked. Then the newsroom stops."""
    fleet = newsroom.fleet
    await wait_until(
        lambda: newsroom.last_titles() == ["Polled At Once"] * 2,
        "the feed's new article, posted by the new leader",
        timeout=30,
    )
    assert len(feed_server.seen("/feed.xml")) == polls
    assert fleet.said(new_leader, "looking now (refresh), as another process asked") == 1
    assert not await fleet.count("SELECT count(*) FROM meta WHERE key LIKE 'look:%'")
    newsroom.stop()


async def test_a_webhook_while_no_process_leads_is_done_by_the_next_leader(
    newsroom: Newsroom, feed_server: FeedServer
) -> None:
    fleet = newsroom.fleet
    feed, first, leader, follower = await led_with_an_hourly_feed(newsroom, feed_server)
    polls = len(feed_server.seen("/feed.xml"))
    # The leader steps down while a connection of no bot waits for the lock: it has the
    # lock next, and no process leads.
    holder = await asyncpg.connect(fleet.url)
    try:
        waiting = asyncio.create_task(
            holder.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, LEADER_KEY)
        )
        await wait_until(
            lambda: fleet.count("SELECT count(*) FROM pg_locks WHERE NOT granted"),
            "the holder waiting for the lock",
        )
        assert stop(fleet.processes.pop(leader)) == 0
        await asyncio.wait_for(waiting, 30)
        feed.body = rss([first, ("second", "Polled At Once", datetime.now(UTC))])
        # The lock is held, so the follower passes the request on, and no bot hears
        # it: it waits in the database.
        assert await newsroom.publish_hook(follower) == (
            202,
            "looking now at: git repository, 1 feed" + Asked.LEADER.value + "\n",
        )
        assert await fleet.count("SELECT count(*) FROM meta WHERE key = 'look:refresh'") == 1
        assert len(feed_server.seen("/feed.xml")) == polls
    finally:
        await holder.close()  # the lock is free: the follower leads
    await polled_and_posted_by(newsroom, feed_server, follower, polls + 1)


async def test_a_look_the_leader_left_unfinished_is_done_by_the_next_leader(
    newsroom: Newsroom, feed_server: FeedServer
) -> None:
    # The leader stops while polling the feed a webhook asked it to: the next leader
    # polls it at once, and the feed's new article is posted.
    fleet = newsroom.fleet
    feed, first, leader, follower = await led_with_an_hourly_feed(newsroom, feed_server)
    polls = len(feed_server.seen("/feed.xml"))
    feed.body = rss([first, ("second", "Polled At Once", datetime.now(UTC))])
    feed.delay = 60  # the leader's poll hangs until it stops
    assert (await newsroom.publish_hook(leader))[0] == 202
    await wait_until(
        lambda: len(feed_server.seen("/feed.xml")) == polls + 1, "the leader's asked poll"
    )
    feed.delay = 0  # for the next poll
    assert stop(fleet.processes.pop(leader)) == 0
    assert fleet.said(leader, "passing an unfinished look (refresh) on to the next leader") == 1
    await polled_and_posted_by(newsroom, feed_server, follower, polls + 2)
