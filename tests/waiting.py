"""The one way a test waits: until a condition holds, within a deadline.

No sleep is an assertion. A wait re-checks its condition every few milliseconds (or
as soon as ``wake`` says something changed) and, once the deadline passes, fails the
test with what it waited for and what it saw last. Deadlines are generous, for a
loaded 2-core machine: they bound a failing test, a passing one never waits them out.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEADLINE = 5.0
POLL = 0.01

Check = Callable[[], Awaitable[T | None]] | Callable[[], T | None]


async def wait_until(
    check: Check[T],
    what: str = "the condition",
    *,
    timeout: float = DEADLINE,  # noqa: ASYNC109
    interval: float = POLL,
    wake: Callable[[float], Awaitable[object]] | None = None,
    describe: Callable[[], str] | None = None,
) -> T:
    """Return ``check()``'s first truthy value (``check`` may be async).

    Fails with an ``AssertionError`` naming ``what`` (and ``describe()``, or the last
    value seen) after ``timeout`` seconds. Between checks it sleeps ``interval``, or
    awaits ``wake(at_most_seconds)``, which returns early when something changed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(_timed_out(timeout, what, result, describe))
        if wake is None:
            await asyncio.sleep(min(interval, remaining))
        else:
            await wake(min(interval, remaining))


def wait_until_sync(
    check: Callable[[], T | None],
    what: str = "the condition",
    *,
    timeout: float = DEADLINE,
    interval: float = POLL,
) -> T:
    """:func:`wait_until` for code outside an event loop (a subprocess's output)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(_timed_out(timeout, what, result, None))
        time.sleep(min(interval, remaining))


def _timed_out(timeout: float, what: str, last: Any, describe: Callable[[], str] | None) -> str:
    detail = describe() if describe is not None else f"last: {last!r}"
    return f"timed out after {timeout:g} s waiting for {what} ({detail})"
