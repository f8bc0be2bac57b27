"""Read-only lookups for the slash commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import SourceRow, Store, lookups
from bot.store.columns import tag_token
from bot.store.search import fts_query
from tests.store.helpers import DAY, T0, art, item
from tests.store.invariants import check_lookup_invariants

H = timedelta(hours=1)


@pytest.fixture
async def library(store: Store, content: SourceRow) -> Store:
    items = [
        item(
            "py.md",
            art(
                "/python-tips/",
                "Python tips for busy people",
                date=T0 - 3 * DAY,
                tags=("Python", "Tips"),
                takeaways=("Use **virtual environments**", "Read the docs"),
                description="Small habits.",
            ),
        ),
        item(
            "rust.md",
            art(
                "/rust/",
                "Why Rust",
                date=T0 - 2 * DAY,
                tags=("Rust",),
                takeaways=("Memory safety without a collector", "Python interop via PyO3"),
            ),
        ),
        item(
            "cafe.md",
            art(
                "/cafe/",
                "Café culture and python",
                date=T0 - DAY,
                tags=("python ", "Culture"),
                description="Coffee, code and crème brûlée.",
            ),
        ),
        item("draft.md", art("/draft/", "Python draft", draft=True, tags=("Python",))),
        item("later.md", art("/later/", "Python later", date=T0 + DAY, tags=("Python",))),
        item("old.md", art("/old/", "Python expired", expiry=T0 - H, tags=("Python",))),
    ]
    await store.record_files(content.id, items, T0)
    return store


async def test_latest(library: Store) -> None:
    assert [a.key for a in await library.latest(None, 10)] == ["/cafe/", "/rust/", "/python-tips/"]
    assert [a.key for a in await library.latest(None, 1, offset=1)] == ["/rust/"]
    assert [a.key for a in await library.latest("PYTHON", 10)] == ["/cafe/", "/python-tips/"]
    assert [a.key for a in await library.latest("  python\t", 10)] == [
        "/cafe/",
        "/python-tips/",
    ]
    assert await library.latest("nope", 10) == []
    first = (await library.latest(None, 1))[0]
    assert first.tags == ("python ", "Culture") and first.status == "published"
    assert first.published_at == T0 - DAY


async def test_latest_ties_are_deterministic(store: Store, content: SourceRow) -> None:
    await store.record_files(
        content.id, [item(f"{i}.md", art(f"/{i}/", date=T0)) for i in range(3)], T0
    )
    assert [a.key for a in await store.latest(None, 10)] == ["/2/", "/1/", "/0/"]


async def test_undated_articles_sort_by_first_seen(store: Store, content: SourceRow) -> None:
    await store.record_files(content.id, [item("a.md", art("/a/", date=None))], T0)
    await store.record_files(content.id, [item("b.md", art("/b/", date=T0 - DAY))], T0 + H)
    assert [a.key for a in await store.latest(None, 10)] == ["/a/", "/b/"]


async def test_search(library: Store) -> None:
    keys = [a.key for a in await library.search("python", None, 10)]
    # Title matches weigh most (the shorter title first); drafts, scheduled and
    # expired articles never show.
    assert keys == ["/cafe/", "/python-tips/", "/rust/"]
    assert [a.key for a in await library.search("pyth", None, 10)][-1] == "/rust/"
    assert [a.key for a in await library.search("python", "rust", 10)] == ["/rust/"]
    assert [a.key for a in await library.search("python", "Tips", 10)] == ["/python-tips/"]
    assert [a.key for a in await library.search("cafe creme", None, 10)] == ["/cafe/"]
    assert [a.key for a in await library.search("CRÈME brû", None, 10)] == ["/cafe/"]
    assert [a.key for a in await library.search("virtual environ", None, 10)] == ["/python-tips/"]
    assert await library.search("python collector", None, 10) == (
        await library.search("collector python", None, 10)
    )
    assert len(await library.search("python", None, 1, offset=2)) == 1


async def test_search_with_a_tag_ranks_best_first(store: Store, content: SourceRow) -> None:
    # An older title match outranks a newer description match, whether a tag (or a
    # category) narrows the search or not.
    await store.record_files(
        content.id,
        [
            item("a.md", art("/title/", "Solar power", tags=("Energy",), categories=("Tech",))),
            item(
                "b.md",
                art(
                    "/description/",
                    "Grid news",
                    date=T0,
                    tags=("Energy", "Grid"),
                    categories=("Tech",),
                    description="Solar panels on every roof.",
                ),
            ),
        ],
        T0,
    )
    for tag, category in [(None, None), ("energy", None), (None, "tech"), ("Energy", "Tech")]:
        found = await store.search("solar", tag, 10, category=category)
        assert [a.key for a in found] == ["/title/", "/description/"]
    # The same for a word typed short (matched as a prefix) and for two words.
    assert [a.key for a in await store.search("sola", "energy", 10)] == [
        "/title/",
        "/description/",
    ]
    assert [a.key for a in await store.search("solar power", "energy", 10)] == ["/title/"]


async def test_a_word_never_matches_a_tag(store: Store, content: SourceRow) -> None:
    # Tags are kept in the full-text index as tokens of their own; whatever is typed,
    # whole or as a prefix, matches words of the title, takeaways and description only.
    await store.record_files(
        content.id, [item("a.md", art("/a/", "Grid news", tags=("Energy",)))], T0
    )
    token = tag_token("energy")
    for typed in (token, token[:4], token[1:], "#" + token, f"grid {token}", "energy"):
        assert await store.search(typed, None, 10) == [], typed
    assert [a.key for a in await store.search("grid", "Energy", 10)] == ["/a/"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '"',
        '"python',
        "*",
        "python*",
        "NEAR(",
        "NEAR(python rust",
        "-",
        "-python",
        "python -rust",
        "(",
        "((python",
        "python)",
        "AND",
        "python AND",
        "OR NOT",
        "title:python",
        "^python",
        "python + ",
        "\x00",
        "py\x00thon",
        "\ud800",
        "{title description}: python",
        "'; DROP TABLE articles; --",
    ],
)
async def test_search_survives_hostile_input(library: Store, text: str) -> None:
    results = await library.search(text, None, 10)
    assert all(a.status == "published" for a in results)
    await library.search(text, text, 10)
    await library.find_articles(text)
    await library.tags(text)
    await library.latest(text, 10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fts_query_is_always_valid(text: str) -> None:
    import sqlite3

    query = fts_query(text)
    if query is None:
        return
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO f VALUES ('some text')")
    db.execute("SELECT * FROM f WHERE f MATCH ?", (query,)).fetchall()


def test_fts_query_shape() -> None:
    assert fts_query("python  rust") == '"python" "rust"*'
    assert fts_query('say "hi"') == '"say" """hi"""*'
    assert fts_query("- * ( )") is None
    assert fts_query("") is None


async def test_tags(library: Store) -> None:
    # Published articles only; "Python" and "python " are one tag.
    # Spellings tie 1:1 here, so the first in binary order is shown.
    assert await library.tags() == [("Python", 2), ("Culture", 1), ("Rust", 1), ("Tips", 1)]
    assert await library.tags(limit=1) == [("Python", 2)]
    assert await library.tags("PY") == [("Python", 2)]
    assert await library.tags("ru") == [("Rust", 1)]
    assert await library.tags("zzz") == []
    assert await library.tags("") == await library.tags()


async def test_find_articles(library: Store) -> None:
    assert [a.key for a in await library.find_articles("python")] == [
        "/python-tips/",  # title starts with it
        "/cafe/",  # contains it
    ]
    assert [a.key for a in await library.find_articles("WHY")] == ["/rust/"]
    assert [a.key for a in await library.find_articles("")] == ["/cafe/", "/rust/", "/python-tips/"]
    assert [a.key for a in await library.find_articles("", limit=1)] == ["/cafe/"]
    assert await library.find_articles("%") == []
    assert await library.find_articles("_") == []


async def test_get(library: Store) -> None:
    draft = [a for a in [await library.get(i) for i in range(1, 7)] if a and a.key == "/draft/"]
    assert draft and draft[0].status == "draft"
    assert await library.get(999) is None
    assert await library.article_count() == 6


@pytest.mark.parametrize("share", [0.0, 1.0])  # the tag joined, or a term of the match
async def test_categories_are_looked_up_apart_from_tags(
    store: Store, content: SourceRow, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    monkeypatch.setattr(lookups, "JOIN_TAG_SHARE", share)
    items = [
        item("a.md", art("/a/", "Vote on energy", categories=("Politics",), tags=("Energy",))),
        item("b.md", art("/b/", "Energy prices", date=T0 - 2 * DAY, tags=("Politics",))),
        item(
            "c.md",
            art("/c/", "Energy vote", date=T0 - 3 * DAY, categories=("politics ", "Economy")),
        ),
    ]
    await store.record_files(content.id, items, T0)
    assert await store.categories() == [("Politics", 2), ("Economy", 1)]
    assert await store.categories("eco") == [("Economy", 1)]
    assert await store.tags() == [("Energy", 1), ("Politics", 1)]
    assert [a.key for a in await store.latest(None, 10, category="POLITICS")] == ["/a/", "/c/"]
    assert [a.key for a in await store.latest("energy", 10, category="politics")] == ["/a/"]
    found = await store.search("energy", "energy", 10, category="politics")
    assert [a.key for a in found] == ["/a/"]
    assert [a.key for a in await store.search("vote", None, 10, category="economy")] == ["/c/"]
    assert await store.search("energy", None, 10, category="Sport") == []

    # A change of categories alone is a change of the lookups.
    moved = item("c.md", art("/c/", "Energy vote", date=T0 - 3 * DAY, categories=("Sport",)))
    await store.record_files(content.id, [moved], T0 + DAY)
    assert await store.categories() == [("Politics", 1), ("Sport", 1)]
    assert [a.categories for a in await store.latest(None, 10, category="sport")] == [("Sport",)]
    await check_lookup_invariants(store)
