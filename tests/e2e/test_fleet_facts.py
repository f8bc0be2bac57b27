"""Everything works on every shard: two real bot processes on two shards share one
PostgreSQL database, and the leader posts in the server it does not serve as well as
in its own. The follower publishes what its cache knows of its server's subscribed
channels, and the leader goes by it: a role is pinged where it may be (once a role
update made it mentionable), a forum gets a tagged thread, an announcement is
crossposted, a channel closed to the bot is paused before any request and its notice
reaches the server's moderators. A forum subscribed with a backfill on the follower
gets its thread at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.harness import stop, write_article
from tests.e2e.fleet import Fleet
from tests.fakediscord import ChannelType, FakeGuild, Permission, overwrite
from tests.waiting import wait_until

SHARDS = 2
RANGES = ("0", "1")
WAIT = 30.0

pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS)


class Server:
    """A server with a role to ping (not mentionable yet) and four subscribed channels:
    text (pinging the role), forum, announcements, and one the bot may not post in."""

    def __init__(self, guild: FakeGuild) -> None:
        self.guild = guild
        self.readers = guild.add_role("readers")
        self.news = guild.add_channel("news")
        self.forum = guild.add_channel(
            "articles",
            ChannelType.forum,
            available_tags=["energy", {"name": "grid", "moderated": True}],
        )
        self.announcements = guild.add_channel("announcements", ChannelType.announcement)
        self.closed = guild.add_channel(
            "closed",
            permission_overwrites=[overwrite(guild.bot_role, deny=Permission.SEND_MESSAGES)],
        )
        self.channels = (self.news, self.forum, self.announcements, self.closed)


async def test_the_leader_posts_in_a_followers_server_as_in_its_own(fleet: Fleet) -> None:
    fake = fleet.fake
    servers: dict[str, Server] = {}
    for n in range(SHARDS * 10):
        guild = fake.add_guild(f"Server {n}")
        shard = str(fake.shard_of(guild, SHARDS))
        if shard not in servers:
            servers[shard] = Server(guild)
        if len(servers) == SHARDS:
            break
    for server in servers.values():
        await fleet.subscribe(server.news, server.readers)
        for channel in server.channels[1:]:
            await fleet.subscribe(channel)
    await fleet.start_all(RANGES)
    leader = await fleet.led()
    (follower,) = [s for s in RANGES if s != leader]

    # Each process publishes its own server (the leader too: it may not lead forever).
    for server in servers.values():
        for channel in server.channels:
            await wait_until(
                lambda c=channel: fleet.published(c),  # type: ignore[misc]
                f"the facts of #{channel.name} published",
                timeout=WAIT,
            )
        forum = await fleet.published(server.forum)
        assert forum is not None and forum.target.kind.value == "forum"
        assert [t.name for t in forum.target.tags] == ["energy", "grid"]
        closed = await fleet.published(server.closed)
        assert closed is not None and closed.target.missing == ("Send Messages",)
        news = await fleet.published(server.news)
        assert news is not None and news.target.pingable == ()
        # A role made mentionable: its server is published again.
        server.guild.update_role(server.readers, mentionable=True)

    async def pingable(server: Server) -> bool:
        fleet.check_alive()
        facts = await fleet.published(server.news)
        return facts is not None and facts.target.pingable == (server.readers.id,)

    for server in servers.values():
        await wait_until(lambda s=server: pingable(s), "the role published as pingable")  # type: ignore[misc]

    write_article(
        Path(fleet.env["NEWSBOT_CONTENT_DIR"]), "wind", "Wind Farm Opens", tags=["Energy"]
    )
    for shards in (follower, leader):
        server = servers[shards]
        [post] = await fake.wait_for(lambda s=server: fake.messages(s.news), WAIT)  # type: ignore[misc]
        assert post["mention_roles"] == [str(server.readers.id)]
        [request] = fake.requests_to("POST", f"/channels/{server.news.id}/messages")
        assert request.json["allowed_mentions"] == {"parse": [], "roles": [str(server.readers.id)]}

        [thread] = await fake.wait_for(
            lambda s=server: [  # type: ignore[misc]
                c for c in s.guild.channels.values() if c.parent_id == s.forum.id
            ],
            WAIT,
        )
        assert thread.name == "Wind Farm Opens"
        assert thread.applied_tags == [int(server.forum.tag("energy")["id"])]

        [post] = await fake.wait_for(lambda s=server: fake.messages(s.announcements), WAIT)  # type: ignore[misc]
        await fake.wait_for_requests(
            "POST",
            f"/channels/{server.announcements.id}/messages/{post['id']}/crosspost",
            timeout=WAIT,
        )

        general = server.guild.channel("general")
        [notice] = await fake.wait_for(lambda g=general: fake.messages(g), WAIT)  # type: ignore[misc]
        assert f"<#{server.closed.id}>" in notice["content"]
        assert "Send Messages" in notice["content"]
        # Paused on the published facts: Discord was never asked.
        assert fake.requests_to("POST", f"/channels/{server.closed.id}/messages") == []
        [(reason,)] = await fleet.query(
            f"SELECT paused_reason FROM subscriptions WHERE channel_id = {server.closed.id}"
        )
        assert "Send Messages" in reason

    # A forum subscribed on the follower with a backfill: its facts are published
    # before the leader is asked, which makes a thread there at once.
    server = servers[follower]
    mod = server.guild.add_member("mod", permissions=Permission.MANAGE_GUILD)
    more = server.guild.add_channel("more", ChannelType.forum)
    interaction = await fake.invoke(
        server.guild,
        server.guild.channel("general"),
        mod,
        "newsadmin subscribe",
        options={"channel": more, "backfill": 1},
    )
    answer = await interaction.original_message(timeout=WAIT)
    assert "Posting the 1 most recent matching article." in answer["content"]
    await fake.wait_for(
        lambda: [c for c in server.guild.channels.values() if c.parent_id == more.id], WAIT
    )
    assert fake.requests_to("POST", f"/channels/{more.id}/messages") == []

    for shards, process in list(fleet.processes.items()):
        assert stop(process) == 0, shards
        del fleet.processes[shards]
        assert "Traceback" not in fleet.log(shards).read_text(errors="replace")
    assert not fake.violations
