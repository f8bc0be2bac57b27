"""bot.summary: Article -> Create Message body, checked against Discord's schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError

from bot.articles.model import Article
from bot.articles.text import ELLIPSIS
from bot.summary import (
    DEFAULT_COLOR,
    MAX_AUTHOR,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_FOOTER,
    MAX_TITLE,
    TEST_MARKER,
    clip_markdown,
    neutralise_mentions,
    render_message,
    render_text,
)
from tests.discord_schema import embed_text_length, validate_message_create

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE_TAKEAWAYS = (
    "Multiple offices of **X** have been raided in France as part of an investigation "
    "into child abuse images and deepfakes.",
    "The raids were conducted by the Paris cybercrime unit and are part of a broader probe "
    "into the company's handling of illicit content.",
    "**Elon Musk**, the owner of **X**, has been summoned by the Paris Prosecutor's office "
    "for questioning.",
    "The investigation is ongoing, and no charges have been filed yet.",
    "The raids highlight the growing concern over the spread of child abuse images and "
    "deepfakes on social media platforms.",
)
EXAMPLE_URL = "https://news.example.com/articles/france-raids-x-offices/"


def example_article(**changes: Any) -> Article:
    """The article of tests/articles/fixtures/example-article.md, as the parser builds it."""
    fields: dict[str, Any] = {
        "id": "france-raids-x-offices",
        "title": "France Raids X Offices Over Child Abuse Images and Deepfakes",
        "url": EXAMPLE_URL,
        "date": datetime(2026, 2, 3, 19, 0, 14, tzinfo=timezone(timedelta(hours=-5))),
        "tags": ("X offices raided",),
        "categories": ("World",),
        "authors": ("US News Desk",),
        "description": "X offices raided in France",
        "image": "/images/default-news.jpg",
        "takeaways": EXAMPLE_TAKEAWAYS,
        "lede": "In a significant development, multiple offices of **X** have been raided.",
    }
    fields.update(changes)
    return Article(**fields)


def check(body: dict[str, Any]) -> dict[str, Any]:
    """Every body must pass Discord's schema (closed: no stray keys) and our limits."""
    validate_message_create(body, closed=True)
    assert json.loads(json.dumps(body)) == body  # plain JSON types only
    assert body["allowed_mentions"]["parse"] == []
    if "content" in body:
        assert 0 < len(body["content"]) <= MAX_CONTENT
    (embed,) = body["embeds"]
    assert embed["title"]
    assert len(embed["title"]) <= MAX_TITLE
    assert len(embed.get("description", "")) <= MAX_DESCRIPTION
    assert len(embed.get("footer", {}).get("text", "")) <= MAX_FOOTER
    assert len(embed.get("author", {}).get("name", "")) <= MAX_AUTHOR
    assert embed_text_length(embed) <= MAX_EMBED_TOTAL
    return embed


# --------------------------------------------------------------------------- #
# Markdown well-formedness, judged independently of the implementation
# --------------------------------------------------------------------------- #

_CODE_SPAN = re.compile(r"(`+)[^`]+?\1")
_LINK = re.compile(r"\[[^\[\]]*\]\([^()\s]*\)")


def well_formed(text: str) -> bool:
    """True when ``text`` (built only from plain words and simple constructs) has
    every link whole and every marker paired."""
    text = text.replace("\\*", "")
    text = _CODE_SPAN.sub("", text)
    if "`" in text:
        return False
    text = _LINK.sub("", text)
    if "[" in text or "](" in text:
        return False
    for marker in ("**", "~~", "||"):
        if text.count(marker) % 2:
            return False
        text = text.replace(marker, "")
    return text.count("*") % 2 == 0


def test_well_formed_judge() -> None:
    assert well_formed("a **b** [c](https://x.y/z) `d*` *e* ~~f~~")
    for broken in ("a **b", "[c](https://x.y/", "[c]", "`d", "*e", "~~f", "**a *b**"):
        assert not well_formed(broken), broken


# --------------------------------------------------------------------------- #
# The pinned shape
# --------------------------------------------------------------------------- #

