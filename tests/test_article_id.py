"""``bot.lookups.article_id``: which ``/news show`` values are article ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.lookups import article_id


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("0042", 42), ("9" * 18, int("9" * 18))])
def test_ascii_digits_are_an_id(text: str, expected: int) -> None:
    assert article_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "²",  # str.isdigit() accepts it; int() refuses it
        "1²",
        "٣",  # an Arabic-Indic digit: int() would read it, but no autocomplete value has it
        "①",
        "",
        " 1",
        "1 ",
        "-1",
        "+1",
        "1_000",
        "9" * 19,  # longer than any SQLite integer: a headline
        "Jupiter",
    ],
)
def test_anything_else_is_a_headline(text: str) -> None:
    assert article_id(text) is None


@given(st.text())
def test_never_raises_and_is_only_ascii_digits(text: str) -> None:
    found = article_id(text)
    if found is not None:
        assert text.isascii() and text.isdigit() and int(text) == found
