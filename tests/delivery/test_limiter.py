"""The global pacer, in simulated time: rate, bursts, order, late wake-ups, and the cap
on requests possibly in one window whatever their answers' delays."""

from __future__ import annotations

import asyncio
import itertools
import random
import selectors
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.limiter import CATCH_UP, RateLimiter

START = 100.0


class _Jumping(selectors.SelectSelector):
    """A selector that, instead of waiting, moves the clock on by the wait."""

    now = START

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:  # nothing ready and no timer: nothing will ever happen
            raise RuntimeError("every task waits for something no timer will bring")
        self.now += timeout
        return super().select(0)


class SimulatedLoop(asyncio.SelectorEventLoop):
    """An event loop whose time passes only while every task sleeps, and then at once
    to the next timer: seconds of pacing run in no time, exactly reproducible."""

    def __init__(self) -> None:
        self._jumping = _Jumping()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def simulate(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with asyncio.Runner(loop_factory=SimulatedLoop) as runner:
        return runner.run(main())


def now() -> float:
    return asyncio.get_running_loop().time()


def late_sleep(lateness: float, seed: int = 1) -> Callable[[float], Awaitable[None]]:
    """A sleep that wakes up to ``lateness`` seconds late, as on a busy event loop."""
    rng = random.Random(seed)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds + rng.uniform(0, lateness))

    return sleep


def limiter(rate: float, burst: int = 1, lateness: float = 0.0, **kwargs: Any) -> RateLimiter:
    return RateLimiter(rate, burst, clock=now, sleep=late_sleep(lateness), **kwargs)


async def granted_at(pacer: RateLimiter) -> float:
    """When a caller gets its slot (answered at once)."""
    async with pacer.slot():
        return now()


async def grant_times(pacer: RateLimiter, count: int) -> list[float]:
    """When each of ``count`` callers arriving together gets its slot, in call order."""
    return list(await asyncio.gather(*(granted_at(pacer) for _ in range(count))))


def worst_window(intervals: list[tuple[float, float]], window: float = 1.0) -> int:
    """The most (granted, answered) intervals any window ``(t - window, t]`` meets: the
    most requests Discord could have counted in one window, whenever each arrived."""
    return max(sum(1 for g, r in intervals if g <= t and r > t - window) for t, _ in intervals)


# -- spacing -----------------------------------------------------------------------------


def test_spaces_requests_at_the_rate() -> None:
    times = simulate(lambda: grant_times(limiter(50), 5))
    assert times == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08])


def test_a_burst_goes_at_once_then_the_rate() -> None:
    times = simulate(lambda: grant_times(limiter(10, 3), 6))
    assert times == pytest.approx([100.0, 100.0, 100.0, 100.1, 100.2, 100.3])


def test_idle_time_refills_but_never_beyond_the_burst() -> None:
    async def main() -> list[float]:
        pacer = limiter(10, 2)
        await grant_times(pacer, 4)
        await asyncio.sleep(60.0)
        start = now()
        return [t - start for t in await grant_times(pacer, 4)]

    assert simulate(main) == pytest.approx([0.0, 0.0, 0.1, 0.2])


def test_a_late_wake_up_pushes_the_next_slots_back() -> None:
    # The pump wakes up to 30 ms late: slots never bunch up to catch up; a quarter of
    # an interval is won back at most.
    times = simulate(lambda: grant_times(limiter(50, lateness=0.03), 50))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.02 * (1 - CATCH_UP) - 1e-9


def test_small_timer_overshoot_costs_no_throughput() -> None:
    times = simulate(lambda: grant_times(limiter(40, lateness=0.002), 401))  # up to 2 ms late
    assert times[-1] - times[0] == pytest.approx(10.0, abs=0.03)


def test_callers_are_served_in_call_order() -> None:
    async def main() -> list[int]:
        pacer = limiter(4)
        order: list[int] = []

        async def caller(n: int) -> None:
            async with pacer.slot():
                order.append(n)

        await asyncio.gather(*(caller(n) for n in range(6)))
        return order

    assert simulate(main) == [0, 1, 2, 3, 4, 5]


