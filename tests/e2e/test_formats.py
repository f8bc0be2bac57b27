"""``/newsadmin format`` end to end: the modal, the preview with Save and Cancel, and
posts (and their edits) in the saved format, against the fake Discord."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot import format_views
from bot.config import Settings
from bot.formats import DEFAULT_FORMAT, PLACEHOLDERS, format_texts, parse_format
from bot.summary import MAX_CONTENT, render_message
from tests.delivery.harness import write_article
from tests.e2e.conftest import buttons
from tests.e2e.test_admin import EPHEMERAL, Desk, start_desk
from tests.fakediscord import InvalidInvocation
from tests.fakediscord.interactions import FakeInteraction
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord

NEWEST_SPACE = "Space Probe Enters Orbit Around Jupiter After Six-Year Journey"
EVERY = " ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)


@pytest.fixture
async def desk(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> Desk:
    return await start_desk(fake_discord, run_bot, bot_settings)


def modal_inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The text inputs of a modal callback's data, by custom id, with their labels."""
    found = {}
    for label in modal["components"]:
        assert label["type"] == 18  # Label components, as Discord now recommends
        found[label["component"]["custom_id"]] = label["component"] | {"label": label["label"]}
    return found


async def open_form(desk: Desk, **options: Any) -> FakeInteraction:
    a = desk.a
    interaction = await a.invoke("format", channel=str(a.news.id), **options)
    body = await interaction.response()
    assert body["type"] == 9, body
    return interaction


async def submit(desk: Desk, form: FakeInteraction, **values: str) -> dict[str, Any]:
    """Submit the form with these fields changed; returns the private answer."""
    submitted = await desk.fake.submit_modal(
        form, {f"format:{key}": value for key, value in values.items()}
    )
    message = await submitted.original_message(timeout=10)
    assert message["flags"] & EPHEMERAL
    return message


async def test_the_form_previews_then_saves_only_on_save(desk: Desk) -> None:
    a = desk.a
    role = await desk.role("space-fans")
    await a.run("subscribe", channel=a.news, tags="Space", mention=role)

    form = await open_form(desk)
    inputs = modal_inputs(form.callback["data"])  # type: ignore[index]
    assert form.callback["data"]["title"] == "Post format for #news"  # type: ignore[index]
    assert {k: i["value"] for k, i in inputs.items()} == {
        f"format:{k}": v for k, v in format_texts(DEFAULT_FORMAT).items()
    }
    assert [i["label"] for i in inputs.values()] == [
        "Content line",
        "Embed title",
        "Embed description",
        "Embed footer",
        "Switches",
    ]

    preview = await submit(
        desk,
        form,
        content="{{mention}} New on {{site}}: **{{title}}**",
        description="{{takeaways:2}}\n\nBy {{author}}, {{date:D}}",
        switches="embed: on, image: off, footer: off",
    )
    head = f"Preview of the new format for <#{a.news.id}>: nothing changes until you press Save."
    assert preview["content"].startswith(head + f"\n<@&{role.id}> New on news.example.org: ")
    assert NEWEST_SPACE in preview["content"]
    [embed] = preview["embeds"]
    assert embed["title"] == NEWEST_SPACE
    # This article has no takeaways: {{takeaways}} gives its summary, as today's post does.
    assert embed["description"].startswith("The probe fired its main engine")
    assert re.search(r"By Science Desk, <t:\d+:D>$", embed["description"])
    assert "footer" not in embed and "image" not in embed
    assert preview["mention_roles"] == []  # a preview pings nobody
    assert (await desk.sub(a.news)).format == DEFAULT_FORMAT  # type: ignore[union-attr]
    assert "Format: default." in (await a.answer("list"))["embeds"][0]["fields"][0]["value"]

    cancel = await desk.fake.click(preview, "format:cancel", a.mod)
    assert (await cancel.response())["type"] == 7
    cancelled = desk.fake._find_message(int(preview["id"]))
    assert cancelled is not None
    assert cancelled["content"] == f"Cancelled: the format of <#{a.news.id}> is unchanged."
    assert cancelled["embeds"] == [] and cancelled["components"] == []
    assert (await desk.sub(a.news)).format == DEFAULT_FORMAT  # type: ignore[union-attr]

    form = await open_form(desk)
    preview = await submit(desk, form, title="📰 {{title}}", footer="{{tags}}")
    saved = await desk.fake.click(preview, "format:save", a.mod)
    await saved.response()
    done = desk.fake._find_message(int(preview["id"]))
    assert done is not None and done["content"] == f"Saved: <#{a.news.id}> now uses this format."
    sub = await desk.sub(a.news)
    assert sub is not None
    assert sub.format == parse_format(
        "{{mention}}", "📰 {{title}}", "{{takeaways}}", "{{tags}}", "embed: on"
    )
    assert "Format: custom." in (await a.answer("list"))["embeds"][0]["fields"][0]["value"]

    # The form opens with the saved format; reset goes back to the default.
    form = await open_form(desk)
    assert modal_inputs(form.callback["data"])["format:title"]["value"] == "📰 {{title}}"  # type: ignore[index]
    text = await a.run("format", channel=str(a.news.id), reset=True)
    assert text == f"<#{a.news.id}> is back to the default format."
    assert (await desk.sub(a.news)).format == DEFAULT_FORMAT  # type: ignore[union-attr]


