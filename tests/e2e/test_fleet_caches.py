"""A follower's lookups follow what the leader writes: two real bot processes on two
shards share one PostgreSQL database; the follower has read the tags (and keeps them
in memory) when the leader publishes an article with a tag nobody used before. The
follower's ``/news latest tag:``, ``/news search`` and its tag autocomplete find it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.harness import stop, write_article
from tests.e2e.conftest import listed_titles
from tests.e2e.fleet import Fleet
from tests.fakediscord import FakeGuild, FakeMember
from tests.waiting import wait_until

SHARDS = 2
RANGES = ("0", "1")
TAG = "Quasar Watch"
TITLE = "Quasars Seen From The Roof"

pytestmark = pytest.mark.fakediscord(shards=SHARDS, max_concurrency=SHARDS)


async def test_a_follower_finds_a_tag_the_leader_published_after_its_start(
    fleet: Fleet,
) -> None:
    fake = fleet.fake
    guilds: dict[str, FakeGuild] = {}
    for n in range(SHARDS * 10):
        guild = fake.add_guild(f"Server {n}")
        guilds.setdefault(str(fake.shard_of(guild, SHARDS)), guild)
        if len(guilds) == SHARDS:
            break
    readers: dict[str, FakeMember] = {s: g.add_member("reader") for s, g in guilds.items()}
    await fleet.start_all(RANGES)
    leader = await fleet.led()
    (follower,) = [s for s in RANGES if s != leader]
    guild, member = guilds[follower], readers[follower]
    channel = guild.channel("general")

    async def tags_offered(value: str) -> list[str]:
        fleet.check_alive()
        choices = await fake.autocomplete(
            guild, channel, member, "news latest", focused="tag", value=value
        )
        return [str(choice["name"]) for choice in choices]

    async def titles(command: str, **options: str) -> list[str]:
        """The headlines the follower lists (none: it answered that nothing matched)."""
        fleet.check_alive()
        interaction = await fake.invoke(guild, channel, member, command, options=options)
        message = await interaction.original_message()
        return listed_titles(message["embeds"][0]) if message.get("embeds") else []

    # The follower reads the tags now: it knows them, and not the new one.
    offered = await tags_offered("")
    assert offered and TAG not in offered
    assert await tags_offered("quasar") == []
    assert await titles("news search", query="roof", tag=TAG) == []

    write_article(Path(fleet.env["NEWSBOT_CONTENT_DIR"]), "quasars", TITLE, tags=[TAG])
    await wait_until(
        lambda: fleet.count(
            f"SELECT count(*) FROM articles WHERE title = '{TITLE}' AND status = 'published'"
        ),
        "the leader publishing the article",
        timeout=30,
    )
    # Answers come from the database: at once.
    assert await titles("news latest", tag=TAG.lower()) == [TITLE]
    assert await titles("news search", query="roof", tag=TAG) == [TITLE]
    # The autocomplete's kept list, once the leader's NOTIFY is heard.
    await wait_until(
        lambda: tags_offered("quasar"), "the new tag offered by the follower", timeout=10
    )
    assert await tags_offered("quasar") == [TAG]

    for shards, process in list(fleet.processes.items()):
        assert stop(process) == 0, shards
        del fleet.processes[shards]
        assert "Traceback" not in fleet.log(shards).read_text(errors="replace")
    assert not fake.violations
