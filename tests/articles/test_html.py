"""HTML fragments -> Discord Markdown, plain text, takeaways, first paragraph and image."""

from __future__ import annotations

import re
from html import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.articles.html import (
    first_image,
    first_paragraph,
    html_to_markdown,
    html_to_text,
    parse_html,
    resolve_url,
    takeaways,
)

BASE = "https://example.com/articles/post/"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<strong>bold</strong> and <b>b</b>", "**bold** and **b**"),
        ("<em>it</em> and <i>i</i>", "*it* and *i*"),
        ("<code>x = 1</code>", "`x = 1`"),
        ("<code>a`b</code>", "`` a`b ``"),
        ("<s>old</s> <del>gone</del> <strike>x</strike>", "~~old~~ ~~gone~~ ~~x~~"),
        ("a<br>b<br/>c", "a b c"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<div>x</div><span>y</span>", "x y"),
        ("Tom &amp; Jerry &lt;3 &#8212; caf&eacute;&nbsp;!", "Tom & Jerry <3 — café !"),
        ("  lots\n\tof   space  ", "lots of space"),
        ("<strong> padded </strong>word", "**padded** word"),
        ("<strong><b>twice</b></strong>", "**twice**"),
        ("<strong>bold <em>both</em></strong>", "**bold *both***"),
        ("<strong>  </strong>x", "x"),
        ("<unknown-tag attr='1'>kept</unknown-tag>", "kept"),
    ],
)
def test_inline_formatting(source: str, expected: str) -> None:
    assert html_to_markdown(source) == expected


def test_script_and_style_are_dropped_with_their_content() -> None:
    source = "<p>before<script>alert('x')</script><style>p{color:red}</style> after</p>"
    assert html_to_markdown(source) == "before after"
    assert html_to_text(source) == "before after"


def test_unclosed_script_swallows_the_rest() -> None:
    assert html_to_markdown("text <script>var a = '<b>no</b>';") == "text"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2 * 3 * 4", r"2 \* 3 \* 4"),
        ("snake_case", r"snake\_case"),
        ("~~not struck~~", r"\~\~not struck\~\~"),
        ("`tick`", r"\`tick\`"),
        ("a | b", r"a \| b"),
        ("back\\slash", r"back\\slash"),
        ("&gt; not a quote", r"\> not a quote"),
        ("a &gt; b", "a > b"),
        ("&#42;entity star&#42;", r"\*entity star\*"),
    ],
)
def test_literal_markdown_characters_are_escaped(source: str, expected: str) -> None:
    assert html_to_markdown(source) == expected


def test_code_content_is_not_escaped() -> None:
    assert html_to_markdown("<code>a*b_c</code>") == "`a*b_c`"


def test_links_are_made_absolute_against_the_base() -> None:
    source = (
        '<a href="/tags/world/">World</a>, <a href="next/">next</a>, '
        '<a href="https://other.org/x">other</a>'
    )
    assert html_to_markdown(source, base_url=BASE) == (
        "[World](https://example.com/tags/world/), "
        "[next](https://example.com/articles/post/next/), "
        "[other](https://other.org/x)"
    )


def test_link_text_keeps_formatting_and_escapes_brackets() -> None:
    source = '<a href="https://x.org/"><strong>Big</strong> [news]</a>'
    assert html_to_markdown(source) == r"[**Big** \[news\]](https://x.org/)"


def test_link_url_characters_that_would_end_the_link_are_encoded() -> None:
    source = '<a href="https://x.org/a (b)">paren</a>'
    assert html_to_markdown(source) == "[paren](https://x.org/a%20%28b%29)"


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "data:text/html,x", "mailto:a@b.c", "ftp://x.org/f", "rel/x"]
)
def test_links_that_cannot_be_absolute_http_become_text(href: str) -> None:
    # "rel/x" has no base here, so it cannot be resolved.
    assert html_to_markdown(f'see <a href="{href}">this</a>') == "see this"


def test_link_without_href_or_text() -> None:
    assert html_to_markdown('<a name="top">anchor</a> x') == "anchor x"
    assert html_to_markdown('x <a href="https://x.org/"><img src="a.png"></a> y') == "x y"


def test_nested_links_keep_only_the_outer_one() -> None:
    source = '<a href="https://a.org/">a <a href="https://b.org/">b</a></a>'
    # HTML does not allow nesting; the tree builder closes nothing, so b is inner text.
    assert "b.org" not in html_to_markdown(source)


