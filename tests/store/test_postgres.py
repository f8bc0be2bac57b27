"""PostgreSQL under the store: the translation of statements, its migrations, and one
schema on both engines."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bot.store import Store, StoreError
from bot.store import migrations as migrations_module
from bot.store.columns import tag_token
from bot.store.migrations import FIRST_POSTGRES_VERSION, load_migrations
from bot.store.postgres import translate
from tests.postgres import PostgresServer
from tests.store.helpers import T0, art, item


def test_named_parameters_become_numbered_once_each() -> None:
    statement = translate("SELECT :b, :a::text, :b WHERE x = ':no' AND y @@ q:*")
    assert statement.text == "SELECT $1, $2::text, $1 WHERE x = ':no' AND y @@ q:*"
    assert statement.names == ("b", "a")
    assert statement.args({"a": 1, "b": 2, "unused": 3}) == [2, 1]


def test_positional_parameters_are_numbered() -> None:
    statement = translate("INSERT INTO t (a, b) VALUES (?, ?)")
    assert statement.text == "INSERT INTO t (a, b) VALUES ($1, $2)"
    assert statement.args((1, "x\x00y")) == [1, "xy"]  # PostgreSQL's text holds no NUL
    assert statement.args({"ignored": 1}) == []


def test_sqlite_spellings_become_postgresql_ones() -> None:
    statement = translate(
        "SELECT json_array(f.number, json(f.tags)) FROM t INDEXED BY t_index "
        "WHERE id IN (SELECT value FROM json_each(:ids)) AND a IS NOT b AND c IS NOT NULL"
        " AND d IS :d"
    )
    assert statement.text == (
        "SELECT json_build_array(f.number, f.tags::json) FROM t "
        "WHERE id = ANY($1) AND a IS DISTINCT FROM b AND c IS NOT NULL"
        " AND d IS NOT DISTINCT FROM $2"
    )
    assert statement.args({"ids": "[3, 1]", "d": None}) == [[3, 1], None]


def test_both_engines_reach_the_same_schema_version() -> None:
    """Every SQLite migration from PostgreSQL's first on has its PostgreSQL twin."""
    sqlite = load_migrations()
    postgres = load_migrations("postgresql")
    assert postgres[0].version == FIRST_POSTGRES_VERSION
    assert postgres[-1].version == sqlite[-1].version


async def test_both_engines_have_the_same_tables_and_columns(
    tmp_path: Path, postgres_url: str
) -> None:
    async with await Store.open(tmp_path / "news.sqlite3") as lite:
        db = lite._connection()
        tables = [
            name
            for (name,) in await db.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'articles_fts%' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        sqlite = {
            table: {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}
            for table in tables
        }
    connection = await asyncpg.connect(postgres_url)
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'newsbot_schema'"
        )
    finally:
        await connection.close()
    postgres: dict[str, set[str]] = {}
    for row in rows:
        postgres.setdefault(row["table_name"], set()).add(row["column_name"])
    del postgres["article_search"]  # its full-text index
    assert postgres == sqlite


async def test_an_empty_database_is_migrated_and_opened_again(
    postgres_server: PostgresServer,
) -> None:
    url = await postgres_server.new_database(migrated=False)
    try:
        with pytest.raises(StoreError, match="schema version 0, this code reads version"):
            await Store.open(url, read_only=True)
        async with await Store.open(url) as store:
            await store.set_meta("k", "v")
        async with await Store.open(url, read_only=True) as store:
            assert await store.get_meta("k") == "v"
    finally:
        await postgres_server.drop_database(url)


async def test_a_database_of_something_else_or_newer_is_refused(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other = await postgres_server.new_database(migrated=False)
    try:
        connection = await asyncpg.connect(other)
        await connection.execute("CREATE TABLE invoices (id int)")
        await connection.close()
        with pytest.raises(StoreError, match="tables of something else"):
            await Store.open(other)
    finally:
        await postgres_server.drop_database(other)
    connection = await asyncpg.connect(postgres_url)
    await connection.execute("UPDATE newsbot_schema SET version = 999")
    await connection.close()
    with pytest.raises(StoreError, match="newer than this code knows"):
        await Store.open(postgres_url)


async def test_an_unreachable_server_is_one_error(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreError, match=r"cannot connect: .*no_such_database"):
        await Store.open(postgres_server.url("no_such_database"))


async def test_migration_0014_rewrites_the_search_vectors(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles stored at version 13 (tag tokens of weight D, words matched with
    weights) are found the same after 0014, with the vectors the trigger now writes."""
    url = await postgres_server.new_database(migrated=False)
    try:
        every = load_migrations("postgresql")
        assert every[-1].name == "0014_search_without_weights.sql"
        monkeypatch.setattr(migrations_module, "load_migrations", lambda engine: every[:-1])
        async with await Store.open(url) as store:
            content = await store.source("content", "/site")
            await store.record_files(
                content.id,
                [
                    item("a.md", art("/a/", "Solar power", tags=("Energy", "Grid"))),
                    item("b.md", art("/b/", "Grid news", description="Solar panels.")),
                    item("c.md", art("/c/", "t6772 in a title", tags=("gr",))),
                ],
                T0,
            )
            before = [await store.search(q, t, 10) for q, t in SEARCHES]
        monkeypatch.undo()
        async with await Store.open(url) as store:
            after = [await store.search(q, t, 10) for q, t in SEARCHES]
        assert [[a.key for a in found] for found in after] == [
            ["/a/", "/b/"],
            ["/a/"],
            ["/a/"],
            ["/c/"],
            ["/c/"],
        ]
        assert after == before
        connection = await asyncpg.connect(url)
        try:
            migrated = await connection.fetch("SELECT * FROM article_search ORDER BY article_id")
            await connection.execute("UPDATE articles SET title = title")  # the trigger
            written = await connection.fetch("SELECT * FROM article_search ORDER BY article_id")
            lexemes = await connection.fetchval(
                "SELECT array_agg(lexeme ORDER BY lexeme) FROM article_search, "
                "unnest(search) WHERE lexeme LIKE '#%'"
            )
        finally:
            await connection.close()
        assert [tuple(row) for row in migrated] == [tuple(row) for row in written]
        assert lexemes == ["#" + tag_token(k) for k in sorted(("energy", "grid", "gr"))]
    finally:
        await postgres_server.drop_database(url)


# (query, tag): a word in a title and a description; with a tag; a prefix with a tag;
# a word that is also a tag's token, in a title; and with that tag.
SEARCHES = [("solar", None), ("solar", "grid"), ("sol", "energy"), ("t6772", None), ("title", "gr")]
