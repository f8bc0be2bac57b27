"""A subscription's message format: moderator templates -> the post's JSON body.

Pure: no discord.py, no store, no I/O. Moderator text is data, never code: a template
is literal text with placeholders in double braces, ``{{title}}`` or ``{{name:arg}}``
(:data:`PLACEHOLDERS`), and nothing else is interpreted. :func:`parse_format` refuses
an unknown placeholder or a malformed template with the field, line and column and a
suggestion; :func:`render_formatted` fills a format in for an article.

Whatever a format and an article produce keeps the guarantees of
:func:`bot.summary.render_message`: Discord's limits are met (parts clipped at
Markdown-safe points), article text cannot ping anyone (mentions defused, and
``allowed_mentions`` allows only the subscription's roles), and text outside
``{{takeaways}}`` and ``{{summary}}`` cannot form a masked link. The default format is
today's post, rendered by ``render_message`` itself.

Lines and parts of a line between " · " separators whose placeholders all came out
empty are left out, so "Tags: {{tags}}" disappears for an article without tags.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.articles.model import Article
from bot.articles.text import clip
from bot.summary import (
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_FOOTER,
    MAX_TITLE,
    TEST_MARKER,
    _block,
    _iso_utc,
    _join_bounded,
    _one_line,
    _unique_lines,
    _web_url,
    allowed_mentions,
    checked_color_and_roles,
    clip_markdown,
    neutralise_mentions,
    render_message,
)

__all__ = [
    "DEFAULT_FORMAT",
    "FIELDS",
    "PLACEHOLDERS",
    "Format",
    "FormatError",
    "article_values",
    "format_texts",
    "format_to_json",
    "parse_format",
    "read_format",
    "render_formatted",
    "switches_text",
]

#: Placeholder names and what they take after a colon (None: nothing).
PLACEHOLDERS: dict[str, str | None] = {
    "title": None,
    "url": None,
    "takeaways": "N",  # the first N takeaways
    "summary": None,
    "author": None,
    "tags": None,
    "categories": None,
    "date": "style",  # a Discord timestamp style letter
    "image": None,
    "site": None,
    "mention": None,
}
#: Discord timestamp styles (<t:unix:STYLE>); ``f`` is "20 April 2021 16:20".
DATE_STYLES = "tTdDfFR"
MAX_TAKEAWAYS_ARG = 50
SWITCHES = ("embed", "image", "footer")
_ON = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}

#: The modal's fields: (key, label, longest template).
FIELDS = (
    ("content", "Content line", MAX_CONTENT),
    ("title", "Embed title", MAX_TITLE),
    ("description", "Embed description", 4000),
    ("footer", "Embed footer", MAX_FOOTER),
    ("switches", "Switches", 100),
)
_LABELS = {key: label for key, label, _ in FIELDS}
_SEP = " · "
_PLACEHOLDER = re.compile(r"\s*([A-Za-z_]+)(?::([^{}]*))?\s*")


class FormatError(ValueError):
    """A format refused at save time; ``str(err)`` tells the moderator where and why."""


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    arg: str | None


# A template: lines, each a tuple of " · " parts, each a tuple of literal texts and slots.
_Part = tuple[str | _Slot, ...]
_Template = tuple[tuple[_Part, ...], ...]


@dataclass(frozen=True, slots=True)
class Format:
    """A subscription's format: four templates and three switches (see the module)."""

    content: str = "{{mention}}"
    title: str = "{{title}}"
    description: str = "{{takeaways}}"
    footer: str = "{{categories}} · Tags: {{tags}}"
    embed: bool = True
    image: bool = True
    show_footer: bool = True
    _parsed: dict[str, _Template] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for key in ("content", "title", "description", "footer"):
            self._parsed[key] = _parse(key, getattr(self, key))
        if not self.embed and not any(
            isinstance(x, _Slot) for line in self._parsed["content"] for p in line for x in p
        ):
            raise FormatError(
                f"{_LABELS['content']}: with `embed: off` the content line is the whole "
                "post, so it needs a placeholder such as {{title}} or {{url}}."
            )

    @property
    def is_default(self) -> bool:
        """Whether this is the default format (today's post)."""
        return self == DEFAULT_FORMAT


