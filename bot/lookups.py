"""Pure rendering of lookup results (``/news ...``) as Discord embed dicts and text.

Nothing here talks to Discord or the store: articles and tags in, embed dicts and
strings out, every one of them within Discord's limits whatever the input.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, overload

from bot.articles.model import normalise_tag
from bot.articles.text import clip

PAGE_SIZE = 5
TAGS_PER_PAGE = 20
EMBED_COLOR = 0x2B6CB0
MAX_CHOICES = 25  # Discord's limit for autocomplete answers
MAX_CHOICE_NAME = 100  # Discord's limit for a choice's name
MAX_CHOICE_VALUE = 100  # and for a string choice's value
# A result line links its headline; longer (or odd) URLs are left out rather than let a
# page of five lines outgrow the 4,096 characters of an embed description.
MAX_LINK_URL = 300
MAX_TITLE = 256  # embed title


class Categorised(Protocol):
    """An article's categories (a ``bot.store.StoredArticle`` has them)."""

    @property
    def categories(self) -> Sequence[str]: ...


class Listed(Protocol):
    """What a result line shows of an article (a ``bot.store.StoredArticle`` has it)."""

    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def tags(self) -> Sequence[str]: ...


# An article id as an autocomplete value carries it: ASCII digits only (str.isdigit also
# accepts "²", which int() refuses), and at most 18 of them (ids are SQLite integers, so
# a longer number can only be part of a headline).
_ARTICLE_ID = re.compile(r"[0-9]{1,18}")
_MARKDOWN = re.compile(r"([\\*_~`|>])")
_SAFE_URL = re.compile(r"https?://[^\s<>\[\]]+")


def escape_markdown(text: str) -> str:
    """``text`` shown literally in Discord: formatting characters escaped, brackets
    made round so they cannot open or close a masked link."""
    return _MARKDOWN.sub(r"\\\1", text).replace("[", "(").replace("]", ")")


def article_id(text: str) -> int | None:
    """The article id ``text`` is (``/news show``'s autocomplete values are ids), or None
    when it is not one and so can only be (part of) a headline."""
    return int(text) if _ARTICLE_ID.fullmatch(text) else None


def plural(count: int, noun: str) -> str:
    """``1 article``, ``2 articles``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def article_line(article: Listed) -> str:
    """One result: linked headline, then relative date and tags."""
    title = escape_markdown(clip(" ".join(article.title.split()), 200)) or "(untitled)"
    # Round brackets would end the masked link early.
    url = (article.url or "").replace("(", "%28").replace(")", "%29")
    linkable = len(url) <= MAX_LINK_URL and _SAFE_URL.fullmatch(url) is not None
    head = f"**[{title}]({url})**" if linkable else f"**{title}**"
    details = []
    if article.published_at is not None:
        details.append(f"<t:{int(article.published_at.timestamp())}:R>")
    if article.tags:
        details.append(escape_markdown(clip(", ".join(article.tags), 200)))
    return head + ("\n" + " · ".join(details) if details else "")


T = TypeVar("T")


class LazyPages(Sequence[T]):
    """``count`` pages, each made by ``render(index)`` the first time it is asked for.

    A lookup answers with its first page; most people never turn to the others, so
    rendering them all up front would only make every answer slower.
    """

    def __init__(self, count: int, render: Callable[[int], T]) -> None:
        self._count = count
        self._render = render
        self._made: dict[int, T] = {}

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("page index out of range")
        page = self._made.get(index)
        if page is None:
            page = self._made[index] = self._render(index)
        return page


def paginate(items: Sequence[str], size: int = PAGE_SIZE) -> list[list[str]]:
    """Split lines into pages of ``size``; always at least one (possibly empty) page."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def _footer(page: int, pages: int, total: str) -> str:
    return f"Page {page} of {pages} · {total}" if pages > 1 else total


@dataclass(frozen=True, slots=True)
class _Shown:
    """What a result line shows of an article, and nothing more: a paged answer keeps
    these (not whole stored articles, posts and all) until its buttons expire."""

    title: str
    url: str | None
    published_at: datetime | None
    tags: Sequence[str]


