"""markdown-it nodes -> Discord Markdown, and the shapes the scan looks for.

Inline Markdown becomes Discord's dialect: strong -> ``**x**`` (``__x__`` is
underline in Discord), emphasis -> ``*x*``, ``~~x~~`` and code spans kept, links
``[text](absolute-url)`` (relative ones resolved against ``site_url``, else just
their text), images ``[alt](url)`` or their alt text, raw HTML reduced to its text,
line breaks to spaces, and backslash escapes of Discord markup characters kept.
Template leftovers (:func:`~bot.articles.text.is_placeholder_link`) lose their link;
when the text itself is a placeholder word ("Keyword") the whole link goes and the
gap is closed ("said [Keyword](/articles/slug), an expert" -> "said, an expert").

A list becomes one string per top-level item: its paragraphs joined with spaces,
nested items appended as ``"\\n  - text"`` lines (two more spaces per level).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from markdown_it_pyrs import Node

from bot.articles.markdown.parser import BLOCKS, HEADINGS, LISTS, check_nesting, top_blocks
from bot.articles.model import ArticleError
from bot.articles.text import (
    DEFAULT_HEADINGS,
    Headings,
    absolute_url,
    is_placeholder_link,
    is_placeholder_text,
)

__all__ = [
    "is_lede_candidate",
    "is_takeaways_paragraph",
    "plain_text",
    "render_inline",
    "render_list",
    "render_text_field",
]

# Characters whose backslash escape must survive, or Discord would read them as markup.
_DISCORD_SPECIAL = frozenset("\\*_~`|<>#-[]()")
_DROPPED = "\x00"  # marks where a placeholder link was removed; tidied away later
_HTML = "\x01"  # marks where a raw HTML tag was removed
_MARKS = " \t" + _DROPPED + _HTML
_HTML_GAP = re.compile(r"[ \t]*\x01[ \t\x01]*")
_LINK_TEXT_BRACKET = re.compile(r"(?<!\\)([\[\]])")
_MARKUP_CHARS = re.compile(r"[*_~`\\]")
_WHITESPACE = re.compile(r"\s+")

_TIDY_PARENS = re.compile(r"[(\[][ \t\x00]*\x00[ \t\x00]*[)\]]")
_TIDY_JOINED = re.compile(r"\x00(?:[ \t]*(?:,|or|and|&|/)[ \t]*\x00)+", re.IGNORECASE)
_TIDY_BEFORE_PUNCT = re.compile(r"[ \t]*\x00+[ \t]*(?=[,.;:!?)\]…]|$)")
_TIDY_AT_START = re.compile(r"^[ \t]*\x00+[ \t]*[,;:]?[ \t]*")
_TIDY_BETWEEN = re.compile(r"[ \t]*\x00+[ \t]*")

_WRAPPERS: Final = {"strong": "**", "em": "*", "strikethrough": "~~"}


def _tidy(text: str) -> str:
    """Close the gaps left by dropped placeholder links: "said [Keyword](/x/slug), an
    expert" reads "said, an expert"; "visit [Keyword](..) or [Keyword](..)." reads
    "visit."."""
    if _HTML in text:
        # "H<sub>2</sub>O" -> "H2O", but "a <!-- x --> b" -> "a b".
        text = _HTML_GAP.sub(lambda m: " " if m.group().strip(_HTML) else "", text)
    if _DROPPED not in text:
        return text
    text = _TIDY_PARENS.sub(_DROPPED, text)
    text = _TIDY_JOINED.sub(_DROPPED, text)
    text = _TIDY_BEFORE_PUNCT.sub("", text)
    text = _TIDY_AT_START.sub("", text)
    return _TIDY_BETWEEN.sub(" ", text).replace(_DROPPED, "")


def _code_span(content: str) -> str:
    longest = run = 0
    for ch in content:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if longest or not content.strip(" "):
        return f"{fence} {content} {fence}"
    return f"{fence}{content}{fence}"


def _wrap(marker: str, inner: str) -> str:
    """``inner`` between Discord markers, whitespace kept outside (``** x**`` is not
    bold in Discord); nothing at all when ``inner`` has no text left."""
    core = inner.strip(_MARKS)
    if not core:
        return _DROPPED if _DROPPED in inner else inner
    lead = inner[: len(inner) - len(inner.lstrip(_MARKS))]
    trail = inner[len(inner.rstrip(_MARKS)) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _content(node: Node) -> str:
    """The text of a ``text`` / ``text_special`` node, or of a code span."""
    if node.name == "code_inline":
        return "".join(_content(child) for child in node.children)
    content = node.meta.get("content", "")
    return content if isinstance(content, str) else ""


def plain_text(nodes: Sequence[Node]) -> str:
    """The text of inline nodes with all markup dropped (image alt text included)."""
    parts: list[str] = []
    for node in nodes:
        name = node.name
        if name in ("text", "text_special", "code_inline"):
            parts.append(_content(node))
        elif name in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif name != "html_inline":
            parts.append(plain_text(node.children))
    return "".join(parts)


def _link_target(href: str, site_url: str | None) -> str | None:
    url = absolute_url(href, site_url)
    if url is None:
        return None
    # Discord's masked-link syntax ends at the first ')' or whitespace.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _masked_link(text: str, href: str, site_url: str | None) -> str:
    """A link or image in Discord's ``[text](url)`` form, or what is left of it."""
    plain = _MARKUP_CHARS.sub("", text).strip()
    placeholder_text = is_placeholder_text(plain)
    if placeholder_text or is_placeholder_link(plain, href):
        # "[Keyword](/articles/slug)" carries nothing: drop it. "[Paris](/x/slug)"
        # keeps its words but not the dead link.
        return _DROPPED if placeholder_text or not plain else text
    target = _link_target(href, site_url)
    if target is None or not plain:
        return text
    label = _LINK_TEXT_BRACKET.sub(r"\\\1", text)
    return f"[{label}]({target})"