EXAMPLE_DESCRIPTION = "\n".join("- " + item for item in EXAMPLE_TAKEAWAYS)


def test_example_article_exact_body() -> None:
    body = render_message(example_article())
    assert body == {
        "embeds": [
            {
                "title": "France Raids X Offices Over Child Abuse Images and Deepfakes",
                "url": EXAMPLE_URL,
                "description": EXAMPLE_DESCRIPTION,
                "color": DEFAULT_COLOR,
                "timestamp": "2026-02-04T00:00:14+00:00",
                "author": {"name": "US News Desk"},
                "footer": {"text": "World · Tags: X offices raided"},
            }
        ],
        "allowed_mentions": {"parse": []},
    }
    check(body)
    assert DEFAULT_COLOR == 0x5865F2


def test_example_description_text() -> None:
    description = render_message(example_article())["embeds"][0]["description"]
    assert description.splitlines()[0] == (
        "- Multiple offices of **X** have been raided in France as part of an investigation "
        "into child abuse images and deepfakes."
    )
    assert len(description.splitlines()) == 5


def test_site_name_colour_and_absolute_image() -> None:
    article = example_article(image="https://news.example.com/images/default-news.jpg")
    body = render_message(article, color=0xE67E22, site_name="Example News")
    embed = check(body)
    assert embed["color"] == 0xE67E22
    assert embed["image"] == {"url": "https://news.example.com/images/default-news.jpg"}
    assert embed["footer"] == {"text": "Example News · World · Tags: X offices raided"}
    assert list(embed) == [
        "title",
        "url",
        "description",
        "color",
        "timestamp",
        "author",
        "image",
        "footer",
    ]


def test_minimal_article() -> None:
    body = render_message(Article(id="a", title="Just a headline"))
    assert body == {
        "embeds": [{"title": "Just a headline", "color": DEFAULT_COLOR}],
        "allowed_mentions": {"parse": []},
    }
    check(body)


def test_empty_title_gets_a_placeholder() -> None:
    embed = check(render_message(Article(id="a", title=" \n\t ")))
    assert embed["title"] == "Untitled article"


# --------------------------------------------------------------------------- #
# Description sources
# --------------------------------------------------------------------------- #


def test_no_takeaways_uses_lede() -> None:
    embed = check(render_message(example_article(takeaways=())))
    assert embed["description"] == (
        "In a significant development, multiple offices of **X** have been raided."
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lede": None}, "X offices raided in France"),
        ({"lede": None, "description": None, "summary": "The summary."}, "The summary."),
        ({"lede": "  ", "description": "Desc."}, "Desc."),
        ({"takeaways": ("", "  "), "lede": "Lede."}, "Lede."),
    ],
)
def test_description_fallbacks(changes: dict[str, Any], expected: str) -> None:
    embed = check(render_message(example_article(**{"takeaways": (), **changes})))
    assert embed["description"] == expected


def test_nothing_to_describe_omits_description() -> None:
    article = example_article(takeaways=(), lede=None, description=None, summary=None)
    assert "description" not in check(render_message(article))


def test_nested_items_are_kept() -> None:
    article = example_article(takeaways=("Parent point\n  - child one\n  - child two", "Next"))
    embed = check(render_message(article))
    assert embed["description"] == "- Parent point\n  - child one\n  - child two\n- Next"


def test_windows_newlines_and_controls_are_cleaned() -> None:
    article = example_article(takeaways=("one\r\n  - two\x07 ", "three\x00"))
    embed = check(render_message(article))
    assert embed["description"] == "- one\n  - two\n- three"


# --------------------------------------------------------------------------- #
# Links, images, time
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/articles/france-raids-x-offices/",
        "articles/x",
        "javascript:alert(1)",
        "ftp://example.com/x",
        "https://",
        "http://[::1",
        "https://example.com/" + "a" * 2100,
        "https://example.com/with space",
    ],
)
def test_unusable_url_is_omitted(url: str | None) -> None:
    embed = check(render_message(example_article(url=url, image=url)))
    assert "url" not in embed
    assert "image" not in embed


