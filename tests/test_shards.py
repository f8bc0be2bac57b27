"""Shard ranges and the identify gate (bot.shards)."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.shards import IdentifyGate, buckets, check_shard_ids, parse_shard_ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("0", (0,)),
        ("0-3,8", (0, 1, 2, 3, 8)),
        ("8, 0 - 2, 1", (0, 1, 2, 8)),
        ("5-5", (5,)),
    ],
)
def test_parse_shard_ids(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize("text", ["", "x", "1-", "-1", "1--2", "3-1", "1.5", "0-3;8", "0-100000"])
def test_parse_shard_ids_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"shard number|backwards|implausibly"):
        parse_shard_ids(text)


def test_check_shard_ids() -> None:
    check_shard_ids((0, 3), 4)
    with pytest.raises(ValueError, match="needs NEWSBOT_SHARD_COUNT"):
        check_shard_ids((0,), None)
    with pytest.raises(ValueError, match="shard 4 does not exist with 4 shards"):
        check_shard_ids((0, 4), 4)


def test_buckets() -> None:
    assert buckets(range(6), 4) == [[0, 4], [1, 5], [2], [3]]
    assert buckets([9, 3, 1], 1) == [[1, 3, 9]]
    assert buckets([2, 5], 16) == [[2], [5]]


async def test_gate_lets_buckets_through_together_and_spaces_each_bucket() -> None:
    interval = 0.2
    gate = IdentifyGate(2, interval=interval)
    passed: dict[int, float] = {}

    async def identify(shard_id: int) -> None:
        await gate.wait(shard_id)
        passed[shard_id] = time.monotonic()

    await asyncio.gather(*(identify(i) for i in range(6)))
    # asyncio may wake a sleeper up to its clock resolution early.
    slack = 0.02
    # The first of each bucket goes at once; the others wait their bucket's turn.
    for bucket in (0, 1):
        times = sorted(passed[i] for i in range(bucket, 6, 2))
        assert all(b - a >= interval - slack for a, b in itertools.pairwise(times))
    assert sorted(passed, key=passed.__getitem__)[:2] in ([0, 1], [1, 0])


async def test_gate_default_interval_leaves_room_for_the_network() -> None:
    assert IdentifyGate(0).max_concurrency == 1
    assert IdentifyGate(1).interval > 5.0
