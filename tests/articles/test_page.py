"""Whole article pages (HTML5, as sites serve them) -> their takeaways."""

from __future__ import annotations

import pytest

from bot.articles.model import ArticleError
from bot.articles.page import page_takeaways
from bot.articles.text import Headings

URL = "https://news.example.org/articles/x/"

PAGE = """<!doctype html>
<html><head><title>X</title>
<script>var s = "<h2>Key Takeaways</h2><ul><li>no</li></ul>";</script></head>
<body>
<nav><h2>Key Takeaways</h2><ul><li>Menu item, not the article</li></ul></nav>
<article>
  <h1>The Headline</h1>
  <p>Intro.
  <h2 id="key-takeaways">Key Takeaways<a class="anchor" href="#key-takeaways">#</a></h2>
  <ul>
    <li>Demand hit a <strong>record</strong> high
    <li>See <a href="/articles/grid/">the grid</a> for more
      <ul><li>nested detail</ul>
  </ul>
  <p>Body.
</article>
<footer><h3>Key Takeaways</h3><ol><li>footer</li></ol></footer>
</body></html>"""


def test_the_articles_takeaways_from_a_real_world_page() -> None:
    # Unclosed <p> and <li> are closed as a browser closes them; the navigation,
    # scripts and footer are not the article.
    assert page_takeaways(PAGE.encode(), page_url=URL) == (
        "Demand hit a **record** high",
        "See [the grid](https://news.example.org/articles/grid/) for more\n  - nested detail",
    )


def test_without_an_article_element_main_then_the_body_is_read() -> None:
    main = (
        "<body><h2>Key Takeaways</h2><ul><li>body</li></ul>"
        "<main><h3>key takeaways:</h3><ol><li>main</li></ol></main>"
    )
    assert page_takeaways(main.encode(), page_url=URL) == ("main",)
    body = "<p><b>Key Takeaways</b></p><ul><li>one</li><li>two</li></ul>"
    assert page_takeaways(body.encode(), page_url=URL) == ("one", "two")


def test_configured_headings_are_used_and_others_ignored() -> None:
    page = b"<article><h2>At a Glance</h2><ul><li>glance</li></ul></article>"
    assert page_takeaways(page, page_url=URL, headings=Headings.of(["At a glance"])) == ("glance",)
    assert page_takeaways(page, page_url=URL) == ()


def test_the_pages_charset_and_base_are_honoured() -> None:
    latin = "<article><h2>Key Takeaways</h2><ul><li>Café</li></ul></article>".encode("latin-1")
    assert page_takeaways(latin, page_url=URL, content_type="text/html; charset=ISO-8859-1") == (
        "Café",
    )
    meta = (
        b'<meta charset="windows-1252"><article><h2>Key Takeaways</h2><ul><li>\x93q\x94</li></ul>'
    )
    assert page_takeaways(meta, page_url=URL) == ("\u201cq\u201d",)
    unknown = b"<article><h2>Key Takeaways</h2><ul><li>ok \xff</li></ul>"
    assert page_takeaways(unknown, page_url=URL, content_type="text/html; charset=x-nonsense") == (
        "ok \ufffd",
    )
    based = (
        b'<base href="https://cdn.example.org/">'
        b'<article><h2>Key Takeaways</h2><ul><li><a href="p">p</a></li></ul>'
    )
    assert page_takeaways(based, page_url=URL) == ("[p](https://cdn.example.org/p)",)


def test_deep_pages_are_refused_before_parsing_and_junk_has_no_takeaways() -> None:
    deep = b"<article>" + b"<div>" * 50_000 + b"<h2>Key Takeaways</h2><ul><li>deep</li></ul>"
    with pytest.raises(ArticleError, match="nests deeper than 4,096 elements"):
        page_takeaways(deep, page_url=URL)
    # Deep but under the limit: read, as deep as the fragment reader reads (64 levels).
    fine = b"<article>" + b"<section>" * 60 + b"<h2>Key Takeaways</h2><ul><li>ok</li></ul>"
    assert page_takeaways(fine, page_url=URL) == ("ok",)
    sloppy = b"<article><h2>Key Takeaways</h2><ul>" + b"<li><p>item" * 10_000 + b"</ul>"
    assert len(page_takeaways(sloppy, page_url=URL)) == 10_000
    unclosed = b"<article><h2>Key Takeaways</h2><ul><li>x</li></ul>" + b"<a" * 500_000
    assert page_takeaways(unclosed, page_url=URL) == ("x",)
    for junk in (
        b"",
        b"\x00\x00\xff",
        b"<",
        b"<html><body></body></html>",
        b"<article><h2>Key Takeaways</h2>",
    ):
        assert page_takeaways(junk, page_url=URL) == ()
