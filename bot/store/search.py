"""User text -> a safe FTS5 query."""

from __future__ import annotations

import re
import unicodedata

# A term is worth searching for when it holds a letter or digit: FTS5's unicode61
# tokenizer splits on everything else, so a term without one matches nothing.
_HAS_TOKEN = re.compile(r"[^\W_]")


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for ``text``, or ``None`` when nothing is searchable.

    Every whitespace-separated term becomes a quoted string (so ``"``, ``*``, ``-``,
    ``NEAR(``, ``AND``, ``col:`` and parentheses lose their meaning), all terms must
    match, and the last one matches as a prefix (search-as-you-type).
    """
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    terms = [t for t in cleaned.split() if _HAS_TOKEN.search(t)]
    if not terms:
        return None
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    quoted[-1] += "*"
    return " ".join(quoted)
