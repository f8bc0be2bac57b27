"""identity:webhook end to end: posts through a webhook the bot makes, with the
publication's name and avatar; found again (not repeated) after a crash; a deleted
webhook made again once, then a pause; edits through the webhook; the permissions
it needs, named at subscribe.

The real bot, in-process, against the fake Discord (which has webhooks as Discord
does); the kill -9 test with a separate process is in ``test_webhook_restart.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.formats import parse_format
from bot.store import Identity, Webhook
from bot.summary import TEST_MARKER
from tests.e2e.test_admin import start_desk
from tests.e2e.test_delivery import Desk, open_desk
from tests.fakediscord import ChannelType, Permission, overwrite
from tests.fakediscord.models import FakeChannel, FakeGuild
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord

NAME = "The Daily Planet"
AVATAR = "https://news.example.org/logo.png"


@pytest.fixture
async def desk(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    settings = bot_settings.model_copy(update={"post_name": NAME, "post_avatar_url": AVATAR})
    return await open_desk(fake_discord, run_bot, settings, content_dir, monkeypatch)


def webhook_channel(
    guild: FakeGuild, name: str, kind: ChannelType = ChannelType.text, **kw: object
) -> FakeChannel:
    """A channel where the bot may make webhooks."""
    return guild.add_channel(
        name,
        kind,
        permission_overwrites=[overwrite(guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)],
        **kw,  # type: ignore[arg-type]
    )


async def subscribe(
    desk: Desk, channel: FakeChannel, identity: Identity = Identity.WEBHOOK
) -> None:
    await desk.bot.store.subscribe(
        desk.guild.id, channel.id, by_user_id=1, now=desk.deliverer._now(), identity=identity
    )


async def kept_webhook(desk: Desk, channel: FakeChannel) -> Webhook:
    webhook = await desk.bot.store.webhook(desk.guild.id, channel.id)
    assert webhook is not None
    return webhook


async def test_webhook_posts_carry_the_publication_name_and_avatar(desk: Desk) -> None:
    channel = webhook_channel(desk.guild, "news")
    await subscribe(desk, channel)
    desk.publish("first", "First Story")
    [post] = await desk.wait_posts(channel)
    [webhook] = desk.fake.webhooks_in(channel)
    assert webhook.name == NAME
    assert post["webhook_id"] == str(webhook.id)
    assert post["author"]["username"] == NAME
    assert desk.fake.avatar_url(post) == AVATAR
    assert post["embeds"][0]["title"] == "First Story"
    assert (await kept_webhook(desk, channel)).id == webhook.id
    [delivery] = await desk.settled(await desk.article_id("First Story"))
    assert (delivery.state, delivery.webhook_id) == ("sent", webhook.id)
    assert delivery.message_id == int(post["id"])

    # The next post uses the same webhook; the bot never posts as itself there.
    desk.publish("second", "Second Story")
    await desk.wait_posts(channel, 2)
    assert len(desk.fake.webhooks_in(channel)) == 1
    assert desk.fake.requests_to("POST", f"/channels/{channel.id}/messages") == []
    assert len(desk.fake.requests_to("POST", f"/channels/{channel.id}/webhooks")) == 1


async def test_edits_of_webhook_posts_go_through_the_webhook(desk: Desk) -> None:
    channel = webhook_channel(desk.guild, "edits")
    await subscribe(desk, channel)
    path = desk.publish("evolving", "Evolving Story", takeaways=("Version one.",))
    [post] = await desk.wait_posts(channel)
    webhook = await kept_webhook(desk, channel)

    desk.publish("evolving", "Evolving Story", takeaways=("Version two, corrected.",))
    await desk.fake.wait_for_requests("PATCH", f"/webhooks/{webhook.id}/*/messages/{post['id']}")
    [edited] = desk.posts(channel)
    assert "Version two, corrected." in edited["embeds"][0]["description"]
    assert edited["author"]["username"] == NAME
    assert desk.fake.requests_to("PATCH", f"/channels/{channel.id}/messages/*") == []

    # Back to identity:bot: the webhook's earlier post is still edited through it.
    await subscribe(desk, channel, Identity.BOT)
    desk.publish("evolving", "Evolving Story", takeaways=("Version three.",))
    await desk.fake.wait_for_requests(
        "PATCH", f"/webhooks/{webhook.id}/*/messages/{post['id']}", count=2
    )
    assert "Version three." in desk.posts(channel)[0]["embeds"][0]["description"]

    # Withdrawn: the post stays as it was.
    path.unlink()
    await desk.idle()
    assert len(desk.posts(channel)) == 1


async def test_a_custom_format_reaches_a_webhook_channel_and_its_edits(desk: Desk) -> None:
    channel = webhook_channel(desk.guild, "formatted")
    await subscribe(desk, channel)
    fmt = parse_format(
        "Fresh from the desk: **{{title}}**", "{{site}} · {{title}}", "{{takeaways:1}}", "", ""
    )
    await desk.bot.store.set_format(desk.guild.id, channel.id, fmt, desk.deliverer._now())
    desk.publish("shaped", "Shaped Story", takeaways=("Version one.", "Not shown."))
    [post] = await desk.wait_posts(channel)
    assert post["author"]["username"] == NAME
    assert desk.fake.avatar_url(post) == AVATAR
    assert post["content"] == "Fresh from the desk: **Shaped Story**"
    [embed] = post["embeds"]
    assert embed["title"].endswith(" · Shaped Story")
    assert embed["description"] == "- Version one."
    assert "footer" not in embed

    webhook = await kept_webhook(desk, channel)
    desk.publish("shaped", "Shaped Story, Revised", takeaways=("Version two.", "Not shown."))
    await desk.fake.wait_for_requests("PATCH", f"/webhooks/{webhook.id}/*/messages/{post['id']}")
    [edited] = desk.posts(channel)
    assert edited["author"]["username"] == NAME
    assert edited["content"] == "Fresh from the desk: **Shaped Story, Revised**"
    [embed] = edited["embeds"]
    assert embed["title"].endswith(" · Shaped Story, Revised")
    assert embed["description"] == "- Version two."
    assert "footer" not in embed


async def test_forum_webhook_posts_get_a_tagged_thread_and_edits(desk: Desk) -> None:
    forum = webhook_channel(
        desk.guild, "articles", ChannelType.forum, available_tags=["energy", "politics"]
    )
    await subscribe(desk, forum)
    desk.publish("grid", "The Grid Story", tags=["Energy"], takeaways=("One.",))
    await desk.fake.wait_for(
        lambda: any(c.parent_id == forum.id for c in desk.guild.channels.values())
    )
    [thread] = [c for c in desk.guild.channels.values() if c.parent_id == forum.id]
    webhook = await kept_webhook(desk, forum)
    assert thread.name == "The Grid Story"
    assert thread.owner_id == webhook.id
    assert thread.applied_tags == [int(forum.tag("energy")["id"])]
    [starter] = await desk.wait_posts(thread)
    assert starter["author"]["username"] == NAME and starter["id"] == str(thread.id)

    desk.publish("grid", "The Grid Story", tags=["Energy"], takeaways=("Two.",))
    await desk.fake.wait_for_requests("PATCH", f"/webhooks/{webhook.id}/*/messages/{thread.id}")
    [patch] = desk.fake.requests_to("PATCH", f"/webhooks/{webhook.id}/*/messages/{thread.id}")
    assert patch.query == {"thread_id": str(thread.id)}
    assert "Two." in desk.posts(thread)[0]["embeds"][0]["description"]


async def test_a_webhook_post_made_before_a_crash_is_found_not_repeated(desk: Desk) -> None:
    channel = webhook_channel(desk.guild, "once")
    await subscribe(desk, channel)
    desk.publish("once", "Posted Exactly Once")
    [post] = await desk.wait_posts(channel)
    article_id = await desk.article_id("Posted Exactly Once")
    [delivery] = await desk.settled(article_id)
    # A test post of the same article since then is not mistaken for it.
    [sub] = await desk.bot.store.subscriptions(desk.guild.id)
    assert "as “The Daily Planet” (a webhook)" in await desk.deliverer.send_test(sub)
    [_, test_post] = await desk.wait_posts(channel, 2)
    assert TEST_MARKER in test_post["content"]
    await desk.forget_answer(delivery)
    await desk.fake.wait_for_requests("GET", f"/channels/{channel.id}/messages")
    [again] = await desk.settled(article_id)
    assert (again.state, again.message_id) == ("sent", int(post["id"]))
    assert len(desk.posts(channel)) == 2
    webhook = await kept_webhook(desk, channel)
    # One execute for the post, one for the test post: none for the resend.
    assert len(desk.fake.requests_to("POST", f"/webhooks/{webhook.id}/*")) == 2


async def test_a_deleted_webhook_is_made_again_once_then_the_channel_pauses(desk: Desk) -> None:
    channel = webhook_channel(desk.guild, "moderated")
    await subscribe(desk, channel)
    desk.publish("first", "First Story")
    [first] = await desk.wait_posts(channel)
    [original] = desk.fake.webhooks_in(channel)

    desk.fake.delete_webhook(original)  # a moderator's doing
    desk.publish("second", "Second Story")
    await desk.wait_posts(channel, 2)
    [remade] = desk.fake.webhooks_in(channel)
    assert remade.id != original.id
    assert desk.posts(channel)[1]["webhook_id"] == str(remade.id)
    assert (await kept_webhook(desk, channel)).id == remade.id

    # The first post's webhook is gone: its edit is given up, the post stays.
    desk.publish("first", "First Story", takeaways=("Changed.",))
    [old] = await desk.settled(await desk.article_id("First Story"))
    assert old.message_id == int(first["id"])

    desk.fake.delete_webhook(remade)  # and again
    desk.publish("third", "Third Story")
    general = desk.guild.channel("general")
    [notice] = await desk.wait_posts(general)
    assert f"<#{channel.id}>" in notice["content"]
    assert "webhook I post through was deleted again" in notice["content"]
    sub = await desk.bot.store.get_subscription(desk.guild.id, channel.id)
    assert sub is not None and not sub.active
    await desk.idle()
    assert len(desk.posts(channel)) == 2
    assert desk.fake.webhooks_in(channel) == []

    # Resumed: a new webhook posts what was held.
    assert await desk.bot.store.resume_subscription(
        desk.guild.id, channel.id, desk.deliverer._now()
    )
    desk.deliverer.wake()
    posts = await desk.wait_posts(channel, 3)
    assert posts[2]["embeds"][0]["title"] == "Third Story"
    assert len(desk.fake.webhooks_in(channel)) == 1


async def test_losing_manage_webhooks_pauses_without_a_request(desk: Desk) -> None:
    channel = desk.guild.add_channel("no-hooks")
    await subscribe(desk, channel)
    desk.publish("first", "First Story")
    [notice] = await desk.wait_posts(desk.guild.channel("general"))
    assert "Manage Webhooks" in notice["content"]
    assert desk.fake.requests_to("*", f"/channels/{channel.id}/*") == []


# -- /newsadmin --------------------------------------------------------------------------


async def test_subscribe_identity_webhook_checks_and_names_its_permissions(
    fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings
) -> None:
    desk = await start_desk(fake_discord, run_bot, bot_settings)
    a = desk.a
    text = await a.run("subscribe", channel=a.news, identity="webhook")
    assert "I'm missing the **Manage Webhooks** permission" in text
    assert await desk.sub(a.news) is None

    a.news.set_permissions(a.guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)
    a.news.set_permissions(
        a.guild.bot_role, allow=Permission.MANAGE_WEBHOOKS, deny=Permission.READ_MESSAGE_HISTORY
    )
    await desk.synced(lambda: desk.bot_can(a.news, "manage_webhooks"))
    text = await a.run("subscribe", channel=a.news, identity="webhook")
    assert "**Read Message History**" in text
    assert await desk.sub(a.news) is None

    a.news.set_permissions(a.guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)
    await desk.synced(lambda: desk.bot_can(a.news, "read_message_history"))
    text = await a.run("subscribe", channel=a.news, identity="webhook")
    assert f"Subscribed <#{a.news.id}>" in text
    assert "Posted by a webhook, with the publication's name and avatar." in text
    sub = await desk.sub(a.news)
    assert sub is not None and sub.identity is Identity.WEBHOOK

    # Again with other options: the identity stays; identity:bot goes back.
    text = await a.run("subscribe", channel=a.news, tags="Space")
    assert "Posted by a webhook" in text
    text = await a.run("subscribe", channel=a.news, identity="bot")
    assert "posted by a webhook, with the publication's name and avatar → the bot" in text
    listed = await a.answer("list")
    [field] = listed["embeds"][0]["fields"]
    assert "Posted by the bot." in field["value"]

    # Resuming a webhook subscription checks the webhook's permissions too.
    await a.run("subscribe", channel=a.news, identity="webhook")
    await a.run("pause", channel=str(a.news.id))
    a.news.set_permissions(a.guild.bot_role, allow=0)
    await desk.synced(lambda: not desk.bot_can(a.news, "manage_webhooks"))
    text = await a.run("resume", channel=str(a.news.id))
    assert "**Manage Webhooks**" in text
    sub = await desk.sub(a.news)
    assert sub is not None and not sub.active

    # Announcement channels: publishing a webhook's message needs Manage Messages.
    a.announcements.set_permissions(a.guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)
    await desk.synced(lambda: desk.bot_can(a.announcements, "manage_webhooks"))
    text = await a.run("subscribe", channel=a.announcements, identity="webhook")
    assert "**Manage Messages**" in text
    # Threads: webhooks belong to channels.
    text = await a.run("subscribe", channel=a.thread, identity="webhook")
    assert "webhooks belong to channels" in text


async def test_webhook_posts_in_announcement_channels_are_published(desk: Desk) -> None:
    channel = desk.guild.add_channel(
        "announcements",
        ChannelType.announcement,
        permission_overwrites=[
            overwrite(
                desk.guild.bot_role, allow=Permission.MANAGE_WEBHOOKS | Permission.MANAGE_MESSAGES
            )
        ],
    )
    await subscribe(desk, channel)
    desk.publish("first", "First Story")
    [post] = await desk.wait_posts(channel)
    await desk.fake.wait_for_requests(
        "POST", f"/channels/{channel.id}/messages/{post['id']}/crosspost"
    )
    [published] = desk.posts(channel)
    assert published["flags"] & 1 and published["author"]["username"] == NAME


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("The Example Times", "The Example Times"),
        # A title Discord refuses as a name: the bot's own name instead.
        ("Discord Weekly", "NewsBot"),
    ],
)
async def test_without_settings_posts_carry_the_site_title_and_the_bots_avatar(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    bot_settings: Settings,
    content_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    title: str,
    shown: str,
) -> None:
    (content_dir.parent / "hugo.toml").write_text(f'title = "{title}"\n', encoding="utf-8")
    desk = await open_desk(fake_discord, run_bot, bot_settings, content_dir, monkeypatch)
    channel = webhook_channel(desk.guild, "news")
    await subscribe(desk, channel)
    desk.publish("first", "First Story")
    [post] = await desk.wait_posts(channel)
    assert post["author"]["username"] == shown
    bot_user = desk.bot.user
    assert bot_user is not None
    assert desk.fake.avatar_url(post) == bot_user.display_avatar.url
