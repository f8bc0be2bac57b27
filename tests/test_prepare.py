"""The article's hash: a change any message format shows is a change, and the hashes
stored before it covered every placeholder are not taken for changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.articles.model import Article
from bot.formats import PLACEHOLDERS, article_values, parse_format, render_formatted
from bot.prepare import hash_changed, prepare
from bot.summary import render_message

ARTICLE = Article(
    id="a",
    title="Grid Holds Up",
    url="https://news.example.org/grid/",
    date=datetime(2026, 7, 14, 9, 0, tzinfo=UTC),
    tags=("Energy",),
    categories=("Science",),
    authors=("Energy Desk",),
    description="The grid held.",
    summary="A summary.",
    image="https://news.example.org/grid.png",
    takeaways=("Demand peaked at noon.",),
    lede="Demand broke the record.",
    site_name="Daily Planet",
)

#: For each placeholder that shows the article, a change only it shows.
CHANGES: dict[str, dict[str, Any]] = {
    "title": {"title": "Grid Holds Up Again"},
    "url": {"url": "https://news.example.org/grid-2/"},
    "takeaways": {"takeaways": ("Demand peaked at one.",)},
    "summary": {"lede": "Demand broke the record again."},
    "author": {"authors": ("Science Desk",)},
    "tags": {"tags": ("Power",)},
    "categories": {"categories": ("Climate",)},
    "date": {"date": datetime(2026, 7, 15, 9, 0, tzinfo=UTC)},
    "image": {"image": "https://news.example.org/grid-2.png"},
    "site": {"site_name": "Evening Planet"},
}


def test_the_values_are_those_of_every_placeholder_but_the_channels_roles() -> None:
    assert set(article_values(ARTICLE)) == set(PLACEHOLDERS) - {"mention"}
    # A new placeholder needs its case here (and is covered by the hash by itself).
    assert set(CHANGES) == set(article_values(ARTICLE))


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_change_that_a_placeholder_shows_changes_the_hash(name: str) -> None:
    changed = dataclasses.replace(ARTICLE, **CHANGES[name])
    assert article_values(changed)[name] != article_values(ARTICLE)[name]
    before, after = prepare(ARTICLE).article_hash, prepare(changed).article_hash
    assert hash_changed(before, after)
    assert not hash_changed(after, prepare(changed).article_hash)  # the same article again


def test_a_summary_the_default_post_hides_still_changes_a_custom_formats_post() -> None:
    # With takeaways, the default post shows no summary; a format can.
    changed = dataclasses.replace(ARTICLE, lede="A corrected first paragraph.")
    assert render_message(changed) == render_message(ARTICLE)
    fmt = parse_format("", "{{title}}", "{{summary}}", "", "")
    assert render_formatted(changed, fmt) != render_formatted(ARTICLE, fmt)
    assert hash_changed(prepare(ARTICLE).article_hash, prepare(changed).article_hash)


def test_a_hash_stored_before_it_covered_the_placeholders_is_held_against_its_base() -> None:
    now = prepare(ARTICLE).article_hash
    base, _, shown = now.partition(":")
    assert base and shown and ":" not in base
    # Stored by the version before: only a change of what it covered counts.
    assert not hash_changed(base, now)
    assert not hash_changed(base, prepare(dataclasses.replace(ARTICLE, lede="New.")).article_hash)
    assert hash_changed(base, prepare(dataclasses.replace(ARTICLE, title="New")).article_hash)
    # Stored whole: every part counts.
    assert hash_changed(now, prepare(dataclasses.replace(ARTICLE, lede="New.")).article_hash)
    assert hash_changed("", now) and hash_changed("other", now)
