"""The fake's clock for lifetimes: interaction deadlines and tokens, nonces.

Rate limits stay on real time: discord.py sleeps the real `Reset-After` they announce.
"""

from __future__ import annotations

import time


class FakeClock:
    """Monotonic seconds that a test can move forward.

    It runs with `time.monotonic()`, so the 3-second answer deadline still catches a
    slow bot; `advance(seconds)` jumps ahead: an interaction token 15 minutes old,
    without waiting 15 minutes or shortening the lifetime into a race with the machine.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` forward."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._offset += seconds
