"""The fake Discord shards as Discord does: GET /gateway/bot, the shard pair in
IDENTIFY, guilds by ``(guild_id >> 22) % shard_count``, 4010/4011, identify buckets and
the session start limit. Spoken to over a raw websocket, frame by frame."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.fakediscord import FakeDiscord
from tests.waiting import wait_until


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def gateway_bot(fake: FakeDiscord, http: aiohttp.ClientSession) -> dict[str, Any]:
    headers = {"Authorization": f"Bot {fake.token}", "User-Agent": "DiscordBot (test, 1)"}
    async with http.get(f"{fake.api_url}/gateway/bot", headers=headers) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


class Shard:
    """One raw gateway connection."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, fake: FakeDiscord, http: aiohttp.ClientSession, shard: Any = None) -> Shard:
        ws = await http.ws_connect(fake.gateway_url + "?v=10&encoding=json")
        self = cls(ws)
        assert (await self.frame())["op"] == 10
        identify: dict[str, Any] = {"token": fake.token, "intents": 1, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        return self

    async def frame(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame: dict[str, Any] = json.loads(msg.data)
        return frame

    async def close_code(self) -> int | None:
        msg = await self.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
        return self.ws.close_code

    async def events(self, count: int) -> list[dict[str, Any]]:
        return [await self.frame() for _ in range(count)]


async def test_gateway_bot_recommends_a_shard_per_thousand_guilds(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    assert (await gateway_bot(fake_discord, http))["shards"] == 1
    for n in range(1001):
        fake_discord.add_guild(f"g{n}", system_channel=False)
    body = await gateway_bot(fake_discord, http)
    assert body["shards"] == 2
    limit = body["session_start_limit"]
    assert limit["total"] == limit["remaining"] == 1000
    assert limit["max_concurrency"] == 1
    assert 0 < limit["reset_after"] <= 86_400_000


@pytest.mark.fakediscord(shards=4, max_concurrency=4)
async def test_each_shard_receives_only_its_guilds(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    guilds = [fake_discord.add_guild(f"g{n}") for n in range(8)]
    # Guild ids made in a burst still spread over every shard.
    assert sorted(fake_discord.shard_of(g, 4) for g in guilds) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert (await gateway_bot(fake_discord, http))["shards"] == 4
    shards = [await Shard.open(fake_discord, http, [k, 4]) for k in range(4)]
    for k, shard in enumerate(shards):
        ready = await shard.frame()
        assert ready["t"] == "READY" and ready["d"]["shard"] == [k, 4]
        mine = {str(g.id) for g in guilds if (g.id >> 22) % 4 == k}
        assert {g["id"] for g in ready["d"]["guilds"]} == mine
        created = await shard.events(2)
        assert {(e["t"], e["d"]["id"]) for e in created} == {("GUILD_CREATE", i) for i in mine}
    assert fake_discord.stats.identified_shards == [0, 1, 2, 3]

    # A guild joined later, and a change in it, reach its own shard only.
    joined = fake_discord.add_guild("late")
    joined.add_channel("news")
    owner = shards[fake_discord.shard_of(joined, 4)]
    assert [e["t"] for e in await owner.events(2)] == ["GUILD_CREATE", "CHANNEL_CREATE"]
    await fake_discord.wait_until_settled()
    others = [s for s in shards if s is not owner]
    for shard in others:
        await shard.ws.send_str(json.dumps({"op": 1, "d": None}))
        assert (await shard.frame())["op"] == 11  # the next frame: nothing came between
    for shard in shards:
        await shard.ws.close()


@pytest.mark.fakediscord(guilds_per_shard=2, identify_interval=0)
async def test_too_many_guilds_on_one_connection_is_4011(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    for n in range(3):
        fake_discord.add_guild(f"g{n}")
    alone = await Shard.open(fake_discord, http)
    assert await alone.close_code() == 4011
    # Two shards hold at most two guilds each: accepted.
    shard = await Shard.open(fake_discord, http, [0, 2])
    assert (await shard.frame())["t"] == "READY"
    await shard.ws.close()
    assert fake_discord.stats.identified_shards == [0]


@pytest.mark.parametrize("pair", [[4, 4], [-1, 2], [0, 0], ["0", 2], [0], [0, 1, 2]])
async def test_an_impossible_shard_is_4010(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession, pair: list[Any]
) -> None:
    shard = await Shard.open(fake_discord, http, pair)
    assert await shard.close_code() == 4010


@pytest.mark.fakediscord(max_concurrency=2, identify_interval=60)
async def test_one_identify_per_bucket_per_interval(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    first = await Shard.open(fake_discord, http, [0, 4])
    other_bucket = await Shard.open(fake_discord, http, [1, 4])
    same_bucket = await Shard.open(fake_discord, http, [2, 4])
    assert (await first.frame())["t"] == "READY"
    assert (await other_bucket.frame())["t"] == "READY"
    assert await same_bucket.frame() == {"op": 9, "s": None, "t": None, "d": False}
    assert fake_discord.stats.invalid_sessions == 1
    assert fake_discord.stats.identified_shards == [0, 1]
    for shard in (first, other_bucket, same_bucket):
        await shard.ws.close()


@pytest.mark.fakediscord(session_starts=(1000, 0, 0.2), identify_interval=0)
async def test_identifying_beyond_the_session_start_limit(
    fake_discord: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    assert (await gateway_bot(fake_discord, http))["session_start_limit"]["remaining"] == 0
    shard = await Shard.open(fake_discord, http)
    assert await shard.close_code() == 4004
    [violation] = fake_discord.take_violations("session_start_limit")
    assert "no session starts remained" in str(violation)

    async def reset() -> bool:
        limit = (await gateway_bot(fake_discord, http))["session_start_limit"]
        return bool(limit["remaining"] == 1000)

    await wait_until(reset, "the session start limit to reset")
    shard = await Shard.open(fake_discord, http)
    assert (await shard.frame())["t"] == "READY"
    await shard.ws.close()
    assert (await gateway_bot(fake_discord, http))["session_start_limit"]["remaining"] == 999
