"""``/news latest|search|tags|show`` as a Discord user sees them, from the real bot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import interactions
from bot.store import Store
from tests.e2e.conftest import (
    HIDDEN_TITLES,
    PUBLISHED_NEWEST_FIRST,
    OpenNewsroom,
    button,
    buttons,
    listed_titles,
    write_article,
)
from tests.fakediscord.interactions import EPHEMERAL

DEADLINE = 3.0  # Discord's window for the first answer to an interaction


def only_embed(message: dict[str, Any]) -> dict[str, Any]:
    assert len(message["embeds"]) == 1, message
    embed: dict[str, Any] = message["embeds"][0]
    return embed


def write_briefings(content_dir: Path, count: int) -> list[str]:
    """``count`` published articles tagged Briefing, returned newest first."""
    titles = []
    for n in range(count):
        title = f"Morning Briefing Number {n + 1:02d}"
        write_article(
            content_dir,
            f"briefing-{n + 1:02d}",
            title,
            date=f"2026-03-{n + 1:02d}T07:00:00Z",
            tags=["Briefing"],
        )
        titles.append(title)
    return titles[::-1]


# -- /news latest -------------------------------------------------------------------


async def test_latest_lists_published_articles_newest_first(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    interaction, message = await room.answer("latest")
    assert interaction.callback_type == 4  # answered at once, no "thinking..."
    assert interaction.callback_delay is not None and interaction.callback_delay < DEADLINE
    assert not interaction.ephemeral  # results are for everyone in the channel
    embed = only_embed(message)
    assert embed["title"] == "Latest articles"
    assert listed_titles(embed) == PUBLISHED_NEWEST_FIRST
    assert embed["footer"]["text"] == "4 articles"
    assert "components" not in message or not message["components"]  # one page: no buttons
    # Each headline links to the article on the site.
    assert "(https://news.example.org/articles/heatwave-power-grid/)" in embed["description"]


async def test_latest_with_tag_matches_case_insensitively(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    # "City council" is on the bike-lanes article and on a draft, which never shows.
    _, message = await room.answer("latest", tag="city   COUNCIL")
    embed = only_embed(message)
    assert listed_titles(embed) == [PUBLISHED_NEWEST_FIRST[0]]
    assert embed["title"] == "Latest articles tagged City council"  # as the articles write it
    _, message = await room.answer("latest", tag="energy")
    # The expired festival article is tagged Energy too; it is not listed.
    assert listed_titles(only_embed(message)) == [
        "Heatwave Pushes Regional Power Grid to Record Demand"
    ]


async def test_latest_count(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    _, message = await room.answer("latest", count=2)
    assert listed_titles(only_embed(message)) == PUBLISHED_NEWEST_FIRST[:2]


async def test_latest_with_misspelt_tag_suggests_the_closest(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    interaction, message = await room.answer("latest", tag="Enrgy")
    assert interaction.ephemeral  # only the asker needs to read "nothing found"
    assert message["embeds"] == []
    assert message["content"].startswith("No published articles are tagged **Enrgy**.")
    assert "Did you mean **Energy**" in message["content"]


async def test_latest_with_tag_of_hidden_articles_only(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    # Only the scheduled article is tagged Elections, only the draft Libraries.
    for tag in ("Elections", "libraries", "Festival"):
        interaction, message = await room.answer("latest", tag=tag)
        assert interaction.ephemeral
        assert "No published articles are tagged" in message["content"]
        assert "/news tags" in message["content"]  # where to find the tags that exist


async def test_nothing_published_yet(newsroom: OpenNewsroom, content_dir: Path) -> None:
    for path in (content_dir / "articles").rglob("*.md"):
        path.unlink()
    room = await newsroom()
    interaction, message = await room.answer("latest")
    assert interaction.ephemeral
    assert message["content"] == "No articles have been published yet."
    interaction, message = await room.answer("tags")
    assert interaction.ephemeral
    assert "No published article carries a tag" in message["content"]


# -- /news search -------------------------------------------------------------------


async def test_search_best_match_first(newsroom: OpenNewsroom, content_dir: Path) -> None:
    # The older article has the word in its headline, the newer one only in a takeaway.
    write_article(
        content_dir,
        "tram-extension",
        "Tram Line Extension Opens to Passengers",
        date="2026-05-01T08:00:00Z",
        tags=["Transport"],
        takeaways=["The tram now reaches the airport."],
    )
    write_article(
        content_dir,
        "bus-timetable",
        "New Bus Timetable Starts Monday",
        date="2026-06-01T08:00:00Z",
        tags=["Transport"],
        takeaways=["Buses connect with the tram at the central station."],
    )
    room = await newsroom()
    _, message = await room.answer("search", query="tram")
    embed = only_embed(message)
    assert listed_titles(embed) == [
        "Tram Line Extension Opens to Passengers",
        "New Bus Timetable Starts Monday",
    ]
    assert embed["title"] == "Results for “tram”"
    # With a tag filter (any case); the bike-lanes article is tagged Transport but has no tram.
    _, message = await room.answer("search", query="tram", tag="TRANSPORT")
    assert len(listed_titles(only_embed(message))) == 2
    interaction, message = await room.answer("search", query="tram", tag="Energy")
    assert interaction.ephemeral
    assert message["content"].startswith("No published articles match “tram” with the tag")


async def test_search_never_shows_hidden_articles(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    # Words only the draft, the scheduled and the expired article contain.
    for query in ("twelve branches", "swing districts", "festival"):
        interaction, message = await room.answer("search", query=query)
        assert interaction.ephemeral, query
        assert message["content"] == (
            f"No published articles match “{query}”. Try fewer or different words."
        )


async def test_search_takes_any_text(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    for query in ('"unbalanced AND (', "NEAR(a b) OR *", "-", "¯\\_(ツ)_/¯"):
        interaction, message = await room.answer("search", query=query)
        assert interaction.callback_type == 4, query
        assert message["content"] or message["embeds"]


# -- /news tags ---------------------------------------------------------------------


async def test_tags_with_counts(newsroom: OpenNewsroom, content_dir: Path) -> None:
    # Two more Space articles, one spelling it differently: spellings merge, the most
    # common one is shown.
    write_article(
        content_dir, "moons", "Jupiter's Moons Up Close", date="2026-08-20", tags=["SPACE"]
    )
    write_article(content_dir, "comet", "A Comet Returns", date="2026-08-21", tags=["Space"])
    room = await newsroom()
    interaction, message = await room.answer("tags")
    assert not interaction.ephemeral
    embed = only_embed(message)
    lines = embed["description"].splitlines()
    assert lines[0] == "`Space` — 3 articles"  # most used first
    assert "`City council` — 1 article" in lines  # the draft's tag is not counted
    shown = {line.split("`")[1] for line in lines}
    assert not shown & {"Elections", "Libraries", "Festival", "Culture"}
    assert embed["footer"]["text"] == "11 tags"


# -- /news show ---------------------------------------------------------------------


async def test_show_is_the_summary_post(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    choices = await room.autocomplete("show", "article", "heatwave")
    assert [c["name"] for c in choices] == ["Heatwave Pushes Regional Power Grid to Record Demand"]
    interaction, message = await room.answer("show", article=choices[0]["value"])
    assert not interaction.ephemeral
    stored = await room.bot.store.get(int(choices[0]["value"]))
    assert stored is not None
    expected = stored.message["embeds"][0]
    embed = only_embed(message)
    for key in ("title", "url", "description", "author", "image", "footer", "color"):
        assert embed[key] == expected[key], key
    assert embed["description"].startswith("- Electricity demand hit a **record 61.2 GW**")


async def test_show_by_typed_headline(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    _, message = await room.answer("show", article="space probe")
    assert only_embed(message)["title"].startswith("Space Probe Enters Orbit")


async def test_show_never_shows_hidden_articles(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    store: Store = room.bot.store
    hidden = [a for a in await store.latest(None, 100) if a.title in HIDDEN_TITLES]
    assert hidden == []  # sanity: the lookups never list them...
    ids = []
    for article_id in range(1, 20):
        found = await store.get(article_id)
        if found is not None and found.title in HIDDEN_TITLES:
            ids.append(article_id)
    assert len(ids) == 3
    # ...and neither their id nor their headline shows them.
    for value in [str(i) for i in ids] + ["Public Libraries", "Election Night", "Festival"]:
        interaction, message = await room.answer("show", article=value)
        assert interaction.ephemeral, value
        assert message["content"].startswith("No published article matches that."), value


async def test_show_with_a_huge_number(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    interaction, message = await room.answer("show", article="9" * 30)
    assert interaction.ephemeral
    assert message["content"].startswith("No published article matches that.")


# -- autocomplete -------------------------------------------------------------------


async def test_tag_autocomplete_prefix_then_substring(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    choices = await room.autocomplete("latest", "tag", "c")
    names = [c["name"] for c in choices]
    assert names == ["City council", "Climate", "Cycling", "Economy", "Space"]
    assert all(c["value"] == c["name"] for c in choices)
    assert await room.autocomplete("search", "tag", "MARK", query="x") == [
        {"name": "Markets", "value": "Markets"}
    ]
    assert await room.autocomplete("latest", "tag", "libr") == []  # only on the draft


async def test_autocomplete_offers_at_most_25(newsroom: OpenNewsroom, content_dir: Path) -> None:
    for n in range(30):
        write_article(
            content_dir,
            f"topic-{n}",
            f"Topic {n:02d} Explained",
            date=f"2026-04-{n % 28 + 1:02d}",
            tags=[f"Topic {n:02d}"],
        )
    room = await newsroom()
    tags = await room.autocomplete("latest", "tag", "")
    assert len(tags) == 25
    assert [c["name"] for c in tags[:3]] == ["City council", "Climate", "Cycling"]
    titles = await room.autocomplete("show", "article", "topic")
    assert len(titles) == 25
    assert all(c["name"].startswith("Topic") for c in titles)


async def test_article_autocomplete_prefix_first_published_only(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    choices = await room.autocomplete("show", "article", "s")
    names = [c["name"] for c in choices]
    assert names[0].startswith("Space Probe")  # starts with the text typed
    assert set(names[1:]) == set(PUBLISHED_NEWEST_FIRST) - {names[0]}
    assert not set(names) & set(HIDDEN_TITLES)
    assert await room.autocomplete("show", "article", "library") == []


# -- paging -------------------------------------------------------------------------


async def test_pages_turn_for_the_asker_only(newsroom: OpenNewsroom, content_dir: Path) -> None:
    titles = write_briefings(content_dir, 12)
    room = await newsroom()
    _, message = await room.answer("latest", tag="briefing", count=25)
    assert listed_titles(only_embed(message)) == titles[:5]
    assert only_embed(message)["footer"]["text"] == "Page 1 of 3 · 12 articles"
    assert button(message, "pager:prev")["disabled"] is True
    assert button(message, "pager:at")["label"] == "1 / 3"
    assert not button(message, "pager:next").get("disabled")

    turn = await room.fake.click(message, "pager:next", room.reader)
    assert (await turn.response())["type"] == 7  # the list message itself is updated
    page2 = room.fake._find_message(int(message["id"]))
    assert page2 is not None
    assert listed_titles(only_embed(page2)) == titles[5:10]
    assert button(page2, "pager:at")["label"] == "2 / 3"
    assert not button(page2, "pager:prev").get("disabled")

    # Someone else is told privately that the list is not theirs; nothing changes.
    refused = await room.fake.click(message, "pager:next", room.bystander)
    body = await refused.response()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "Only the person who asked" in body["data"]["content"]
    unchanged = room.fake._find_message(int(message["id"]))
    assert unchanged is not None and listed_titles(only_embed(unchanged)) == titles[5:10]

    await (await room.fake.click(message, "pager:next", room.reader)).response()
    last = room.fake._find_message(int(message["id"]))
    assert last is not None
    assert listed_titles(only_embed(last)) == titles[10:]
    assert button(last, "pager:next")["disabled"] is True
    await (await room.fake.click(message, "pager:prev", room.reader)).response()
    back = room.fake._find_message(int(message["id"]))
    assert back is not None and listed_titles(only_embed(back)) == titles[5:10]


async def test_pager_times_out_with_buttons_disabled(
    newsroom: OpenNewsroom, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_briefings(content_dir, 7)
    room = await newsroom()
    monkeypatch.setattr(interactions, "PAGER_TIMEOUT", 0.3)
    interaction, message = await room.answer("latest", tag="Briefing", count=10)
    assert interaction.callback is not None
    sent = interaction.callback["data"]  # as sent, whatever happened since
    assert not button(sent, "pager:next").get("disabled")
    original_id = int(message["id"])

    def all_disabled() -> bool:
        current = room.fake._find_message(original_id)
        return current is not None and all(b.get("disabled") for b in buttons(current))

    await room.fake.wait_for(all_disabled, timeout=3)
    current = room.fake._find_message(original_id)
    assert current is not None
    assert listed_titles(only_embed(current)) == listed_titles(sent["embeds"][0])  # same page


async def test_pager_times_out_after_the_first_token_expired(
    newsroom: OpenNewsroom, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Interaction tokens live 15 minutes and every page turn restarts the buttons'
    # timeout, so greying them out may come after the command's own token died: it must
    # use the latest turn's token.
    titles = write_briefings(content_dir, 7)
    room = await newsroom()
    pagers: list[Any] = []
    pager_init = interactions.Pager.__init__

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        pager_init(self, *args, **kwargs)
        pagers.append(self)

    monkeypatch.setattr(interactions.Pager, "__init__", recording_init)
    _, message = await room.answer("latest", tag="Briefing", count=10)
    room.fake.clock.advance(room.fake.interaction_token_ttl + 1)  # the command's token expired
    click = await room.fake.click(message, "pager:next", room.reader)
    await click.response()
    (pager,) = pagers
    # The turn is done once the pager holds the click's interaction.
    await room.fake.wait_for(lambda: getattr(pager.editor, "__self__", None).id == click.id)
    # What discord.py calls when the timeout (here: not waited for) runs out.
    await pager.on_timeout()
    pager.stop()
    current = room.fake._find_message(int(message["id"]))
    assert current is not None
    assert all(b.get("disabled") for b in buttons(current))
    assert listed_titles(only_embed(current)) == titles[5:]  # still the page turned to


# -- slow lookups -------------------------------------------------------------------


async def test_slow_lookup_defers_then_follows_up(
    newsroom: OpenNewsroom, content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles = write_briefings(content_dir, 6)
    room = await newsroom()
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.05)
    latest = room.bot.store.latest

    async def slow_latest(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        return await latest(*args, **kwargs)

    monkeypatch.setattr(room.bot.store, "latest", slow_latest)
    interaction = await room.invoke("latest", tag="briefing", count=6)
    body = await interaction.response()
    assert body["type"] == 5  # "NewsBot is thinking..."
    assert interaction.callback_delay is not None and interaction.callback_delay < DEADLINE
    message = await interaction.original_message()
    assert not interaction.ephemeral
    assert listed_titles(only_embed(message)) == titles[:5]
    # The pages of a deferred answer turn like any other.
    await (await room.fake.click(message, "pager:next", room.reader)).response()
    turned = room.fake._find_message(int(message["id"]))
    assert turned is not None and listed_titles(only_embed(turned)) == titles[5:]


async def test_slow_lookup_with_nothing_found_answers_privately(
    newsroom: OpenNewsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await newsroom()
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.05)
    search = room.bot.store.search

    async def slow_search(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        return await search(*args, **kwargs)

    monkeypatch.setattr(room.bot.store, "search", slow_search)
    interaction = await room.invoke("search", query="zeppelin")
    assert (await interaction.response())["type"] == 5
    (notice,) = await interaction.followups(1)
    assert notice["flags"] & EPHEMERAL
    assert notice["content"].startswith("No published articles match “zeppelin”")
    # The public "thinking..." message is gone rather than left spinning or public.
    await room.fake.wait_for(lambda: interaction.original is None)
    assert room.fake.messages(room.channel) == []


# -- categories, as first-class as tags --------------------------------------------------


async def test_latest_and_search_by_category(newsroom: OpenNewsroom, content_dir: Path) -> None:
    # A tag spelled like a category is not the category: only "In Politics" is in it.
    write_article(
        content_dir,
        "in-politics",
        "In Politics",
        date="2026-03-01T10:00:00Z",
        extra='categories: ["Politics"]\n',
    )
    write_article(
        content_dir,
        "tagged-politics",
        "Tagged Politics",
        date="2026-03-02T10:00:00Z",
        tags=["Politics"],
    )
    room = await newsroom()
    _, message = await room.answer("latest", category="POLITICS")
    embed = only_embed(message)
    assert listed_titles(embed) == ["In Politics"]
    assert embed["title"] == "Latest articles in Politics"  # as the articles write it
    _, message = await room.answer("latest", tag="politics")
    assert listed_titles(only_embed(message)) == ["Tagged Politics"]

    _, message = await room.answer("search", query="rates", category="business")
    embed = only_embed(message)
    assert listed_titles(embed) == ["Central Bank Holds Rates Steady, Signals Cut in Spring"]
    assert embed["title"] == "Results for “rates” in Business"
    # A tag and a category together: articles with both.
    _, message = await room.answer("latest", tag="Energy", category="Environment")
    assert listed_titles(only_embed(message)) == [
        "Heatwave Pushes Regional Power Grid to Record Demand"
    ]
    interaction, message = await room.answer("latest", tag="Energy", category="Business")
    assert interaction.ephemeral
    assert message["content"] == (
        "No published articles tagged **Energy** are in the category **Business**."
    )
    interaction, message = await room.answer("search", query="rates", category="Sport")
    assert interaction.ephemeral
    assert message["content"] == (
        "No published articles match “rates” in the category **Sport**. "
        "No article is in that category: pick one from the list while typing."
    )


async def test_category_autocomplete_is_apart_from_tags(newsroom: OpenNewsroom) -> None:
    room = await newsroom()
    # Published articles' categories only (Politics is on the scheduled article).
    choices = await room.autocomplete("latest", "category", "")
    assert [c["name"] for c in choices] == ["Business", "Environment", "Local", "Science"]
    # Prefix matches first, then the categories containing it.
    completed = await room.autocomplete("search", "category", "en")
    assert [c["value"] for c in completed] == ["Environment", "Science"]
    tags = [c["name"] for c in await room.autocomplete("latest", "tag", "")]
    assert "Business" not in tags and "Energy" in tags