def parse_format(content: str, title: str, description: str, footer: str, switches: str) -> Format:
    """A format from the modal's five texts; raises :class:`FormatError`."""
    texts = {"content": content, "title": title, "description": description, "footer": footer}
    for key, text in texts.items():
        _parse(key, text)  # positions as the moderator sees them, before trimming
    flags = _parse_switches(switches)
    return Format(
        content.strip(),
        title.strip(),
        description.strip(),
        footer.strip(),
        flags["embed"],
        flags["image"],
        flags["footer"],
    )


def switches_text(fmt: Format) -> str:
    """The switches as the modal shows them: ``embed: on, image: on, footer: on``."""
    values = (fmt.embed, fmt.image, fmt.show_footer)
    return ", ".join(f"{k}: {'on' if v else 'off'}" for k, v in zip(SWITCHES, values, strict=True))


def format_texts(fmt: Format) -> dict[str, str]:
    """The modal's five texts for ``fmt`` (:func:`parse_format` takes them back)."""
    return {
        "content": fmt.content,
        "title": fmt.title,
        "description": fmt.description,
        "footer": fmt.footer,
        "switches": switches_text(fmt),
    }


#: The keys of a stored format (:func:`format_to_json`) and the type of each.
_STORED: dict[str, type] = {
    "content": str,
    "title": str,
    "description": str,
    "footer": str,
    "embed": bool,
    "image": bool,
    "show_footer": bool,
}


def format_to_json(fmt: Format) -> str | None:
    """How the store keeps a format (``None``: the default)."""
    if fmt.is_default:
        return None
    return json.dumps({k: getattr(fmt, k) for k in _STORED}, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def read_format(text: str | None) -> tuple[Format, str | None]:
    """A stored format (``None``: the default) and ``None``; or, when this version
    can't read it (saved by a newer version, say), the default format and why not."""
    if text is None:
        return DEFAULT_FORMAT, None
    try:
        data = json.loads(text)
    except ValueError:
        return DEFAULT_FORMAT, "it is not a saved format"
    if not isinstance(data, dict):
        return DEFAULT_FORMAT, "it is not a saved format"
    unknown = sorted(data.keys() - _STORED.keys())
    if unknown:
        return DEFAULT_FORMAT, f"it has parts I don't know: {', '.join(unknown)}"
    wrong = [k for k, v in data.items() if type(v) is not _STORED[k]]
    if wrong:
        return DEFAULT_FORMAT, f"its {', '.join(wrong)} are not what I expect"
    try:
        return Format(**data), None
    except FormatError as error:
        return DEFAULT_FORMAT, str(error)


def render_formatted(
    article: Article,
    fmt: Format,
    *,
    color: int | None = None,
    mention_role_ids: tuple[int, ...] = (),
    test: bool = False,
) -> dict[str, Any]:
    """The Create Message body of ``article`` in ``fmt`` (see the module docstring)."""
    if fmt.is_default:
        return render_message(article, color=color, mention_role_ids=mention_role_ids, test=test)
    color, roles = checked_color_and_roles(color, mention_role_ids)
    values = _values(article, tuple(roles))
    parsed = fmt._parsed
    message: dict[str, Any] = {}
    content = clip_markdown(_fill(parsed["content"], values), MAX_CONTENT)
    embed: dict[str, Any] = {}
    if fmt.embed:
        title = clip_markdown(_one_line(_fill(parsed["title"], values)), MAX_TITLE)
        if title:
            embed["title"] = title
            if values["url"]:
                embed["url"] = values["url"]
        # The embed's author line, as in today's post (an embed's author never pings).
        authors = _unique_lines(article.authors)
        author = _join_bounded(authors, MAX_AUTHOR) if authors else ""
        budget = min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - len(title) - len(author))
        description = clip_markdown(_fill(parsed["description"], values, links=True), budget)
        if description:
            embed["description"] = description
        embed["color"] = color
        if article.published_at is not None:
            embed["timestamp"] = _iso_utc(article.published_at)
        if author:
            embed["author"] = {"name": author}
        if fmt.image and values["image"]:
            embed["image"] = {"url": values["image"]}
        if fmt.show_footer:
            room = MAX_EMBED_TOTAL - len(title) - len(author) - len(description)
            footer = clip(_fill(parsed["footer"], values), min(MAX_FOOTER, room))
            if footer:
                embed["footer"] = {"text": footer}
    if test:
        # Never clipped off: a test post says so (and so differs from the real post).
        marker = neutralise_mentions(TEST_MARKER)
        content = f"{clip_markdown(content, MAX_CONTENT - len(marker) - 1)} {marker}".strip()
    if not content and not embed.keys() - {"color", "timestamp"}:
        # Nothing came out (say "{{author}}" for an article without one): the headline.
        content = clip_markdown(f"{values['title']} {values['url']}".strip(), MAX_CONTENT)
    if content:
        message["content"] = content
    message["embeds"] = [embed] if embed else []
    message["allowed_mentions"] = allowed_mentions(roles)
    return message


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #


