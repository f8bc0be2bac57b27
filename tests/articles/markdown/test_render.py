"""Inline Markdown -> Discord Markdown."""

from __future__ import annotations

import pytest

from tests.articles.markdown.helpers import SITE, takeaways

# --------------------------------------------------------------------------- inline -> Discord


def one(item: str, site_url: str | None = None) -> str:
    (result,) = takeaways(f"## Key Takeaways\n- {item}\n", site_url=site_url)
    return result


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold**", "**bold**"),
        ("__bold__", "**bold**"),
        ("*em*", "*em*"),
        ("_em_", "*em*"),
        ("***both***", "***both***"),
        ("~~gone~~", "~~gone~~"),
        ("`code`", "`code`"),
        ("`` a`b ``", "`` a`b ``"),
        ("snake_case_word", "snake_case_word"),
        (r"not \*em\* or \_em\_", r"not \*em\* or \_em\_"),
        (r"a \# b \. c", r"a \# b . c"),
        ("fish &amp; chips &#42;", r"fish & chips \*"),
        ("x <span>inside</span> y", "x inside y"),
        ("a<br>b<br/>c", "a b c"),
        ("before <!-- note --> after", "before after"),
        ("H<sub>2</sub>O <b>bold</b>.", "H2O bold."),
        ("a  \nb", "a b"),
    ],
)
def test_inline_rendering(source: str, expected: str) -> None:
    assert one(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[docs](https://docs.example.net/a)", "[docs](https://docs.example.net/a)"),
        ("[rel](/path/page/)", "[rel](https://example.org/path/page/)"),
        ("[rel](page/)", "[rel](https://example.org/page/)"),
        ("[**bold** link](/x/)", "[**bold** link](https://example.org/x/)"),
        ("[js](javascript:alert(1))", "[js](javascript:alert(1))"),
        ("[mail](mailto:a@b.c)", "mail"),
        ("<https://auto.example/x>", "https://auto.example/x"),
        ("[paren](/a_(b))", "[paren](https://example.org/a_%28b%29)"),
        ("![alt text](/img/a.png)", "[alt text](https://example.org/img/a.png)"),
        ("![](/img/a.png) rest", "rest"),
        ("[![logo](/l.png)](/home/)", "[logo](https://example.org/home/)"),
        ("[Paris](/articles/slug) burns", "Paris burns"),
        ("see [Keyword](/articles/slug), an expert", "see, an expert"),
        ("[Keyword](https://news.example/real) leads", "leads"),
        ("see [Keyword](/articles/slug)", "see"),
        ("(see [Keyword](/articles/slug)) now", "(see) now"),
        ("now ([Keyword](/articles/slug))", "now"),
        ("visit [Keyword](/articles/slug) or [Keyword](/articles/slug).", "visit."),
        ("**[Keyword](/articles/slug)** stays", "stays"),
        ("[bad](https://[bad/x) text", "[bad](https://%5Bbad/x) text"),
        ("a **[Keyword](/articles/slug) word** b", "a **word** b"),
    ],
)
def test_links_with_site_url(source: str, expected: str) -> None:
    assert one(source, site_url=SITE) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[rel](/path/page/) text", "rel text"),
        ("[abs](https://a.example/) text", "[abs](https://a.example/) text"),
        ("![pic](/img/a.png) text", "pic text"),
        ("![pic](https://cdn.example/a.png)", "[pic](https://cdn.example/a.png)"),
    ],
)
def test_links_without_site_url(source: str, expected: str) -> None:
    assert one(source) == expected
