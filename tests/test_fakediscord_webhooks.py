"""The fake's channel webhooks, proven with discord.py's own webhook API and raw
requests (answers checked against Discord's response schemas)."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands
from discord.http import Route

from tests.fakediscord import (
    ChannelType,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    Permission,
    overwrite,
)
from tests.fakediscord.plugin import BotRunner, RunBot

pytestmark = pytest.mark.fakediscord(check_responses=True)

AVATAR = "https://example.org/logo.png"


def make_bot() -> commands.Bot:
    return commands.Bot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
    )


@pytest.fixture
def guild(fake_discord: FakeDiscord) -> FakeGuild:
    return fake_discord.add_guild("Newsroom")


def channel_of(runner: BotRunner[Any], channel_id: int) -> Any:
    found = runner.bot.get_channel(channel_id)
    assert found is not None
    return found


def hooked_channel(guild: FakeGuild) -> FakeChannel:
    """#news, where the bot may make webhooks."""
    return guild.add_channel(
        "news", permission_overwrites=[overwrite(guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)]
    )


async def test_create_needs_manage_webhooks(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = guild.add_channel("news")
    runner = await run_bot(make_bot())
    with pytest.raises(discord.Forbidden) as refused:
        await channel_of(runner, news.id).create_webhook(name="Gazette")
    assert refused.value.code == 50013
    assert fake_discord.webhooks_in(news) == []


async def test_execute_edit_delete_and_history(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = hooked_channel(guild)
    runner = await run_bot(make_bot())
    channel = channel_of(runner, news.id)
    webhook = await channel.create_webhook(name="Gazette")
    assert [w.id for w in await channel.webhooks()] == [webhook.id]
    assert webhook.token and webhook.channel_id == news.id

    sent = await webhook.send("Hello", username="The Gazette", avatar_url=AVATAR, wait=True)
    stored = fake_discord.messages(news)[-1]
    assert stored["webhook_id"] == str(webhook.id)
    assert stored["author"]["username"] == "The Gazette"
    assert stored["author"]["id"] == str(webhook.id)
    assert fake_discord.avatar_url(stored) == AVATAR
    assert sent.webhook_id == webhook.id

    plain = await webhook.send("Again", wait=True)
    assert fake_discord.messages(news)[-1]["author"]["username"] == "Gazette"
    assert fake_discord.avatar_url(fake_discord.messages(news)[-1]) is None

    await webhook.edit_message(sent.id, content="Hello, edited")
    assert fake_discord.messages(news)[0]["content"] == "Hello, edited"
    # The bot cannot edit the webhook's message as its own.
    with pytest.raises(discord.Forbidden):
        await channel.get_partial_message(sent.id).edit(content="no")

    history = [m.id async for m in channel.history(after=discord.Object(sent.id - 1))]
    assert history == [sent.id, plain.id]

    await webhook.delete_message(plain.id)
    assert [m["content"] for m in fake_discord.messages(news)] == ["Hello, edited"]
    fetched = await webhook.fetch_message(sent.id)
    assert fetched.content == "Hello, edited"
    with pytest.raises(discord.NotFound):
        await webhook.fetch_message(plain.id)

    fake_discord.delete_webhook(fake_discord.webhooks_in(news)[0])
    with pytest.raises(discord.NotFound) as gone:
        await webhook.send("After deletion", wait=True)
    assert gone.value.code == 10015
    with pytest.raises(discord.NotFound):
        await webhook.edit_message(sent.id, content="no")


async def test_a_webhook_deleted_through_the_api_is_gone(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = hooked_channel(guild)
    runner = await run_bot(make_bot())
    channel = channel_of(runner, news.id)
    webhook = await channel.create_webhook(name="Gazette")
    sent = await webhook.send("Stays", wait=True)
    other = await channel.create_webhook(name="Other")
    # With the bot's authorization (Manage Webhooks).
    await runner.bot.http.request(Route("DELETE", "/webhooks/{webhook_id}", webhook_id=other.id))
    await webhook.delete(prefer_auth=False)  # with its token
    assert fake_discord.webhooks_in(news) == []
    assert await channel.webhooks() == []
    # Its messages stay; its token no longer works.
    assert [m["id"] for m in fake_discord.messages(news)] == [str(sent.id)]
    with pytest.raises(discord.NotFound):
        await webhook.send("No more", wait=True)


async def test_history_without_read_message_history_is_empty(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = guild.add_channel(
        "news",
        permission_overwrites=[overwrite(guild.bot_role, deny=Permission.READ_MESSAGE_HISTORY)],
    )
    runner = await run_bot(make_bot())
    channel = channel_of(runner, news.id)
    await channel.send("one")
    assert [m async for m in channel.history(limit=10)] == []


async def test_forum_posts_need_a_thread_name(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    forum = guild.add_channel(
        "articles",
        ChannelType.forum,
        available_tags=["python", "release"],
        permission_overwrites=[overwrite(guild.bot_role, allow=Permission.MANAGE_WEBHOOKS)],
    )
    runner = await run_bot(make_bot())
    webhook = await channel_of(runner, forum.id).create_webhook(name="Gazette")
    with pytest.raises(discord.HTTPException) as refused:
        await webhook.send("No thread", wait=True)
    assert refused.value.code == 220001
    python = forum.tag("python")
    message = await webhook.send(
        "In a post",
        thread_name="Release notes",
        applied_tags=[discord.Object(int(python["id"]))],
        wait=True,
    )
    thread = guild.channels[message.id]
    assert thread.parent_id == forum.id and thread.name == "Release notes"
    assert thread.owner_id == webhook.id
    assert thread.applied_tags == [int(python["id"])]
    edited = await webhook.edit_message(
        message.id, content="Edited in the post", thread=discord.Object(thread.id)
    )
    assert edited.content == "Edited in the post"


async def test_name_rules_and_rate_limits(fake_discord: FakeDiscord, guild: FakeGuild) -> None:
    news = hooked_channel(guild)
    headers = {"Authorization": f"Bot {fake_discord.token}", "User-Agent": "DiscordBot (x, 1)"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = f"{fake_discord.api_url}/channels/{news.id}/webhooks"
        async with http.post(url, json={"name": "Discord News"}) as refused:
            assert refused.status == 400
            assert (await refused.json())["code"] == 50035
        async with http.post(url, json={"name": "Gazette"}) as created:
            webhook = await created.json()
        execute = f"{fake_discord.api_url}/webhooks/{webhook['id']}/{webhook['token']}?wait=true"
        async with http.post(execute, json={"content": "x", "username": "clyde"}) as bad:
            assert bad.status == 400
        async with http.post(
            f"{fake_discord.api_url}/webhooks/{webhook['id']}/wrong-token", json={"content": "x"}
        ) as wrong:
            assert wrong.status == 401
        # Per webhook: 5 per 2 s (Discord's headers; the refused one counted), then 429.
        statuses = []
        for n in range(5):
            async with http.post(execute, json={"content": f"m{n}"}) as answer:
                statuses.append(answer.status)
                last = answer
        assert statuses == [200] * 4 + [429]
        assert last.headers["X-RateLimit-Scope"] == "user"
    assert len(fake_discord.messages(news)) == 4
    # Drop the expected invalid-body records of the refused names.
    fake_discord.take_violations()


@pytest.mark.fakediscord(
    route_limits={("POST", "/webhooks/{webhook_id}/{webhook_token}"): (99, 60.0)}
)
async def test_thirty_webhook_messages_a_minute_per_channel(
    fake_discord: FakeDiscord, guild: FakeGuild
) -> None:
    news = hooked_channel(guild)
    headers = {"Authorization": f"Bot {fake_discord.token}", "User-Agent": "DiscordBot (x, 1)"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = f"{fake_discord.api_url}/channels/{news.id}/webhooks"
        hooks = []
        for name in ("One", "Two"):
            async with http.post(url, json={"name": name}) as created:
                hooks.append(await created.json())
        statuses = []
        for n in range(31):
            hook = hooks[n % 2]
            execute = f"{fake_discord.api_url}/webhooks/{hook['id']}/{hook['token']}"
            async with http.post(execute, json={"content": f"m{n}"}) as answer:
                statuses.append(answer.status)
    assert statuses == [204] * 30 + [429]
    assert len(fake_discord.messages(news)) == 30
