"""bot/lookups.py: pure rendering of /news answers, always within Discord's limits."""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.lookups import (
    MAX_CHOICES,
    MAX_LINK_URL,
    PAGE_SIZE,
    LazyPages,
    article_line,
    closest_tags,
    escape_markdown,
    nothing_found,
    paginate,
    plural,
    rank_choices,
    result_pages,
    tag_as_written,
    tag_pages,
)
from tests.discord_schema import embed_text_length, validate_message_create

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
MAX_DESCRIPTION = 4096


@dataclass(frozen=True)
class Article:
    """What the renderers read of a stored article (``bot.lookups.Listed``)."""

    title: str
    url: str | None
    published_at: datetime | None
    tags: tuple[str, ...]


def stored(
    n: int = 1,
    *,
    title: str | None = None,
    url: str | None = "",
    tags: tuple[str, ...] = (),
    published_at: datetime | None = T0,
) -> Article:
    return Article(
        title=f"Article {n}" if title is None else title,
        url=f"https://news.example.org/articles/{n}/" if url == "" else url,
        published_at=published_at,
        tags=tags,
    )


def assert_valid_embed(embed: dict[str, Any]) -> None:
    """Discord would accept this embed in a message (schema, 6,000 total, 4,096 description)."""
    validate_message_create({"embeds": [embed]})
    assert len(embed.get("description") or "") <= MAX_DESCRIPTION
    assert embed_text_length(embed) <= 6000


# -- article_line ---------------------------------------------------------------------


def test_article_line_links_the_headline() -> None:
    line = article_line(stored(7, tags=("Energy", "Climate")))
    head, details = line.split("\n")
    assert head == "**[Article 7](https://news.example.org/articles/7/)**"
    assert details == f"<t:{int(T0.timestamp())}:R> · Energy, Climate"


def test_article_line_without_url_date_or_tags() -> None:
    assert article_line(stored(3, url=None, published_at=None)) == "**Article 3**"


def test_article_line_shows_the_title_literally() -> None:
    line = article_line(stored(title="**Big** [news](https://evil.example) _now_ `x` ~~y~~ |z|"))
    head = line.split("\n")[0]
    assert head.startswith("**[\\*\\*Big\\*\\* (news)(https://evil.example) \\_now\\_ \\`x\\`")
    assert "](https://evil.example)" not in head  # no link smuggled in through the title
    assert head.count("](") == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.org/" + "a" * MAX_LINK_URL,  # too long for a list line
        "javascript:alert(1)",
        "https://news.example.org/with space",
        "/relative/path",
    ],
)
def test_article_line_leaves_odd_urls_unlinked(url: str) -> None:
    assert article_line(stored(2, url=url)).startswith("**Article 2**")


def test_article_line_keeps_round_brackets_inside_the_link() -> None:
    line = article_line(stored(url="https://en.example.org/wiki/Mercury_(planet)"))
    assert "(https://en.example.org/wiki/Mercury_%28planet%29)" in line


def test_article_line_clips_long_titles_and_tags() -> None:
    line = article_line(stored(title="word " * 200, tags=tuple(f"tag{n}" for n in range(200))))
    head, details = line.split("\n")
    assert len(head) < 200 + 100
    assert len(details) < 200 + 40


def test_escape_markdown() -> None:
    assert escape_markdown("a*b_c~d`e|f>g\\h[i]") == "a\\*b\\_c\\~d\\`e\\|f\\>g\\\\h(i)"


# -- pages ----------------------------------------------------------------------------


