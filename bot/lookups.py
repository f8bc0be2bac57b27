"""Pure rendering of lookup results (``/news ...``) as Discord embed dicts and text."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from bot.articles.text import clip
from bot.store import StoredArticle

PAGE_SIZE = 5
EMBED_COLOR = 0x2B6CB0
MAX_CHOICE_NAME = 100


def article_line(article: StoredArticle) -> str:
    """One result: linked headline, then relative date and tags."""
    title = clip(article.title, 200).replace("[", "(").replace("]", ")")
    head = f"**[{title}]({article.url})**" if article.url else f"**{title}**"
    details = []
    if article.published_at is not None:
        details.append(f"<t:{int(article.published_at.timestamp())}:R>")
    if article.tags:
        details.append(clip(", ".join(article.tags), 200))
    return head + ("\n" + " · ".join(details) if details else "")


def paginate(items: Sequence[str], size: int = PAGE_SIZE) -> list[list[str]]:
    """Split lines into pages of ``size``; always at least one (possibly empty) page."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def result_pages(title: str, articles: Sequence[StoredArticle]) -> list[dict[str, Any]]:
    """Embeds, one per page, listing the articles in order."""
    pages = paginate([article_line(a) for a in articles])
    return [
        {
            "title": clip(title, 256),
            "description": "\n\n".join(lines),
            "color": EMBED_COLOR,
            "footer": {"text": f"Page {n} of {len(pages)} · {len(articles)} articles"},
        }
        for n, lines in enumerate(pages, start=1)
    ]


def tag_pages(tags: Sequence[tuple[str, int]], per_page: int = 20) -> list[dict[str, Any]]:
    """Embeds listing tags with their article counts."""
    lines = [
        f"`{clip(tag, 80)}` — {count} article{'s' if count != 1 else ''}" for tag, count in tags
    ]
    pages = paginate(lines, per_page)
    return [
        {
            "title": "Tags in use",
            "description": "\n".join(page),
            "color": EMBED_COLOR,
            "footer": {"text": f"Page {n} of {len(pages)} · {len(tags)} tags"},
        }
        for n, page in enumerate(pages, start=1)
    ]


def closest_tags(wanted: str, known: Sequence[str], limit: int = 3) -> list[str]:
    """Known tags that look like ``wanted`` (for "did you mean" hints)."""
    by_key = {tag.casefold(): tag for tag in known}
    matches = difflib.get_close_matches(wanted.casefold(), list(by_key), n=limit, cutoff=0.5)
    contains = [k for k in by_key if wanted.casefold() in k and k not in matches]
    return [by_key[k] for k in (matches + contains)[:limit]]


def nothing_found(what: str, *, tag: str | None, known_tags: Sequence[str]) -> str:
    """A helpful "no results" answer."""
    if tag:
        hints = closest_tags(tag, known_tags)
        text = f"No published articles {what} with the tag **{clip(tag, 80)}**."
        if hints:
            text += " Did you mean " + ", ".join(f"**{h}**" for h in hints) + "?"
        else:
            text += " Try `/news tags` to see the tags in use."
        return text
    return f"No published articles {what}." + (
        " Try fewer or different words." if what.startswith("match") else ""
    )


def rank_choices(current: str, names: Sequence[str], limit: int = 25) -> list[str]:
    """Autocomplete order: prefix matches, then substring matches, then the rest if empty."""
    needle = current.strip().casefold()
    if not needle:
        return list(names[:limit])
    prefix = [n for n in names if n.casefold().startswith(needle)]
    inner = [n for n in names if needle in n.casefold() and n not in prefix]
    return (prefix + inner)[:limit]
