"""bot/formats.py: moderator templates in, Discord-valid, ping-safe posts out."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.formats import (
    DEFAULT_FORMAT,
    PLACEHOLDERS,
    Format,
    FormatError,
    format_to_json,
    parse_format,
    read_format,
    render_formatted,
    switches_text,
)
from bot.summary import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_FOOTER,
    MAX_TITLE,
    TEST_MARKER,
    render_message,
)
from tests.discord_schema import embed_text_length, validate_message_create
from tests.test_summary import example_article

ROLE = 4242


def form(
    content: str = "",
    title: str = "{{title}}",
    description: str = "",
    footer: str = "",
    switches: str = "",
) -> Format:
    return parse_format(content, title, description, footer, switches)


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """Discord's schema (closed), its limits, and pings for nobody but ROLE."""
    validate_message_create(body, closed=True)
    assert body["allowed_mentions"]["parse"] == []
    assert set(body["allowed_mentions"].get("roles", [])) <= {str(ROLE)}
    assert len(body.get("content", "")) <= MAX_CONTENT
    for embed in body["embeds"]:
        assert len(embed.get("title", "")) <= MAX_TITLE
        assert len(embed.get("description", "")) <= MAX_DESCRIPTION
        assert len(embed.get("footer", {}).get("text", "")) <= MAX_FOOTER
        assert embed_text_length(embed) <= MAX_EMBED_TOTAL
    assert body.get("content") or body["embeds"]
    return body


ARTICLES = [
    example_article(),
    example_article(takeaways=()),
    example_article(takeaways=(), lede=None, description=None, authors=(), image=None),
    example_article(tags=("a", "b", "A"), categories=("a", "World")),
    example_article(title="x" * 400, takeaways=tuple("word " * 300 for _ in range(30))),
]


@pytest.mark.parametrize("article", ARTICLES)
@pytest.mark.parametrize("roles", [(), (ROLE,)])
@pytest.mark.parametrize("test", [False, True])
def test_the_default_format_is_todays_post_byte_for_byte(
    article: Any, roles: tuple[int, ...], test: bool
) -> None:
    expected = render_message(article, color=0x123456, mention_role_ids=roles, test=test)
    got = render_formatted(
        article, DEFAULT_FORMAT, color=0x123456, mention_role_ids=roles, test=test
    )
    assert got == expected
    assert repr(got) == repr(expected)  # same keys in the same order


def test_the_default_texts_saved_unchanged_stay_the_default() -> None:
    d = DEFAULT_FORMAT
    again = parse_format(d.content, d.title, d.description, d.footer, switches_text(d))
    assert again.is_default
    assert format_to_json(again) is None
    assert read_format(None) == (DEFAULT_FORMAT, None)


def test_a_custom_format_round_trips_through_json() -> None:
    fmt = form("{{mention}} {{title}}", "{{site}}: {{title}}", "{{summary}}", "", "image: off")
    text = format_to_json(fmt)
    assert text is not None
    assert read_format(text) == (fmt, None)
    assert not fmt.is_default


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "it is not a saved format"),
        ("[]", "it is not a saved format"),
        ('{"title": "{{title}}", "layout": "grid"}', "it has parts I don't know: layout"),
        ('{"title": 3, "embed": "yes"}', "its title, embed are not what I expect"),
        (
            '{"title": "{{headline}}"}',
            "Embed title, line 1, column 1: unknown placeholder `{{headline}}`.",
        ),
    ],
    ids=["not-json", "not-an-object", "unknown-part", "wrong-types", "unknown-placeholder"],
)
def test_a_stored_format_this_version_cannot_read_gives_the_default_and_why(
    text: str, why: str
) -> None:
    fmt, error = read_format(text)
    assert fmt is DEFAULT_FORMAT
    assert error is not None and error.startswith(why)


def test_every_placeholder() -> None:
    article = example_article(image="https://cdn.example.com/a.png")
    lines = [f"{name}=[[{{{{{name}}}}}]]" for name in PLACEHOLDERS]
    fmt = form("", "{{title}}", "\n".join(lines), "")
    body = valid(render_formatted(article, fmt, mention_role_ids=(ROLE,)))
    text = body["embeds"][0]["description"]
    got = dict(re.findall(r"^(\w+)=\[\[(.*?)\]\]$", text, re.S | re.M))
    takeaways = "\n".join("- " + t for t in article.takeaways)
    assert got == {
        "title": article.title,
        "url": "https://news.example.com/articles/france-raids-x-offices/",
        "summary": article.lede,
        "author": "US News Desk",
        "tags": "X offices raided",
        "categories": "World",
        "date": f"<t:{int(article.date.timestamp())}:f>",
        "image": "https://cdn.example.com/a.png",
        "site": "news.example.com",
        "mention": f"<@&{ROLE}>",
        "takeaways": takeaways,
    }