def test_paginate() -> None:
    assert paginate([]) == [[]]
    assert paginate(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert paginate(list("abc"), 3) == [["a", "b", "c"]]


def test_plural() -> None:
    assert plural(1, "article") == "1 article"
    assert [plural(n, "tag") for n in (0, 2)] == ["0 tags", "2 tags"]


def test_result_pages_keep_order_and_page_size() -> None:
    articles = [stored(n) for n in range(1, 13)]
    pages = result_pages("Latest articles", articles)
    assert len(pages) == 3
    assert [page["description"].count("**[") for page in pages] == [PAGE_SIZE, PAGE_SIZE, 2]
    assert pages[0]["description"].startswith("**[Article 1]")
    assert pages[2]["description"].split("\n\n")[-1].startswith("**[Article 12]")
    assert [p["footer"]["text"] for p in pages] == [
        "Page 1 of 3 · 12 articles",
        "Page 2 of 3 · 12 articles",
        "Page 3 of 3 · 12 articles",
    ]
    assert all(p["title"] == "Latest articles" for p in pages)


def test_result_pages_single_page_footer() -> None:
    (page,) = result_pages("Results", [stored(1)])
    assert page["footer"]["text"] == "1 article"
    (page,) = result_pages("Results", [stored(1), stored(2)])
    assert page["footer"]["text"] == "2 articles"


def test_result_pages_clip_the_title() -> None:
    (page,) = result_pages("Results for “" + "x" * 400 + "”", [stored(1)])
    assert len(page["title"]) <= 256
    assert_valid_embed(page)


def test_tag_pages() -> None:
    tags = [(f"Tag {n:02d}", 45 - n) for n in range(45)] + [("One`tick", 1)]
    pages = tag_pages(tags)
    assert len(pages) == 3
    lines = pages[0]["description"].split("\n")
    assert len(lines) == 20
    assert lines[0] == "`Tag 00` — 45 articles"
    assert pages[2]["description"].split("\n")[-1] == "`One′tick` — 1 article"
    assert pages[0]["footer"]["text"] == "Page 1 of 3 · 46 tags"
    assert tag_pages([("Solo", 2)])[0]["footer"]["text"] == "1 tag"


# Worst cases: very long, markdown-heavy, unicode text everywhere.
_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=600
)
_urls = st.one_of(
    st.none(),
    st.builds(lambda path: "https://news.example.org/" + path, st.text(max_size=500)),
    _text,
)
_articles = st.builds(
    stored,
    st.integers(1, 10**9),
    title=_text,
    url=_urls,
    tags=st.lists(_text, max_size=30).map(tuple),
    published_at=st.one_of(
        st.none(), st.datetimes(timezones=st.just(UTC), min_value=datetime(1971, 1, 1))
    ),
)


@settings(max_examples=60, deadline=None)
@given(title=_text, articles=st.lists(_articles, min_size=1, max_size=12))
def test_result_pages_always_fit_discord(title: str, articles: list[Article]) -> None:
    pages = result_pages(title or "Results", articles)
    assert len(pages) == -(-len(articles) // PAGE_SIZE)
    for page in pages:
        assert_valid_embed(page)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_text.filter(str.strip), st.integers(0, 10**6)), max_size=70))
def test_tag_pages_always_fit_discord(tags: list[tuple[str, int]]) -> None:
    for page in tag_pages(tags):
        assert_valid_embed(page)


# -- tags and hints -------------------------------------------------------------------


def test_tag_as_written() -> None:
    articles = [stored(1, tags=("Energy",)), stored(2, tags=("City  council",))]
    assert tag_as_written("ENERGY", articles) == "Energy"
    assert tag_as_written("city council", articles) == "City  council"
    assert tag_as_written("Space", articles) == "Space"


KNOWN = ["Energy", "Economy", "Climate", "City council", "Cycling", "Space", "Interest rates"]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("Enrgy", ["Energy"]),
        ("ENERGIE", ["Energy"]),
        ("climte", ["Climate"]),
        ("council", ["City council"]),  # contained, not spelt alike
        ("rates", ["Interest rates"]),
        ("zeppelin", []),
        ("   ", []),
    ],
)
def test_closest_tags(wanted: str, expected: list[str]) -> None:
    assert closest_tags(wanted, KNOWN) == expected


def test_closest_tags_limit_and_duplicates() -> None:
    known = ["Space", "space", "Spaces", "Spacecraft", "Space race", "Aerospace"]
    found = closest_tags("space", known)
    assert len(found) == 3
    assert found[0] == "Space"  # the first spelling of a tag stands for it
    assert "space" not in found


def test_nothing_found_for_latest() -> None:
    assert nothing_found(query=None, tag=None, known_tags=KNOWN) == (
        "No articles have been published yet."
    )
    assert nothing_found(query=None, tag="Enrgy", known_tags=KNOWN) == (
        "No published articles are tagged **Enrgy**. Did you mean **Energy**?"
    )
    assert nothing_found(query=None, tag="zeppelin", known_tags=KNOWN) == (
        "No published articles are tagged **zeppelin**. "
        "No article uses that tag: `/news tags` lists the tags in use."
    )


