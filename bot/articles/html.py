"""HTML fragments (feed content) -> Discord Markdown and plain text.

A small tree builder on the stdlib :class:`html.parser.HTMLParser` plus the few
structural questions the feed reader asks of an entry's HTML: where is the
"Key Takeaways" list, what is the first paragraph, what is the first image.
Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import urljoin

from bot.articles.text import DEFAULT_HEADINGS, Headings, absolute_url, is_placeholder_link

# Elements that never have children (a start tag is the whole element).
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# Dropped with everything inside them: code, styling and fallback markup, never prose.
_DROPPED = frozenset(
    {"script", "style", "template", "noscript", "svg", "math", "iframe", "object", "head"}
)
# Elements that separate words: their boundaries become a space.
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
# A start tag of one of these implicitly closes an open <p>, as browsers do.
_CLOSES_P = _BLOCK - {"dd", "dt", "li", "td", "th", "tr"}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol"})
_BOLD = frozenset({"strong", "b"})
_ITALIC = frozenset({"em", "i"})
_STRIKE = frozenset({"s", "del", "strike"})

# Deeper nesting than this is not prose; it is flattened so rendering never recurses far.
MAX_DEPTH = 64

_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_~`|])")
_LINK_TEXT_SPECIAL = re.compile(r"([\\*_~`|\[\]])")
# Stands in for a dropped placeholder link until the spacing around it is settled.
_DROPPED_LINK = "\x00"
_DROPPED_LINK_SPACING = re.compile(r"\s*\x00\s*(?=[,.;:!?])")
_URL_UNSAFE = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})


@dataclass(eq=False, slots=True)
class Element:
    """One HTML element; the root of a parsed fragment has the empty tag ``""``."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = None

    def iter(self) -> Iterator[Element]:
        """This element and all its descendants, in document order."""
        stack: list[Element] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(c for c in reversed(node.children) if isinstance(c, Element))


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("")
        self._stack: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _local_name(tag)
        if tag in _CLOSES_P and self._stack[-1].tag == "p":
            self._stack.pop()
        elif tag == "li":
            self._close_open("li", scope=_LISTS)
        elif tag in ("dt", "dd"):
            self._close_open("dt", scope=frozenset({"dl"}))
            self._close_open("dd", scope=frozenset({"dl"}))
        if tag not in _VOID and len(self._stack) > MAX_DEPTH:
            return
        parent = self._stack[-1]
        element = Element(tag, {k.lower(): v or "" for k, v in attrs}, [], parent)
        parent.children.append(element)
        if tag not in _VOID:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # XHTML-style <p/>: an empty element, not an unclosed one.
        depth = len(self._stack)
        self.handle_starttag(tag, attrs)
        if len(self._stack) > depth:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        tag = _local_name(tag)
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        children = self._stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def _close_open(self, tag: str, *, scope: frozenset[str]) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            name = self._stack[depth].tag
            if name == tag:
                del self._stack[depth:]
                return
            if name in scope:
                return


def _local_name(tag: str) -> str:
    return tag.rpartition(":")[2].lower()


def parse_html(html: str) -> Element:
    """Parse an HTML fragment into a small tree. Never raises; bad markup is tolerated."""
    builder = _TreeBuilder()
    try:
        builder.feed(html)
        builder.close()
    except AssertionError:
        # _markupbase raises AssertionError on some malformed declarations such as
        # "<![foo["; what was parsed before that point is still good.
        pass
    return builder.root


def resolve_url(href: str, base: str | None) -> str | None:
    """``href`` resolved against ``base`` the way a browser would; ``None`` unless http(s).

    Unlike :func:`bot.articles.text.absolute_url`, which treats its base as a folder
    (right for a site URL), this follows RFC 3986: ``pic.png`` against
    ``https://ex.com/a/post`` is ``https://ex.com/a/pic.png``.
    """
    href = href.strip()
    if not href:
        return None
    try:
        if base:
            href = urljoin(base, href)
        return absolute_url(href, None)
    except ValueError:  # e.g. "http://[::1" is not a URL urllib can split
        return None


def _is_placeholder(text: str, href: str) -> bool:
    try:
        return is_placeholder_link(text, href)
    except ValueError:
        return is_placeholder_link(text, "")


