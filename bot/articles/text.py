"""Small pure text helpers shared by the Markdown and feed readers and the summary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
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


def _label(text: str) -> str:
    """A title as headings are compared: case-folded, whitespace collapsed, and the
    decoration around the words ("🔑 Key Takeaways:", "Key Takeaways —") dropped."""
    text = " ".join(text.split()).casefold()
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


@dataclass(frozen=True, slots=True)
class Headings:
    """The titles that open an article's takeaways (``NEWSBOT_TAKEAWAYS_HEADINGS``):
    matched in any case, with decoration around the words, and in the singular too
    ("Key Takeaway" for "Key Takeaways").

    ``word`` / ``word_bytes`` find where a title could be: every title holds the
    longest word of one of the names (a plural "s" dropped). They are ``None`` when a
    name is not all ASCII, as a search could miss it written in another case: then
    every block must be looked at.
    """

    names: frozenset[str]
    word: re.Pattern[str] | None
    word_bytes: re.Pattern[bytes] | None

    @classmethod
    def of(cls, names: Iterable[str]) -> Headings:
        """The headings for these names (at least one, each with a letter or digit)."""
        labels = frozenset(label for name in names if (label := _label(name)))
        if not labels:
            raise ValueError("at least one heading with a letter or digit is needed")
        words: list[str] = []
        for label in labels:
            ascii_words = re.findall(r"[a-z0-9]+", label)
            if not label.isascii() or not ascii_words:
                # "Points clés" could be written "POINTS CLÉS": no byte search finds both.
                return cls(labels, None, None)
            longest = max(ascii_words, key=len)
            words.append(longest[:-1] if len(longest) > 3 and longest.endswith("s") else longest)
        alternation = "|".join(sorted({re.escape(w) for w in words}, key=lambda w: (-len(w), w)))
        return cls(
            labels,
            re.compile(alternation, re.IGNORECASE),
            re.compile(alternation.encode(), re.IGNORECASE),
        )

    def match(self, title: str) -> bool:
        """Whether ``title`` (plain text) is one of the headings."""
        label = _label(title)
        return label in self.names or label + "s" in self.names


DEFAULT_HEADINGS: Final = Headings.of(["Key Takeaways"])
