"""User text -> a safe FTS5 query."""

from __future__ import annotations

import re
import unicodedata

# A term is worth searching for when it holds a letter or digit: FTS5's unicode61
# tokenizer splits on everything else, so a term without one matches nothing.
_HAS_TOKEN = re.compile(r"[^\W_]")


#: A last word with fewer letters and digits than this is matched as typed only: as a
#: prefix (``a*``) it would match most of the index, and cost as much to read.
PREFIX_MIN_CHARS = 3


def _words(text: str) -> list[str]:
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return [t for t in cleaned.split() if _HAS_TOKEN.search(t)]


def search_words(text: str) -> str:
    """The searchable words of ``text``, space-separated: what PostgreSQL's full-text
    search is given (it splits and normalises them as it does the articles)."""
    return " ".join(_words(text))


def fts_terms(text: str) -> list[str]:
    """The searchable terms of ``text``, each an FTS5 string (quoted, so ``"``, ``*``,
    ``-``, ``NEAR(``, ``AND``, ``col:`` and parentheses lose their meaning)."""
    return ['"' + t.replace('"', '""') + '"' for t in _words(text)]


def fts_query(text: str, *, prefix: bool = True) -> str | None:
    """The FTS5 MATCH expression for ``text``, or ``None`` when nothing is searchable.

    Every whitespace-separated term becomes a quoted string (see :func:`fts_terms`),
    all terms must match, and with ``prefix`` the last one matches as a prefix
    (search-as-you-type).
    """
    terms = fts_terms(text)
    if not terms:
        return None
    if prefix:
        terms[-1] += "*"
    return " ".join(terms)


def search_expressions(text: str) -> list[str]:
    """The MATCH expressions a search for ``text`` tries, in order: the words as
    typed, then with the last one as a prefix (unless it is shorter than
    :data:`PREFIX_MIN_CHARS`). Empty when nothing is searchable."""
    words = _words(text)
    if not words:
        return []
    exact = " ".join(fts_terms(text))
    if sum(ch.isalnum() for ch in words[-1]) < PREFIX_MIN_CHARS:
        return [exact]
    return [exact, exact + "*"]
