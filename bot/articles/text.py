"""Small pure text helpers shared by the Markdown and feed readers and the summary."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

ELLIPSIS = "…"

# Placeholder links that content templates leave behind, e.g. "[Keyword](/articles/slug)".
_PLACEHOLDER_TEXT = frozenset({"keyword", "keywords", "anchor text", "link text", "your keyword"})
_PLACEHOLDER_PATH = re.compile(r"/(?:[\w-]+/)*(?:slug|your-slug|article-slug|example)/?$", re.I)

# A sentence ends at . ! ? (optionally closed by quotes/brackets) followed by space.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")


def absolute_url(href: str, base: str | None) -> str | None:
    """``href`` made absolute against ``base``; ``None`` when that is impossible or unsafe.

    Only http(s) results are returned: ``javascript:``, ``data:`` and friends are
    dropped, and so is a relative link when there is no base to resolve it against.
    """
    href = href.strip()
    if not href:
        return None
    try:
        if base:
            href = urljoin(base if base.endswith("/") else base + "/", href)
        parts = urlsplit(href)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a usable link
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return href


def is_placeholder_text(text: str) -> bool:
    """True for the words of a template leftover link ("Keyword"), whatever its URL."""
    return text.strip().casefold() in _PLACEHOLDER_TEXT


def is_placeholder_link(text: str, href: str) -> bool:
    """True for template leftovers such as ``[Keyword](/articles/slug)``."""
    if is_placeholder_text(text):
        return True
    if not href:
        return False  # no path to look at
    try:
        path = urlsplit(href.strip()).path
    except ValueError:
        return False
    return bool(_PLACEHOLDER_PATH.search(path))


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


def first_sentences(text: str, limit: int) -> str:
    """As many whole sentences of ``text`` as fit in ``limit``; else a word-boundary clip."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = 0
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        if match.end() <= limit:
            end = match.end()
    if end:
        return text[:end]
    return clip(text, limit)