@dataclass(frozen=True, slots=True)
class _Ctx:
    base_url: str | None
    bold: bool = False
    italic: bool = False
    strike: bool = False
    link: bool = False
    skip_lists: bool = False


def text(node: Element) -> str:
    """The plain text of ``node``: tags stripped, whitespace collapsed, no escaping."""
    return " ".join(_text(node).replace(_DROPPED_LINK, "").split())


def _text(node: Element) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag in _DROPPED:
            continue
        elif child.tag == "br" or child.tag in _BLOCK:
            parts.append(" " + _text(child) + " ")
        else:
            parts.append(_text(child))
    return "".join(parts)


def markdown(node: Element, *, base_url: str | None = None) -> str:
    """The content of ``node`` as one line of Discord Markdown (see :func:`html_to_markdown`)."""
    return _finish(_markdown(node, _Ctx(base_url)))


def _finish(rendered: str) -> str:
    # A dropped placeholder link ("said [Keyword](/x), an expert") must not leave
    # "said , an expert" behind.
    result = _DROPPED_LINK_SPACING.sub("", rendered).replace(_DROPPED_LINK, " ")
    result = " ".join(result.split())
    if result.startswith(">"):
        result = "\\" + result
    return result


def _markdown(node: Element, ctx: _Ctx) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            collapsed = _WHITESPACE.sub(" ", child.replace(_DROPPED_LINK, ""))
            pattern = _LINK_TEXT_SPECIAL if ctx.link else _MARKDOWN_SPECIAL
            parts.append(pattern.sub(r"\\\1", collapsed))
        else:
            parts.append(_markdown_element(child, ctx))
    return "".join(parts)


def _markdown_element(el: Element, ctx: _Ctx) -> str:
    tag = el.tag
    if tag in _DROPPED or (ctx.skip_lists and tag in _LISTS):
        return ""
    if tag == "br":
        return " "
    if tag in _BLOCK:
        return " " + _markdown(el, ctx) + " "
    if tag in _BOLD:
        inner = _markdown(el, replace(ctx, bold=True))
        return inner if ctx.bold else _wrap(inner, "**")
    if tag in _ITALIC:
        inner = _markdown(el, replace(ctx, italic=True))
        return inner if ctx.italic else _wrap(inner, "*")
    if tag in _STRIKE:
        inner = _markdown(el, replace(ctx, strike=True))
        return inner if ctx.strike else _wrap(inner, "~~")
    if tag == "code":
        return _code(text(el), _text(el))
    if tag == "a":
        return _link(el, ctx)
    return _markdown(el, ctx)


def _wrap(inner: str, marker: str) -> str:
    # "** bold **" does not render, so edge spaces move outside the markers.
    core = inner.strip()
    if not core:
        return inner
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{marker}{core}{marker}{trail}"


def _code(content: str, raw: str) -> str:
    if not content:
        return raw
    lead = " " if raw[:1].isspace() else ""
    trail = " " if raw[-1:].isspace() else ""
    if "`" in content:
        return f"{lead}`` {content} ``{trail}"
    return f"{lead}`{content}`{trail}"


def _link(el: Element, ctx: _Ctx) -> str:
    inner = _markdown(el, replace(ctx, link=True))
    href = el.attrs.get("href", "")
    if ctx.link or not href.strip():
        return inner
    label = text(el)
    if _is_placeholder(label, href):
        # "[Keyword](/articles/slug)" is template residue: the word itself is noise too.
        return _DROPPED_LINK if _is_placeholder(label, "") else inner
    url = resolve_url(href, ctx.base_url)
    if url is None or not inner.strip():
        return inner
    return _wrap_link(inner, url.translate(_URL_UNSAFE))


def _wrap_link(inner: str, url: str) -> str:
    core = inner.strip()
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}[{core}]({url}){trail}"


def html_to_markdown(html: str, *, base_url: str | None = None) -> str:
    """Convert an HTML fragment to one line of Discord Markdown.

    Bold, italic, code, strike-through and links are kept (links made absolute
    against ``base_url``; template placeholders and non-http(s) links become plain
    text); ``<br>`` and block boundaries become spaces; ``<script>``/``<style>`` are
    dropped with their content; every other tag is stripped. Characters Discord would
    read as formatting are escaped when they appear literally in the text.
    """
    return markdown(parse_html(html), base_url=base_url)