def test_non_ascii_url_is_percent_encoded() -> None:
    embed = check(render_message(example_article(url="https://例え.jp/記事?q=ä")))
    assert embed["url"].isascii()
    assert embed["url"].startswith("https://")


def test_timestamp_prefers_publish_date_and_is_utc() -> None:
    article = example_article(
        publish_date=datetime(2026, 2, 5, 8, 30, tzinfo=timezone(timedelta(hours=2)))
    )
    assert check(render_message(article))["timestamp"] == "2026-02-05T06:30:00+00:00"
    undated = example_article(date=None)
    assert "timestamp" not in check(render_message(undated))


# --------------------------------------------------------------------------- #
# Limits
# --------------------------------------------------------------------------- #


def test_huge_takeaways_drop_whole_items() -> None:
    items = tuple(f"Item {i:03d} " + ("word " * 60)[: 300 - 9] for i in range(100))
    assert all(len(item) == 300 for item in items)
    body = render_message(example_article(takeaways=items))
    embed = check(body)
    lines = embed["description"].split("\n")
    kept, more = lines[:-1], lines[-1]
    assert kept == ["- " + item for item in items[: len(kept)]]
    assert more == f"{ELLIPSIS}and {100 - len(kept)} more"
    assert len(kept) == 13  # 13 * 302 + 12 newlines + "\n…and 87 more" = 3,951
    assert len(embed["description"]) <= MAX_DESCRIPTION
    # One more item would not have fitted.
    assert len(embed["description"]) + 303 > MAX_DESCRIPTION


def test_one_enormous_item_is_cut_inside_at_a_word() -> None:
    words = " ".join(f"w{i}" for i in range(3000))
    embed = check(render_message(example_article(takeaways=(words,))))
    description = embed["description"]
    assert description.endswith(ELLIPSIS)
    assert "\n" not in description
    assert len(description) <= MAX_DESCRIPTION
    body = description[2:-1]
    assert words.startswith(body)
    assert words[len(body)] == " "  # cut at a word boundary


def test_enormous_first_item_then_more() -> None:
    huge = "**" + "bold " * 1000 + "** tail"
    embed = check(render_message(example_article(takeaways=(huge, "second", "third"))))
    first, more = embed["description"].split("\n")
    assert more == f"{ELLIPSIS}and 2 more"
    assert first.startswith("- **bold bold")
    assert well_formed(first)


def test_enormous_middle_item_is_dropped_whole() -> None:
    embed = check(
        render_message(example_article(takeaways=("short one", "x " * 3000, "short two")))
    )
    assert embed["description"] == f"- short one\n{ELLIPSIS}and 2 more"


def test_enormous_title() -> None:
    title = " ".join(["Headline"] * 100)
    embed = check(render_message(example_article(title=title)))
    assert len(embed["title"]) <= MAX_TITLE
    assert embed["title"].endswith("Headline" + ELLIPSIS)


def test_title_cut_never_breaks_bold() -> None:
    title = "A " * 120 + "**a bold phrase that goes past the limit**"
    embed = check(render_message(example_article(title=title)))
    assert embed["title"] == ("A " * 119 + "A" + ELLIPSIS)
    assert well_formed(embed["title"])


def test_many_tags_fit_the_footer() -> None:
    tags = tuple(f"tag number {i}" for i in range(500))
    embed = check(render_message(example_article(tags=tags, categories=())))
    footer = embed["footer"]["text"]
    assert len(footer) <= MAX_FOOTER
    assert footer.startswith("Tags: tag number 0, tag number 1, ")
    shown = footer.removeprefix("Tags: ").rsplit(" +", 1)[0].split(", ")
    assert shown == list(tags[: len(shown)])
    assert footer.endswith(f" +{500 - len(shown)} more")


def test_one_huge_tag_is_clipped() -> None:
    embed = check(render_message(example_article(tags=("t" * 5000, "other"))))
    footer = embed["footer"]["text"]
    assert footer.endswith(f"{ELLIPSIS} +1 more")
    assert len(footer) <= MAX_FOOTER


