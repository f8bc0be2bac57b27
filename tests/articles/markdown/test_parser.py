"""markdown-it behind its guards: parser quirks and nesting limits; inline summaries."""

from __future__ import annotations

import pytest

from bot.articles.markdown.parser import MAX_BODY_MARKUP, MAX_MARKUP, inline_depth
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


# -- nesting is counted as the parser nests, with one verdict for the whole body

_FLAT = {
    "a table of links": "| a | b |\n|---|---|\n"
    + "".join(f"| [x{i}](/x{i}) | [y{i}](/y{i}) |\n" for i in range(150)),
    "a hundred and one bold phrases": " ".join(f"**b{i}**" for i in range(101)),
    "two hundred escaped stars": " ".join("\\*x" for _ in range(200)),
    "two hundred and fifty footnotes": "".join(f"[^{i}]: note {i}\n\n" for i in range(250)),
    "openers that never close": "__a " * 5000,
}


@pytest.mark.parametrize("flat", _FLAT.values(), ids=_FLAT.keys())
@pytest.mark.parametrize("where", ["before the takeaways", "in a takeaway"])
@pytest.mark.parametrize("definition", ["", "\n\n[x]: /x\n"], ids=["regions", "whole body"])
def test_flat_documents_are_not_too_deep(flat: str, where: str, definition: str) -> None:
    # A link reference definition anywhere makes the whole body parse: same verdict.
    if where == "in a takeaway":
        text = "## Key Takeaways\n\n- " + flat.replace("\n\n", " ").replace("\n", " ") + "\n"
    else:
        text = flat + "\n\n## Key Takeaways\n\n- one\n"
    article = body(text + definition)
    assert article.takeaways


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("**a** " * 300, 2),
        ("*" * 300 + "x" + "*" * 300, 300),
        ("*a " * 50 + "x" + " a*" * 50, 50),
        ("_a " * 50 + "x" + " a_" * 50, 50),
        ("~~a " * 50 + "x" + " a~~" * 50, 50),
        ("![" * 300 + "x" + "](/y)" * 300, 300),
        ("[" * 300 + "x", 0),  # nothing closes them: nothing nests
        ("\\*" * 300 + "x" + "\\*" * 300, 0),
        ("[a](/x) " * 300, 1),
        ("snake_case_words " * 300, 0),
        # Unicode punctuation lets "_" open and close, as CommonMark says.
        ("a。_" * 250 + "x" + "_。a" * 250, 250),
    ],
)
def test_inline_depth_counts_levels_that_close(text: str, depth: int) -> None:
    assert inline_depth(text) == depth


def test_a_deep_part_no_post_needs_is_refused_on_every_path() -> None:
    deep = "![" * 300 + "x" + "](/y)" * 300
    text = "## Key Takeaways\n\n- one\n\n## Later\n\n" + deep + "\n"
    for definition in ("", "\n\n[x]: /x\n"):
        with pytest.raises(ArticleError, match="markdown nested too deeply"):
            body(text + definition)


# -- bounded work per article


def test_too_much_markup_in_what_is_parsed_is_refused_with_the_reason() -> None:
    item = "`a` " * (MAX_MARKUP // 2 + 1)
    with pytest.raises(ArticleError, match=r"too much Markdown markup .* at most 50,000"):
        takeaways("## Key Takeaways\n\n- " + item + "\n")
    # The same markup in a part the post does not need is never parsed.
    assert takeaways("## Key Takeaways\n\n- one\n\n## Code\n\n" + item + "\n") == ("one",)


@pytest.mark.parametrize("unit", ["[", "[]", "**", "_"])
def test_a_body_of_nothing_but_markup_is_refused_before_it_is_judged(unit: str) -> None:
    # Judging nesting reads every delimiter of a body: a file that is markup from end to
    # end is refused first, whatever part of it a post would need.
    text = "## Key Takeaways\n\n- one\n\n" + unit * (MAX_BODY_MARKUP // len(unit) + 10)
    with pytest.raises(ArticleError, match=r"too much Markdown markup .* in a whole article"):
        body(text)
