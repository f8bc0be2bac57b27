"""Article -> the exact JSON body of Discord's Create Message request.

Pure: no discord.py, no aiohttp, no store. ``render_message`` is what the sender
posts to ``POST /channels/{id}/messages`` (and what ``newsbot preview --json``
prints); ``render_text`` shows such a body in a terminal.

Rendering rules, in one place:

* One embed. ``title`` is the headline; ``url`` the article's link when it is an
  absolute http(s) URL; ``description`` the Key Takeaways as a ``- `` list (or, with
  no takeaways, the lede / description / summary); ``author`` the authors joined by
  ", "; ``timestamp`` the publish time in UTC; ``image`` the featured image when its
  URL is absolute; ``footer`` "Site · Category, … · Tags: a, b, …"; ``color``
  :data:`DEFAULT_COLOR` unless given.
* Every limit Discord documents is respected, counted in Python characters (code
  points), as Discord counts them. The description wins the 6,000-character embed
  budget over the footer: title, author and description are fixed first and the
  footer gets what is left (always at least 1,392 characters).
* A description that is too long loses whole trailing items first and ends with a
  line "…and N more"; only an item that cannot fit on its own is cut inside, at a
  word boundary with "…", never inside a link, code span, mention or URL and never
  leaving ``**``, ``*``, ``__``, ``_``, ``~~``, ``||`` or backticks unbalanced.
* Nothing the article says can ping anyone: ``allowed_mentions`` is always sent
  and only ever allows the one role asked for; ``content`` holds no article text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.articles.model import Article, unique_tags
from bot.articles.text import ELLIPSIS, absolute_url, clip

__all__ = [
    "DEFAULT_COLOR",
    "MAX_AUTHOR",
    "MAX_CONTENT",
    "MAX_DESCRIPTION",
    "MAX_EMBED_TOTAL",
    "MAX_FIELD_NAME",
    "MAX_FIELD_VALUE",
    "MAX_FOOTER",
    "MAX_TITLE",
    "MAX_URL",
    "TEST_MARKER",
    "allowed_mentions",
    "checked_color_and_roles",
    "clip_markdown",
    "neutralise_mentions",
    "render_message",
    "render_text",
]

# Discord's documented limits, in characters.
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_AUTHOR = 256
MAX_EMBED_TOTAL = 6000
MAX_CONTENT = 2000
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
# Embed URLs (link, image) are capped by Discord's OpenAPI schema.
MAX_URL = 2048

#: Embed side-bar colour when none is configured: Discord's "blurple", which reads
#: well on both the light and the dark theme.
DEFAULT_COLOR = 0x5865F2

#: ``content`` of a test post (``/newsadmin test`` and friends).
TEST_MARKER = "🧪 Test post — this is how articles will look here."

_UNTITLED = "Untitled article"
_FOOTER_SEP = " · "
_LIST_SEP = ", "
_TAGS_PREFIX = "Tags: "
_MAX_SITE_NAME = 256
_MAX_CATEGORIES = 512
# Characters stripped from the end of a cut before the ellipsis goes on.
_TRAILING = " \t\n,;:-–—"


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def render_message(
    article: Article,
    *,
    color: int | None = None,
    mention_role_ids: Sequence[int] = (),
    test: bool = False,
    site_name: str | None = None,
) -> dict[str, Any]:
    """The exact JSON body of Discord's Create Message request for ``article``.

    ``color`` is the embed colour (0..0xFFFFFF, default :data:`DEFAULT_COLOR`);
    ``mention_role_ids`` puts ``<@&ID>`` for each in ``content`` and allows exactly
    those roles to be pinged; ``test`` adds :data:`TEST_MARKER` to ``content``; ``site_name``
    (else the article's own) opens the footer. The result holds only JSON types and
    depends on nothing but the arguments.
    """
    color, roles = checked_color_and_roles(color, mention_role_ids)

    embed: dict[str, Any] = {}
    title = clip_markdown(_one_line(article.title), MAX_TITLE) or _UNTITLED
    embed["title"] = title
    url = _web_url(article.url)
    if url is not None:
        embed["url"] = url

    authors = _unique_lines(article.authors)
    author = _join_bounded(authors, MAX_AUTHOR) if authors else ""

    description = _description(
        article, min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - len(title) - len(author))
    )
    if description:
        embed["description"] = description
    embed["color"] = color

    published = article.published_at
    if published is not None:
        embed["timestamp"] = _iso_utc(published)
    if author:
        embed["author"] = {"name": author}
    image = _web_url(article.image)
    if image is not None:
        embed["image"] = {"url": image}

    footer_budget = min(MAX_FOOTER, MAX_EMBED_TOTAL - len(title) - len(author) - len(description))
    footer = _footer(article, site_name or article.site_name, footer_budget)
    if footer:
        embed["footer"] = {"text": footer}

    message: dict[str, Any] = {}
    content = _content(roles, test)
    if content:
        message["content"] = content
    message["embeds"] = [embed]
    message["allowed_mentions"] = allowed_mentions(roles)
    return message


def checked_color_and_roles(
    color: int | None, mention_role_ids: Sequence[int]
) -> tuple[int, list[int]]:
    """The embed colour (:data:`DEFAULT_COLOR` for ``None``) and the roles, each once;
    raises ``ValueError`` for a colour outside 0..0xFFFFFF or a role id that is not a
    positive integer."""
    if color is None:
        color = DEFAULT_COLOR
    if isinstance(color, bool) or not isinstance(color, int) or not 0 <= color <= 0xFFFFFF:
        raise ValueError(f"embed colour must be an integer 0..0xFFFFFF, got {color!r}")
    for role in mention_role_ids:
        if isinstance(role, bool) or not isinstance(role, int) or role <= 0:
            raise ValueError(f"role id must be a positive integer, got {role!r}")
    return color, list(dict.fromkeys(mention_role_ids))


def allowed_mentions(roles: Sequence[int]) -> dict[str, Any]:
    """``allowed_mentions`` pinging these roles and nobody else."""
    allowed: dict[str, Any] = {"parse": []}
    if roles:
        allowed["roles"] = [str(role) for role in roles]
    return allowed


def render_text(message: dict[str, Any]) -> str:
    """A Create Message body as plain terminal text (``newsbot preview``, dry runs).

    Laid out as Discord lays out the post: content, then per embed the author (above
    the headline, "By ..."), the headline and its link, the description as sent
    (Markdown kept), the image, and the footer line with the embed's time after " • ".
    The time is ISO 8601 in UTC, for scripts; Discord shows it in each reader's own time
    zone and date format. Control characters are replaced so article text can never
    drive the terminal.
    """
    blocks: list[str] = []
    content = message.get("content")
    if isinstance(content, str) and content:
        blocks.append(content)
    embeds = message.get("embeds") or []
    for embed in embeds:
        if not isinstance(embed, dict):
            continue
        author = _text_of(_get(embed, "author", "name"))
        head = [f"By {author}" if author else "", _text_of(embed.get("title"))]
        head.append(_text_of(embed.get("url")))
        blocks.append("\n".join(line for line in head if line))
        description = _text_of(embed.get("description"))
        if description:
            blocks.append(description)
        tail: list[str] = []
        image = _text_of(_get(embed, "image", "url"))
        if image:
            tail.append(f"Image: {image}")
        footer = _text_of(_get(embed, "footer", "text"))
        timestamp = _text_of(embed.get("timestamp"))
        bottom = " • ".join(part for part in (footer, timestamp) if part)
        if bottom:
            tail.append(bottom)
        if tail:
            blocks.append("\n".join(tail))
    text = "\n\n".join(block for block in blocks if block)
    return _terminal_safe(text)


_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")


def neutralise_mentions(text: str) -> str:
    """``text`` with ``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>`` and
    ``<#id>`` defused by a zero-width space, so it cannot ping even without
    ``allowed_mentions``."""

    def defuse(match: re.Match[str]) -> str:
        if match.group(1):
            return "@\u200b" + match.group(1)
        return "<" + match.group(2)[0] + "\u200b" + match.group(2)[1:] + match.group(3) + ">"

    return _MENTION.sub(defuse, text)


def clip_markdown(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters without breaking its Markdown.

    Cuts at a word boundary and appends "…". A cut never lands inside a link,
    code span, mention, bare URL or escape, and never leaves an emphasis, strike or
    spoiler marker unbalanced: it moves before the construct instead. Only when the
    text *starts* with a construct too long for ``limit`` is that construct cut
    inside, keeping its markers around the shortened text.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    if limit == 1:
        return ELLIPSIS
    room = limit - 1
    spans = _spans(text, room, min(len(text), 4 * limit + 4096))
    cut = _cut(text, spans, room)
    if cut:
        return cut + ELLIPSIS
    # Nothing clean fits before the first construct: shorten the construct itself.
    lead = len(text) - len(text.lstrip(_TRAILING))
    blocking = next((span for span in spans if span.end > lead), None)
    if blocking is None:
        return clip(text, limit) or ELLIPSIS
    return _clip_construct(text, blocking, limit)


# --------------------------------------------------------------------------- #
# Message parts
# --------------------------------------------------------------------------- #


def _content(roles: Sequence[int], test: bool) -> str:
    parts = [f"<@&{role}>" for role in roles]
    if test:
        # Defused anyway: only the role mention built above may ever ping.
        parts.append(neutralise_mentions(TEST_MARKER))
    return " ".join(parts)


def _description(article: Article, budget: int) -> str:
    items = [item for item in (_block(t) for t in article.takeaways) if item]
    if items:
        return _bullets(items, budget)
    for text in (article.lede, article.description, article.summary):
        if text is not None:
            block = _block(text)
            if block:
                return clip_markdown(block, budget)
    return ""


def _bullets(items: list[str], budget: int) -> str:
    lines = ["- " + item for item in items]
    if sum(map(len, lines)) + len(lines) - 1 <= budget:
        return "\n".join(lines)
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = _more(len(lines) - index - 1)
        extra = len(line) + (1 if kept else 0)
        tail = len(more) + 1 if more else 0
        if used + extra + tail > budget:
            break
        kept.append(line)
        used += extra
    if not kept:
        # The first item cannot fit even alone: it is the one place we cut inside.
        more = _more(len(lines) - 1)
        room = budget - 2 - (len(more) + 1 if more else 0)
        kept.append("- " + clip_markdown(items[0], room))
    dropped = len(lines) - len(kept)
    if dropped:
        kept.append(_more(dropped))
    return "\n".join(kept)


def _more(count: int) -> str:
    return f"{ELLIPSIS}and {count} more" if count else ""


def _footer(article: Article, site_name: str | None, budget: int) -> str:
    tags = _unique_lines(article.tags)
    # One-line values: their matching key (normalise_tag) is their case-folded self.
    tag_keys = {t.casefold() for t in tags}
    categories = [c for c in _unique_lines(article.categories) if c.casefold() not in tag_keys]
    site = _one_line(site_name or "")
    candidates: list[tuple[list[str], str, int]] = []
    if site:
        candidates.append(([site], "", _MAX_SITE_NAME))
    if categories:
        candidates.append((categories, "", _MAX_CATEGORIES))
    if tags:
        candidates.append((tags, _TAGS_PREFIX, MAX_FOOTER))
    parts: list[str] = []
    remaining = budget
    for values, prefix, limit in candidates:
        sep = len(_FOOTER_SEP) if parts else 0
        space = min(limit, remaining - sep)
        # A part squeezed below a few characters would say nothing.
        if space < len(prefix) + 8:
            continue
        part = _join_bounded(values, space, prefix=prefix)
        remaining -= len(part) + sep
        parts.append(part)
    return _FOOTER_SEP.join(parts)


def _join_bounded(values: list[str], limit: int, *, prefix: str = "") -> str:
    """``prefix`` + values joined by ", ", as many as fit, then " +N more"."""
    text = prefix + _LIST_SEP.join(values)
    if len(text) <= limit:
        return text
    shown: list[str] = []
    length = len(prefix)
    for index, value in enumerate(values):
        rest = len(values) - index - 1
        suffix = f" +{rest} more" if rest else ""
        extra = len(value) + (len(_LIST_SEP) if shown else 0)
        if length + extra + len(suffix) > limit:
            break
        shown.append(value)
        length += extra
    if not shown:
        rest = len(values) - 1
        suffix = f" +{rest} more" if rest else ""
        shown.append(clip(values[0], limit - len(prefix) - len(suffix)))
    rest = len(values) - len(shown)
    return prefix + _LIST_SEP.join(shown) + (f" +{rest} more" if rest else "")


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
# Whitespace, control characters (Unicode category Cc) and lone surrogates (Cs).
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _web_url(value: str | None) -> str | None:
    """An absolute http(s) URL Discord accepts, or ``None``.

    Non-ASCII characters are percent-encoded (an IRI is not a URI); anything with
    whitespace or control characters, or longer than Discord allows, is dropped.
    """
    if not value:
        return None
    value = value.strip()
    if _NOT_IN_URL.search(value):
        return None
    url = absolute_url(value, None)
    if url is None:
        return None
    # Leaves a valid URI as it is; encodes what a URI may not hold (IRI characters,
    # backslashes, braces...).
    url = quote(url, safe=_URL_SAFE)
    if len(url) > MAX_URL:
        return None
    return url


# --------------------------------------------------------------------------- #
# Text hygiene
# --------------------------------------------------------------------------- #

# C0/C1 controls except tab and newline, DEL, lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _one_line(text: str) -> str:
    """Whitespace collapsed to single spaces, control characters removed."""
    return " ".join(_CONTROL.sub("", text).split())


def _block(text: str) -> str:
    """Multi-line text with normalised newlines, no controls, no trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _unique_lines(values: Iterable[str]) -> list[str]:
    """The values as one line each, without empty ones and without repeats (by
    :func:`~bot.articles.model.normalise_tag`), in order."""
    return list(unique_tags(_one_line(value) for value in values))


_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _terminal_safe(text: str) -> str:
    return _TERMINAL_UNSAFE.sub("\ufffd", text)


def _text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def _get(mapping: dict[str, Any], key: str, sub: str) -> object:
    inner = mapping.get(key)
    return inner.get(sub) if isinstance(inner, dict) else None


# --------------------------------------------------------------------------- #
# Markdown-aware cutting
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class _Span:
    """A construct a cut must not enter: ``[start, end)``; ``inner`` its body."""

    start: int
    end: int
    kind: str  # "emphasis", "link", "code" or "atom"
    marker: str = ""
    inner_start: int = 0
    inner_end: int = 0


# Constructs that are one indivisible piece.
_ESCAPE = re.compile(r"\\[^\w\s]")
_CODE = re.compile(r"(`+)(?!`)([\s\S]*?[^`])\1(?!`)")
_LINK = re.compile(
    r"\[((?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*)\]"
    r"\(\s*(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_ANGLE = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9+.-]*:[^<>\s]+|[@#:!&a-zA-Z0-9_]+:?[^<>\s]*)>")
_BARE_URL = re.compile(r"https?://[^\s<]+", re.I)
_MARKERS = ("**", "__", "~~", "||", "*", "_")
# Where the next construct could start: plain text in between is skipped at C speed.
_NEXT = re.compile(r"[\\`\[<*_~|]|https?://", re.I)


def _spans(text: str, stop: int, horizon: int) -> list[_Span]:
    """The top-level constructs of ``text`` that start before ``stop``, in order.

    Deliberately conservative: anything that *might* pair up is treated as a pair,
    because the cost of a false pair is a shorter cut and the cost of a missed one
    is broken formatting. Closers are looked for up to ``horizon`` only, so a huge
    text costs no more than its first few pages; an opener whose closer may lie
    beyond the horizon blocks everything after it.
    """
    spans: list[_Span] = []
    no_closer: set[str] = set()  # markers known to have no closer at all further on
    i = 0
    # "https://" is found only when its "h" is before ``stop``, however it ends.
    search_end = min(len(text), stop + 8)
    while (found := _NEXT.search(text, i, search_end)) is not None and found.start() < stop:
        i = found.start()
        atom = _atom_at(text, i, horizon)
        if atom is not None:
            spans.append(atom)
            i = atom.end
            continue
        marker = next((m for m in _MARKERS if text.startswith(m, i)), None)
        if marker is None:
            i += 1
            continue
        close = -1 if marker in no_closer else _closer(text, i + len(marker), marker, horizon)
        if close == -1:
            no_closer.add(marker)
            i += len(marker)
            continue
        if close == -2:
            spans.append(_Span(i, horizon, "atom"))
            break
        end = close + len(marker)
        spans.append(_Span(i, end, "emphasis", marker, i + len(marker), close))
        i = end
    return spans


def _atom_at(text: str, i: int, horizon: int) -> _Span | None:
    ch = text[i]
    if ch == "\\":
        m = _ESCAPE.match(text, i)
        return _Span(i, m.end(), "atom") if m else None
    if ch == "`":
        m = _CODE.match(text, i, horizon)
        if m:
            return _Span(i, m.end(), "code", m.group(1), m.start(2), m.end(2))
        # The closing fence may lie past the horizon: keep clear of the whole rest.
        return _Span(i, horizon, "atom") if horizon < len(text) else None
    if ch == "[":
        m = _LINK.match(text, i)
        return _Span(i, m.end(), "link", "", m.start(1), m.end(1)) if m else None
    if ch == "<":
        m = _ANGLE.match(text, i)
        return _Span(i, m.end(), "atom") if m else None
    if ch in "hH":
        m = _BARE_URL.match(text, i)
        return _Span(i, m.end(), "atom") if m else None
    return None


def _closer(text: str, i: int, marker: str, horizon: int) -> int:
    """Index of the marker closing one opened just before ``i``; -1 when there is
    none, -2 when there is none before ``horizon`` but the text goes on."""
    start = i
    double = marker * 2
    while (found := _NEXT.search(text, i, horizon)) is not None:
        i = found.start()
        atom = _atom_at(text, i, horizon)
        if atom is not None:
            i = atom.end
            continue
        if len(marker) == 1 and text.startswith(double, i):
            # "**" inside "*...*" opens or closes a nested bold, not the italic.
            i += 2
            continue
        if text.startswith(marker, i) and i + len(marker) <= horizon:
            if i > start:
                return i
            i += len(marker)
            continue
        i += 1
    return -1 if horizon >= len(text) else -2


def _cut(text: str, spans: list[_Span], room: int) -> str:
    """The longest clean prefix of ``text`` of at most ``room`` characters, or ""."""
    blocked = bytearray(room + 1)  # 1 where cutting at that index is unsafe
    for span in spans:
        if span.start >= room:
            break
        for p in range(span.start + 1, min(span.end, room + 1)):
            blocked[p] = 1
    word = 0
    hard = 0
    for p in range(room, 0, -1):
        if blocked[p]:
            continue
        if text[p].isspace() or text[p - 1].isspace():
            word = p
            break
        if not hard and _hard_cut_ok(text, p):
            hard = p
    p = word if word > room // 2 else (hard or word)
    return _tidy(text[:p]) if p > 0 else ""


def _tidy(cut: str) -> str:
    while True:
        trimmed = cut.rstrip(_TRAILING).rstrip("\\")
        if trimmed == cut:
            return cut
        cut = trimmed


def _hard_cut_ok(text: str, p: int) -> bool:
    """False where a mid-word cut would split a visible character (accent, emoji
    sequence) or a run of Markdown markers such as ``**``."""
    if p >= len(text):
        return True
    after = text[p]
    before = text[p - 1]
    if before == after and after in "*_~|`":
        return False
    if before == "\u200d" or after in "\u200d\ufe0e\ufe0f":
        return False
    if unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return False
    if "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return False
    if "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff":
        # Regional indicators pair up into flags, counted from the run's start.
        run = p
        while run > 0 and "\U0001f1e6" <= text[run - 1] <= "\U0001f1ff":
            run -= 1
        return (p - run) % 2 == 0
    return True


def _clip_construct(text: str, span: _Span, limit: int) -> str:
    """``text[span]`` shortened to ``limit`` characters, markers kept in pairs.

    Only called when the construct is at least ``limit`` long, so its body must
    lose something: every branch returns a visibly shortened piece.
    """
    body = text[span.inner_start : span.inner_end]
    if span.kind in ("emphasis", "code"):
        room = min(limit - 2 * len(span.marker), len(body) - 1)
        if room < 2:
            return ELLIPSIS
        # Code bodies hold no Markdown, so a plain word-boundary clip is right there.
        shortened = clip_markdown(body, room) if span.kind == "emphasis" else clip(body, room)
        return span.marker + shortened + span.marker if shortened else ELLIPSIS
    if span.kind == "link":
        target = text[span.inner_end : span.end]  # "](url)"
        room = min(limit - 1 - len(target), len(body) - 1)
        if room > 16:
            return "[" + clip_markdown(body, room) + target
        # The target is too long to keep: show the label, unlinked.
        label = clip_markdown(body, limit - 2)
        return (
            label + " " + ELLIPSIS if label and not label.endswith(ELLIPSIS) else label or ELLIPSIS
        )
    return ELLIPSIS