def test_tags_deduplicated_and_categories_not_repeated() -> None:
    article = example_article(tags=("AI", "ai ", "Policy"), categories=("World", "policy"))
    embed = check(render_message(article))
    assert embed["footer"]["text"] == "World · Tags: AI, Policy"


def test_many_authors() -> None:
    authors = tuple(f"Reporter {i}" for i in range(100))
    embed = check(render_message(example_article(authors=authors)))
    name = embed["author"]["name"]
    assert len(name) <= MAX_AUTHOR
    assert name.startswith("Reporter 0, Reporter 1, ")
    assert re.search(r" \+\d+ more$", name)


def test_everything_at_once_stays_under_6000() -> None:
    article = example_article(
        title="T" * 1000,
        authors=("A" * 1000,),
        takeaways=tuple("x" * 500 for _ in range(50)),
        tags=tuple(f"tag{i}" for i in range(2000)),
        categories=tuple(f"cat{i}" for i in range(500)),
    )
    embed = check(render_message(article, site_name="S" * 1000))
    assert embed_text_length(embed) <= MAX_EMBED_TOTAL
    assert len(embed["description"]) > 3000  # the description wins the budget
    assert embed["footer"]["text"]


# --------------------------------------------------------------------------- #
# Unicode
# --------------------------------------------------------------------------- #


def test_unicode_counts_characters() -> None:
    title = "東京で速報 🚨 " * 40
    takeaways = ("日本語のポイント 👍🏽 " * 400, "한국어 항목", "emoji 🇫🇷🇩🇪 flags")
    embed = check(render_message(example_article(title=title, takeaways=takeaways)))
    assert len(embed["title"]) <= MAX_TITLE
    first = embed["description"].split("\n")[0]
    assert first.endswith(ELLIPSIS)
    # A skin-tone modifier is never separated from its emoji.
    assert "👍🏽" in first
    assert not re.search("👍(?!🏽)", first)


def test_hard_cut_does_not_split_flags_or_accents() -> None:
    text = "🇫🇷" * 200
    clipped = clip_markdown(text, 51)
    assert clipped.endswith(ELLIPSIS)
    assert len(clipped[:-1]) % 2 == 0
    accents = "e\u0301" * 100
    clipped = clip_markdown(accents, 50)
    assert clipped[-2] == "\u0301"


# --------------------------------------------------------------------------- #
# Mentions and markers
# --------------------------------------------------------------------------- #


def test_mention_role() -> None:
    body = render_message(example_article(), mention_role_ids=(123456789012345678,))
    check(body)
    assert body["content"] == "<@&123456789012345678>"
    assert body["allowed_mentions"] == {"parse": [], "roles": ["123456789012345678"]}


def test_several_roles_each_once() -> None:
    body = render_message(example_article(), mention_role_ids=(5, 6, 5))
    check(body)
    assert body["content"] == "<@&5> <@&6>"
    assert body["allowed_mentions"] == {"parse": [], "roles": ["5", "6"]}


def test_test_marker() -> None:
    body = render_message(example_article(), test=True)
    check(body)
    assert body["content"] == TEST_MARKER
    assert body["allowed_mentions"] == {"parse": []}


def test_test_marker_with_mention() -> None:
    body = render_message(example_article(), test=True, mention_role_ids=(42,))
    check(body)
    assert body["content"] == "<@&42> " + TEST_MARKER
    assert body["allowed_mentions"] == {"parse": [], "roles": ["42"]}


def test_article_text_never_pings() -> None:
    article = example_article(
        title="@everyone look <@&1> <@2>",
        takeaways=("@here now", "<@!3> and @everyone"),
        authors=("@everyone",),
        tags=("@here",),
    )
    body = render_message(article)
    check(body)
    assert "content" not in body
    assert body["allowed_mentions"] == {"parse": []}
    with_role = render_message(article, mention_role_ids=(5,))
    assert with_role["content"] == "<@&5>"
    assert with_role["allowed_mentions"] == {"parse": [], "roles": ["5"]}