def test_placeholder_links_are_dropped_or_unlinked() -> None:
    source = (
        '<p>said <a href="/articles/slug">Keyword</a>, an expert. '
        'Visit <a href="/articles/slug">Keyword</a> or <a href="/articles/slug">Keyword</a>. '
        'See <a href="/articles/slug">the guide</a>.</p>'
    )
    result = html_to_markdown(source, base_url=BASE)
    assert result == "said, an expert. Visit or. See the guide."
    assert "](" not in result
    assert "Keyword" not in result


def test_plain_text_has_no_markdown() -> None:
    source = '<h2>Title</h2><p>A <strong>b</strong> <a href="https://x.org">link</a> 2*3</p>'
    assert html_to_text(source) == "Title A b link 2*3"


def test_resolve_url_follows_rfc3986() -> None:
    assert resolve_url("pic.png", "https://ex.com/a/post") == "https://ex.com/a/pic.png"
    assert resolve_url("pic.png", "https://ex.com/a/post/") == "https://ex.com/a/post/pic.png"
    assert resolve_url("//cdn.ex.com/x.png", "https://ex.com/") == "https://cdn.ex.com/x.png"
    assert resolve_url("http://[::1", None) is None
    assert resolve_url("  ", BASE) is None
    assert resolve_url("javascript:x", BASE) is None


# --- takeaways -----------------------------------------------------------------------


def _takeaways(source: str) -> tuple[str, ...]:
    return takeaways(parse_html(source), base_url=BASE)


@pytest.mark.parametrize(
    "heading",
    [
        "<h2>Key Takeaways</h2>",
        "<h3>key takeaways:</h3>",
        "<h4>KEY TAKEAWAYS :</h4>",
        "<h1>Key Takeaways</h1>",
        "<h5>Key Takeaways</h5>",
        "<h6>Key  Takeaways</h6>",
        "<p><strong>Key Takeaways</strong></p>",
        "<p><b>Key Takeaways:</b></p>",
        "<p><strong>Key Takeaways</strong>:</p>",
        "<h2><span>Key</span> Takeaways</h2>",
        "<h2>🔑 Key Takeaways —</h2>",
        "<h2>Key Takeaway</h2>",
        "<p>Key Takeaways:</p>",
    ],
)
def test_takeaways_headings(heading: str) -> None:
    source = f"<p>Intro.</p>{heading}<ul><li>One</li><li>Two</li></ul><p>Body.</p>"
    assert _takeaways(source) == ("One", "Two")


@pytest.mark.parametrize(
    "heading",
    [
        "<h2>Takeaways</h2>",
        "<h2>Key Takeaways and more</h2>",
        "<h2>My Key Takeaways</h2>",
        "<p><strong>Key Takeaways</strong> and then some prose</p>",
        "<li>Key Takeaways</li>",
    ],
)
def test_not_takeaways_headings(heading: str) -> None:
    assert _takeaways(f"{heading}<ul><li>One</li></ul>") == ()


def test_takeaways_with_formatting_and_links() -> None:
    source = (
        "<h2>Key Takeaways</h2>\n<ul>\n"
        '<li>Offices of <strong>X</strong> raided by <a href="/tags/police/">police</a>.</li>\n'
        "<li><em>Elon Musk</em> summoned; 2 * 3 = 6</li>\n"
        "</ul>"
    )
    assert _takeaways(source) == (
        "Offices of **X** raided by [police](https://example.com/tags/police/).",
        r"*Elon Musk* summoned; 2 \* 3 = 6",
    )


def test_ordered_list_and_gap_of_empty_elements() -> None:
    source = "<h2>Key Takeaways</h2>\n<p> </p><br><div></div><!-- c --><ol><li>A</li></ol>"
    assert _takeaways(source) == ("A",)


def test_text_between_heading_and_list_means_no_takeaways() -> None:
    assert _takeaways("<h2>Key Takeaways</h2><p>Read on.</p><ul><li>A</li></ul>") == ()


def test_later_heading_is_used_when_the_first_has_no_list() -> None:
    source = "<h2>Key Takeaways</h2><p>soon</p><h2>Key Takeaways</h2><ul><li>real</li></ul>"
    assert _takeaways(source) == ("real",)


def test_heading_wrapped_in_a_container() -> None:
    source = "<div><h2>Key Takeaways</h2></div><ul><li>A</li></ul>"
    assert _takeaways(source) == ("A",)


