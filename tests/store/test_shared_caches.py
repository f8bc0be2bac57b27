"""Two processes on one PostgreSQL database: what one writes, the other's lookups see.

Each :class:`~bot.store.Store` here stands for one process: the writer (the leader,
which runs the sources) and a reader (a follower, which answers ``/news`` from the
shared database) with its listener, a :class:`~bot.leader.Leadership` on the store's
``invalidate``, as :class:`bot.client.NewsBot` makes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.leader import Leadership
from bot.store import SourceKind, Store
from tests.postgres import PostgresServer
from tests.store.helpers import DAY, T0, art, item
from tests.waiting import wait_until

LISTENER = "newsbot leader lock"  # the listener's application_name


class Reader:
    """A follower's store, its listener, and how often the listener invalidated."""

    def __init__(self, store: Store, url: str) -> None:
        self.store = store
        self.invalidations = 0
        self.leadership = Leadership(
            url, lead=_nothing, follow=_nothing, on_wake=lambda: None, on_changed=self.invalidate
        )

    def invalidate(self) -> None:
        self.invalidations += 1
        self.store.database.invalidate()


async def _nothing() -> None:
    pass


@pytest.fixture
async def writer(postgres_url: str) -> AsyncIterator[Store]:
    async with await Store.open(postgres_url) as store:
        yield store


@pytest.fixture
async def reader(postgres_url: str) -> AsyncIterator[Reader]:
    async with await Store.open(postgres_url) as store:
        reader = Reader(store, postgres_url)
        reader.leadership.start()
        try:
            await wait_until(lambda: reader.invalidations, "the listener connected")
            yield reader
        finally:
            await reader.leadership.close()


async def listeners(admin: asyncpg.Connection, name: str) -> int:
    """How many listener sessions the database ``name`` has."""
    return int(
        await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            name,
            LISTENER,
        )
    )


async def publish(
    store: Store, slug: str, title: str, tags: tuple[str, ...], categories: tuple[str, ...] = ()
) -> None:
    source = await store.source(SourceKind.CONTENT, "/site/content")
    article = art(f"/{slug}/", title, date=T0 - DAY, tags=tags, categories=categories)
    await store.record_files(source.id, [item(f"{slug}.md", article)], T0)


async def test_a_tag_first_published_by_another_process_is_seen(
    writer: Store, reader: Reader
) -> None:
    await publish(writer, "old", "Solar panels on every roof", ("Energy",))
    # The reader has read (and keeps) the tag counts before the new tag exists.
    assert await reader.store.tags() == [("Energy", 1)]
    assert await reader.store.search("solar", "Energy", 5)
    assert await reader.store.search("solar", "Quantum", 5) == []
    assert await reader.store.categories() == []

    await publish(writer, "new", "Solar qubits", ("Quantum",), ("Physics",))

    # Answers never come from the cache: at once, before any NOTIFY is heard.
    assert [a.title for a in await reader.store.search("solar", "Quantum", 5)] == ["Solar qubits"]
    assert [a.title for a in await reader.store.latest("quantum", 5)] == ["Solar qubits"]
    assert [a.title for a in await reader.store.search("qubits", "quantum", 5)] == ["Solar qubits"]
    assert [a.title for a in await reader.store.latest(None, 5, category="physics")] == [
        "Solar qubits"
    ]
    found = await reader.store.search("solar", "quantum", 5, category="Physics")
    assert [a.title for a in found] == ["Solar qubits"]
    # The autocomplete's list follows once the writer's NOTIFY is heard.
    await wait_until(
        lambda: reader.store.tags("qu"), "the new tag in the reader's list", timeout=10
    )
    assert await reader.store.tags() == [("Energy", 1), ("Quantum", 1)]
    assert await reader.store.categories() == [("Physics", 1)]


async def test_a_write_that_changes_no_article_tells_nobody(writer: Store, reader: Reader) -> None:
    await publish(writer, "a", "Wind", ("Energy",))
    await wait_until(lambda: reader.invalidations >= 2, "the article's NOTIFY heard")
    heard = reader.invalidations
    await publish(writer, "a", "Wind", ("Energy",))  # the same file again: unchanged
    await writer.set_meta("some key", "some value")
    # The next article's NOTIFY is the next one the reader hears.
    await publish(writer, "b", "Tide", ("Energy",))
    await wait_until(lambda: reader.invalidations > heard, "the second article's NOTIFY")
    assert reader.invalidations == heard + 1


async def test_a_rolled_back_change_tells_nobody(writer: Store, reader: Reader) -> None:
    heard = reader.invalidations
    with pytest.raises(RuntimeError):
        async with writer._transaction() as db:
            await writer.database.articles_changed(db)
            raise RuntimeError("rolled back")
    await publish(writer, "a", "Wind", ("Energy",))
    await wait_until(lambda: reader.invalidations > heard, "the article's NOTIFY")
    assert reader.invalidations == heard + 1


async def test_a_change_missed_while_the_listener_was_away_is_caught_up_on_reconnect(
    writer: Store, reader: Reader, postgres_server: PostgresServer, postgres_url: str
) -> None:
    await publish(writer, "old", "Solar panels", ("Energy",))
    await wait_until(lambda: reader.invalidations >= 2, "the article's NOTIFY heard")
    assert await reader.store.tags() == [("Energy", 1)]
    name = urlsplit(postgres_url).path.strip("/")
    admin = await asyncpg.connect(postgres_server.url())
    try:
        # The reader's listener is cut off, and cannot come back until allowed (the
        # stores' pools keep their open connections, which go on working).
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name = $2",
            name,
            LISTENER,
        )

        async def gone() -> bool:
            return await listeners(admin, name) == 0

        await wait_until(gone, "the listener gone", timeout=10)
        heard = reader.invalidations
        await publish(writer, "new", "Solar qubits", ("Quantum",))  # nobody hears it
        assert await listeners(admin, name) == 0
        assert reader.invalidations == heard
        assert await reader.store.tags() == [("Energy", 1)]  # stale, for now
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()
    await wait_until(lambda: reader.invalidations > heard, "the listener back", timeout=20)
    assert await reader.store.tags() == [("Energy", 1), ("Quantum", 1)]
