"""``bot.articles.model``: the one rule of which tags are the same."""

from __future__ import annotations

from bot.articles.model import unique_tags


def test_unique_tags_keeps_the_first_spelling_of_each_tag() -> None:
    tags = ["Energy", "ENERGY", "Grid  Power", "grid power", "Grid\tPower", "Sports"]
    assert unique_tags(tags) == ("Energy", "Grid  Power", "Sports")


def test_unique_tags_drops_empty_and_blank_tags() -> None:
    assert unique_tags(["", " ", "\t\n", "News", " news "]) == ("News",)
    assert unique_tags([]) == ()
    assert unique_tags(iter(["a", "A"])) == ("a",)  # any iterable, read once