def _where(key: str, text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{_LABELS[key]}, line {line}, column {column}"


def _suggest(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.5)
    return f" Did you mean `{{{{{close[0]}}}}}`?" if close else ""


def _parse(key: str, text: str) -> _Template:
    lines: list[tuple[_Part, ...]] = []
    offset = 0
    for line in text.split("\n"):
        parts: list[_Part] = []
        for part in line.split(_SEP):
            parts.append(_parse_part(key, text, part, offset))
            offset += len(part) + len(_SEP)
        offset += 1 - len(_SEP)
        lines.append(tuple(parts))
    return tuple(lines)


def _parse_part(key: str, text: str, part: str, offset: int) -> _Part:
    items: list[str | _Slot] = []
    i = 0
    while (start := part.find("{{", i)) != -1:
        if start > i:
            items.append(part[i:start])
        end = part.find("}}", start + 2)
        where = _where(key, text, offset + start)
        if end == -1:
            raise FormatError(f"{where}: `{{{{` is never closed with `}}}}`.")
        inner = part[start + 2 : end]
        match = _PLACEHOLDER.fullmatch(inner)
        if match is None:
            raise FormatError(
                f"{where}: `{{{{{inner}}}}}` is not a placeholder; they look like "
                "`{{title}}` or `{{takeaways:3}}`." + _suggest(inner.strip(), list(PLACEHOLDERS))
            )
        name, arg = match.group(1).lower(), match.group(2)
        if name not in PLACEHOLDERS:
            raise FormatError(
                f"{where}: unknown placeholder `{{{{{match.group(1)}}}}}`."
                + _suggest(name, list(PLACEHOLDERS))
            )
        items.append(_Slot(name, _check_arg(where, name, arg)))
        i = end + 2
    if i < len(part):
        items.append(part[i:])
    return tuple(items)


def _check_arg(where: str, name: str, arg: str | None) -> str | None:
    if arg is None:
        return None
    arg = arg.strip()
    takes = PLACEHOLDERS[name]
    if takes is None:
        raise FormatError(f"{where}: `{{{{{name}}}}}` takes nothing after a colon.")
    if name == "takeaways" and not (arg.isascii() and arg.isdigit() and 1 <= int(arg) <= 50):
        raise FormatError(
            f"{where}: `{{{{takeaways:N}}}}` needs a number from 1 to {MAX_TAKEAWAYS_ARG}, "
            f"not `{arg}`."
        )
    if name == "date" and (len(arg) != 1 or arg not in DATE_STYLES):
        raise FormatError(
            f"{where}: `{{{{date:X}}}}` takes one of {', '.join(DATE_STYLES)} "
            f"(Discord's timestamp styles), not `{arg}`."
        )
    return arg


def _parse_switches(text: str) -> dict[str, bool]:
    flags = dict.fromkeys(SWITCHES, True)
    offset = 0
    for item in re.split(r"([,\n])", text):
        if item in (",", "\n") or not item.strip():
            offset += len(item)
            continue
        where = _where("switches", text, offset + len(item) - len(item.lstrip()))
        offset += len(item)
        name, colon, value = item.partition(":")
        if not colon:
            name, colon, value = item.partition("=")
        name, value = name.strip().lower(), value.strip().lower()
        if name not in flags:
            raise FormatError(
                f"{where}: unknown switch `{name}`; the switches are embed, image and footer."
                + _suggest(name, list(SWITCHES)).replace("{{", "").replace("}}", "")
            )
        if value not in _ON:
            raise FormatError(f"{where}: `{name}` is `on` or `off`, not `{value}`.")
        flags[name] = _ON[value]
    return flags


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #


def _unlinked(text: str) -> str:
    """``text`` unable to form a masked link (a zero-width space after ``]``)."""
    return text.replace("](", "]\u200b(")


# A masked link whose label looks like an address: it would show one place and go to
# another, so it is shown as text.
_DECEPTIVE = re.compile(r"\[([^\[\]]*(?:://|www\.|\w\.[a-z]{2,})[^\[\]]*)\]\(", re.I)


def _honest(text: str) -> str:
    return _DECEPTIVE.sub(lambda m: f"[{m.group(1)}]\u200b(", neutralise_mentions(text))


def _values(article: Article, roles: tuple[int, ...]) -> dict[str, str]:
    # Round brackets would end a masked link the moderator wraps around {{url}}.
    url = (_web_url(article.url) or "").replace("(", "%28").replace(")", "%29")
    items = [_honest(b) for b in (_block(t) for t in article.takeaways) if b]
    summary = next(
        (
            b
            for b in (_block(t or "") for t in (article.lede, article.description, article.summary))
            if b
        ),
        "",
    )
    published = article.published_at
    return {
        "title": _unlinked(neutralise_mentions(_one_line(article.title))),
        "url": url,
        "takeaways": "\n".join("- " + item for item in items),
        "summary": _honest(summary),
        "author": _unlinked(
            neutralise_mentions(_join_bounded(_unique_lines(article.authors), MAX_AUTHOR))
        ),
        "tags": _unlinked(neutralise_mentions(", ".join(_unique_lines(article.tags)))),
        "categories": _unlinked(neutralise_mentions(", ".join(_unique_lines(article.categories)))),
        "date": str(int(published.timestamp())) if published is not None else "",
        "image": _web_url(article.image) or "",
        "site": _unlinked(neutralise_mentions(_one_line(article.site_name)))
        if article.site_name
        else _site(url),
        "mention": " ".join(f"<@&{role}>" for role in roles),
    }


def article_values(article: Article) -> dict[str, str]:
    """What each placeholder shows of ``article`` (``{{mention}}`` aside: it shows the
    channel's roles): all a format can show of it. Its fingerprint covers them
    (:func:`bot.prepare.prepare`), so a change any format shows edits the posts."""
    values = _values(article, ())
    return {name: values[name] for name in PLACEHOLDERS if name != "mention"}


def _site(url: str) -> str:
    host = urlsplit(url).hostname or "" if url else ""
    return host.removeprefix("www.")


def _value(slot: _Slot, values: dict[str, str]) -> str:
    if slot.name == "date":
        stamp = values["date"]
        return f"<t:{stamp}:{slot.arg or 'f'}>" if stamp else ""
    if slot.name == "takeaways":
        if not values["takeaways"]:
            return values["summary"]
        if slot.arg is not None:
            # Nested items are indented, so "\n- " starts only a top-level item.
            return "\n- ".join(values["takeaways"].split("\n- ")[: int(slot.arg)])
    return values[slot.name]


def _fill(template: _Template, values: dict[str, str], *, links: bool = False) -> str:
    """The template filled in; article links survive only where ``links`` (the embed
    description), the moderator's own text keeps its links everywhere."""
    lines = []
    for line in template:
        parts = []
        for part in line:
            slots = [x for x in part if isinstance(x, _Slot)]
            filled = [
                (_value(x, values) if links else _unlinked(_value(x, values)))
                if isinstance(x, _Slot)
                else neutralise_mentions(x)
                for x in part
            ]
            if slots and not any(_value(s, values) for s in slots):
                continue
            parts.append("".join(filled))
        if parts or not any(isinstance(x, _Slot) for part in line for x in part):
            lines.append(_SEP.join(parts))
    return "\n".join(lines).strip()


#: Today's post (rendered by ``render_message``); what ``reset:true`` goes back to.
DEFAULT_FORMAT = Format()