def test_a_caller_that_gives_up_uses_no_slot() -> None:
    async def main() -> tuple[list[float], RateLimiter]:
        pacer = limiter(10)
        await grant_times(pacer, 1)  # 100.0
        quitter = asyncio.ensure_future(granted_at(pacer))
        await asyncio.sleep(0)
        quitter.cancel()
        return await grant_times(pacer, 2), pacer

    times, pacer = simulate(main)
    assert times == pytest.approx([100.1, 100.2])
    assert pacer.granted == 3
    assert pacer.in_flight == 0


@pytest.mark.parametrize(
    ("rate", "burst", "lateness"), [(47, 1, 0.0), (47, 1, 0.02), (45, 3, 0.01)]
)
def test_no_second_sees_more_than_burst_plus_rate(rate: float, burst: int, lateness: float) -> None:
    async def main() -> list[float]:
        pacer = limiter(rate, burst, lateness, cap=1000)  # spacing alone
        times: list[float] = []
        for wave in range(8):
            times += await grant_times(pacer, 20 + 13 * wave)
            await asyncio.sleep(0.37 * (wave % 3))  # callers arrive in uneven waves
        return times

    times = simulate(main)
    assert worst_window([(t, t) for t in times]) <= burst + rate


def test_pause_until_holds_every_slot_back() -> None:
    async def main() -> list[float]:
        pacer = limiter(10)
        pacer.pause_until(105.0)
        return await grant_times(pacer, 1)

    assert simulate(main) == pytest.approx([105.0])


def test_close_cancels_waiters() -> None:
    async def main() -> None:
        pacer = limiter(1)
        await grant_times(pacer, 1)
        waiting = asyncio.ensure_future(granted_at(pacer))
        await asyncio.sleep(0)
        await pacer.close()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    simulate(main)


@pytest.mark.parametrize(
    "bad", [{"rate": 0}, {"rate": -1.0}, {"burst": 0}, {"cap": 0}, {"window": 0.0}]
)
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**bad)


# -- the window cap ----------------------------------------------------------------------


async def answered_after(
    pacer: RateLimiter, delays: list[float], starts: list[float] | None = None
) -> list[tuple[float, float]]:
    """Callers (starting at ``starts``, else together) each granted a slot, answered
    ``delays[n]`` seconds later; their (granted, answered) intervals, in call order."""
    intervals: dict[int, tuple[float, float]] = {}

    async def caller(n: int) -> None:
        if starts:
            await asyncio.sleep(starts[n])
        async with pacer.slot():
            granted = now()
            await asyncio.sleep(delays[n])
        intervals[n] = (granted, now())

    await asyncio.gather(*(caller(n) for n in range(len(delays))))
    return [intervals[n] for n in range(len(delays))]


def test_the_cap_never_binds_while_answers_are_quick() -> None:
    # 5 to 20 ms answers: the slots go exactly as spacing alone would hand them out.
    delays = [0.005 + 0.015 * random.Random(n).random() for n in range(451)]
    intervals = simulate(lambda: answered_after(limiter(45), delays))
    assert [g for g, _ in intervals] == pytest.approx([START + n / 45 for n in range(451)])
    assert worst_window(intervals) < 48


def test_the_cap_binds_when_answers_are_late() -> None:
    # The server stalls: nothing is answered before 103.0, then at once.
    async def main() -> tuple[list[tuple[float, float]], int]:
        pacer = limiter(45, cap=48)
        held = [3.0 - n / 45 for n in range(48)]  # all answered at 103.0
        first = asyncio.ensure_future(answered_after(pacer, held))
        await asyncio.sleep(2.5)
        in_flight = pacer.in_flight
        rest = await answered_after(pacer, [0.01] * 10)
        return await first + rest, in_flight

    intervals, in_flight_in_the_stall = simulate(main)
    grants = [g for g, _ in intervals]
    assert in_flight_in_the_stall == 48
    assert grants[47] == pytest.approx(START + 47 / 45)
    # The 49th waits until the 48 answers at 103.0 are a second old.
    assert grants[48] == pytest.approx(104.0)
    assert grants[49:] == pytest.approx([104.0 + n / 45 for n in range(1, 10)])
    assert worst_window(intervals) == 48