def _url(node: Node) -> str:
    url = node.meta.get("url", "")
    return url if isinstance(url, str) else ""


def _render_nodes(
    nodes: Sequence[Node], site_url: str | None, out: list[str], in_link: bool
) -> None:
    for node in nodes:
        name = node.name
        if name == "text":
            out.append(node.meta.get("content", ""))
        elif name in _WRAPPERS:
            inner: list[str] = []
            _render_nodes(node.children, site_url, inner, in_link)
            out.append(_wrap(_WRAPPERS[name], "".join(inner)))
        elif name == "softbreak" or name == "hardbreak":
            out.append(" ")
        elif name == "link":
            inner = []
            _render_nodes(node.children, site_url, inner, True)
            out.append(_masked_link("".join(inner), _url(node), site_url))
        elif name == "text_special":
            # Backslash escapes and entities: "\*" must stay escaped, or Discord would
            # read the character as markup.
            meta = node.meta
            content = meta.get("content", "")
            if meta.get("markup") and content in _DISCORD_SPECIAL:
                out.append("\\" + content)
            else:
                out.append(content)
        elif name == "code_inline":
            out.append(_code_span(_content(node)))
        elif name == "autolink":
            inner = []
            _render_nodes(node.children, site_url, inner, True)
            out.append(_link_target(_url(node), None) or "".join(inner))
        elif name == "image":
            alt = " ".join(plain_text(node.children).split())
            if in_link:
                out.append(alt)
            else:
                out.append(_masked_link(alt, _url(node), site_url) if alt else "")
        elif name == "html_inline":
            # Raw HTML is dropped; the text between tags is ordinary text nodes.
            content = node.meta.get("content", "")
            is_break = isinstance(content, str) and content[:3].lower() == "<br"
            out.append(" " if is_break else _HTML)


def render_inline(nodes: Sequence[Node], site_url: str | None, *, sentinel: bool = False) -> str:
    """Inline nodes -> Discord Markdown (the rules are in the module docstring)."""
    out: list[str] = []
    _render_nodes(nodes, site_url, out, False)
    text = "".join(out)
    if sentinel:
        text = text.replace(_SENTINEL, "")
    return _tidy(text).strip()


_HEADING_LIKE = frozenset({"text", "text_special", "softbreak", "hardbreak", "strong", "em"})


def _only_heading_like(nodes: Sequence[Node]) -> bool:
    return all(n.name in _HEADING_LIKE and _only_heading_like(n.children) for n in nodes)