def test_nothing_found_for_search() -> None:
    assert nothing_found(query="grid", tag=None, known_tags=KNOWN) == (
        "No published articles match “grid”. Try fewer or different words."
    )
    assert nothing_found(query="grid", tag="energy", known_tags=KNOWN) == (
        "No published articles match “grid” with the tag **energy**. Try fewer or different words."
    )
    assert nothing_found(query="grid", tag="spce", known_tags=KNOWN).endswith(
        "with the tag **spce**. Did you mean **Space**?"
    )
    # A tag in use is no typo, whatever tags look like it: the words found nothing.
    near = ["Cycling", "Cyclones", "Recycling"]
    assert nothing_found(query="grid", tag="CYCLING", known_tags=near) == (
        "No published articles match “grid” with the tag **CYCLING**. Try fewer or different words."
    )


def test_nothing_found_offers_several_hints() -> None:
    text = nothing_found(query=None, tag="cycl", known_tags=["Cycling", "Cyclones", "Recycling"])
    assert text.endswith("Did you mean **Cycling**, **Cyclones** or **Recycling**?")


def test_nothing_found_shows_user_text_literally() -> None:
    text = nothing_found(query="**bold** " + "x" * 300, tag="_under_", known_tags=[])
    assert "\\*\\*bold\\*\\*" in text and "\\_under\\_" in text
    assert len(text) < 300


# -- autocomplete ---------------------------------------------------------------------


def test_rank_choices_prefix_then_substring() -> None:
    names = ["Economy", "Climate", "City council", "Space", "Cycling", "Markets"]
    assert rank_choices("c", names) == ["Climate", "City council", "Cycling", "Economy", "Space"]
    assert rank_choices("CI", names) == ["City council"]
    assert rank_choices("  city   COUN ", names) == ["City council"]
    assert rank_choices("zzz", names) == []


def test_rank_choices_with_nothing_typed() -> None:
    names = [f"Tag {n}" for n in range(40)]
    assert rank_choices("", names) == names[:MAX_CHOICES]
    assert rank_choices("   ", names[:3]) == names[:3]


def test_rank_choices_at_most_25() -> None:
    names = [f"Topic {n}" for n in range(30)] + [f"Hot topic {n}" for n in range(30)]
    ranked = rank_choices("topic", names)
    assert len(ranked) == MAX_CHOICES
    assert ranked == names[:25]  # prefix matches fill the list first
    inner = rank_choices("topic", names[25:35])
    assert inner == names[25:30] + names[30:35]
    assert rank_choices("topic", names, limit=3) == names[:3]


def test_dates_render_as_discord_timestamps() -> None:
    when = T0 - timedelta(days=3)
    assert f"<t:{int(when.timestamp())}:R>" in article_line(stored(published_at=when))


def test_pages_are_rendered_when_first_shown_and_once() -> None:
    made: list[int] = []

    def render(index: int) -> str:
        made.append(index)
        return f"page {index}"

    pages = LazyPages(3, render)
    assert len(pages) == 3 and made == []
    assert pages[0] == "page 0" and pages[-1] == "page 2" and made == [0, 2]
    assert pages[0] == "page 0" and made == [0, 2]  # kept, not made again
    assert pages[1:] == ["page 1", "page 2"] and list(pages) == ["page 0", "page 1", "page 2"]
    assert made == [0, 2, 1]
    with pytest.raises(IndexError):
        pages[3]
    with pytest.raises(IndexError):
        pages[-4]


def test_result_pages_keep_only_what_the_lines_show() -> None:
    """A paged answer lives as long as its buttons: it must not hold whole articles."""

    class Found:  # a Listed, as a StoredArticle is (with its post and all)
        def __init__(self, n: int) -> None:
            self.title = f"Article {n}"
            self.url = f"https://example.com/{n}"
            self.published_at = None
            self.tags = ("Energy",)
            self.post = "x" * 10_000

    found = [Found(n) for n in range(1, 13)]
    alive = [weakref.ref(article) for article in found]
    pages = result_pages("Results", found)
    del found
    gc.collect()
    assert all(ref() is None for ref in alive)
    assert pages[2]["description"].startswith("**[Article 11](https://example.com/11)**")
