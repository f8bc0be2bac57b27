"""A global request pacer shared by every send: Discord's ~50 requests/s per bot.

discord.py follows the per-route buckets Discord announces in its headers, but it
only *reacts* to the global limit (a global 429 makes it hold every request, then
let them all go at once). Fanning one article out to a thousand channels at full
concurrency would hit that 429 over and over, so every delivery request first waits
for a slot here.

Slots are handed out one at a time, first come first served, by a pump that sleeps
``1 / rate`` seconds between two of them, measured from when the previous slot was
*actually* handed out. A scheme that books slots in advance (a plain token bucket)
lets requests that woke up late — a busy event loop, a slow database call — go out
together with the ones booked after them, and a burst of three or four is enough to
overrun a 50-per-second window; here a late slot pushes the next ones back instead
(it may win back at most a quarter of an interval, what a timer usually overshoots).
After a quiet spell up to ``burst`` requests may start at once. Any window of ``w``
seconds therefore sees at most ``burst + rate * w`` slots (rounded down): with the
defaults (45/s, burst 1) at most 46 in a second, four under Discord's 50: room for
the bot's other requests and for jitter, since Discord counts requests when they
*arrive* — a request held up on the way (a busy machine, a slow network) arrives
together with the next one. 45/s still fans out to 1,000 channels in about 22 s.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Awaitable, Callable

#: Requests per second the deliveries may use (Discord allows 50 per bot).
DEFAULT_RATE = 45.0
#: How many requests may start at once after a quiet spell.
DEFAULT_BURST = 1
#: A slot handed out late lets the next one come this much sooner (as a share of the
#: interval), to win back what timer overshoot loses, never more.
CATCH_UP = 0.25

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Paces callers to ``rate`` per second with bursts of at most ``burst``.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.rate = rate
        self.burst = burst
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        # When the next slot would be due at the exact rate ("theoretical arrival
        # time"); a slot may be taken up to (burst - 1) intervals before it.
        self._tat = float("-inf")
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self.granted = 0

    def _ready_at(self) -> float:
        return self._tat - (self.burst - 1) * self.interval

    def _grant(self, now: float) -> None:
        self._tat = max(self._tat, now) + self.interval
        self.granted += 1

    async def acquire(self) -> None:
        """Wait for a slot. Callers are served in the order they called."""
        now = self._clock()
        if not self._waiters and now >= self._ready_at():
            self._grant(now)
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="delivery pacer")
        try:
            await waiter
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise

    async def _run(self) -> None:
        while self._waiters:
            due = self._ready_at()
            wait = due - self._clock()
            if wait > 0:
                await self._sleep(wait)
            now = self._clock()
            if now < self._ready_at():
                continue  # pushed back meanwhile (pause_until)
            # A timer fires a little late: count a slightly late slot as on time.
            granted_at = max(due, now - CATCH_UP * self.interval) if wait > 0 else now
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():  # skip callers that gave up
                    self._grant(granted_at)
                    waiter.set_result(None)
                    break

    def pause_until(self, moment: float) -> None:
        """Hand out no slot before ``moment`` (clock time), e.g. after a global 429."""
        self._tat = max(self._tat, moment + (self.burst - 1) * self.interval)

    async def close(self) -> None:
        """Stop the pump (waiters still waiting are cancelled)."""
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