def test_site_is_the_site_name_when_the_site_config_gives_one() -> None:
    fmt = form("", "{{title}}", "{{url}}", "{{site}}")
    named = dataclasses.replace(example_article(), site_name="The @everyone Gazette")
    assert valid(render_formatted(named, fmt))["embeds"][0]["footer"]["text"] == (
        "The @\u200beveryone Gazette"
    )
    unnamed = valid(render_formatted(example_article(), fmt))["embeds"][0]["footer"]
    assert unnamed["text"] == "news.example.com"  # the host of the article's address


def test_placeholder_arguments() -> None:
    article = example_article()
    fmt = form("", "{{ title }}", "{{takeaways:2}}\n{{date:R}}", "")
    embed = valid(render_formatted(article, fmt))["embeds"][0]
    assert embed["title"] == article.title
    two = "\n".join("- " + t for t in article.takeaways[:2])
    assert embed["description"] == f"{two}\n<t:{int(article.date.timestamp())}:R>"


def test_takeaways_fall_back_to_the_summary_as_todays_post_does() -> None:
    article = example_article(takeaways=())
    embed = valid(render_formatted(article, form(description="{{takeaways}}")))["embeds"][0]
    assert embed["description"] == article.lede


def test_empty_parts_and_lines_are_left_out() -> None:
    article = example_article(tags=(), categories=(), authors=())
    fmt = form(
        "", "{{title}}", "By {{author}}\n{{takeaways:1}}", "{{categories}} · Tags: {{tags}} · Hi"
    )
    embed = valid(render_formatted(article, fmt))["embeds"][0]
    assert embed["description"] == "- " + article.takeaways[0]
    assert embed["footer"] == {"text": "Hi"}


def test_switches_turn_the_embed_image_and_footer_off() -> None:
    article = example_article(image="https://cdn.example.com/a.png")
    plain = form("{{mention}} **{{title}}** {{url}}", switches="embed: off")
    body = valid(render_formatted(article, plain, mention_role_ids=(ROLE,)))
    assert body["embeds"] == []
    assert body["content"] == f"<@&{ROLE}> **{article.title}** {article.url}"
    bare = form(description="{{summary}}", footer="{{tags}}", switches="image=no\nfooter: off")
    embed = valid(render_formatted(article, bare))["embeds"][0]
    assert "image" not in embed
    assert "footer" not in embed
    assert switches_text(bare) == "embed: on, image: off, footer: off"


def test_a_test_post_is_marked_in_a_custom_format_too() -> None:
    body = valid(render_formatted(example_article(), form("{{title}}"), test=True))
    assert body["content"].startswith(example_article().title + " 🧪 Test post")
    # A content line that fills the message makes room for the marker: a test post
    # always says so (and never passes for the real post, see post_fingerprint).
    article = example_article(takeaways=("word " * 1000,))
    body = valid(render_formatted(article, form("{{takeaways}}"), test=True))
    assert body["content"].endswith(TEST_MARKER)
    assert len(body["content"]) <= MAX_CONTENT


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"content": "New: {{tittle}}"},
            "Content line, line 1, column 6: unknown placeholder `{{tittle}}`. "
            "Did you mean `{{title}}`?",
        ),
        (
            {"description": "{{takeaways}}\nBy {{autor}}"},
            "Embed description, line 2, column 4: unknown placeholder `{{autor}}`. "
            "Did you mean `{{author}}`?",
        ),
        (
            {"title": "\n  {{title}} {{nope}}"},
            "Embed title, line 2, column 13: unknown placeholder `{{nope}}`.",
        ),
        (
            {"footer": "{{site}} · {{tags"},
            "Embed footer, line 1, column 12: `{{` is never closed with `}}`.",
        ),
        (
            {"title": "{{}}"},
            "Embed title, line 1, column 1: `{{}}` is not a placeholder; they look like "
            "`{{title}}` or `{{takeaways:3}}`.",
        ),
        (
            {"title": "{{ {{title}}"},
            "Embed title, line 1, column 1: `{{ {{title}}` is not a placeholder; they look "
            "like `{{title}}` or `{{takeaways:3}}`. Did you mean `{{title}}`?",
        ),
        (
            {"description": "{{takeaways:0}}"},
            "Embed description, line 1, column 1: `{{takeaways:N}}` needs a number from 1 "
            "to 50, not `0`.",
        ),
        (
            {"description": "{{date:x}}"},
            "Embed description, line 1, column 1: `{{date:X}}` takes one of t, T, d, D, f, "
            "F, R (Discord's timestamp styles), not `x`.",
        ),
        (
            {"title": "{{title:3}}"},
            "Embed title, line 1, column 1: `{{title}}` takes nothing after a colon.",
        ),
        (
            {"switches": "embed: on, imgae: off"},
            "Switches, line 1, column 12: unknown switch `imgae`; the switches are embed, "
            "image and footer. Did you mean `image`?",
        ),
        (
            {"switches": "footer: maybe"},
            "Switches, line 1, column 1: `footer` is `on` or `off`, not `maybe`.",
        ),
        (
            {"content": "Hello", "switches": "embed: off"},
            "Content line: with `embed: off` the content line is the whole post, so it "
            "needs a placeholder such as {{title}} or {{url}}.",
        ),
    ],
)
def test_bad_templates_are_refused_with_the_place_and_a_suggestion(
    fields: dict[str, str], message: str
) -> None:
    texts = {"content": "", "title": "", "description": "", "footer": "", "switches": ""}
    with pytest.raises(FormatError) as caught:
        parse_format(**(texts | fields))
    assert str(caught.value) == message