def test_neutralise_mentions() -> None:
    text = "@everyone @here <@1> <@!2> <@&3> <#4> mail@example.com"
    defused = neutralise_mentions(text)
    for ping in ("@everyone", "@here", "<@1>", "<@!2>", "<@&3>", "<#4>"):
        assert ping not in defused
    assert "mail@example.com" in defused
    assert defused.replace("\u200b", "") == text


@pytest.mark.parametrize("color", [-1, 0x1000000, True, 1.5])
def test_bad_colour_rejected(color: Any) -> None:
    with pytest.raises(ValueError, match="colour"):
        render_message(example_article(), color=color)


@pytest.mark.parametrize("role", [0, -5, True])
def test_bad_role_rejected(role: Any) -> None:
    with pytest.raises(ValueError, match="role"):
        render_message(example_article(), mention_role_ids=(7, role))


def test_colour_bounds_accepted() -> None:
    assert check(render_message(example_article(), color=0))["color"] == 0
    assert check(render_message(example_article(), color=0xFFFFFF))["color"] == 0xFFFFFF


def test_deterministic() -> None:
    article = example_article(tags=tuple(f"t{i}" for i in range(300)))
    first = json.dumps(render_message(article, mention_role_ids=(7,), test=True))
    assert first == json.dumps(render_message(article, mention_role_ids=(7,), test=True))


# --------------------------------------------------------------------------- #
# Cutting Markdown
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("limit", range(1, 80))
def test_clip_markdown_never_breaks_constructs(limit: int) -> None:
    text = (
        "Intro **bold words here** then [a link text](https://example.com/path) and "
        "`code span` plus ~~struck out~~ and *italic words* end"
    )
    clipped = clip_markdown(text, limit)
    assert len(clipped) <= limit
    assert well_formed(clipped), clipped
    if clipped not in (text, ELLIPSIS) and not clipped.startswith("**"):
        assert text.startswith(clipped[:-1])


def test_cut_moves_before_a_link() -> None:
    text = "See [the full report on the raids](https://example.com/report) today"
    assert clip_markdown(text, 30) == "See" + ELLIPSIS


def test_text_starting_with_long_link_keeps_the_link() -> None:
    text = "[" + "label " * 50 + "](https://example.com/x) rest"
    clipped = clip_markdown(text, 80)
    assert len(clipped) <= 80
    assert clipped.endswith(f"{ELLIPSIS}](https://example.com/x)")
    assert well_formed(clipped)


def test_text_starting_with_link_too_long_to_keep() -> None:
    text = "[label words](https://example.com/" + "p" * 500 + ") rest"
    clipped = clip_markdown(text, 60)
    assert clipped == "label words " + ELLIPSIS


def test_escaped_markers_are_not_markup() -> None:
    text = r"Price \*not bold\* " + "word " * 40
    clipped = clip_markdown(text, 40)
    assert len(clipped) <= 40
    assert not clipped[:-1].endswith("\\")


def test_unmatched_marker_is_literal_and_does_not_block() -> None:
    text = "5 * 3 equals fifteen " + "and more words " * 10
    clipped = clip_markdown(text, 60)
    assert len(clipped) > 40


# --------------------------------------------------------------------------- #
# render_text
# --------------------------------------------------------------------------- #


def test_render_text() -> None:
    body = render_message(example_article(), test=True, site_name="Example News")
    text = render_text(body)
    assert TEST_MARKER in text
    assert "France Raids X Offices Over Child Abuse Images and Deepfakes" in text
    assert EXAMPLE_URL in text
    for item in EXAMPLE_TAKEAWAYS:
        assert f"- {item}" in text
    assert "Example News · World · Tags: X offices raided" in text
    assert "By US News Desk" in text
    assert "\x1b" not in text


def test_render_text_lays_the_post_out_as_discord_shows_it() -> None:
    # Discord: author above the headline, the image under the description, the time at
    # the end of the footer line. No "Published" label: a draft's preview has a time too.
    body = {
        "embeds": [
            {
                "author": {"name": "Desk"},
                "title": "Headline",
                "url": "https://example.org/a/",
                "description": "- one",
                "image": {"url": "https://example.org/a.jpg"},
                "footer": {"text": "World · Tags: a"},
                "timestamp": "2026-07-14T06:30:00+00:00",
            }
        ]
    }
    assert render_text(body) == (
        "By Desk\nHeadline\nhttps://example.org/a/\n\n- one\n\n"
        "Image: https://example.org/a.jpg\nWorld · Tags: a • 2026-07-14T06:30:00+00:00"
    )
    del body["embeds"][0]["footer"]
    assert render_text(body).endswith("a.jpg\n2026-07-14T06:30:00+00:00")


