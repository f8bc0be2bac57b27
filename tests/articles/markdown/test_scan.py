"""The body scan: finding the Key Takeaways, the lede fallback, parsing only what matters."""

from __future__ import annotations

import pytest

from tests.articles.markdown.helpers import SITE, body, parse, takeaways, yaml_doc

# ---------------------------------------------------------------------- takeaways: finding them


@pytest.mark.parametrize(
    "heading",
    [
        "# Key Takeaways",
        "## Key Takeaways",
        "###### key takeaways",
        "### KEY TAKEAWAYS:",
        "## Key takeaways:",
        "## Key Takeaways ##",
        "## **Key Takeaways**",
        "## 🔑 Key Takeaways",
        "Key Takeaways\n=============",
        "Key Takeaways:\n---",
        "**Key Takeaways**",
        "**Key Takeaways:**",
        "**Key Takeaways**:",
        "__Key Takeaways__",
        "Key Takeaways:",
        "## Key Takeaway",
    ],
)
def test_heading_variants(heading: str) -> None:
    assert takeaways(f"Intro paragraph.\n\n{heading}\n\n- one\n- two\n") == ("one", "two")


def test_list_may_follow_the_heading_without_blank_line() -> None:
    assert takeaways("## Key Takeaways\n* one\n* two\n") == ("one", "two")
    assert takeaways("**Key Takeaways**\n- one\n- two\n") == ("one", "two")


def test_blank_lines_between_heading_and_list() -> None:
    assert takeaways("## Key Takeaways\n\n\n\n+ one\n+ two\n") == ("one", "two")


@pytest.mark.parametrize("marker", ["*", "-", "+", "1.", "1)"])
def test_list_markers(marker: str) -> None:
    markdown = f"## Key Takeaways\n{marker} one\n{marker} two\n"
    if marker[0].isdigit():
        markdown = f"## Key Takeaways\n1{marker[1:]} one\n2{marker[1:]} two\n"
    assert takeaways(markdown) == ("one", "two")


def test_numbered_list_starting_elsewhere() -> None:
    assert takeaways("## Key Takeaways\n\n3. three\n4. four\n") == ("three", "four")


def test_wrapped_items_are_joined_with_spaces() -> None:
    markdown = (
        "## Key Takeaways\n"
        "- first line\n"
        "  continues here\n"
        "lazily continued\n"
        "- hard break  \n"
        "  after\n"
    )
    assert takeaways(markdown) == ("first line continues here lazily continued", "hard break after")


def test_loose_list_with_paragraphs() -> None:
    markdown = "## Key Takeaways\n\n- one\n\n  still one\n\n- two\n"
    assert takeaways(markdown) == ("one still one", "two")


def test_nested_items_stay_with_their_parent() -> None:
    markdown = (
        "## Key Takeaways\n"
        "- parent one\n"
        "  - child a\n"
        "  - child **b**\n"
        "    1. grandchild\n"
        "- parent two\n"
    )
    assert takeaways(markdown) == (
        "parent one\n  - child a\n  - child **b**\n    - grandchild",
        "parent two",
    )


def test_list_elsewhere_is_not_taken() -> None:
    markdown = "Intro.\n\n- not\n- these\n\n## Other\n\n- nor\n- these\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Intro."


def test_heading_without_list() -> None:
    markdown = "## Key Takeaways\n\nJust a paragraph.\n\n- a list after a paragraph\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Just a paragraph."


def test_heading_at_the_end_of_the_file() -> None:
    article = body("First words.\n\n## Key Takeaways\n")
    assert article.takeaways == ()
    assert article.lede == "First words."


def test_second_heading_with_a_list_is_used() -> None:
    markdown = "## Key Takeaways\n\nComing soon.\n\n## Key Takeaways\n\n- real\n"
    assert takeaways(markdown) == ("real",)


def test_key_takeaways_in_code_is_not_a_heading() -> None:
    markdown = "```\n## Key Takeaways\n- fake\n```\n\n    ## Key Takeaways\n    - fake\n\nProse.\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Prose."


def test_other_headings_mentioning_takeaways_do_not_count() -> None:
    markdown = "## Takeaways from the key meeting\n\n- no\n\n## My Key Takeaways\n\n- no\n"
    assert takeaways(markdown) == ()


def test_bold_line_inside_prose_is_not_a_heading() -> None:
    markdown = "The **Key Takeaways** are below.\n- no\n"
    assert takeaways(markdown) == ()


def test_empty_items_are_skipped() -> None:
    assert takeaways("## Key Takeaways\n-\n- one\n- [Keyword](/articles/slug)\n") == ("one",)


