"""Leader election and IDENTIFY turns across processes, on a real PostgreSQL server.

Each :class:`Leadership` here stands for one bot process: it has its own lock
connection, as a process would. Killing a process is ending its lock session from
the server (``pg_terminate_backend``), which is what the server does itself when the
process dies or its network goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from bot.leader import LOCK_SPACE, LOST, Leadership, SharedIdentifyGate
from bot.store.postgres import ARTICLES_CHANGED, CHANNEL
from tests.postgres import PostgresServer
from tests.waiting import wait_until

RETRY = 0.2


class Process:
    """One process's leadership and what it was told to do."""

    def __init__(self, url: str | None, name: str, pool: asyncpg.Pool | None = None) -> None:
        self.name = name
        self.events: list[str] = []
        self.wakes = 0
        self.work: list[str] = []
        self.changed = 0  # calls of on_changed: articles changed, or (re)connected
        self.leadership = Leadership(
            url,
            lead=self._lead,
            follow=self._follow,
            on_wake=self._woken,
            on_work=self.work.append,
            on_changed=self._changed,
            pool=pool,
            retry=RETRY,
        )

    async def _lead(self) -> None:
        self.events.append("lead")

    async def _follow(self) -> None:
        self.events.append("follow")

    def _woken(self) -> None:
        self.wakes += 1

    def _changed(self) -> None:
        self.changed += 1

    @property
    def leading(self) -> bool:
        return self.leadership.leading


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=2) as pool:
        yield pool


@pytest.fixture
async def processes(
    postgres_url: str, pool: asyncpg.Pool
) -> AsyncIterator[Callable[[int], list[Process]]]:
    started: list[Process] = []

    def start(count: int) -> list[Process]:
        new = [Process(postgres_url, f"p{len(started) + i}", pool) for i in range(count)]
        for process in new:
            process.leadership.start()
        started.extend(new)
        return new

    yield start
    for process in started:
        await process.leadership.close()