def test_render_text_is_terminal_safe() -> None:
    body = render_message(example_article(title="Red \x1b[31malert\x1b[0m", takeaways=("a\x1bb",)))
    assert "\x1b" not in render_text(body)
    hostile = {"content": "x\x1b]0;pwned\x07", "embeds": [{"title": "t\x9b1m"}]}
    text = render_text(hostile)
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\x07" not in text


def test_render_text_tolerates_odd_bodies() -> None:
    assert render_text({}) == ""
    assert render_text({"content": "hi", "embeds": [None, {"footer": "x"}]}) == "hi"


# --------------------------------------------------------------------------- #
# The schema helper itself
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "body",
    [
        {"embeds": [{"title": "x" * 257}]},
        {"embeds": [{"title": "t", "url": "/relative"}]},
        {"embeds": [{"title": "t", "timestamp": "2026-02-04 00:00"}]},
        {"embeds": [{"title": "t", "color": 0x1000000}]},
        {"content": "x" * 2001},
        {"content": "x", "allowed_mentions": {"parse": ["nobody"]}},
        {"content": "x", "allowed_mentions": {"parse": [], "roles": [5]}},
        {"embeds": [{"description": "x" * 4096, "footer": {"text": "y" * 2000}}]},
        {"embeds": [{"titel": "t"}]},
        {"allowed_mentions": {"parse": []}},
    ],
)
def test_schema_helper_rejects(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate_message_create(body, closed=True)


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

_FRAGMENTS = st.sampled_from(
    [
        "**",
        "*",
        "_",
        "__",
        "~~",
        "||",
        "`",
        "```",
        "[",
        "]",
        "](",
        ")",
        "\\",
        "https://example.com/a_b*c",
        "<https://example.com>",
        "@everyone",
        "@here",
        "<@&1>",
        "<@2>",
        "\n",
        "\n  - ",
        "\r\n",
        " ",
        "  ",
        "\t",
        "…",
        "👍🏽",
        "🇫🇷",
        "e\u0301",
        "\u200d",
        "日本語",
        "한국어",
        "\x00",
        "\x1b",
    ]
)
_WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12
)
messy_text = st.lists(st.one_of(_FRAGMENTS, _WORDS), max_size=60).map("".join)
long_messy_text = st.one_of(
    messy_text,
    st.tuples(messy_text, st.integers(1, 300)).map(lambda pair: pair[0] * pair[1]),
)
_URLS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.com/a",
            "/relative/path",
            "https://例え.jp/記事",
            "javascript:alert(1)",
            "https://example.com/x y",
            "http://[::1",
            "https://example.com/" + "a" * 3000,
        ]
    ),
    st.text(max_size=40),
)
_DATES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]
        ),
    ),
)

articles = st.builds(
    Article,
    id=st.just("a"),
    title=long_messy_text,
    url=_URLS,
    date=_DATES,
    publish_date=_DATES,
    tags=st.lists(messy_text, max_size=120).map(tuple),
    categories=st.lists(messy_text, max_size=10).map(tuple),
    authors=st.lists(messy_text, max_size=30).map(tuple),
    description=st.one_of(st.none(), messy_text),
    summary=st.one_of(st.none(), messy_text),
    image=_URLS,
    takeaways=st.lists(long_messy_text, max_size=40).map(tuple),
    lede=st.one_of(st.none(), long_messy_text),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    article=articles,
    color=st.one_of(st.none(), st.integers(0, 0xFFFFFF)),
    roles=st.lists(st.integers(1, 2**63 - 1), max_size=3),
    test=st.booleans(),
    site_name=st.one_of(st.none(), messy_text),
)
def test_any_article_gives_a_valid_body(
    article: Article, color: int | None, roles: list[int], test: bool, site_name: str | None
) -> None:
    body = render_message(
        article, color=color, mention_role_ids=roles, test=test, site_name=site_name
    )
    embed = check(body)
    assert body == render_message(
        article, color=color, mention_role_ids=roles, test=test, site_name=site_name
    )
    once = list(dict.fromkeys(roles))
    parts = [f"<@&{role}>" for role in once] + ([TEST_MARKER] if test else [])
    assert body.get("content", "") == " ".join(parts)
    assert body["allowed_mentions"] == (
        {"parse": [], "roles": [str(role) for role in once]} if once else {"parse": []}
    )
    assert embed["title"] in render_text(body)


