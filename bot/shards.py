"""Shards: which ones this process runs, and when each may IDENTIFY.

The one place that knows shard ranges (``NEWSBOT_SHARD_IDS``) and Discord's identify
rule: IDENTIFYs go in buckets ``shard_id % max_concurrency``; shards of different
buckets may identify together, each bucket once every 5 seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Sequence

# Discord's window per bucket, plus a little for the network: the gate measures when an
# IDENTIFY leaves, Discord when it arrives.
IDENTIFY_INTERVAL = 5.0
IDENTIFY_MARGIN = 0.5

_RANGE = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0-3,8"`` -> ``(0, 1, 2, 3, 8)``: sorted, each once. Raises ``ValueError``."""
    found: set[int] = set()
    for part in text.split(","):
        match = _RANGE.fullmatch(part.strip())
        if match is None:
            raise ValueError(
                f"{part.strip()!r} is not a shard number or range (write them like 0-3,8)"
            )
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first:
            raise ValueError(f"the range {first}-{last} runs backwards")
        if last - first >= 100_000:
            raise ValueError(f"the range {first}-{last} is implausibly large")
        found.update(range(first, last + 1))
    return tuple(sorted(found))


def check_shard_ids(shard_ids: Sequence[int], shard_count: int | None) -> None:
    """Raise ``ValueError`` unless every id is a shard of ``shard_count`` shards."""
    if shard_count is None:
        raise ValueError("needs NEWSBOT_SHARD_COUNT (the total number of shards)")
    outside = [i for i in shard_ids if not 0 <= i < shard_count]
    if outside:
        raise ValueError(
            f"shard {outside[0]} does not exist with {shard_count} shards "
            f"(ids run from 0 to {shard_count - 1})"
        )


def buckets(shard_ids: Iterable[int], max_concurrency: int) -> list[list[int]]:
    """The shards grouped by identify bucket, each group in order."""
    groups: dict[int, list[int]] = {}
    for shard_id in sorted(shard_ids):
        groups.setdefault(shard_id % max_concurrency, []).append(shard_id)
    return [groups[key] for key in sorted(groups)]


class IdentifyGate:
    """Lets one IDENTIFY per bucket through every ``interval`` seconds."""

    def __init__(
        self,
        max_concurrency: int = 1,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.interval = IDENTIFY_INTERVAL + IDENTIFY_MARGIN if interval is None else interval
        self._clock = clock
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def bucket(self, shard_id: int) -> int:
        """The identify bucket of ``shard_id``."""
        return shard_id % self.max_concurrency

    async def wait(self, shard_id: int) -> None:
        """Return when ``shard_id`` may IDENTIFY; its bucket's next turn is then taken."""
        bucket = self.bucket(shard_id)
        async with self._locks.setdefault(bucket, asyncio.Lock()):
            last = self._last.get(bucket)
            if last is not None:
                delay = last + self.interval - self._clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._last[bucket] = self._clock()
