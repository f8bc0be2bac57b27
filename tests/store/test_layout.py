"""The store's shape: its enums say what the schema allows, its methods are its parts'."""

from __future__ import annotations

import enum
import inspect
import re

import pytest

from bot.store import (
    AnnouncementKind,
    ArticleStatus,
    Crosspost,
    DeliveryState,
    SourceKind,
    Store,
)
from bot.store.store import _Forward

# "column TEXT ... CHECK (column IN ('a', 'b'))" in the migrated schema.
_CHECK_IN = re.compile(r"CHECK \((\w+) IN \(([^)]*)\)\)")


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("sources", "kind", SourceKind),
        ("articles", "status", ArticleStatus),
        ("announcements", "kind", AnnouncementKind),
        ("deliveries", "state", DeliveryState),
        ("deliveries", "crosspost", Crosspost),
    ],
)
@pytest.mark.sqlite_only  # reads SQLite's own catalogue, plans or FTS5
async def test_enums_are_what_the_schema_allows(
    store: Store, table: str, column: str, values: type[enum.StrEnum]
) -> None:
    # The statements spell some of these values out (partial indexes are declared on
    # them): an enum and the schema must never drift apart.
    [row] = await store._connection().execute_fetchall(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    checks = {name: allowed for name, allowed in _CHECK_IN.findall(row["sql"])}
    allowed = {value.strip().strip("'") for value in checks[column].split(",")}
    assert allowed == {member.value for member in values}


async def test_forwarded_methods_are_the_parts_methods(store: Store) -> None:
    forwards = {name: f for name, f in vars(Store).items() if isinstance(f, _Forward)}
    assert "search" in forwards and "subscribe" in forwards and "fan_out" in forwards
    for name, forward in forwards.items():
        method = getattr(store, name)
        assert inspect.iscoroutinefunction(method), name
        assert method.__name__ == name and method.__doc__ == forward.__doc__, name
        assert method.__doc__, name