def is_takeaways_paragraph(nodes: Sequence[Node], headings: Headings = DEFAULT_HEADINGS) -> bool:
    """A paragraph standing in for a heading: "**Key Takeaways:**", "__Key
    Takeaways__", "**Key Takeaways**:" or plain "Key Takeaways:"."""
    return _only_heading_like(nodes) and headings.match(plain_text(nodes))


def _flatten(nodes: Sequence[Node], out: list[tuple[str, Node]]) -> None:
    """Inline nodes as markdown-it's flat token stream: ``(kind, node)`` pairs, with
    ``*_open`` / ``*_close`` around the children of strong, em, links ..."""
    for node in nodes:
        name = node.name
        if name in _WRAPPERS or name in ("link", "autolink"):
            kind = "link" if name == "autolink" else name
            out.append((kind + "_open", node))
            _flatten(node.children, out)
            out.append((kind + "_close", node))
        else:
            out.append((name, node))


def is_lede_candidate(nodes: Sequence[Node]) -> bool:
    """False for paragraphs that are not prose: only images, or one bold run that
    serves as a heading ("**Introduction**")."""
    tokens: list[tuple[str, Node]] = []
    _flatten(nodes, tokens)
    meaningful = [
        (kind, node)
        for kind, node in tokens
        if kind not in ("softbreak", "hardbreak")
        and not (kind == "text" and not _content(node).strip())
    ]
    if not meaningful:
        return False
    if all(kind in ("image", "link_open", "link_close", "html_inline") for kind, _ in meaningful):
        return False
    if meaningful[0][0] == "strong_open" and meaningful[-1][0] == "strong_close":
        depth = 0
        for kind, _ in meaningful[:-1]:
            depth += 1 if kind == "strong_open" else -1 if kind == "strong_close" else 0
            if depth == 0:
                return True  # the bold run closes before the end: real prose
        return False
    return True


def render_list(node: Node, site_url: str | None) -> list[str]:
    """One string per item of a list; nested lists become indented ``- `` lines inside
    their parent item's string."""
    items: list[str] = []
    for item in node.children:
        if item.name != "list_item":
            continue
        texts: list[str] = []
        nested: list[str] = []
        _collect_item(item, site_url, texts, nested)
        text = " ".join(texts) + "".join("\n  - " + child.replace("\n", "\n  ") for child in nested)
        if text.strip():
            items.append(text.lstrip("\n"))
    return items


def _collect_item(
    container: Node, site_url: str | None, texts: list[str], nested: list[str]
) -> None:
    """The text of every paragraph (or heading) in a list item, in order, and the items
    of every list in it, whatever blocks they sit in."""
    children = container.children
    start = 0  # the inline nodes of a tight list's (hidden) paragraph: children[start:i]
    for i, child in enumerate(children):
        name = child.name
        if name not in BLOCKS:
            continue
        if start < i and (text := render_inline(children[start:i], site_url)):
            texts.append(text)
        start = i + 1
        if name in LISTS:
            nested.extend(render_list(child, site_url))
        elif name == "paragraph" or name in HEADINGS:
            if text := render_inline(child.children, site_url):
                texts.append(text)
        elif name == "blockquote":
            _collect_item(child, site_url, texts, nested)
    if start < len(children) and (text := render_inline(children[start:], site_url)):
        texts.append(text)


# A whitespace character (for emphasis rules) that is neither a space nor a tab (for
# block rules) and that real text hardly ever holds; see render_text_field.
_SENTINEL: Final = "\u205f"


def render_text_field(text: str, site_url: str | None) -> str:
    """A front matter ``summary`` / ``description`` as Discord Markdown (inline only)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    check_nesting(text)
    blocks = top_blocks(text)
    sentinel = not (len(blocks) == 1 and blocks[0][0].name == "paragraph")
    if sentinel:
        # The text reads as more than one paragraph ("2024. A year ...", "- a\n- b",
        # "# 1"): start every line with a character that cannot begin a block, so it
        # all stays one paragraph of inline markup, and drop it again afterwards.
        blocks = top_blocks(_SENTINEL + text.replace("\n", "\n" + _SENTINEL))
    if not blocks:
        return ""
    try:
        rendered = render_inline(blocks[0][0].children, site_url, sentinel=sentinel)
    except RecursionError:  # pragma: no cover - check_nesting keeps trees shallow
        raise ArticleError("markdown nested too deeply") from None
    return _WHITESPACE.sub(" ", rendered).strip()