def test_a_slot_left_by_an_exception_is_released_and_counts() -> None:
    async def main() -> tuple[list[float], RateLimiter]:
        pacer = limiter(100, cap=2)

        async def failing() -> None:
            async with pacer.slot():
                raise ConnectionError("reset by peer")

        for _ in range(2):
            with pytest.raises(ConnectionError):
                await failing()
        return await grant_times(pacer, 1), pacer

    times, pacer = simulate(main)
    assert times == pytest.approx([101.0])  # two failed requests, at 100.0 and 100.01
    assert pacer.in_flight == 0


def test_cancelled_while_waiting_frees_nothing_granted_then_cancelled_frees_its_slot() -> None:
    async def main() -> list[Any]:
        cancel_at_grant: list[asyncio.Task[Any]] = []

        async def sleep(seconds: float) -> None:
            await asyncio.sleep(seconds)
            # The pump grants right after this: the cancellation lands between the grant
            # and the caller starting, as a timeout firing at that moment would.
            for task in cancel_at_grant:
                asyncio.get_running_loop().call_soon(task.cancel)
            cancel_at_grant.clear()

        pacer = RateLimiter(10, cap=2, clock=now, sleep=sleep)
        holder = asyncio.ensure_future(answered_after(pacer, [5.0]))  # in flight until 105
        await asyncio.sleep(0)
        # Waiting on the spacing, then cancelled: nothing granted, nothing freed.
        waiting = asyncio.ensure_future(granted_at(pacer))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        seen: list[Any] = [pacer.in_flight, pacer.granted]
        # Granted (at 100.1), then cancelled before it could start: its slot is released.
        granted = asyncio.ensure_future(granted_at(pacer))
        await asyncio.sleep(0)
        cancel_at_grant.append(granted)
        await asyncio.gather(granted, return_exceptions=True)
        seen += [granted.cancelled(), pacer.granted, pacer.in_flight, now()]
        # The holder and that released slot fill the cap until 100.1 is a second old.
        seen += [await grant_times(pacer, 1), await holder]
        return seen

    in_flight, granted, cancelled, granted_after, in_flight_after, released_at, times, held = (
        simulate(main)
    )
    assert (in_flight, granted) == (1, 1)
    assert (cancelled, granted_after, in_flight_after) == (True, 2, 1)
    assert released_at == pytest.approx(100.1)
    assert times == pytest.approx([101.1])
    assert held == [(pytest.approx(100.0), pytest.approx(105.0))]


# Answers: quick, slow, or held up in a stall of up to 3 s; callers arrive in waves.
_delays = st.one_of(st.floats(0.001, 0.05), st.floats(0.05, 1.5), st.floats(1.5, 3.0)).map(
    lambda d: round(d, 3)
)


@settings(max_examples=60, deadline=None)
@given(
    requests=st.lists(st.tuples(_delays, st.floats(0.0, 4.0)), min_size=1, max_size=160),
    cap=st.integers(1, 48),
    rate=st.sampled_from([20.0, 45.0, 200.0]),
    burst=st.integers(1, 4),
)
def test_no_window_ever_meets_more_than_the_cap(
    requests: list[tuple[float, float]], cap: int, rate: float, burst: int
) -> None:
    delays = [d for d, _ in requests]
    starts = [s for _, s in requests]
    intervals = simulate(lambda: answered_after(limiter(rate, burst, cap=cap), delays, starts))
    assert worst_window(intervals) <= cap