# Items built from plain words and well-formed constructs, some nested, some
# followed by punctuation.
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)
_phrase = st.lists(_word, min_size=1, max_size=8).map(" ".join)
_link = st.tuples(_phrase, _word).map(lambda pw: f"[{pw[0]}](https://example.com/{pw[1]})")
_code = _phrase.map(lambda p: f"`{p}`")
_inline = st.one_of(_phrase, _phrase, _link, _code)
_rich = st.lists(_inline, min_size=1, max_size=4).map(" ".join)
_token = st.one_of(
    _word,
    _word,
    _word,
    _rich.map(lambda p: f"**{p}**"),
    _phrase.map(lambda p: f"*{p}*"),
    _rich.map(lambda p: f"~~{p}~~"),
    _phrase.map(lambda p: f"||{p}||"),
    _code,
    _link,
    _phrase.map(lambda p: f"**{p} *{p}* {p}**"),
    _word.map(lambda w: w + r" \* not bold"),
)
_punctuated = st.tuples(_token, st.sampled_from(["", "", "", ",", ".", ":", " -", " —"])).map(
    "".join
)
structured_item = st.lists(_punctuated, min_size=1, max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(item=structured_item, limit=st.integers(1, 300))
def test_clip_markdown_keeps_constructs_whole(item: str, limit: int) -> None:
    clipped = clip_markdown(item, limit)
    assert len(clipped) <= limit
    assert well_formed(clipped), clipped
    if clipped == item:
        return
    assert clipped.endswith(ELLIPSIS) or clipped.endswith(("**", "*", "~~", "||", "`", ")"))
    # A clean prefix of the item, its first construct shortened inside, or the
    # label of a first link whose target could not be kept.
    head = clipped[:-1]
    assert item.startswith(head) or clipped[0] in "*~|`[" or head.rstrip() in item


@settings(max_examples=60, deadline=None)
@given(items=st.lists(structured_item, min_size=1, max_size=200))
def test_structured_takeaways_render_well_formed(items: list[str]) -> None:
    embed = check(render_message(example_article(takeaways=tuple(items))))
    lines = embed["description"].split("\n")
    for line in lines:
        assert well_formed(line), line
    if lines[-1].startswith(f"{ELLIPSIS}and "):
        dropped = int(lines[-1].split()[1])
        assert len(lines) - 1 + dropped == len(items)


@settings(max_examples=200, deadline=None)
@given(text=long_messy_text, limit=st.integers(0, 500))
def test_clip_markdown_any_text(text: str, limit: int) -> None:
    clipped = clip_markdown(text, limit)
    assert len(clipped) <= max(limit, 0)
    if len(text) <= limit:
        assert clipped == text


# --------------------------------------------------------------------------- text hygiene


_LINE_TEXT = st.text(alphabet="ab A\t\n\r\x00\x1f\x7f\x85\xa0\u2028\ud800é", max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE_TEXT, max_size=5))
def test_unique_lines_matches_normalise_tag(values: list[str]) -> None:
    from bot import summary
    from bot.articles.model import normalise_tag

    seen: set[str] = set()
    expected: list[str] = []
    for value in (summary._one_line(v) for v in values):
        if value and normalise_tag(value) not in seen:
            seen.add(normalise_tag(value))
            expected.append(value)
    assert summary._unique_lines(values) == expected
