"""A whole article page (HTML5) -> its takeaways.

Feeds built by Hugo's own RSS template carry only a summary, so an entry without
takeaways sends the bot to the entry's page. A page is a whole HTML5 document, with
navigation, scripts and the markup errors real sites have, so it is parsed by
selectolax's Lexbor engine, a complete WHATWG HTML5 parser in C (well kept, fast,
with wheels for every common platform); the smaller readers of
:mod:`bot.articles.html` are for the fragments feeds carry. The page's article is its
first ``<article>``, else ``<main>``, else the element with ``role="main"``, else
``<body>``; its takeaways are found by the same rules as in a feed entry (a heading
reading one of the configured titles, followed by a list). Pure: bytes in, strings out.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.articles import html
from bot.articles.model import ArticleError
from bot.articles.text import DEFAULT_HEADINGS, Headings

__all__ = ["page_takeaways"]

# Where the article is, best first.
_ARTICLE_SELECTORS: Final = ("article", "main", "[role=main]", "body")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# HTML5 tree building costs time in proportion to the depth of the open elements for
# every block element (Lexbor: 50,000 nested <div> take ten seconds), so a page nesting
# deeper than this is refused before it is parsed. Real pages nest a few dozen deep.
MAX_PAGE_DEPTH: Final = 4096
# A tag's rest stops at the next "<" too, so that scanning stays linear in the page.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
# Elements that never hold others, or that the next sibling closes implicitly.
_NOT_NESTING: Final = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"),
        *("param", "source", "track", "wbr"),
        *("p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rt", "rp"),
    }
)


def _decode(data: bytes, content_type: str | None) -> str:
    """The page's text: the charset of its Content-Type, else of a ``<meta>`` in its
    first KiB, else UTF-8 (a BOM wins over all); undecodable bytes become U+FFFD."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name, "replace").lstrip("\ufeff")
    candidates: list[str] = []
    if content_type and (match := _HEADER_CHARSET.search(content_type)):
        candidates.append(match.group(1))
    if meta := _META_CHARSET.search(data[:1024]):
        candidates.append(meta.group(1).decode("ascii"))
    for name in candidates:
        try:
            return data.decode(name, "replace")
        except LookupError:
            continue  # a charset Python does not know
    return data.decode("utf-8", "replace")


def _check_depth(text: str) -> None:
    """Refuse a page whose elements (as its tags say, over-counting at worst) nest
    deeper than :data:`MAX_PAGE_DEPTH`; linear in the page's size."""
    depth = 0
    for match in _TAG.finditer(text):
        closing, name, rest = match.groups()
        if rest.endswith("/") or name.lower() in _NOT_NESTING:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > MAX_PAGE_DEPTH:
            raise ArticleError(f"the page nests deeper than {MAX_PAGE_DEPTH:,} elements")


def _element(node: LexborNode) -> html.Element:
    """The Lexbor subtree under ``node`` as :class:`bot.articles.html.Element` nodes;
    deeper than :data:`~bot.articles.html.MAX_DEPTH` its content is flattened into the
    element at that depth (no recursion, whatever the page's nesting)."""
    root = html.Element(node.tag or "", dict(_attributes(node)))
    stack = [(node, root, 0)]
    while stack:
        source, target, depth = stack.pop()
        for child in source.iter(include_text=True):
            if child.is_text_node:
                target.children.append(child.text_content or "")
            elif child.is_element_node and child.tag:
                if depth >= html.MAX_DEPTH:
                    stack.append((child, target, depth))
                    continue
                element = html.Element(child.tag, dict(_attributes(child)), parent=target)
                target.children.append(element)
                stack.append((child, element, depth + 1))
    return root


def _attributes(node: LexborNode) -> list[tuple[str, str]]:
    return [(name, value or "") for name, value in node.attributes.items()]


def page_takeaways(
    data: bytes,
    *,
    page_url: str,
    content_type: str | None = None,
    headings: Headings = DEFAULT_HEADINGS,
) -> tuple[str, ...]:
    """The takeaways in the article of the page ``data`` fetched from ``page_url``
    (relative links resolve against it, or against the page's ``<base href>``), one
    Discord-Markdown string per item; ``()`` when it has none. Raises
    :class:`ArticleError` for a page nesting deeper than :data:`MAX_PAGE_DEPTH`."""
    text = _decode(data, content_type)
    _check_depth(text)
    tree = LexborHTMLParser(text)
    base_tag = tree.css_first("base[href]")
    base = html.resolve_url(base_tag.attributes.get("href") or "", page_url) if base_tag else None
    for selector in _ARTICLE_SELECTORS:
        node = tree.css_first(selector)
        if node is not None:
            return html.takeaways(_element(node), base_url=base or page_url, headings=headings)
    return ()