async def lock_holders(pool: asyncpg.Pool) -> list[int]:
    """The server process ids holding the leader lock."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
        "AND objid = 0 AND granted",
        LOCK_SPACE,
    )
    return [row["pid"] for row in rows]


def leaders(processes: list[Process]) -> list[Process]:
    return [p for p in processes if p.leading]


async def leader_and_follower(
    processes: Callable[[int], list[Process]],
) -> tuple[Process, Process]:
    """Two processes, once one of them leads: (the leader, the follower)."""
    group = processes(2)
    await wait_until(lambda: len(leaders(group)) == 1, "one leader")
    (leader,) = leaders(group)
    (follower,) = [p for p in group if p is not leader]
    return leader, follower


async def test_sqlite_process_always_leads() -> None:
    process = Process(None, "only")
    process.leadership.start()
    await wait_until(lambda: process.leading, "leading")
    process.leadership.wake()
    assert process.wakes == 1
    await process.leadership.close()
    assert process.events == ["lead", "follow"]
    assert not process.leading


async def test_exactly_one_of_three_leads(
    processes: Callable[[int], list[Process]], pool: asyncpg.Pool
) -> None:
    group = processes(3)
    await wait_until(lambda: len(leaders(group)) == 1, "one leader")
    # Several more tries of every follower change nothing.
    first = leaders(group)[0]
    for _ in range(3):
        await asyncio.sleep(RETRY)
        assert leaders(group) == [first]
    assert len(await lock_holders(pool)) == 1
    assert all(p.events == [] for p in group if p is not first)


async def test_a_dead_leaders_lock_passes_to_a_follower(
    processes: Callable[[int], list[Process]], pool: asyncpg.Pool
) -> None:
    group = processes(3)
    await wait_until(lambda: len(leaders(group)) == 1, "one leader")
    dead = leaders(group)[0]
    # The server ends the dead process's session, as after kill -9 or a network cut.
    (holder,) = await lock_holders(pool)
    await pool.execute("SELECT pg_terminate_backend($1)", holder)
    await wait_until(lambda: dead.events == ["lead", "follow"], "the old leader stepping down")
    await wait_until(
        lambda: len(leaders(group)) == 1 and not dead.leading, "a follower taking over"
    )
    # The old leader connects again and follows (or leads again if it won the race):
    # one leader either way.
    for _ in range(3):
        await asyncio.sleep(RETRY)
        assert len(leaders(group)) == 1
    assert len(await lock_holders(pool)) == 1


async def test_a_graceful_stop_hands_over_at_once(postgres_url: str, pool: asyncpg.Pool) -> None:
    # Followers that would otherwise try only once a minute: the NOTIFY wakes them.
    first = Process(postgres_url, "first", pool)
    first.leadership.start()
    await wait_until(lambda: first.leading, "the first leading")
    second = Process(postgres_url, "second", pool)
    second.leadership.retry = 60.0
    second.leadership.start()
    try:
        await wait_until(lambda: second.leadership._connection is not None, "second listening")
        await asyncio.sleep(0.1)  # its first try (lost) is done
        assert not second.leading
        await first.leadership.close()
        assert first.events == ["lead", "follow"]
        # Well before its next try: the NOTIFY woke it.
        await wait_until(lambda: second.leading, "the handover", timeout=30)
    finally:
        await first.leadership.close()
        await second.leadership.close()


async def test_wake_on_a_follower_reaches_the_leader(
    processes: Callable[[int], list[Process]],
) -> None:
    leader, follower = await leader_and_follower(processes)
    before = leader.wakes
    follower.leadership.wake()
    assert follower.wakes == 1  # woken here too
    await wait_until(lambda: leader.wakes > before, "the leader hearing of the work")


async def test_work_asked_on_a_follower_reaches_the_leader_alone(
    processes: Callable[[int], list[Process]],
) -> None:
    leader, follower = await leader_and_follower(processes)
    assert leader.leadership.runs_here and not follower.leadership.runs_here
    assert await follower.leadership.ask_leader("fetch")
    await wait_until(lambda: leader.work == ["fetch"], "the leader hearing of the work")
    # A done test post's note is for its waiter, never work.
    with follower.leadership.hearing("tested:7") as heard:
        leader.leadership.tell("tested:7")
        await asyncio.wait_for(heard.wait(), timeout=30)
    leader.leadership.tell("refresh")
    await wait_until(lambda: leader.work == ["fetch", "refresh"], "the second piece of work")
    assert follower.work == []
    assert follower.wakes == leader.wakes == 0


async def test_a_leader_stepping_down_takes_no_more_work(
    processes: Callable[[int], list[Process]],
) -> None:
    leader, follower = await leader_and_follower(processes)
    assert leader.leadership.working
    leader.leadership._closing = True  # what close() does first, the lock still held
    assert leader.leadership.runs_here and not leader.leadership.working
    with leader.leadership.hearing("tested:1") as heard:
        assert await follower.leadership.ask_leader("refresh")  # left to the next leader
        assert await follower.leadership.ask_leader("tested:1")  # delivered after it
        await asyncio.wait_for(heard.wait(), timeout=30)
    assert leader.work == []


async def test_articles_changed_reaches_every_process_and_is_no_work(
    processes: Callable[[int], list[Process]], pool: asyncpg.Pool
) -> None:
    leader, follower = await leader_and_follower(processes)
    # Each listener invalidated once, when it connected (what it missed before).
    assert leader.changed == follower.changed == 1
    await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, ARTICLES_CHANGED)
    await wait_until(
        lambda: leader.changed == follower.changed == 2, "both hearing the articles changed"
    )
    assert leader.work == follower.work == []
    assert follower.wakes == leader.wakes == 0


async def test_asking_when_no_process_leads_says_so(postgres_url: str, pool: asyncpg.Pool) -> None:
    nobody = Process(postgres_url, "not started", pool)  # never tries the lock
    assert not await nobody.leadership.ask_leader("fetch")
    holder = await asyncpg.connect(postgres_url)  # a leader elsewhere
    try:
        await holder.fetchval("SELECT pg_advisory_lock($1, 0)", LOCK_SPACE)
        assert await nobody.leadership.ask_leader("fetch")
    finally:
        await holder.close()
    await pool.close()  # the database out of reach: the caller is told
    with pytest.raises(LOST):
        await nobody.leadership.ask_leader("fetch")


async def test_the_database_away_stops_leading_and_it_comes_back(
    postgres_server: PostgresServer, postgres_url: str, pool: asyncpg.Pool
) -> None:
    process = Process(postgres_url, "only", pool)
    process.leadership.start()
    try:
        await wait_until(lambda: process.leading, "leading")
        # Refuse new connections and end the current one: the database is away.
        name = await pool.fetchval("SELECT current_database()")
        admin = await asyncpg.connect(postgres_server.url())
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        (holder,) = await lock_holders(pool)
        await pool.execute("SELECT pg_terminate_backend($1)", holder)
        await wait_until(lambda: not process.leading, "stepping down")
        assert process.events == ["lead", "follow"]
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()
        await wait_until(lambda: process.leading, "leading again", timeout=30)
        assert process.events == ["lead", "follow", "lead"]
        # Connected twice: each time, what was missed meanwhile counts as changed.
        assert process.changed == 2
    finally:
        await process.leadership.close()


async def test_identify_turns_are_shared_by_processes(postgres_url: str) -> None:
    # Two processes' gates, one bucket: the second waits for the first's turn to end.
    interval = 3.0
    first = SharedIdentifyGate(postgres_url, 2, interval=interval)
    second = SharedIdentifyGate(postgres_url, 2, interval=interval)
    try:
        started = time.monotonic()
        await first.wait(0)
        await second.wait(1)  # another bucket: no wait
        other_bucket = time.monotonic() - started
        await second.wait(2)  # bucket 0 again, held by the first process
        same_bucket = time.monotonic() - started
        assert other_bucket < interval
        assert same_bucket >= interval
    finally:
        await first.close()
        await second.close()


async def test_identify_turn_of_a_dead_process_is_freed(postgres_url: str) -> None:
    # A process that dies mid-turn: its session ends, the bucket is free.
    dead = SharedIdentifyGate(postgres_url, 1, interval=3600.0)
    alive = SharedIdentifyGate(postgres_url, 1, interval=0.1)
    try:
        await dead.wait(0)
        await dead.close()  # its connection ends, as at the process's death
        await asyncio.wait_for(alive.wait(0), timeout=30)
    finally:
        await alive.close()


async def test_identify_without_the_database_uses_the_process_gate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = SharedIdentifyGate("postgresql://nobody@127.0.0.1:1/none", 1, interval=0.0)
    await gate.wait(0)
    assert "using this process's own gate" in caplog.text
