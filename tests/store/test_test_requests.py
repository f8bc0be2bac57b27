"""Work handed to the leader. Test posts: claimed once, never after they expire,
withdrawn by their waiter (but not while the leader is posting them). Looks a webhook
asked of the sources: kept until a leader takes them, taken once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import Store
from bot.store.requests import STALE
from tests.store.helpers import T0

SECOND = timedelta(seconds=1)
WAIT = timedelta(seconds=15)


async def test_a_request_is_claimed_once_and_its_result_read(store: Store) -> None:
    first = await store.add_test_request(1, 10, T0, T0 + WAIT)
    second = await store.add_test_request(2, 20, T0 + SECOND, T0 + SECOND + WAIT)
    waiting = await store.test_request(first)
    assert waiting is not None
    assert (waiting.guild_id, waiting.channel_id, waiting.created_at) == (1, 10, T0)
    assert (waiting.expires_at, waiting.claimed_at, waiting.result) == (T0 + WAIT, None, None)

    claimed = await store.claim_test_requests(T0 + 2 * SECOND)
    assert [(r.id, r.channel_id, r.claimed_at) for r in claimed] == [
        (first, 10, T0 + 2 * SECOND),
        (second, 20, T0 + 2 * SECOND),
    ]
    assert await store.claim_test_requests(T0 + 3 * SECOND) == []  # taken already

    # Being posted: its waiter cannot withdraw it.
    assert not await store.withdraw_test_request(first)
    await store.finish_test_request(first, "Sent a test post.", T0 + 4 * SECOND)
    done = await store.test_request(first)
    assert done is not None
    assert (done.result, done.done_at) == ("Sent a test post.", T0 + 4 * SECOND)
    # Read: the waiter deletes it.
    assert await store.withdraw_test_request(first)
    assert await store.test_request(first) is None
    assert not await store.withdraw_test_request(first)


async def test_an_expired_request_is_never_claimed(store: Store) -> None:
    late = await store.add_test_request(1, 10, T0, T0 + WAIT)
    assert await store.claim_test_requests(T0 + WAIT) == []
    assert await store.claim_test_requests(T0 + 2 * WAIT) == []
    left = await store.test_request(late)
    assert left is not None and left.claimed_at is None


async def test_a_withdrawn_request_is_never_claimed(store: Store) -> None:
    request = await store.add_test_request(1, 10, T0, T0 + WAIT)
    assert await store.withdraw_test_request(request)
    assert await store.claim_test_requests(T0 + SECOND) == []
    assert await store.test_request(request) is None


async def test_long_expired_requests_are_deleted_at_a_claim(store: Store) -> None:
    forgotten = await store.add_test_request(1, 10, T0, T0 + WAIT)
    fresh = await store.add_test_request(2, 20, T0 + STALE, T0 + STALE + 2 * WAIT)
    claimed = await store.claim_test_requests(T0 + STALE + WAIT)
    assert [r.id for r in claimed] == [fresh]
    assert await store.test_request(forgotten) is None


async def test_two_claimers_at_once_take_each_request_once(postgres_url: str) -> None:
    # Two processes (say, a leader and one that just took over) claiming together.
    async with await Store.open(postgres_url) as one, await Store.open(postgres_url) as two:
        asked: list[int] = []
        taken: list[int] = []
        for round_ in range(20):
            asked += [await one.add_test_request(1, round_, T0, T0 + WAIT) for _ in range(3)]
            got = await asyncio.gather(
                one.claim_test_requests(T0 + SECOND), two.claim_test_requests(T0 + SECOND)
            )
            taken += [r.id for claimed in got for r in claimed]
        assert sorted(taken) == sorted(asked)  # every one claimed, none twice


async def test_looks_asked_are_kept_until_taken_and_taken_once(store: Store) -> None:
    await store.ask_look("refresh", T0)
    await store.ask_look("fetch", T0)
    await store.ask_look("refresh", T0 + SECOND)  # asked again before taken: one look
    await store.set_meta("other", "kept")
    assert await store.take_looks() == ["fetch", "refresh"]
    assert await store.take_looks() == []
    assert await store.get_meta("other") == "kept"


async def test_two_takers_at_once_take_each_look_once(postgres_url: str) -> None:
    async with await Store.open(postgres_url) as one, await Store.open(postgres_url) as two:
        for _ in range(20):
            await one.ask_look("refresh", T0)
            got = await asyncio.gather(one.take_looks(), two.take_looks())
            assert sorted(got, key=len) == [[], ["refresh"]]