def test_heading_inside_a_block_quote_is_not_looked_at() -> None:
    assert takeaways("> ## Key Takeaways\n> - quoted\n") == ()


def test_list_in_blockquote_after_heading_is_not_taken() -> None:
    assert takeaways("## Key Takeaways\n\n> - quoted\n") == ()


def test_reference_links_defined_later_resolve() -> None:
    markdown = "## Key Takeaways\n- see [the docs][docs]\n\n## More\n\n[docs]: /docs/\n"
    assert takeaways(markdown, site_url=SITE) == ("see [the docs](https://example.org/docs/)",)


# --------------------------------------------------------------------------- lede fallback


def test_lede_prefers_summary_then_description_then_paragraph() -> None:
    both = parse(
        yaml_doc("title: T\nsummary: The summary.\ndescription: The description.", "Body.")
    )
    assert both.lede == "The summary."
    desc = parse(yaml_doc("title: T\ndescription: The description.", "Body."))
    assert desc.lede == "The description."
    para = parse(yaml_doc("title: T", "Body."))
    assert para.lede == "Body."


def test_lede_is_none_when_takeaways_exist() -> None:
    article = parse(yaml_doc("title: T\nsummary: S.", "## Key Takeaways\n- k\n"))
    assert article.takeaways == ("k",)
    assert article.lede is None
    assert article.summary == "S."


def test_lede_skips_headings_images_and_bold_lines() -> None:
    markdown = (
        "# Title\n\n"
        "![banner](/b.png)\n\n"
        "**Introduction**\n\n"
        "{{< figure src=x.png >}}\n\n"
        "> quoted\n\n"
        "The *first* real paragraph, with [a link](/x/).\n\n"
        "Second.\n"
    )
    assert body(markdown, site_url=SITE).lede == (
        "The *first* real paragraph, with [a link](https://example.org/x/)."
    )


def test_lede_bold_start_but_more_text_is_prose() -> None:
    assert body("**Paris** was quiet today.\n").lede == "**Paris** was quiet today."


def test_lede_cut_at_sentence_boundary() -> None:
    sentence = "This sentence is exactly fifty characters long ok. "
    article = body(sentence * 20)
    assert article.lede is not None
    assert len(article.lede) <= 600
    assert article.lede.endswith("ok.")
    assert article.lede == (sentence * 11).strip()


def test_lede_from_summary_is_rendered_and_cut() -> None:
    summary = "A __bold__ [Keyword](/articles/slug) claim. " + "More words here. " * 60
    article = parse(yaml_doc(f"title: T\nsummary: '{summary}'"))
    assert article.lede is not None
    assert article.lede.startswith("A **bold** claim. More words here.")
    assert len(article.lede) <= 600
    assert article.summary == summary.strip()


def test_placeholder_only_description_gives_no_lede() -> None:
    article = parse(yaml_doc("title: T\ndescription: '[Keyword](/articles/slug)'", "Body."))
    assert article.description == "[Keyword](/articles/slug)"
    assert article.lede is None


def test_no_body_no_lede() -> None:
    assert body("").lede is None
    assert body("## Only a heading\n").lede is None


# --------------------------------------------------------------------------- parsing less


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # The region scan parses the section around each "takeaway" only: an earlier
        # mention in prose, a title at the very end, no blank line around the title.
        (
            "The key takeaway is simple.\n\n## Background\n\nText.\n\n## Key Takeaways\n\n- a\n",
            ("a",),
        ),
        (
            "Intro.\n\n## Body\n\nText **x**.\n\n**Key Takeaways:**\n\n1. one\n2. two\n",
            ("one", "two"),
        ),
        ("Intro line\n## Key Takeaways\n* one\n* two\n## Next\ntext\n", ("one", "two")),
        # ... and is not fooled by what could hold or continue it.
        ("Intro.\n\n```\n## Key Takeaways\n\n- fake\n```\n\n## Key Takeaways\n- real\n", ("real",)),
        ("<!--\n\n## Key Takeaways\n- fake\n\n-->\n\nText.\n", ()),
        ("<div>\n## Key Takeaways\n- fake\n</div>\n\nText.\n", ()),
        ("- a\n- b takeaway\n\n  **Key Takeaways**\n\n- not these\n", ()),
        ("- a\n\n    x takeaway\n\n  **Key Takeaways**\n\n- not these\n", ()),
    ],
)
def test_takeaways_found_by_the_region_scan(markdown: str, expected: tuple[str, ...]) -> None:
    assert takeaways(markdown) == expected


def test_lede_skips_a_commented_out_section() -> None:
    assert body("<!--\n\n## Key Takeaways\n- fake\n\n-->\n\nReal lede.\n").lede == "Real lede."
