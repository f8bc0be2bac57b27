"""``newsbot migrate-store``: a SQLite store with every kind of row, copied into an
empty PostgreSQL database, reads back the same there; a non-empty target is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.__main__ import main
from bot.formats import Format
from bot.store import Identity, Store, StoreError, Webhook
from bot.store.transfer import DERIVED, TABLES, copy_store
from tests.store.helpers import DAY, T0, art, entry, item

GUILD, NEWS, WORLD = 1000, 2000, 2001


async def fill(path: Path) -> None:
    """A store holding a row in every table, and each state a row can be in."""
    async with await Store.open(path) as store:
        content = await store.source("content", "/site/content")
        await store.mark_baseline_done(content.id, T0)
        feed = await store.source("feed", "https://example.com/index.xml")
        await store.save_feed_state(
            feed.id,
            etag='"v1"',
            last_modified="Tue, 30 Apr 2024 10:00:00 GMT",
            failures=2,
            next_attempt_at=T0 + DAY,
            failing_since=T0,
            last_error="HTTP 503",
            last_polled_at=T0,
        )
        await store.record_files(
            content.id,
            [
                item(
                    "a.md",
                    art("/a/", tags=("Energy",), categories=("World",), takeaways=("Wind.",)),
                ),
                item("b.md", art("/b/", draft=True)),
                item("c.md", art("/c/", title="Solar farms")),
                item("d.md", art("/d/", publish_date=T0 + DAY)),
            ],
            T0,
        )
        await store.remove_file(content.id, "c.md", T0)  # withdrawn
        await store.record_entries(feed.id, [entry(art("guid-1"))], T0)  # first poll: silent
        news, _ = await store.subscribe(
            GUILD,
            NEWS,
            by_user_id=7,
            now=T0,
            tags=("energy",),
            mention_role_id=55,
            identity=Identity.WEBHOOK,
        )
        await store.set_format(GUILD, NEWS, Format(title="**{{title}}**", image=False), T0)
        await store.set_webhook(GUILD, NEWS, Webhook(880001, "token-news"), replacing=None)
        await store.subscribe(GUILD, NEWS, by_user_id=7, now=T0, number=2, categories=("World",))
        world, _ = await store.subscribe(GUILD, WORLD, by_user_id=7, now=T0)
        await store.set_webhook(GUILD, WORLD, Webhook(880002, "token-world"), replacing=None)
        assert await store.lose_webhook(GUILD, WORLD, 880002) == 1
        await store.pause_subscription(GUILD, WORLD, "missing permissions", T0)
        await store.set_guild_settings(
            GUILD, edit_on_update=False, color=0x123456, notices_channel_id=77
        )
        first, *_ = await store.pending_announcements()
        await store.fan_out(first.id, first.article.id, [(news.id, GUILD, NEWS, "nonce-a")], T0)
        [delivery] = await store.deliveries(subscription_id=news.id)
        await store.mark_attempt(delivery.id, T0, fingerprint="fingerprint-a")
        await store.mark_sent(
            delivery.id,
            message_id=990001,
            message_channel_id=NEWS,
            version=1,
            crosspost=True,
            now=T0,
            webhook_id=880001,
        )
        await store.add_notice(world.id, GUILD, WORLD, "cannot post in #world", T0)
        await store.set_meta("commands_hash", "abc123")


def sqlite_rows(path: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2").fetchall()
    db.close()
    return rows


async def test_every_row_is_copied_and_reads_the_same(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "news.sqlite3"
    await fill(path)
    copied = await copy_store(path, postgres_url)
    assert list(copied) == list(TABLES)
    connection = await asyncpg.connect(postgres_url)
    try:
        for table in (*TABLES, *DERIVED):
            with sqlite3.connect(path) as db:
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            db.close()
            expected = sqlite_rows(path, table, columns)
            assert expected, f"the test store has no row in {table}"
            got = await connection.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2")
            assert [tuple(row) for row in got] == expected, table
    finally:
        await connection.close()

    async with await Store.open(path) as lite, await Store.open(postgres_url) as pg:
        assert await pg.pending_announcements() == await lite.pending_announcements()
        assert await pg.subscriptions(GUILD) == await lite.subscriptions(GUILD)
        assert await pg.deliveries() == await lite.deliveries()
        assert await pg.webhook(GUILD, NEWS) == Webhook(880001, "token-news")
        news = await pg.get_subscription(GUILD, NEWS)
        assert news is not None
        assert (news.identity, news.format.image) == (Identity.WEBHOOK, False)
        [delivery] = await pg.deliveries()
        assert (delivery.webhook_id, delivery.attempt_fingerprint) == (880001, "fingerprint-a")
        assert await pg.sources() == await lite.sources()
        assert await pg.tags() == await lite.tags() == [("Energy", 1)]
        assert [a.key for a in await pg.search("wind", None, 5)] == ["/a/"]
        assert await pg.guild_settings(GUILD) == await lite.guild_settings(GUILD)
        # New rows take ids after the copied ones.
        added, _ = await pg.subscribe(GUILD, 2002, by_user_id=7, now=T0)
        assert added.id == max(s.id for s in await lite.subscriptions(GUILD)) + 1
        assert await pg.add_notice(added.id, GUILD, 2002, "x", T0) == 2


async def test_a_non_empty_target_is_refused_and_left_as_it_was(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "news.sqlite3"
    await fill(path)
    async with await Store.open(postgres_url) as pg:
        await pg.set_meta("mine", "keep")
    with pytest.raises(StoreError, match="not empty"):
        await copy_store(path, postgres_url)
    async with await Store.open(postgres_url) as pg:
        assert await pg.sources() == []
        assert await pg.get_meta("mine") == "keep"
    # The command says so in one line, and so for a missing file.
    assert await _main_async(["migrate-store", str(path), postgres_url]) == 1
    assert capsys.readouterr().err == (
        "newsbot: cannot migrate the store: the PostgreSQL database is not empty "
        "(it holds meta): migrate-store copies into an empty database only\n"
    )
    assert await _main_async(["migrate-store", str(tmp_path / "none.sqlite3"), postgres_url]) == 1
    assert capsys.readouterr().err.count("\n") == 1


async def test_a_store_in_use_is_not_copied(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "news.sqlite3"
    async with await Store.open(path):
        with pytest.raises(StoreError, match="in use by another newsbot process"):
            await copy_store(path, postgres_url)


def test_the_target_must_be_a_postgresql_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["migrate-store", str(tmp_path / "news.sqlite3"), "mysql://db/news"])
    assert info.value.code == 2
    assert "not a postgresql:// URL" in capsys.readouterr().err


async def _main_async(argv: list[str]) -> int:
    """``main`` runs its own event loop: in a thread, away from the test's."""
    import asyncio

    return await asyncio.to_thread(main, argv)
