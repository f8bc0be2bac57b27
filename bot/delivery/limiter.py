"""A global request pacer shared by every send: Discord's ~50 requests/s per bot.

discord.py follows the per-route buckets Discord announces in its headers, but it
only *reacts* to the global limit (a global 429 makes it hold every request, then
let them all go at once). Fanning one article out to a thousand channels at full
concurrency would hit that 429 over and over, so every delivery request runs inside
a slot of this pacer (``async with limiter.slot(): ...``), which two rules govern.

**Spacing.** Slots are handed out one at a time, first come first served, by a pump
that sleeps ``1 / rate`` seconds between two of them, measured from when the
previous slot was *actually* handed out. A scheme that books slots in advance (a
plain token bucket) lets requests that woke up late — a busy event loop, a slow
database call — go out together with the ones booked after them; here a late slot
pushes the next ones back instead (it may win back at most a quarter of an interval,
what a timer usually overshoots). After a quiet spell up to ``burst`` requests may
start at once. Any ``w`` seconds therefore see at most ``burst + rate * w`` slots
(rounded down): with the defaults (45/s, burst 1) 46 in a second.

**The window cap.** Spacing is not enough, because Discord counts a request when it
*arrives*, and a request held up on the way (a stalled server, a busy machine, a
slow network) arrives together with the ones sent after it. A request arrives at
some moment between its slot being granted and its answer coming back, so one
answered at least ``window`` seconds ago cannot share a ``window``-second window
with one sent now; every other one — answered less than ``window`` seconds ago, or
still in flight — might. A slot is granted only while fewer than ``cap`` of those
exist. Whatever stalls, no window of Discord's then holds more than ``cap`` of the
pacer's requests: of the requests arriving in one, the last granted found all the
others still possibly in the window when it was granted. With answers in
milliseconds the cap never binds (45/s × (1 s + the round trip) is about 46 < 48);
when the server stalls, the answers stop, the count climbs to the cap and the pacer
waits until answers are a second old. The default 48 of Discord's 50 leaves room for
the bot's few requests outside the pacer. A slot lasts the whole discord.py call:
a wait for the route's bucket before sending (the request has not arrived yet, so it
must count) and the retries inside it. discord.py retries a 5xx at least a second
after its answer, so never in the same window; a 429 it waits out in under a second
can put two of the call's requests in one window: rare, since discord.py follows the
route buckets and the cap keeps the global one away.

45/s still fans out to 1,000 channels in about 22 s.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

#: Requests per second the deliveries may use (Discord allows 50 per bot).
DEFAULT_RATE = 45.0
#: How many requests may start at once after a quiet spell.
DEFAULT_BURST = 1
#: At most this many requests possibly in one window (Discord allows 50 a second).
DEFAULT_CAP = 48
#: The window Discord counts the global limit over, in seconds.
WINDOW = 1.0
#: A slot handed out late lets the next one come this much sooner (as a share of the
#: interval), to win back what timer overshoot loses, never more.
CATCH_UP = 0.25

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Paces slots to ``rate`` per second with bursts of at most ``burst``, and to at
    most ``cap`` in flight or answered less than ``window`` seconds ago.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        cap: int = DEFAULT_CAP,
        window: float = WINDOW,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        if cap < 1:
            raise ValueError(f"cap must be at least 1, got {cap!r}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window!r}")
        self.rate = rate
        self.burst = burst
        self.cap = cap
        self.window = window
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        # When the next slot would be due at the exact rate ("theoretical arrival
        # time"); a slot may be taken up to (burst - 1) intervals before it.
        self._tat = float("-inf")
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self.granted = 0
        #: Slots granted and not yet released.
        self.in_flight = 0
        self._released: collections.deque[float] = collections.deque()  # when, oldest first
        self._answer = asyncio.Event()  # set by every release

    def _ready_at(self) -> float:
        return self._tat - (self.burst - 1) * self.interval

    def _window_full(self, now: float) -> bool:
        released = self._released
        while released and released[0] + self.window <= now:
            released.popleft()
        return self.in_flight + len(released) >= self.cap

    def _grant(self, now: float) -> None:
        self._tat = max(self._tat, now) + self.interval
        self.granted += 1
        self.in_flight += 1

    def _release(self) -> None:
        self.in_flight -= 1
        self._released.append(self._clock())
        self._answer.set()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a slot (callers are served in the order they called) and hold it
        while the block runs: the request, its answer and discord.py's retries."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        now = self._clock()
        if not self._waiters and now >= self._ready_at() and not self._window_full(now):
            self._grant(now)
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="delivery pacer")
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # granted, then cancelled before it could start
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
            if self._window_full(now):
                await self._room(now)
                continue  # then granted when it comes: wait is <= 0 then
            # A timer fires a little late: count a slightly late slot as on time.
            granted_at = max(due, now - CATCH_UP * self.interval) if wait > 0 else now
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():  # skip callers that gave up
                    self._grant(granted_at)
                    waiter.set_result(None)
                    break

    async def _room(self, now: float) -> None:
        """Wait until the oldest answer leaves the window, or (none yet) for one."""
        if self._released:
            await self._sleep(self._released[0] + self.window - now)
        else:
            self._answer.clear()
            await self._answer.wait()

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
