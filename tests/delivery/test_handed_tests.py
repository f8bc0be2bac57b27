"""``/newsadmin test`` on a process that does not send: its deliverer hands the test
to the leader through the database and waits for the answer. The leader is played by
the test here (claiming and answering as the leader's deliverer does; the real one is
in tests/e2e/test_fleet_work.py); the leader's lock is held by the test, so the
waiting process follows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import discord
import pytest

from bot.delivery import Deliverer
from bot.delivery import deliverer as delivery
from bot.leader import CHANNEL, LEADER_KEY, LOCK_SPACE, TESTED, Leadership
from bot.store import Store, Subscription
from tests.delivery.test_outbox import subscribe
from tests.store.helpers import T0
from tests.waiting import wait_until


@dataclass
class Follower:
    store: Store
    deliverer: Deliverer
    leadership: Leadership
    subscription: Subscription

    async def claimed(self) -> int:
        """Wait for the test's request and claim it, as the leader would; its id."""
        found: list[int] = []

        async def claim() -> bool:
            found.extend(r.id for r in await self.store.claim_test_requests(T0))
            return bool(found)

        await wait_until(claim, "the request")
        [request] = found
        return request


async def _nothing() -> None:
    pass


@pytest.fixture
async def follower(postgres_url: str) -> AsyncIterator[Follower]:
    holder = await asyncpg.connect(postgres_url)
    await holder.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, LEADER_KEY)
    store = await Store.open(postgres_url)
    client = discord.Client(intents=discord.Intents.none())  # never posts here
    deliverer = Deliverer(client, store, clock=lambda: T0)
    pool = store.database.pool  # type: ignore[attr-defined]
    leadership = Leadership(
        postgres_url, lead=_nothing, follow=_nothing, on_wake=deliverer.poke, pool=pool
    )
    deliverer.leadership = leadership
    leadership.start()
    try:
        await wait_until(lambda: leadership._connection is not None, "listening")
        yield Follower(store, deliverer, leadership, await subscribe(store, 1))
    finally:
        await leadership.close()
        await deliverer.close()
        await client.close()
        await store.close()
        await holder.close()


async def test_the_leaders_answer_is_the_moderators(follower: Follower) -> None:
    waiting = asyncio.create_task(follower.deliverer.test_post(follower.subscription))
    request = await follower.claimed()
    await follower.store.finish_test_request(request, "Sent a test post.", T0)
    follower.leadership.tell(f"{TESTED}{request}")
    assert await asyncio.wait_for(waiting, timeout=30) == "Sent a test post."
    assert await follower.store.test_request(request) is None  # read, then deleted


async def test_an_answer_whose_notify_was_missed_is_found_all_the_same(
    follower: Follower,
) -> None:
    waiting = asyncio.create_task(follower.deliverer.test_post(follower.subscription))
    request = await follower.claimed()
    await follower.store.finish_test_request(request, "Sent a test post.", T0)  # no NOTIFY
    assert await asyncio.wait_for(waiting, timeout=30) == "Sent a test post."


async def test_a_test_nobody_takes_is_withdrawn_and_never_posted(
    follower: Follower, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "TEST_WAIT", 0.5)
    heard: list[str] = []
    listener = await asyncpg.connect(follower.leadership.url or "")
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
        answer = await follower.deliverer.test_post(follower.subscription)
        await wait_until(lambda: heard == ["wake"], "the leader told")
    finally:
        await listener.close()
    assert answer == delivery.NO_SENDER
    assert await follower.store.claim_test_requests(T0) == []  # nothing left to post


async def test_a_test_taken_but_never_answered_says_where_to_look(
    follower: Follower, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "TEST_WAIT", 0.5)
    monkeypatch.setattr(delivery, "TEST_ANSWER_WAIT", 0.5)
    waiting = asyncio.create_task(follower.deliverer.test_post(follower.subscription))
    await follower.claimed()  # and the leader dies before it answers
    answer = await asyncio.wait_for(waiting, timeout=30)
    assert answer == (
        "The sending process took the test post but has not said how it went; "
        f"look in <#{follower.subscription.channel_id}>."
    )