def html_to_text(html: str) -> str:
    """The plain text of an HTML fragment, whitespace collapsed."""
    return text(parse_html(html))


def _is_takeaways_heading(el: Element, headings: Headings) -> bool:
    # A heading, or a paragraph standing in for one ("<p><strong>Key Takeaways</strong></p>").
    return (el.tag in _HEADINGS or el.tag == "p") and headings.match(text(el))


def _following_list(el: Element) -> Element | None:
    """The ``ul``/``ol`` right after ``el``, skipping whitespace and empty elements.

    When ``el`` is the last thing in its parent (``<div><h2>…</h2></div><ul>``) the
    search continues after the parent.
    """
    node = el
    while node.parent is not None:
        siblings = node.parent.children
        index = next(i for i, c in enumerate(siblings) if c is node)
        for sibling in siblings[index + 1 :]:
            if isinstance(sibling, str):
                if sibling.strip():
                    return None
                continue
            if sibling.tag in _LISTS:
                return sibling
            if sibling.tag in _DROPPED or not text(sibling):
                continue
            return None
        node = node.parent
    return None


def _items(lst: Element) -> Iterator[Element]:
    return (c for c in lst.children if isinstance(c, Element) and c.tag == "li")


def _nested_lists(el: Element) -> Iterator[Element]:
    """The lists inside ``el`` that are not themselves inside another such list."""
    stack = [c for c in reversed(el.children) if isinstance(c, Element)]
    while stack:
        node = stack.pop()
        if node.tag in _LISTS:
            yield node
        elif node.tag not in _DROPPED:
            stack.extend(c for c in reversed(node.children) if isinstance(c, Element))


def _item_lines(li: Element, depth: int, base_url: str | None) -> list[str]:
    own = _finish(_markdown(li, _Ctx(base_url, skip_lists=True)))
    lines = [("  " * depth + "- " if depth else "") + own] if own else []
    for sub in _nested_lists(li):
        for item in _items(sub):
            lines.extend(_item_lines(item, depth + 1, base_url))
    return lines


def takeaways(
    root: Element, *, base_url: str | None = None, headings: Headings = DEFAULT_HEADINGS
) -> tuple[str, ...]:
    """The "Key Takeaways" list items, one Discord-Markdown string per top-level item.

    The list is the ``ul``/``ol`` right after a heading (``h1``–``h6``, or a paragraph
    standing in for one) reading one of ``headings`` in any case, with an optional
    colon or other decoration around the words. Nested items stay in their parent's
    string as ``"\\n  - item"`` lines.
    """
    for el in root.iter():
        if not _is_takeaways_heading(el, headings):
            continue
        lst = _following_list(el)
        if lst is None:
            continue
        found = tuple(
            "\n".join(lines) for li in _items(lst) if (lines := _item_lines(li, 0, base_url))
        )
        if found:
            return found
    return ()


def first_paragraph(root: Element, *, base_url: str | None = None) -> str:
    """The first prose ``<p>`` as Discord Markdown; the whole fragment if it has none.

    Paragraphs without text (an image) and paragraphs that are one bold run (a
    heading in disguise, "<p><b>Introduction</b></p>") are not prose.
    """
    for el in root.iter():
        if el.tag != "p" or _is_bold_label(el):
            continue
        rendered = markdown(el, base_url=base_url)
        if rendered:
            return rendered
    return markdown(root, base_url=base_url)


def _is_bold_label(el: Element) -> bool:
    meaningful = [c for c in el.children if not isinstance(c, str) or c.strip()]
    return (
        len(meaningful) == 1 and isinstance(meaningful[0], Element) and meaningful[0].tag in _BOLD
    )


def first_image(root: Element, *, base_url: str | None = None) -> str | None:
    """The absolute URL of the first ``<img>`` that is not a 1×1 tracking pixel."""
    for el in root.iter():
        if el.tag != "img":
            continue
        if el.attrs.get("width", "").strip() == "1" or el.attrs.get("height", "").strip() == "1":
            continue
        url = resolve_url(el.attrs.get("src", ""), base_url)
        if url is not None:
            return url
    return None