def result_pages(title: str, articles: Sequence[Listed]) -> LazyPages[dict[str, Any]]:
    """Embeds, one per page of :data:`PAGE_SIZE`, listing the articles in order (each
    page rendered when it is first shown)."""
    shown = [_Shown(a.title, a.url, a.published_at, a.tags) for a in articles]
    count = max(1, -(-len(shown) // PAGE_SIZE))
    total = plural(len(shown), "article")
    title = clip(title, MAX_TITLE)

    def render(index: int) -> dict[str, Any]:
        lines = [article_line(a) for a in shown[index * PAGE_SIZE : (index + 1) * PAGE_SIZE]]
        return {
            "title": title,
            "description": "\n\n".join(lines),
            "color": EMBED_COLOR,
            "footer": {"text": _footer(index + 1, count, total)},
        }

    return LazyPages(count, render)


def tag_pages(
    tags: Sequence[tuple[str, int]], per_page: int = TAGS_PER_PAGE
) -> list[dict[str, Any]]:
    """Embeds listing tags with their published article counts."""
    lines = [
        f"`{clip(tag, 80).replace('`', chr(0x2032))}` — {plural(count, 'article')}"
        for tag, count in tags
    ]
    pages = paginate(lines, per_page)
    total = plural(len(tags), "tag")
    return [
        {
            "title": "Tags in use",
            "description": "\n".join(page),
            "color": EMBED_COLOR,
            "footer": {"text": _footer(n, len(pages), total)},
        }
        for n, page in enumerate(pages, start=1)
    ]


def tag_as_written(tag: str, articles: Sequence[Listed]) -> str:
    """The spelling the articles use for ``tag`` (matched case-insensitively), else ``tag``."""
    return _as_written(tag, (written for article in articles for written in article.tags))


def category_as_written(category: str, articles: Sequence[Categorised]) -> str:
    """The spelling the articles use for ``category``, else ``category``."""
    labels = (written for article in articles for written in article.categories)
    return _as_written(category, labels)


def _as_written(label: str, written: Iterable[str]) -> str:
    key = normalise_tag(label)
    return next((w for w in written if normalise_tag(w) == key), label)


def closest_tags(wanted: str, known: Sequence[str], limit: int = 3) -> list[str]:
    """Known tags that look like ``wanted`` (for "did you mean" hints): close spellings
    first, then tags containing it."""
    needle = normalise_tag(wanted)
    if not needle:
        return []
    by_key: dict[str, str] = {}
    for tag in known:
        by_key.setdefault(normalise_tag(tag), tag)
    matches = difflib.get_close_matches(needle, list(by_key), n=limit, cutoff=0.6)
    contains = [k for k in by_key if needle in k and k not in matches]
    return [by_key[k] for k in (matches + contains)[:limit]]


def _or_list(items: Sequence[str]) -> str:
    shown = [f"**{escape_markdown(item)}**" for item in items]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def nothing_found(
    *,
    query: str | None,
    tag: str | None,
    known_tags: Sequence[str],
    category: str | None = None,
    known_categories: Sequence[str] = (),
) -> str:
    """A helpful "no results" answer for ``/news latest`` (no ``query``) or ``search``."""
    text = "No published articles"
    if query is not None:
        text += f" match “{escape_markdown(clip(query, 80))}”"
    if category:
        if tag:
            text += f" tagged **{escape_markdown(clip(tag, 80))}**"
        text += " in" if query is not None else " are in"
        text += f" the category **{escape_markdown(clip(category, 80))}**."
        if normalise_tag(category) not in {normalise_tag(c) for c in known_categories}:
            text += " No article is in that category: pick one from the list while typing."
        return text
    if tag:
        shown = escape_markdown(clip(tag, 80))
        text += f" with the tag **{shown}**." if query is not None else f" are tagged **{shown}**."
        if normalise_tag(tag) in {normalise_tag(t) for t in known_tags}:
            # The tag is right (and "did you mean" would cost a comparison with every
            # tag in use): the words are what found nothing.
            return text + (" Try fewer or different words." if query is not None else "")
        hints = closest_tags(tag, known_tags)
        if hints:
            text += f" Did you mean {_or_list(hints)}?"
        else:
            text += " No article uses that tag: `/news tags` lists the tags in use."
        return text
    if query is not None:
        return text + ". Try fewer or different words."
    return "No articles have been published yet."


def rank_choices(current: str, names: Sequence[str], limit: int = MAX_CHOICES) -> list[str]:
    """Autocomplete order: names starting with ``current`` (case-insensitively), then
    names containing it; with nothing typed, the first ``limit`` names as given."""
    needle = " ".join(current.split()).casefold()
    if not needle:
        return list(names[:limit])
    prefix = [n for n in names if n.casefold().startswith(needle)]
    inner = [n for n in names if needle in n.casefold() and not n.casefold().startswith(needle)]
    return (prefix + inner)[:limit]