def test_list_directly_after_bold_paragraph_without_closing_p() -> None:
    source = "<p><strong>Key Takeaways</strong><ul><li>A</li><li>B</ul>"
    assert _takeaways(source) == ("A", "B")


def test_nested_lists_stay_in_the_parent_item() -> None:
    source = (
        "<h2>Key Takeaways</h2><ul>"
        "<li>Parent <b>one</b><ul><li>child a<ol><li>grandchild</li></ol></li><li>child b</li></ul>"
        "</li><li>Two</li></ul>"
    )
    assert _takeaways(source) == (
        "Parent **one**\n  - child a\n    - grandchild\n  - child b",
        "Two",
    )


def test_items_with_paragraphs_and_unclosed_li() -> None:
    source = "<h2>Key Takeaways</h2><ul><li><p>First</p><p>more</p><li>Second<li> </ul>"
    assert _takeaways(source) == ("First more", "Second")


def test_takeaway_starting_with_gt_is_escaped() -> None:
    assert _takeaways("<h2>Key Takeaways</h2><ul><li>&gt; 50% up</li></ul>") == (r"\> 50% up",)


# --- first paragraph, first image -------------------------------------------------------


def test_first_paragraph_skips_empty_ones() -> None:
    root = parse_html("<h2>Intro</h2><p> </p><p><img src='a.png'></p><p>Hello <b>you</b>.</p>")
    assert first_paragraph(root) == "Hello **you**."


def test_first_paragraph_skips_bold_pseudo_headings() -> None:
    root = parse_html("<p><strong>Introduction</strong></p><p><b>Bold</b> start of prose.</p>")
    assert first_paragraph(root) == "**Bold** start of prose."


def test_first_paragraph_without_p_is_the_whole_fragment() -> None:
    assert first_paragraph(parse_html("Just <em>text</em><br>here")) == "Just *text* here"


def test_first_image() -> None:
    root = parse_html(
        '<img src="data:image/gif;base64,R0lGOD"><img src="/px.gif" width="1" height="1">'
        '<p><img src="photo.jpg"></p><img src="second.jpg">'
    )
    assert first_image(root, base_url=BASE) == "https://example.com/articles/post/photo.jpg"
    assert first_image(parse_html("<p>none</p>"), base_url=BASE) is None


# --- robustness ------------------------------------------------------------------------


def test_malformed_markup_does_not_raise() -> None:
    for source in [
        "<![if foo]>x",
        "<![foo[bar]]> text",
        "<!DOCTYPE",
        "</p></div></ul>text",
        "<a href='x",
        "<" * 50,
        "<b>" * 5000 + "deep" + "</b>" * 5000,
        "<div>" * 5000 + "deep",
    ]:
        assert isinstance(html_to_markdown(source, base_url=BASE), str)
        assert isinstance(html_to_text(source), str)


_TAGS = st.sampled_from(
    ["p", "b", "strong", "em", "i", "code", "s", "a", "ul", "ol", "li", "h2", "br", "img", "div"]
)
_FRAGMENT = st.recursive(
    st.text(max_size=20),
    lambda inner: (
        st.builds(
            lambda tag, href, children: (
                f'<{tag} href="{href}" src="{href}">{"".join(children)}</{tag}>'
            ),
            _TAGS,
            st.sampled_from(
                ["", "/a", "x y", "https://e.org/(1)", "/articles/slug", "javascript:"]
            ),
            st.lists(inner, max_size=4),
        )
        | st.builds(lambda h: f"<h2>Key Takeaways</h2>{h}", inner)
    ),
    max_leaves=30,
)


@given(_FRAGMENT | st.text())
def test_any_markup_gives_one_line(source: str) -> None:
    result = html_to_markdown(source, base_url=BASE)
    assert "\n" not in result
    assert result == result.strip()
    assert "\x00" not in result
    assert isinstance(html_to_text(source), str)
    for item in takeaways(parse_html(source), base_url=BASE):
        assert item
    assert isinstance(first_image(parse_html(source), base_url=BASE), str | None)


_ESCAPE = re.compile(r"\\(.)")


@given(st.text())
def test_text_survives_escaping(value: str) -> None:
    # Whatever the text, undoing the Markdown escapes gives back the text itself.
    result = html_to_markdown(escape(value))
    assert _ESCAPE.sub(r"\1", result) == " ".join(value.replace("\x00", "").split())
