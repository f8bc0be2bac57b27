"""Pure rendering for ``/newsadmin``: subscriptions and settings as text and embed dicts.

Nothing here talks to Discord or the store: subscription rows (anything shaped like
``bot.store.Subscription``), channel names and settings in; lines, embed dicts within
Discord's limits and autocomplete choices out. What moderators typed (tags) is shown
literally, escaped with discord.py's Markdown escaper (a pure function).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from discord.utils import escape_markdown

from bot.articles.model import normalise_tag
from bot.articles.text import clip
from bot.lookups import (
    EMBED_COLOR,
    MAX_CHOICE_NAME,
    MAX_CHOICE_VALUE,
    MAX_CHOICES,
    MAX_TITLE,
    Listed,
    article_line,
    rank_choices,
)
from bot.permissions import Place, display_name, listed

#: ``/newsadmin list``: subscriptions per page, and a page's text budget (Discord allows
#: 6,000 characters of text per embed; the rest is headroom for title and footer).
LIST_PAGE_SIZE = 10
LIST_PAGE_BUDGET = 5000
FIELD_VALUE_LIMIT = 1024
FIELD_NAME_LIMIT = 256
#: A string choice's value, like its name, holds at most 100 characters.

_HEX_COLOR = re.compile(r"^(?:#|0x)?([0-9a-f]{6}|[0-9a-f]{3})$", re.IGNORECASE)
_NO_COLOR = frozenset({"none", "default", "reset"})
# Channel ids are ASCII digits; other Unicode digits ("²", "٣") are part of a name.
_CHANNEL_REF = re.compile(r"^(?:<#([0-9]+)>|([0-9]+))$")


class ShownFilter(Protocol):
    """What ``/newsadmin`` shows of a filter (``bot.store.Filter`` has it)."""

    @property
    def number(self) -> int: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def exclude_tags(self) -> Sequence[str]: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def mention_role_id(self) -> int | None: ...


class Shown(Protocol):
    """What ``/newsadmin`` shows of a subscription (``bot.store.Subscription`` has it)."""

    @property
    def channel_id(self) -> int: ...
    @property
    def filters(self) -> Sequence[ShownFilter]: ...
    @property
    def paused_reason(self) -> str | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def format(self) -> ShownFormat: ...
    @property
    def format_error(self) -> str | None: ...
    @property
    def identity(self) -> str: ...


class ShownFormat(Protocol):
    """What ``/newsadmin`` shows of a subscription's format (``bot.formats.Format``)."""

    @property
    def is_default(self) -> bool: ...


def format_name(fmt: ShownFormat) -> str:
    """A format, named briefly: ``default`` or ``custom``."""
    return "default" if fmt.is_default else "custom"


#: How ``/newsadmin`` names who a subscription's posts come from, by identity.
POSTERS = {
    "bot": "the bot",
    "webhook": "a webhook, with the publication's name and avatar",
}


class ShownSettings(Protocol):
    """A server's settings as shown (``bot.store.GuildSettings`` has them)."""

    @property
    def edit_on_update(self) -> bool: ...
    @property
    def color(self) -> int | None: ...
    @property
    def notices_channel_id(self) -> int | None: ...


class ShownSource(Protocol):
    """A source as ``/newsadmin status`` shows it (``bot.store.SourceRow`` has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def locator(self) -> str: ...
    @property
    def baseline_done(self) -> bool: ...
    @property
    def failing(self) -> bool: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_polled_at(self) -> datetime | None: ...


SubT = TypeVar("SubT", bound=Shown)


def parse_color(text: str) -> int | None:
    """``#1e90ff``, ``1e90ff``, ``0x1E90FF`` or ``#abc`` as 0xRRGGBB; ``none`` is None.

    Raises ValueError, with a message for the moderator, for anything else.
    """
    value = text.strip()
    if value.casefold() in _NO_COLOR:
        return None
    match = _HEX_COLOR.match(value)
    if match is None:
        raise ValueError(
            f"“{clip(value, 40)}” is not a color. Use a hex code like `#1e90ff`, "
            "or `none` for the default."
        )
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits, 16)


def color_text(color: int | None) -> str:
    """A color as moderators type it."""
    return "the default" if color is None else f"`#{color:06X}`"


def settings_text(settings: ShownSettings) -> str:
    """A server's settings as short lines."""
    edit = "on" if settings.edit_on_update else "off"
    notices = (
        f"<#{settings.notices_channel_id}>"
        if settings.notices_channel_id is not None
        else "the system channel, else the first channel I can post in"
    )
    return (
        f"- Edit posted messages when their article changes: **{edit}**\n"
        f"- Color of the posts: {color_text(settings.color)}\n"
        f"- My notices to moderators (a channel paused, say) go to: {notices}"
    )


def tag_list(tags: Sequence[str]) -> str:
    """``**Energy**, **Climate**``: tags as typed, shown literally."""
    return ", ".join(f"**{escape_markdown(clip(t, 60))}**" for t in tags)


