"""The row helpers every query module reads its rows with."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from bot.store.database import from_row, values_by_name


def rows(sql: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    return db.execute(sql).fetchall()


def test_values_by_name_follow_the_names_not_the_select_order() -> None:
    found = rows("SELECT 1 AS a, 2 AS b, 3 AS c UNION ALL SELECT 4, 5, 6")
    assert list(values_by_name(found, ("c", "a"))) == [(3, 1), (6, 4)]
    assert list(values_by_name(found, ("b",))) == [(2,), (5,)]
    assert list(values_by_name([], ("a",))) == []


@dataclass(frozen=True)
class _Pair:
    left: int
    right: str
    both: str = field(init=False, default="")


def test_from_row_reads_fields_by_name_and_takes_decoded_ones() -> None:
    [row] = rows("SELECT 'x' AS right, 1 AS left, 'extra' AS ignored")
    assert from_row(_Pair, row) == _Pair(1, "x")
    assert from_row(_Pair, row, right="decoded") == _Pair(1, "decoded")