async def test_a_refused_template_names_the_place_and_opens_again(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    form = await open_form(desk)
    typed = "{{takeaways}}\nRead it: {{ulr}}"
    answer = await submit(desk, form, description=typed)
    assert answer["content"] == (
        "Not saved. Embed description, line 2, column 10: unknown placeholder `{{ulr}}`. "
        "Did you mean `{{url}}`?"
    )
    assert (await desk.sub(a.news)).format == DEFAULT_FORMAT  # type: ignore[union-attr]

    again = await desk.fake.click(answer, "format:again", a.mod)
    body = await again.response()
    assert body["type"] == 9
    assert modal_inputs(body["data"])["format:description"]["value"] == typed
    fixed = await submit(desk, again, description="{{takeaways}}\nRead it: {{url}}")
    assert fixed["content"].startswith("Preview of the new format")


async def test_unused_buttons_grey_out(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(format_views, "TIMEOUT", 0.3)
    a = desk.a
    await a.run("subscribe", channel=a.news)
    preview = await submit(desk, await open_form(desk), title="{{title}}!")
    refused = await submit(desk, await open_form(desk), title="{{titl}}")

    def greyed(message: dict[str, Any]) -> bool:
        current = desk.fake._find_message(int(message["id"]))
        return current is not None and all(b.get("disabled") for b in buttons(current))

    await desk.fake.wait_for(lambda: greyed(preview) and greyed(refused), timeout=5)
    assert (await desk.sub(a.news)).format == DEFAULT_FORMAT  # type: ignore[union-attr]
    with pytest.raises(InvalidInvocation, match="disabled"):
        await desk.fake.click(preview, "format:save", a.mod)


async def test_a_user_cannot_submit_what_discord_would_not_let_them(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news)
    form = await open_form(desk)
    with pytest.raises(InvalidInvocation):
        await desk.fake.submit_modal(form, {"format:title": "x" * 300})  # max_length 256
    with pytest.raises(InvalidInvocation):
        await desk.fake.submit_modal(form, {"format:nope": "x"})


async def test_test_and_list_name_the_format(desk: Desk) -> None:
    a = desk.a
    await a.run("subscribe", channel=a.news, tags="Space")
    await desk.bot.store.set_format(
        a.guild.id, a.news.id, parse_format("", "{{title}}!", "", "", ""), desk_now()
    )
    message = await a.answer("test", channel=str(a.news.id), private=True)
    assert "(format: custom)" in message["content"]
    assert message["embeds"][0]["title"] == NEWEST_SPACE + "!"


def desk_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# -- posts in a format -----------------------------------------------------------------


HOSTILE = "@everyone @here <@&999> <@123> [safe.example](https://evil.example)"


async def test_posts_and_their_edits_use_the_format_and_ping_only_the_role(
    desk: Desk, content_dir: Path
) -> None:
    a = desk.a
    role = await desk.role("readers")
    await a.run("subscribe", channel=a.news, mention=role)
    fmt = parse_format(
        "@everyone {{mention}} " + EVERY * 2,
        EVERY,
        (EVERY + "\n") * 8 + "{{takeaways}}",
        EVERY * 3,
        "embed: on",
    )
    await desk.bot.store.set_format(a.guild.id, a.news.id, fmt, desk_now())
    extra = (
        f'categories: ["{HOSTILE}"]\ndescription: "{HOSTILE}"\n'
        f'image: "https://cdn.example.com/a.png"\n'
    )
    takeaways = (HOSTILE, "word " * 900)
    path = write_article(
        content_dir, "hostile", HOSTILE, tags=(HOSTILE,), takeaways=takeaways, extra=extra
    )
    await desk.fake.wait_for(lambda: desk.fake.messages(a.news), timeout=10)
    [post] = desk.fake.messages(a.news)
    [create] = desk.fake.requests_to("POST", f"/channels/{a.news.id}/messages")
    body = create.json
    assert body["allowed_mentions"] == {"parse": [], "roles": [str(role.id)]}
    assert body["content"].startswith(f"@\u200beveryone <@&{role.id}> ")
    assert len(body["content"]) <= MAX_CONTENT
    [embed] = body["embeds"]
    texts = [body["content"], embed["title"], embed["description"], embed["footer"]["text"]]
    for text in texts:
        stripped = text.replace(f"<@&{role.id}>", "")
        assert not re.search(r"@(everyone|here)|<@[&!]?\d+>", stripped), text
        assert "](https://evil" not in text
    assert post["mention_roles"] == [str(role.id)]
    assert not post["mention_everyone"]

    # An edit of the article edits the post, in the format, and posts nothing new.
    write_article(
        content_dir,
        "hostile",
        HOSTILE,
        tags=(HOSTILE,),
        takeaways=("Corrected.",),
        extra=extra,
    )
    await desk.fake.wait_for_requests("PATCH", f"/channels/{a.news.id}/messages/{post['id']}")
    [patch] = desk.fake.requests_to("PATCH", f"/channels/{a.news.id}/messages/*")
    assert patch.json["content"].startswith(f"@\u200beveryone <@&{role.id}> ")
    assert "- Corrected." in patch.json["content"]
    assert patch.json["allowed_mentions"] == body["allowed_mentions"]
    assert patch.json["embeds"][0]["description"].endswith("- Corrected.")
    [stored] = await desk.bot.store.latest(None, 1)
    assert stored.title == HOSTILE
    assert patch.json != render_message(stored.to_article(), mention_role_ids=(role.id,))
    assert len(desk.fake.requests_to("POST", f"/channels/{a.news.id}/messages")) == 1
    assert path.exists()


async def test_a_change_only_a_custom_format_shows_edits_its_posts(
    desk: Desk, content_dir: Path
) -> None:
    # With takeaways, the default post shows no summary: only this format does.
    a = desk.a
    await a.run("subscribe", channel=a.news)
    fmt = parse_format("", "{{title}}", "{{summary}}", "", "")
    await desk.bot.store.set_format(a.guild.id, a.news.id, fmt, desk_now())
    write_article(content_dir, "brief", "Brief", extra='summary: "First summary."\n')
    await desk.fake.wait_for(lambda: desk.fake.messages(a.news), timeout=10)
    [post] = desk.fake.messages(a.news)
    assert post["embeds"][0]["description"] == "First summary."

    write_article(content_dir, "brief", "Brief", extra='summary: "Corrected summary."\n')
    await desk.fake.wait_for_requests("PATCH", f"/channels/{a.news.id}/messages/{post['id']}")
    [edited] = desk.fake.messages(a.news)
    assert edited["embeds"][0]["description"] == "Corrected summary."