def wanted_text(selection: ShownFilter) -> str:
    """``New articles tagged **Energy** or in the categories **Politics**, except
    those tagged **Opinion**``: which articles a filter wants."""
    wanted = []
    if selection.tags:
        wanted.append(f"tagged {tag_list(selection.tags)}")
    if selection.categories:
        wanted.append(f"in the categories {tag_list(selection.categories)}")
    what = f"New articles {' or '.join(wanted)}" if wanted else "Every new article"
    if selection.exclude_tags:
        what += f", except those tagged {tag_list(selection.exclude_tags)}"
    return what


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def describe(subscription: Shown) -> list[str]:
    """The lines that explain a subscription to a moderator: what it wants and whom it
    pings (filter by filter when a channel has several), and its state."""
    filters = subscription.filters
    if len(filters) == 1 and filters[0].number == 1:
        only = filters[0]
        lines = [wanted_text(only) + "."]
        if only.mention_role_id is not None:
            lines.append(f"Pings <@&{only.mention_role_id}>.")
    else:
        lines = [
            f"Filter {f.number}: {_lower_first(wanted_text(f))}"
            + (f", pinging <@&{f.mention_role_id}>." if f.mention_role_id is not None else ".")
            for f in filters
        ]
    if subscription.format_error is not None:
        lines.append(
            f"Format: the saved one can't be read ({subscription.format_error}), "
            "so posts use the default."
        )
    else:
        lines.append(f"Format: {format_name(subscription.format)}.")
    lines.append(f"Posted by {POSTERS.get(subscription.identity, subscription.identity)}.")
    if subscription.active:
        lines.append("State: active.")
    else:
        since = (
            f" since <t:{int(subscription.paused_at.timestamp())}:R>"
            if subscription.paused_at
            else ""
        )
        lines.append(f"State: **paused**{since}: {subscription.paused_reason}.")
    return lines


def _filter_text(tags: Sequence[str], empty: str) -> str:
    return tag_list(tags) if tags else empty


def changes(before: ShownFilter, after: ShownFilter) -> list[str]:
    """What an edit of a filter changed, one ``what: old → new`` item each."""
    found = []
    for what, old, new, empty in (
        ("tags", before.tags, after.tags, "any"),
        ("excluded tags", before.exclude_tags, after.exclude_tags, "none"),
        ("categories", before.categories, after.categories, "any"),
    ):
        if tuple(old) != tuple(new):
            found.append(f"{what} {_filter_text(old, empty)} → {_filter_text(new, empty)}")
    if before.mention_role_id != after.mention_role_id:
        old_role, new_role = (
            f"<@&{role}>" if role is not None else "nobody"
            for role in (before.mention_role_id, after.mention_role_id)
        )
        found.append(f"pings {old_role} → {new_role}")
    return found


def channel_label(channel_id: int, name: str | None) -> str:
    """``#news``, or ``#deleted-channel (123)`` for a channel the bot no longer sees."""
    return f"#{name}" if name is not None else f"#deleted-channel ({channel_id})"


