"""The global pacer, on a virtual clock: rate, bursts, order, late wake-ups, windows."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from bot.delivery.limiter import CATCH_UP, RateLimiter


class VirtualClock:
    """Time that moves only when the pacer sleeps (by ``lateness`` more than asked,
    as a busy event loop would)."""

    def __init__(self, lateness: float = 0.0, seed: int = 1) -> None:
        self.now = 100.0
        self.lateness = lateness
        self.random = random.Random(seed)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Yield first: a caller just handed its slot notes the time before it moves on.
        self.sleeps.append(seconds)
        await asyncio.sleep(0)
        self.now += seconds + self.random.uniform(0, self.lateness)


async def grant_times(limiter: RateLimiter, clock: VirtualClock, count: int) -> list[float]:
    """When each of ``count`` callers arriving together gets its slot, in call order."""
    times: dict[int, float] = {}

    async def caller(n: int) -> None:
        await limiter.acquire()
        times[n] = clock.now

    await asyncio.gather(*(caller(n) for n in range(count)))
    return [times[n] for n in range(count)]


def limiter_on(clock: VirtualClock, rate: float, burst: int = 1) -> RateLimiter:
    return RateLimiter(rate, burst, clock=clock, sleep=clock.sleep)


async def test_spaces_requests_at_the_rate() -> None:
    clock = VirtualClock()
    times = await grant_times(limiter_on(clock, 50), clock, 5)
    assert times == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08])


async def test_a_burst_goes_at_once_then_the_rate() -> None:
    clock = VirtualClock()
    times = await grant_times(limiter_on(clock, 10, 3), clock, 6)
    assert times == pytest.approx([100.0, 100.0, 100.0, 100.1, 100.2, 100.3])


async def test_idle_time_refills_but_never_beyond_the_burst() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, 10, 2)
    await grant_times(limiter, clock, 4)
    clock.now += 60.0
    start = clock.now
    times = await grant_times(limiter, clock, 4)
    assert [t - start for t in times] == pytest.approx([0.0, 0.0, 0.1, 0.2])


async def test_a_late_wake_up_pushes_the_next_slots_back() -> None:
    # The pump wakes up to 30 ms late: slots never bunch up to catch up; a quarter of
    # an interval is won back at most.
    clock = VirtualClock(lateness=0.03)
    times = await grant_times(limiter_on(clock, 50), clock, 50)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.02 * (1 - CATCH_UP) - 1e-9


async def test_small_timer_overshoot_costs_no_throughput() -> None:
    clock = VirtualClock(lateness=0.002)  # a timer firing up to 2 ms late
    times = await grant_times(limiter_on(clock, 40), clock, 401)
    assert times[-1] - times[0] == pytest.approx(10.0, abs=0.03)


async def test_callers_are_served_in_call_order() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, 4)
    order: list[int] = []

    async def caller(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    await asyncio.gather(*(caller(n) for n in range(6)))
    assert order == [0, 1, 2, 3, 4, 5]


async def test_a_caller_that_gives_up_uses_no_slot() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, 10)
    await limiter.acquire()  # 100.0
    quitter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    quitter.cancel()
    times = await grant_times(limiter, clock, 2)
    assert times == pytest.approx([100.1, 100.2])
    assert limiter.granted == 3


@pytest.mark.parametrize(
    ("rate", "burst", "lateness"), [(47, 1, 0.0), (47, 1, 0.02), (45, 3, 0.01)]
)
async def test_no_second_sees_more_than_burst_plus_rate(
    rate: float, burst: int, lateness: float
) -> None:
    clock = VirtualClock(lateness=lateness)
    limiter = limiter_on(clock, rate, burst)
    times: list[float] = []
    for wave in range(8):
        times += await grant_times(limiter, clock, 20 + 13 * wave)
        clock.now += 0.37 * (wave % 3)  # callers arrive in uneven waves
    # Discord's global limit, as the fake counts it: requests in any (t - 1, t].
    start = 0
    worst = 0
    for i, t in enumerate(times):
        while times[start] <= t - 1.0 + 1e-9:
            start += 1
        worst = max(worst, i - start + 1)
    assert worst <= burst + rate


async def test_pause_until_holds_every_slot_back() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, 10)
    limiter.pause_until(105.0)
    [granted] = await grant_times(limiter, clock, 1)
    assert granted == pytest.approx(105.0)


async def test_close_cancels_waiters() -> None:
    clock = VirtualClock()
    limiter = limiter_on(clock, 1)
    await limiter.acquire()
    waiting = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    await limiter.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(10, 0)