def test_a_format_producing_more_than_discord_allows_is_clipped() -> None:
    long = "word " * 2000
    article = example_article(
        title="t" * 300,
        takeaways=tuple(long for _ in range(10)),
        tags=tuple(f"tag{n}" for n in range(500)),
        authors=("a" * 300,),
    )
    every = " ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
    fmt = form(every * 3, every, every * 4, every * 4)
    body = valid(render_formatted(article, fmt, mention_role_ids=(ROLE,)))
    embed = body["embeds"][0]
    assert MAX_CONTENT - 20 < len(body["content"]) <= MAX_CONTENT
    assert body["content"].endswith("…")
    assert len(embed["title"]) == MAX_TITLE
    assert embed_text_length(embed) <= MAX_EMBED_TOTAL


HOSTILE = "@everyone @here <@&999> <@123> <#55> [safe.example](https://evil.example)"


def test_a_hostile_article_in_every_placeholder_pings_nobody_and_links_nowhere() -> None:
    article = example_article(
        title=HOSTILE,
        tags=(HOSTILE,),
        categories=(HOSTILE,),
        authors=(HOSTILE,),
        takeaways=(HOSTILE,),
        lede=HOSTILE,
        description=HOSTILE,
    )
    every = " ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
    fmt = form("@everyone <@&999> " + every, every, every + "\n{{summary}}", every)
    body = valid(render_formatted(article, fmt, mention_role_ids=(ROLE,)))
    embed = body["embeds"][0]
    texts = [body["content"], embed["title"], embed["description"], embed["footer"]["text"]]
    for text in texts:
        assert not re.search(
            r"@(everyone|here)|<@[&!]?\d+>|<#\d+>", text.replace(f"<@&{ROLE}>", "")
        )
    # A link labelled with another address shows as text; outside the description no
    # article text forms a masked link at all.
    for text in texts:
        assert "](https://evil" not in text
    assert body["allowed_mentions"] == {"parse": [], "roles": [str(ROLE)]}


def test_content_that_comes_out_empty_falls_back_to_the_headline() -> None:
    article = example_article(authors=())
    fmt = form("{{author}}", switches="embed: off")
    body = valid(render_formatted(article, fmt))
    assert body["content"] == f"{article.title} {article.url}"


def test_an_article_without_a_date_url_or_image() -> None:
    article = replace(example_article(), date=None, url=None, image=None)
    fmt = form("{{date}} {{url}} {{title}}", description="{{image}}{{site}}")
    body = valid(render_formatted(article, fmt))
    assert body["content"] == article.title
    assert "description" not in body["embeds"][0]


def test_render_needs_no_clock() -> None:
    # The date placeholder depends on the article only.
    article = example_article(date=datetime(2024, 1, 2, tzinfo=UTC))
    body = render_formatted(article, form("{{date:D}}"))
    assert body["content"] == "<t:1704153600:D>"


def test_the_moderators_links_and_the_articles_honest_links_stay() -> None:
    article = example_article(
        url="https://news.example.com/a_(b)/", takeaways=("See [the report](https://x.example/r).",)
    )
    fmt = form("[Read more]({{url}})", description="{{takeaways}}")
    body = valid(render_formatted(article, fmt))
    assert body["content"] == "[Read more](https://news.example.com/a_%28b%29/)"
    assert body["embeds"][0]["description"] == "- See [the report](https://x.example/r)."