def list_pages(
    guild_name: str, subscriptions: Sequence[Shown], names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """``/newsadmin list``: embeds with one field per subscription, as many as Discord's
    embed limits need; ``names`` maps the channel ids the bot still sees to their names."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    for sub in subscriptions:
        name = clip(channel_label(sub.channel_id, names.get(sub.channel_id)), FIELD_NAME_LIMIT)
        value = clip("\n".join([f"<#{sub.channel_id}>", *describe(sub)]), FIELD_VALUE_LIMIT)
        size = len(name) + len(value)
        if pages[-1] and (len(pages[-1]) >= LIST_PAGE_SIZE or used + size > LIST_PAGE_BUDGET):
            pages.append([])
            used = 0
        pages[-1].append((name, value))
        used += size
    paused = sum(not s.active for s in subscriptions)
    summary = f"{len(subscriptions)} subscribed channel{'s' if len(subscriptions) != 1 else ''}"
    if paused:
        summary += f", {paused} paused"
    title = clip(f"News subscriptions in {guild_name}", MAX_TITLE)
    embeds = []
    for n, fields in enumerate(pages, start=1):
        footer = f"Page {n} of {len(pages)} · {summary}" if len(pages) > 1 else summary
        embeds.append(
            {
                "title": title,
                "color": EMBED_COLOR,
                "fields": [{"name": k, "value": v, "inline": False} for k, v in fields],
                "footer": {"text": footer},
            }
        )
    return embeds


def cannot_post(
    channel_mention: str, place: Place, missing: Sequence[str], role_mention: str | None
) -> str:
    """Why the bot refuses to post in a channel: the ``missing`` permissions (attribute
    names, as ``bot.permissions`` lists them), as Discord names them there."""
    why = ""
    if "mention_everyone" in missing and role_mention is not None:
        why = f" ({role_mention} is not mentionable, so pinging it needs that)"
    plural = len(missing) > 1
    names = listed([f"**{display_name(perm, place)}**" for perm in missing])
    return (
        f"I can't post in {channel_mention}: I'm missing the {names} "
        f"permission{'s' if plural else ''} there{why}. Give {'them' if plural else 'it'} "
        "to me (or my role) in the channel's settings and try again."
    )


def find_subscription(
    text: str, subscriptions: Sequence[SubT], names: Mapping[int, str]
) -> SubT | None:
    """The subscription ``text`` names: an autocomplete value or a channel id, a channel
    mention, or a channel's name (with or without ``#``, in any case)."""
    match = _CHANNEL_REF.match(text.strip())
    if match is not None:
        channel_id = int(match.group(1) or match.group(2))
        return next((s for s in subscriptions if s.channel_id == channel_id), None)
    wanted = text.strip().lstrip("#").casefold()
    for sub in subscriptions:
        name = names.get(sub.channel_id)
        if name is not None and name.casefold() == wanted:
            return sub
    return None


def subscription_choices(
    current: str, subscriptions: Sequence[Shown], names: Mapping[int, str]
) -> list[tuple[str, str]]:
    """Autocomplete ``(name, value)`` pairs: the subscribed channels whose label contains
    what was typed, in the given order, each with its state and tags; the value is the
    channel id."""
    wanted = current.strip().lstrip("#").casefold()
    choices = []
    for sub in subscriptions:
        label = channel_label(sub.channel_id, names.get(sub.channel_id))
        if wanted and wanted not in label.casefold():
            continue
        state = "" if sub.active else " (paused)"
        labels = [name for f in sub.filters for name in (*f.tags, *f.categories)]
        filters = ", ".join(labels) or "all articles"
        choices.append((clip(f"{label}{state} — {filters}", MAX_CHOICE_NAME), str(sub.channel_id)))
        if len(choices) == MAX_CHOICES:
            break
    return choices


def complete_tags(earlier: Sequence[str], last: str, known: Sequence[str]) -> list[str]:
    """Completions of a comma-separated tag list whose items so far are ``earlier`` and
    whose last, unfinished item is ``last``: known tags not already listed, prefix
    matches first, each as the whole list it would make (when that fits a choice)."""
    taken = {normalise_tag(t) for t in earlier}
    names = [t for t in known if normalise_tag(t) not in taken]
    prefix = ", ".join(earlier)
    values = []
    for name in rank_choices(last, names, limit=len(names)):
        value = f"{prefix}, {name}" if prefix else name
        if len(value) <= MAX_CHOICE_VALUE:
            values.append(value)
        if len(values) == MAX_CHOICES:
            break
    return values


def _when(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"


def feed_label(url: str) -> str:
    """A feed's address as servers see it: host and path, never its credentials or
    query (which may hold a token)."""
    parts = urlsplit(url)
    return escape_markdown(clip(f"{parts.hostname or ''}{parts.path}", 120))


def source_line(source: ShownSource) -> str:
    """One watched source and whether it is healthy."""
    if source.kind == "feed":
        name = f"Feed {feed_label(source.locator)}"
        if source.failing:
            assert source.failing_since is not None  # what failing means
            error = escape_markdown(clip(source.last_error or "unknown error", 200))
            return f"{name}: **failing** since {_when(source.failing_since)} ({error})"
        if source.last_polled_at is not None:
            return f"{name}: healthy, last read {_when(source.last_polled_at)}"
        return f"{name}: not read yet"
    name = "The site's content folder" if source.kind == "content" else f"A {source.kind} source"
    return f"{name}: " + ("watched" if source.baseline_done else "first read under way")


def _field_lines(lines: Sequence[str], empty: str) -> str:
    """Lines as one embed field value: as many as fit, then how many more there are."""
    if not lines:
        return empty
    shown: list[str] = []
    used = 0
    for n, line in enumerate(lines):
        more = f"… and {len(lines) - n} more"
        if used + len(line) + 1 > FIELD_VALUE_LIMIT - len(more) - 1:
            shown.append(more)
            break
        shown.append(line)
        used += len(line) + 1
    return "\n".join(shown)


def status_embed(
    guild_name: str,
    sources: Sequence[ShownSource],
    last: Listed | None,
    subscriptions: Sequence[Shown],
) -> dict[str, Any]:
    """``/newsadmin status``: the sources the bot watches (the operator's choice, the
    same for every server) and their health, the last article, this server's paused
    subscriptions."""
    paused = [s for s in subscriptions if not s.active]
    paused_lines = [
        f"<#{s.channel_id}>"
        + (f" since {_when(s.paused_at)}" if s.paused_at is not None else "")
        + f": {escape_markdown(clip(s.paused_reason or '', 200))}"
        for s in paused
    ]
    fields = [
        (
            "Sources (chosen by the bot's operator)",
            _field_lines([source_line(s) for s in sources], "None: the operator set none up."),
        ),
        ("Last article", clip(article_line(last), FIELD_VALUE_LIMIT) if last else "None yet."),
        ("Paused here", _field_lines(paused_lines, "None.")),
    ]
    count = len(subscriptions)
    return {
        "title": clip(f"News status in {guild_name}", MAX_TITLE),
        "color": EMBED_COLOR,
        "fields": [{"name": k, "value": v, "inline": False} for k, v in fields],
        "footer": {
            "text": f"{count} subscribed channel{'s' if count != 1 else ''}, {len(paused)} paused"
        },
    }
