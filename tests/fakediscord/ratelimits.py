"""Discord-style rate limiting: per-route buckets keyed by major parameter, plus a global cap.

Headers follow https://discord.com/developers/docs/topics/rate-limits: every answer on
a limited route carries X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket, and a
429 carries `Retry-After`, `X-RateLimit-Scope`, `Via` and the JSON body
`{"message", "retry_after", "global"}`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import dataclass

# discord.py sleeps exactly Reset-After; an event loop may wake a hair early.
_CLOCK_TOLERANCE = 0.002


@dataclass
class Window:
    limit: int
    period: float
    used: int = 0
    resets_at: float = 0.0


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


def bucket_hash(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def _ceil_ms(seconds: float) -> float:
    return math.ceil(max(seconds, 0.0) * 1000) / 1000


class RateLimiter:
    """Fixed windows per (bucket, major parameter), started by the first request."""

    def __init__(self, *, global_per_second: int | None) -> None:
        self.global_per_second = global_per_second
        self._windows: dict[tuple[str, str], Window] = {}
        self._global: deque[float] = deque()
        self.busiest_second = 0  # the most requests the global limit counted in one second

    def check_global(self) -> Decision | None:
        """None when within the global limit, else a global 429 decision."""
        if not self.global_per_second:
            return None
        now = time.monotonic()
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= self.global_per_second:
            retry = _ceil_ms(self._global[0] + 1.0 - now)
            headers = {
                "Retry-After": str(math.ceil(retry)),
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
            }
            return Decision(False, headers, retry, is_global=True)
        self._global.append(now)
        self.busiest_second = max(self.busiest_second, len(self._global))
        return None

    def hit(self, bucket: str, major: str, limit: int, period: float) -> Decision:
        now = time.monotonic()
        window = self._windows.get((bucket, major))
        if window is None or now >= window.resets_at - _CLOCK_TOLERANCE:
            window = Window(limit, period, 0, now + period)
            self._windows[(bucket, major)] = window
        reset_after = _ceil_ms(window.resets_at - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if window.used >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(math.ceil(reset_after)),
                    "X-RateLimit-Scope": "user",
                }
            )
            return Decision(False, headers, reset_after)
        window.used += 1
        headers["X-RateLimit-Remaining"] = str(limit - window.used)
        return Decision(True, headers)
