from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store import SourceRow, Store
from tests.store.helpers import T0


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.open(":memory:")
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def content(store: Store) -> SourceRow:
    """A content source whose baseline is done: new articles get announced."""
    src = await store.source("content", "/site/content")
    await store.mark_baseline_done(src.id, T0)
    return await store.source(src.kind, src.locator)
