"""markdown-it behind its guards: parser quirks and nesting limits; inline summaries."""

from __future__ import annotations

import pytest

from bot.articles.model import ArticleError
from tests.articles.markdown.helpers import SITE, body, parse, takeaways, yaml_doc

# --------------------------------------------------------------------------- parser quirks


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        # markdown-it.rs 0.6.0 panics on these (an unmatched backtick after a "["): the
        # parser is steered around it, with the result markdown-it gives.
        (
            "- see [the ` key\n- `code` and [link](/x)\n",
            ("see [the ` key", "`code` and [link](https://example.org/x)"),
        ),
        ("- [`a`b `c\n- two [`] three\n", ("[`a`b `c", "two [`] three")),
        ("- item\n\n\tcontinued [`\n", ("item continued [`",)),
    ],
)
def test_backticks_after_a_bracket(items: str, expected: tuple[str, ...]) -> None:
    assert takeaways("## Key Takeaways\n" + items, site_url=SITE) == expected


def test_long_lists_and_busy_paragraphs_are_not_too_deep() -> None:
    item = "- **Bold** words, a [link](/x/) and *more* of_the snake_case words\n"
    markdown = "## Key Takeaways\n" + item * 300 + "\n" + "a **b** c_d [e](/f) " * 300 + "\n"
    assert len(takeaways(markdown)) == 300


@pytest.mark.parametrize(
    "markdown",
    [
        "> " * 150 + "x\n",
        "- " * 150 + "x\n",
        "*" * 500 + "x" + "*" * 500,
        "![" * 300 + "x" + "](/y)" * 300,
    ],
)
def test_too_deep_nesting_is_refused(markdown: str) -> None:
    # markdown-it.rs would overflow the stack long before a file reached its size limit.
    with pytest.raises(ArticleError, match="markdown nested too deeply"):
        body(markdown)


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        # Front matter summaries are inline Markdown: no lists, headings or quotes.
        ("summary: '2024. A big year.'", "2024. A big year."),
        ("summary: |\n  Highlights:\n  - one\n  - two", "Highlights: - one - two"),
        ("summary: '# 1 fan'", "# 1 fan"),
        ("description: '> quoted [Keyword](/articles/slug) words'", "> quoted words"),
        ('summary: "[x]: /y\\n\\nsee [it][x]"', "[x]: /y see [it][x]"),
    ],
)
def test_summary_is_read_as_inline_markdown(front: str, expected: str) -> None:
    assert parse(yaml_doc(f"title: T\n{front}", "Body.")).lede == expected


# -- cases where hand-written readers once disagreed with the parsers (kept as pins)


def test_a_link_with_a_blank_label_is_no_prose_for_the_lede() -> None:
    text = yaml_doc(
        "title: T", "![Chart](/img/chart.png) [ ](/gallery/)\n\nReal first paragraph.\n"
    )
    assert parse(text).lede == "Real first paragraph."


def test_only_ascii_digits_make_an_ordered_list_item() -> None:
    assert takeaways("## Key Takeaways\n\n1. First point\n٢. Second point") == (
        "First point ٢. Second point",
    )
    assert takeaways("## Key Takeaways\n\n١. Not an item") == ()


@pytest.mark.parametrize(
    "value", ["٢٠٢٦-٠٢-٠٣", "２０２６-02-03", "2026-02-03T19:00:14.٣Z", "2026-02-03T19:00:14+00:60"]
)
def test_toml_dates_the_toml_parser_refuses_are_refused(value: str) -> None:
    with pytest.raises(ArticleError, match="front matter: TOML error"):
        parse(f'+++\ntitle = "T"\ndate = {value}\n+++\nBody.\n')
