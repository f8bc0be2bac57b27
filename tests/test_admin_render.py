"""``bot.admin_render``: what ``/newsadmin`` shows, from subscription rows alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.admin_render import (
    FIELD_VALUE_LIMIT,
    LIST_PAGE_SIZE,
    cannot_post,
    changes,
    channel_label,
    color_text,
    complete_tags,
    describe,
    feed_label,
    find_subscription,
    list_pages,
    parse_color,
    settings_text,
    source_line,
    status_embed,
    subscription_choices,
    tag_list,
)
from bot.formats import DEFAULT_FORMAT, Format
from bot.lookups import EMBED_COLOR, MAX_CHOICE_VALUE, MAX_CHOICES
from bot.permissions import Place
from bot.store import SourceKind, SourceRow

PAUSED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """A subscription with one filter (which it is itself) as the store returns it, as
    far as rendering cares."""

    channel_id: int
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    mention_role_id: int | None = None
    paused_reason: str | None = None
    paused_at: datetime | None = None
    number: int = 1
    more: tuple[Row, ...] = ()  # further filters
    format: Format = DEFAULT_FORMAT
    format_error: str | None = None
    identity: str = "bot"

    @property
    def active(self) -> bool:
        return self.paused_reason is None

    @property
    def filters(self) -> tuple[Row, ...]:
        return (self, *self.more)


@dataclass(frozen=True)
class Settings:
    edit_on_update: bool = True
    color: int | None = None
    notices_channel_id: int | None = None


def source(
    kind: str,
    locator: str,
    *,
    baseline_done: bool = True,
    failing_since: datetime | None = None,
    last_error: str | None = None,
    last_polled_at: datetime | None = None,
) -> SourceRow:
    """A source as the store returns it (failing: one failed attempt since)."""
    return SourceRow(
        id=1,
        kind=SourceKind(kind),
        locator=locator,
        baseline_done=baseline_done,
        etag=None,
        last_modified=None,
        failures=int(failing_since is not None),
        next_attempt_at=None,
        failing_since=failing_since,
        last_error=last_error,
        last_polled_at=last_polled_at,
    )


def paused(channel_id: int, reason: str = "paused by mod") -> Row:
    return Row(channel_id, paused_reason=reason, paused_at=PAUSED_AT)


# -- describing a subscription -----------------------------------------------------------


def test_describe_every_article_active() -> None:
    assert describe(Row(1)) == [
        "Every new article.",
        "Format: default.",
        "Posted by the bot.",
        "State: active.",
    ]
    custom = Row(1, format=Format(title="{{title}}!"))
    assert describe(custom)[1] == "Format: custom."
    unreadable = Row(1, format_error="it has parts I don't know: layout")
    assert describe(unreadable)[1] == (
        "Format: the saved one can't be read (it has parts I don't know: layout), "
        "so posts use the default."
    )


def test_describe_names_a_webhook_identity() -> None:
    assert describe(Row(1, identity="webhook"))[2] == (
        "Posted by a webhook, with the publication's name and avatar."
    )


def test_describe_filters_role_and_pause() -> None:
    row = Row(
        1,
        tags=("Energy", "Climate"),
        exclude_tags=("Opinion",),
        mention_role_id=77,
        paused_reason="paused by mod: summer break",
        paused_at=PAUSED_AT,
    )
    assert describe(row) == [
        "New articles tagged **Energy**, **Climate**, except those tagged **Opinion**.",
        "Pings <@&77>.",
        "Format: default.",
        "Posted by the bot.",
        f"State: **paused** since <t:{int(PAUSED_AT.timestamp())}:R>: paused by mod: summer break.",
    ]


def test_changes_name_what_an_edit_changed() -> None:
    before = Row(1, tags=("Energy",), mention_role_id=77)
    assert changes(before, before) == []
    assert changes(before, Row(1, tags=("Energy",), mention_role_id=78)) == [
        "pings <@&77> → <@&78>"
    ]
    assert changes(before, Row(1, exclude_tags=("Op*inion",))) == [
        "tags **Energy** → any",
        "excluded tags none → **Op\\*inion**",
        "pings <@&77> → nobody",
    ]
    # A new spelling is a change the moderator sees, though it matches the same.
    assert changes(before, Row(1, tags=("energy",), mention_role_id=77)) == [
        "tags **Energy** → **energy**"
    ]


def test_describe_several_filters() -> None:
    row = Row(1, tags=("Politics",), mention_role_id=7, more=(Row(1, tags=("Energy",), number=3),))
    assert describe(row) == [
        "Filter 1: new articles tagged **Politics**, pinging <@&7>.",
        "Filter 3: new articles tagged **Energy**.",
        "Format: default.",
        "Posted by the bot.",
        "State: active.",
    ]
    # One filter that is not the first is named too.
    assert describe(Row(1, number=2))[0] == "Filter 2: every new article."


def test_describe_categories() -> None:
    assert describe(Row(1, categories=("Politics",)))[0] == (
        "New articles in the categories **Politics**."
    )
    both = Row(1, tags=("Energy",), exclude_tags=("Opinion",), categories=("Politics",))
    assert describe(both)[0] == (
        "New articles tagged **Energy** or in the categories **Politics**, "
        "except those tagged **Opinion**."
    )
    assert changes(Row(1), Row(1, categories=("Politics",))) == ["categories any → **Politics**"]


def test_tags_are_shown_literally() -> None:
    assert tag_list(["a_b", "*bold*"]) == r"**a\_b**, **\*bold\***"


def test_channel_label() -> None:
    assert channel_label(5, "news") == "#news"
    assert channel_label(5, None) == "#deleted-channel (5)"


# -- /newsadmin list ----------------------------------------------------------------------


def test_one_page_list() -> None:
    rows = [Row(1, tags=("Energy",)), paused(2)]
    [page] = list_pages("Alpha", rows, {1: "news"})
    assert page["title"] == "News subscriptions in Alpha"
    assert page["color"] == EMBED_COLOR
    assert [f["name"] for f in page["fields"]] == ["#news", "#deleted-channel (2)"]
    assert page["fields"][0]["value"].startswith("<#1>\nNew articles tagged **Energy**.")
    assert all(f["inline"] is False for f in page["fields"])
    assert page["footer"]["text"] == "2 subscribed channels, 1 paused"


def test_long_lists_are_paged_within_limits() -> None:
    rows = [Row(n, tags=tuple(f"{'x' * 90} {i}" for i in range(25))) for n in range(23)]
    pages = list_pages("Alpha", rows, {})
    assert len(pages) > 1
    shown = [f["name"] for page in pages for f in page["fields"]]
    assert shown == [f"#deleted-channel ({n})" for n in range(23)]
    for n, page in enumerate(pages, start=1):
        footer = page["footer"]["text"]
        assert footer.startswith(f"Page {n} of {len(pages)} · 23 subscribed channels")
        assert "page:" not in footer  # the ◀ ▶ buttons turn the pages
        assert len(page["fields"]) <= LIST_PAGE_SIZE
        assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in page["fields"])
        text = sum(len(f["name"]) + len(f["value"]) for f in page["fields"])
        assert text + len(page["title"]) + len(footer) <= 6000


def test_short_rows_page_by_count() -> None:
    pages = list_pages("Alpha", [Row(n) for n in range(LIST_PAGE_SIZE + 1)], {})
    assert [len(p["fields"]) for p in pages] == [LIST_PAGE_SIZE, 1]
    assert pages[0]["footer"]["text"] == (f"Page 1 of 2 · {LIST_PAGE_SIZE + 1} subscribed channels")


def test_a_long_server_name_fits_the_title() -> None:
    [page] = list_pages("S" * 300, [Row(1)], {})
    assert len(page["title"]) <= 256


# -- settings and colours ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "color"),
    [
        ("#1e90ff", 0x1E90FF),
        ("1E90FF", 0x1E90FF),
        ("0x1e90ff", 0x1E90FF),
        ("#abc", 0xAABBCC),
        (" none ", None),
        ("Default", None),
        ("reset", None),
    ],
)
def test_parse_color(typed: str, color: int | None) -> None:
    assert parse_color(typed) == color


@pytest.mark.parametrize("typed", ["blue-ish", "#12345", "#ggg", "0x", "#1e90ff0"])
def test_parse_color_refuses_with_a_reason(typed: str) -> None:
    with pytest.raises(ValueError, match="is not a color") as refused:
        parse_color(typed)
    assert "#1e90ff" in str(refused.value)


def test_settings_text() -> None:
    assert color_text(None) == "the default"
    assert color_text(0x00AB0C) == "`#00AB0C`"
    assert settings_text(Settings(edit_on_update=False, color=0x1E90FF)) == (
        "- Edit posted messages when their article changes: **off**\n"
        "- Color of the posts: `#1E90FF`\n"
        "- My notices to moderators (a channel paused, say) go to: the system channel, "
        "else the first channel I can post in"
    )
    chosen = settings_text(Settings(notices_channel_id=42)).splitlines()[-1]
    assert chosen == "- My notices to moderators (a channel paused, say) go to: <#42>"


# -- refusals -------------------------------------------------------------------------------


def test_cannot_post_names_one_permission() -> None:
    text = cannot_post("<#1>", Place.CHANNEL, ["embed_links"], None)
    assert text == (
        "I can't post in <#1>: I'm missing the **Embed Links** permission there. "
        "Give it to me (or my role) in the channel's settings and try again."
    )


def test_cannot_post_names_several_as_discord_shows_them_there() -> None:
    text = cannot_post("<#1>", Place.FORUM, ["view_channel", "send_messages"], None)
    assert "**View Channel** and **Send Messages (“Create Posts” in a forum)** permissions" in text
    assert "Give them to me" in text
    thread = cannot_post("<#2>", Place.THREAD, ["manage_threads"], None)
    assert "missing the **Manage Threads** permission" in thread


def test_cannot_post_says_why_a_role_needs_mention_everyone() -> None:
    text = cannot_post("<#1>", Place.CHANNEL, ["mention_everyone"], "<@&9>")
    assert "**Mention @everyone, @here, and All Roles** permission there" in text
    assert "(<@&9> is not mentionable, so pinging it needs that)" in text


# -- the subscription option: matching and choices ----------------------------------------

ROWS = [Row(10, tags=("Energy",)), paused(20), Row(30)]
NAMES = {10: "news", 20: "Articles"}  # 30: deleted


@pytest.mark.parametrize(
    ("typed", "channel_id"),
    [
        ("10", 10),  # an autocomplete value
        (" 20 ", 20),
        ("<#30>", 30),  # a mention, even of a deleted channel
        ("news", 10),
        ("#articles", 20),  # by name, any case, with or without #
        ("ARTICLES", 20),
    ],
)
def test_find_subscription(typed: str, channel_id: int) -> None:
    found = find_subscription(typed, ROWS, NAMES)
    assert found is not None and found.channel_id == channel_id


@pytest.mark.parametrize("typed", ["40", "<#40>", "sport", "", "#", "new", "²", "<#1²>"])
def test_find_subscription_finds_nothing_else(typed: str) -> None:
    assert find_subscription(typed, ROWS, NAMES) is None


def test_other_unicode_digits_are_a_name_not_an_id() -> None:
    rows = [Row(123), Row(7)]
    assert find_subscription("١٢٣", rows, {}) is None
    found = find_subscription("١٢٣", rows, {7: "١٢٣"})
    assert found is not None and found.channel_id == 7


def test_subscription_choices() -> None:
    assert subscription_choices("", ROWS, NAMES) == [
        ("#news — Energy", "10"),
        ("#Articles (paused) — all articles", "20"),
        ("#deleted-channel (30) — all articles", "30"),
    ]
    assert subscription_choices("#ART", ROWS, NAMES) == [
        ("#Articles (paused) — all articles", "20")
    ]
    assert subscription_choices("deleted", ROWS, NAMES) == [
        ("#deleted-channel (30) — all articles", "30")
    ]
    assert subscription_choices("zzz", ROWS, NAMES) == []


def test_subscription_choices_fit_discord() -> None:
    rows = [Row(n, tags=("T" * 200,)) for n in range(40)]
    choices = subscription_choices("", rows, {n: f"channel-{n}" for n in range(40)})
    assert len(choices) == MAX_CHOICES
    assert all(len(name) <= 100 for name, _ in choices)


# -- tag completion -----------------------------------------------------------------------

KNOWN = ["Energy", "Climate", "Cycling", "Space", "Economy"]


def test_complete_tags_first_item() -> None:
    assert complete_tags([], "", KNOWN) == KNOWN
    # Prefix matches first, then the tags that merely contain the text.
    assert complete_tags([], "c", KNOWN) == ["Climate", "Cycling", "Space", "Economy"]


def test_complete_tags_after_earlier_items() -> None:
    assert complete_tags(["Energy"], " cli", KNOWN) == ["Energy, Climate", "Energy, Cycling"]
    # Items already listed (in any case) are not offered again.
    assert "energy, Energy" not in complete_tags(["energy"], "", KNOWN)
    assert complete_tags(["energy"], "", KNOWN)[0] == "energy, Climate"


def test_complete_tags_fit_a_choice() -> None:
    long = ["x" * 60, "y" * 30]
    assert complete_tags(["a" * 60], "", long) == ["a" * 60 + ", " + "y" * 30]
    many = [f"Tag {n:02d}" for n in range(40)]
    values = complete_tags([], "tag", many)
    assert len(values) == MAX_CHOICES and all(len(v) <= MAX_CHOICE_VALUE for v in values)


# -- /newsadmin status -------------------------------------------------------------------


def test_feed_label_never_shows_credentials_or_query() -> None:
    assert feed_label("https://user:secret@news.example.org/feed.xml?token=abc#x") == (
        "news.example.org/feed.xml"
    )


def test_source_lines() -> None:
    when = int(PAUSED_AT.timestamp())
    assert source_line(source("content", "/srv/site/content")) == (
        "The site's content folder: watched"
    )
    assert source_line(source("content", "/srv", baseline_done=False)).endswith(
        "first read under way"
    )
    assert source_line(source("feed", "https://a.example/rss", last_polled_at=PAUSED_AT)) == (
        f"Feed a.example/rss: healthy, last read <t:{when}:R>"
    )
    failing = source(
        "feed", "https://a.example/rss", failing_since=PAUSED_AT, last_error="HTTP 503"
    )
    assert source_line(failing) == (
        f"Feed a.example/rss: **failing** since <t:{when}:R> (HTTP 503)"
    )
    assert source_line(source("feed", "https://a.example/rss")).endswith("not read yet")


def test_status_fits_discord_however_many_sources_and_pauses() -> None:
    sources = [source("feed", f"https://example.org/{'x' * 100}/{n}") for n in range(200)]
    subs = [paused(n, reason="r" * 300) for n in range(200)] + [Row(999)]
    embed = status_embed("G" * 300, sources, None, subs)
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert len(embed["title"]) <= 256
    assert all(len(v) <= FIELD_VALUE_LIMIT for v in values.values())
    assert values["Sources (chosen by the bot's operator)"].endswith(" more")
    assert values["Last article"] == "None yet."
    assert embed["footer"]["text"] == "201 subscribed channels, 200 paused"
    empty = status_embed("G", [], None, [])
    assert [f["value"] for f in empty["fields"]] == [
        "None: the operator set none up.",
        "None yet.",
        "None.",
    ]
