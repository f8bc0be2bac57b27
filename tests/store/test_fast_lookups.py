"""Migration 0002: the lookups read indexes in order, and what they read stays right."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.store import Change, SourceRow, Store
from bot.store import lookups as lookups_module
from bot.store.columns import tag_token, tag_tokens
from bot.store.lookups import _successor
from bot.store.migrations import load_migrations, migrate
from bot.store.search import search_expressions
from tests.store.helpers import DAY, T0, art, entry, item
from tests.store.invariants import check_lookup_invariants

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


async def keys(found: object) -> list[str]:
    return [a.key for a in found]  # type: ignore[attr-defined]


async def test_denormalised_columns_follow_every_change(store: Store, content: SourceRow) -> None:
    async def state() -> tuple[list[str], list[tuple[str, int]]]:
        await check_lookup_invariants(store)
        return [a.key for a in await store.latest("news", 10)], await store.tags()

    # Published with tags.
    await store.record_files(
        content.id,
        [
            item("a.md", art("/a/", date=T0 - 2 * DAY, tags=("News", "Rust"))),
            item("b.md", art("/b/", date=T0 - DAY, tags=("news ", "Python"))),
        ],
        T0,
    )
    assert await state() == (["/b/", "/a/"], [("News", 2), ("Python", 1), ("Rust", 1)])
    # Retagged, and its date changed (its place in "newest first" with it).
    await store.record_files(
        content.id, [item("a.md", art("/a/", date=T0 - MIN, tags=("NEWS", "Go")))], T0 + MIN
    )
    assert await state() == (
        ["/a/", "/b/"],
        [("NEWS", 2), ("Go", 1), ("Python", 1)],  # a tie between spellings: binary order
    )
    # A draft leaves publication, and comes back.
    await store.record_files(
        content.id, [item("b.md", art("/b/", draft=True, tags=("news ", "Python")))], T0 + MIN
    )
    assert await state() == (["/a/"], [("Go", 1), ("NEWS", 1)])
    await store.record_files(
        content.id,
        [item("b.md", art("/b/", date=T0 - DAY, tags=("news ", "Python")))],
        T0 + 2 * MIN,
    )
    assert (await state())[0] == ["/a/", "/b/"]
    # Removed (withdrawn), then moved back within the window (restored, same article).
    await store.remove_file(content.id, "a.md", T0 + 3 * MIN)
    assert await state() == (["/b/"], [("news", 1), ("Python", 1)])
    [r] = await store.record_files(
        content.id,
        [item("moved/a.md", art("/a/", date=T0 - MIN, tags=("NEWS", "Go")))],
        T0 + 4 * MIN,
    )
    assert r.change is Change.MOVED
    assert (await state())[0] == ["/a/", "/b/"]
    # The clock: scheduled -> published, published -> expired.
    await store.record_files(
        content.id,
        [item("c.md", art("/c/", date=T0 + HOUR, expiry=T0 + 2 * HOUR, tags=("News",)))],
        T0 + 5 * MIN,
    )
    assert (await state())[0] == ["/a/", "/b/"]
    await store.refresh_statuses(T0 + HOUR)
    assert await state() == (["/c/", "/a/", "/b/"], [("NEWS", 3), ("Go", 1), ("Python", 1)])
    await store.refresh_statuses(T0 + 2 * HOUR)
    assert (await state())[0] == ["/a/", "/b/"]
    # Feed entries: the same rules.
    feed = await store.source("feed", "https://example.com/feed")
    await store.record_entries(feed.id, [entry(art("g1", date=T0, tags=("News",)))], T0 + 3 * HOUR)
    await store.record_entries(feed.id, [entry(art("g1", date=T0, tags=("Feeds",)))], T0 + 4 * HOUR)
    assert (await state())[0] == ["/a/", "/b/"]
    assert ("Feeds", 1) in await store.tags()


async def test_tag_counts_merge_spellings_and_drop_unused(store: Store, content: SourceRow) -> None:
    await store.record_files(
        content.id,
        [
            item("a.md", art("/a/", tags=("AI",))),
            item("b.md", art("/b/", tags=("ai",))),
            item("c.md", art("/c/", tags=("ai",))),
        ],
        T0,
    )
    assert await store.tags() == [("ai", 3)]
    await store.record_files(content.id, [item("b.md", art("/b/", tags=()))], T0 + MIN)
    assert await store.tags() == [("AI", 2)]  # one each: binary order picks "AI"
    await store.remove_file(content.id, "c.md", T0 + MIN)
    await store.remove_file(content.id, "a.md", T0 + MIN)
    assert await store.tags() == []
    assert list(await store._connection().execute_fetchall("SELECT * FROM tag_counts")) == []


async def test_tags_are_cached_until_the_articles_change(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/", tags=("Old",)))], T0)
    assert await store.tags() == [("Old", 1)]
    # Behind the store's back: not seen, the list is kept in memory ...
    await store._connection().execute("DELETE FROM tag_counts")
    assert await store.tags() == [("Old", 1)]
    # ... through writes that change no article (the same file again, a setting) ...
    await store.record_files(content.id, [item("a.md", art("/a/", tags=("Old",)))], T0)
    await store.set_meta("x", "y")
    assert await store.tags() == [("Old", 1)]
    # ... until the database says the articles may have changed (on PostgreSQL, the
    # listener does when another process changed them).
    store.database.invalidate()
    assert await store.tags() == []
    await store._connection().execute("INSERT INTO tag_counts VALUES ('old', 'Old', 1)")
    await store.record_files(
        content.id, [item("b.md", art("/b/", expiry=T0 + HOUR, tags=("New",)))], T0 + MIN
    )
    assert await store.tags() == [("New", 1), ("Old", 1)]
    await store.refresh_statuses(T0 + HOUR)  # /b/ expires
    assert await store.tags() == [("Old", 1)]


async def test_tag_tokens_are_one_token_per_tag() -> None:
    assert tag_token("climate policy") == "t" + b"climate policy".hex()
    assert tag_tokens(("Zeta", "alpha", "ALPHA", "  ", "Ça va")) == " ".join(
        tag_token(k) for k in ("alpha", "zeta", "ça va")
    )
    assert tag_tokens(()) == ""


async def test_search_with_a_tag_is_the_same_either_way(
    store: Store, content: SourceRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [
        item(
            f"{n}.md",
            art(
                f"/{n}/",
                f"Story {n} about rust" if n % 2 else f"Story {n}",
                date=T0 - n * MIN,
                tags=("Common",) + (("Rare",) if n % 5 == 0 else ()),
                takeaways=("rust everywhere",) if n % 3 == 0 else (),
            ),
        )
        for n in range(30)
    ]
    await store.record_files(content.id, items, T0)
    answers = []
    for share in (0.0, 2.0):  # a lookup per match; the tag in the MATCH expression
        monkeypatch.setattr(lookups_module, "JOIN_TAG_SHARE", share)
        answers.append(
            [
                await keys(await store.search(query, tag, 10))
                for query in ("rust", "story", "ru", "stor")
                for tag in ("common", "RARE", "missing", "")
            ]
        )
    assert answers[0] == answers[1]
    assert answers[0][0] and answers[0][1] and not answers[0][2] and not answers[0][3]


async def test_search_ranks_the_newest_matches(
    store: Store, content: SourceRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The oldest has the best match (the word in a short title).
    items = [item("0.md", art("/0/", "Gamma", date=T0 - 10 * DAY))] + [
        item(f"{n}.md", art(f"/{n}/", f"Story {n}", takeaways=("gamma rays",), date=T0 - n * DAY))
        for n in range(1, 6)
    ]
    await store.record_files(content.id, items, T0)
    assert (await keys(await store.search("gamma", None, 3)))[0] == "/0/"
    monkeypatch.setattr(lookups_module, "SEARCH_WINDOW", 3)
    # Only the three most recently stored matches are ranked ...
    found = await keys(await store.search("gamma", None, 2))
    assert len(found) == 2 and set(found) <= {"/3/", "/4/", "/5/"}
    # ... but never fewer than the page asks for.
    assert (await keys(await store.search("gamma", None, 6)))[0] == "/0/"
    assert await keys(await store.search("story 1", None, 10)) == ["/1/"]


async def test_the_last_word_as_a_prefix(store: Store, content: SourceRow) -> None:
    await store.record_files(
        content.id,
        [
            item("a.md", art("/a/", "Court rules", date=T0 - 2 * DAY)),
            item("b.md", art("/b/", "Courts close", date=T0 - DAY)),
            item("c.md", art("/c/", "Py and python")),
        ],
        T0,
    )
    # Extensions when the word as typed does not fill the answer ...
    assert sorted(await keys(await store.search("court", None, 10))) == ["/a/", "/b/"]
    assert await keys(await store.search("cour", None, 10)) != []
    # Extensions that add nothing leave the answer as ranked for the word as typed.
    assert await keys(await store.search("rules", None, 10)) == ["/a/"]
    assert await keys(await store.search("close", None, 10)) == ["/b/"]
    assert await keys(await store.search("court", None, 10, offset=1)) == ["/a/"]
    # However long the prefix, its extensions and only those.
    for typed in ("cou", "cour", "court", "courts"):
        found = sorted(await keys(await store.search(typed, None, 10)))
        assert found == (["/b/"] if typed == "courts" else ["/a/", "/b/"]), typed
    assert await keys(await store.search("pyt", None, 10)) == ["/c/"]
    # ... none when it does.
    assert await keys(await store.search("court", None, 1)) == ["/a/"]
    # Too short to be a prefix: as typed.
    assert await keys(await store.search("py", None, 10)) == ["/c/"]
    assert await keys(await store.search("co", None, 10)) == []
    assert search_expressions("py") == ['"py"']
    assert search_expressions("a pyt") == ['"a" "pyt"', '"a" "pyt"*']
    assert search_expressions("- *") == []


async def test_find_articles_paths(
    store: Store, content: SourceRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles = ["Alpha one", "alpha two", "Beta alpha", "Gamma", "ALPHABET", "Delta alpha"]
    await store.record_files(
        content.id,
        [item(f"{n}.md", art(f"/{n}/", t, date=T0 - n * DAY)) for n, t in enumerate(titles)],
        T0,
    )
    expected = ["/0/", "/1/", "/4/", "/2/", "/5/"]  # prefix matches, then the others
    assert await keys(await store.find_articles("alpha")) == expected
    monkeypatch.setattr(lookups_module, "FIND_PREFIX_CAP", 2)  # walk the newest instead
    assert await keys(await store.find_articles("alpha")) == expected
    assert await keys(await store.find_articles("alpha", 2)) == ["/0/", "/1/"]
    monkeypatch.setattr(lookups_module, "FIND_SCAN", 3)  # "contains" among the 3 newest only
    assert await keys(await store.find_articles("alpha")) == ["/0/", "/1/", "/4/", "/2/"]
    assert await keys(await store.find_articles("a")) == ["/0/", "/1/", "/4/", "/2/"]


def test_successor() -> None:
    assert _successor("ab") == "ac"
    assert _successor("a\U0010ffff") == "b"
    assert _successor("\U0010ffff") is None
    assert _successor("\ud7ff") == "\ue000"  # surrogates are skipped


async def test_stored_article_decodes_on_read(store: Store, content: SourceRow) -> None:
    a = art("/a/", tags=("X", "y"), takeaways=("one",), expiry=T0 + DAY)
    await store.record_files(content.id, [item("a.md", a)], T0)
    stored = await store.get(1)
    assert stored is not None
    assert (stored.tags, stored.takeaways, stored.authors) == (("X", "y"), ("one",), ())
    assert (stored.published_at, stored.expires_at, stored.lastmod) == (T0 - DAY, T0 + DAY, None)
    assert (stored.first_seen_at, stored.changed_at, stored.announced_at) == (T0, T0, T0)
    assert stored.withdrawn_at is None
    assert stored.message["content"] == a.title
    assert stored == (await store.latest(None, 1))[0] == (await store.search("title", None, 1))[0]
    assert "tags_json" not in repr(stored) and "/a/" in repr(stored)


@pytest.mark.sqlite_only  # reads SQLite's own catalogue, plans or FTS5
async def test_query_plans_read_indexes_in_order(store: Store) -> None:
    async def plan(sql: str, params: dict[str, object]) -> str:
        rows = await store._connection().execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(r["detail"]) for r in rows)

    page = {"limit": 5, "offset": 0}
    latest = await plan(lookups_module._LATEST, page)
    assert "articles_latest" in latest and "TEMP B-TREE" not in latest
    latest_tag = await plan(lookups_module._LATEST_TAG, {"tag_key": "x", **page})
    assert "article_tags_latest" in latest_tag and "TEMP B-TREE" not in latest_tag
    bounds = {"low": "a", "high": "b", "cap": 9, "limit": 5}
    few = await plan(lookups_module._FIND_PREFIX_FEW[True], bounds)
    assert "articles_title_prefix" in few and "SCAN articles" not in few
    many = await plan(lookups_module._FIND_PREFIX_MANY[True], bounds)
    assert "articles_latest" in many
    inside = await plan(lookups_module._FIND_INSIDE, {"scan": 9, "needle": "a", "limit": 5})
    assert "COVERING INDEX articles_latest" in inside
    search = await plan(
        lookups_module._SEARCH_JOIN, {"tag_key": "x", "expression": "y", "window": 9, **page}
    )
    assert "VIRTUAL TABLE" in search and "PRIMARY KEY" in search


async def test_migrating_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    migrations = load_migrations()
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, migrations[:1])
        await db.execute("INSERT INTO sources (id, kind, locator) VALUES (1, 'feed', 'f')")
        for n, status, tags in [
            (1, "published", '["Rust","AI"]'),
            (2, "draft", '["Rust"]'),
            (3, "published", '["rust "]'),
            (4, "withdrawn", "[]"),
        ]:
            await db.execute(
                "INSERT INTO articles (id, source_id, key, content_hash, status, title, "
                "title_fold, sort_at, first_seen_at, changed_at, announced_at, tags, "
                "takeaways_text, article_json, message_json) "
                "VALUES (?, 1, ?, 'h', ?, ?, ?, ?, 0, 0, 0, ?, 'rust everywhere', '{}', '{}')",
                (n, f"k{n}", status, f"Title {n}", f"title {n}", n, tags),
            )
            await db.execute(
                "INSERT INTO articles_fts (rowid, title, takeaways_text, description) "
                "VALUES (?, ?, 'rust everywhere', NULL)",
                (n, f"Title {n}"),
            )
        await db.executemany(
            "INSERT INTO article_tags (article_id, tag_key, tag) VALUES (?, ?, ?)",
            [(1, "rust", "Rust"), (1, "ai", "AI"), (2, "rust", "Rust"), (3, "rust", "rust")],
        )
    async with await Store.open(path) as store:
        await check_lookup_invariants(store)
        assert await store.tags() == [("Rust", 2), ("AI", 1)]
        assert await keys(await store.latest("RUST", 10)) == ["k3", "k1"]
        assert await keys(await store.latest(None, 10)) == ["k3", "k1"]
        assert sorted(await keys(await store.search("rust", None, 10))) == ["k1", "k3"]
        assert await keys(await store.search("everywhere", "ai", 10)) == ["k1"]
        assert await keys(await store.find_articles("title")) == ["k3", "k1"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(migrations)


async def test_migrating_a_version_5_database_files_the_categories(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    migrations = load_migrations()
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, migrations[:5])
        await db.execute("INSERT INTO sources (id, kind, locator) VALUES (1, 'feed', 'f')")
        for n, status, tags, categories in [
            (1, "published", ["Politics"], ["Local   News", "politics", ""]),
            (2, "published", [], ["Politics"]),
            (3, "draft", [], ["Politics"]),
            (4, "published", ["Rust"], None),  # stored before categories were kept
        ]:
            data = {"categories": categories} if categories is not None else {}
            await db.execute(
                "INSERT INTO articles (id, source_id, key, content_hash, status, title, "
                "title_fold, sort_at, first_seen_at, changed_at, announced_at, tags, "
                "tag_tokens, takeaways_text, article_json, message_json) "
                "VALUES (?, 1, ?, 'h', ?, ?, ?, ?, 0, 0, 0, ?, ?, 'words', ?, '{}')",
                (
                    n,
                    f"k{n}",
                    status,
                    f"Title {n}",
                    f"title {n}",
                    n,
                    json.dumps(tags),
                    tag_tokens(tuple(tags)),
                    json.dumps(data),
                ),
            )
            await db.executemany(
                "INSERT INTO article_tags (article_id, tag_key, tag, published_sort) "
                "VALUES (?, ?, ?, ?)",
                [(n, t.casefold(), t, n if status == "published" else None) for t in tags],
            )
        await db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
        # Categories that are not a list of text are left alone.
        await db.execute("UPDATE articles SET article_json = '{\"categories\": 1}' WHERE id = 4")
    async with await Store.open(path) as store:
        await check_lookup_invariants(store)
        assert await store.categories() == [("Politics", 2), ("Local News", 1)]
        assert await store.tags() == [("Politics", 1), ("Rust", 1)]
        assert await keys(await store.latest(None, 10, category="POLITICS")) == ["k2", "k1"]
        assert await keys(await store.latest("politics", 10)) == ["k1"]
        assert await keys(await store.search("words", None, 10, category="local news")) == ["k1"]
        [stored] = await store.latest(None, 1, category="Local News")
        assert stored.categories == ("Local   News", "politics", "")
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(migrations)


async def test_unknown_or_empty_tags_find_nothing_quickly(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/", tags=("Rust",)))], T0)
    assert await store.search("title", "nope", 10) == []
    assert await store.search("title", "   ", 10) == []
    assert await store.latest("   ", 10) == []
    assert await keys(await store.search("title", " RUST ", 10)) == ["/a/"]
