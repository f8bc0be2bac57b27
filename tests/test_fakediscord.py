"""The fake Discord server, proven with the real discord.py client.

A tiny bot (one slash command group with autocomplete and a button) runs in-process
against `tests/fakediscord`; every answer the fake gives is also checked against the
response schemas of Discord's OpenAPI document (`check_responses=True`).
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    ChannelType,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeInteraction,
    InvalidInvocation,
    Permission,
    overwrite,
)
from tests.fakediscord.plugin import BotRunner, RunBot

pytestmark = pytest.mark.fakediscord(check_responses=True)

TAGS = ["python", "discord", "testing", "release"]


class MoreView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="More", custom_id="news:more", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message("Here is more.", ephemeral=True)

    @discord.ui.button(label="Close", custom_id="news:close", style=discord.ButtonStyle.secondary)
    async def close(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Closed.", view=None)


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.Label[Feedback] = discord.ui.Label(
        text="Your words", component=discord.ui.TextInput(custom_id="feedback:text", max_length=20)
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.text.component, discord.ui.TextInput)
        if self.text.component.value != "silent":  # the test answers that one by hand
            await interaction.response.send_message(f"Got {self.text.component.value}")


class News(app_commands.Group):
    """Look articles up."""

    def __init__(self) -> None:
        super().__init__(name="news", description="Look articles up")

    @app_commands.command(description="The latest articles")
    @app_commands.describe(tag="Only articles with this tag")
    async def latest(self, interaction: discord.Interaction, tag: str | None = None) -> None:
        await interaction.response.send_message(
            f"Latest articles tagged {tag}", ephemeral=True, view=MoreView()
        )

    @latest.autocomplete("tag")
    async def tag_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TAGS if current in t]

    @app_commands.command(description="Search the articles")
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"Results for {query}")
        await interaction.followup.send("Page 2", ephemeral=True)
        await interaction.edit_original_response(content=f"Results for {query} (2 pages)")

    @app_commands.command(description="Opens a form")
    async def form(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    @app_commands.command(description="Answers too late")
    async def slow(self, interaction: discord.Interaction) -> None:
        # Late on the fake's clock: the test moves it past the deadline first.
        await interaction.response.send_message("finally")


@app_commands.command(description="Moderators only")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
async def newsadmin(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("configured", ephemeral=True)


def make_bot(
    cls: type[commands.Bot] | type[commands.AutoShardedBot] = commands.Bot,
) -> commands.Bot | commands.AutoShardedBot:
    bot = cls(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        guild_ready_timeout=0.05,
    )
    bot.tree.add_command(News())
    bot.tree.add_command(newsadmin)
    bot.add_view(MoreView())
    return bot


@pytest.fixture
def guild(fake_discord: FakeDiscord) -> FakeGuild:
    return fake_discord.add_guild("Newsroom")


async def synced_bot(run_bot: RunBot) -> BotRunner[Any]:
    runner = await run_bot(make_bot())
    await runner.bot.tree.sync()
    return runner


def text_channel(runner: BotRunner[Any], channel: FakeChannel) -> discord.TextChannel:
    """The bot's own view of a fake channel."""
    found = runner.bot.get_channel(channel.id)
    assert isinstance(found, discord.TextChannel), found
    return found


# -- start-up -----------------------------------------------------------------------------


async def test_login_ready_and_guild_state(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = guild.add_channel("news", ChannelType.announcement)
    hidden = guild.add_channel(
        "staff", permission_overwrites=[overwrite(guild.everyone, deny=Permission.VIEW_CHANNEL)]
    )
    muted = guild.add_channel(
        "muted", permission_overwrites=[overwrite(guild.bot_role, deny=Permission.SEND_MESSAGES)]
    )
    forum = guild.add_channel("articles", ChannelType.forum, available_tags=["python", "release"])

    runner = await run_bot(make_bot())
    bot = runner.bot

    assert bot.user is not None and bot.user.id == fake_discord.bot_user.id
    assert bot.application_id == fake_discord.application_id
    assert [g.name for g in bot.guilds] == ["Newsroom"]
    dguild = bot.get_guild(guild.id)
    assert dguild is not None and dguild.me is not None
    assert text_channel(runner, news).is_news()
    dforum = dguild.get_channel(forum.id)
    assert isinstance(dforum, discord.ForumChannel)
    assert [t.name for t in dforum.available_tags] == ["python", "release"]
    # discord.py's permission arithmetic agrees with the fake's, overwrites included
    # (discord.py also hides voice permissions in text channels).
    text_only = discord.Permissions.all_channel().value & ~discord.Permissions.voice().value
    for channel in (news, hidden, muted, forum, guild.channel("general")):
        dchannel = dguild.get_channel(channel.id)
        assert dchannel is not None
        theirs = dchannel.permissions_for(dguild.me).value
        assert theirs & text_only == fake_discord.bot_permissions(guild, channel) & text_only
    assert not text_channel(runner, muted).permissions_for(dguild.me).send_messages
    assert fake_discord.stats.identifies == 1
    assert [r.path for r in fake_discord.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]


async def test_wrong_token_is_login_failure(fake_discord: FakeDiscord, run_bot: RunBot) -> None:
    with pytest.raises(discord.LoginFailure):
        await run_bot(make_bot(), token="not-the-token")
    assert fake_discord.requests[-1].status == 401
    assert fake_discord.stats.invalid_requests == 1


async def test_autosharded_bot_uses_gateway_bot(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot(commands.AutoShardedBot))
    assert runner.bot.shard_count == 1
    assert fake_discord.requests_to("GET", "/gateway/bot")
    assert runner.bot.get_guild(guild.id) is not None


async def test_privileged_intent_not_enabled_is_refused(
    fake_discord: FakeDiscord, run_bot: RunBot
) -> None:
    bot = make_bot()
    bot._connection._intents.message_content = True
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await run_bot(bot)


# -- application commands -------------------------------------------------------------


async def test_sync_registers_commands(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    synced = await runner.bot.tree.sync()
    assert sorted(c.name for c in synced) == ["news", "newsadmin"]
    assert fake_discord.command_syncs == [None]
    news = next(c for c in fake_discord.commands[None] if c["name"] == "news")
    assert [o["name"] for o in news["options"]] == ["latest", "search", "form", "slow"]
    admin = next(c for c in fake_discord.commands[None] if c["name"] == "newsadmin")
    assert admin["default_member_permissions"] == str(Permission.MANAGE_GUILD.value)

    # Ids are stable across re-registration, like Discord's; GET returns the same.
    again = await runner.bot.tree.sync()
    assert {c.name: c.id for c in again} == {c.name: c.id for c in synced}
    fetched = await runner.bot.tree.fetch_commands()
    assert {c.id for c in fetched} == {c.id for c in synced}

    dguild = discord.Object(guild.id)
    runner.bot.tree.copy_global_to(guild=dguild)
    await runner.bot.tree.sync(guild=dguild)
    assert fake_discord.command_syncs == [None, None, guild.id]
    assert {c["name"] for c in fake_discord.commands[guild.id]} == {"news", "newsadmin"}


async def test_slash_command_answer_is_ephemeral(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    await synced_bot(run_bot)
    reader = guild.add_member("reader")
    channel = guild.channel("general")

    interaction = await fake_discord.invoke(
        guild, channel, reader, "news", subcommand="latest", options={"tag": "python"}
    )
    body = await interaction.response()

    assert body["type"] == 4
    assert body["data"]["content"] == "Latest articles tagged python"
    assert body["data"]["flags"] & 64
    assert interaction.ephemeral
    assert interaction.callback_delay is not None and interaction.callback_delay < 3
    assert fake_discord.messages(channel) == []  # ephemeral: not visible in the channel
    original = interaction.original
    assert (
        original is not None
        and original["components"][0]["components"][0]["custom_id"] == "news:more"
    )


async def test_deferred_answer_then_followup(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    await synced_bot(run_bot)
    reader = guild.add_member("reader")
    channel = guild.channel("general")

    interaction = await fake_discord.invoke(
        guild, channel, reader, "news search", options={"query": "rust"}
    )
    assert (await interaction.response())["type"] == 5
    [page2] = await interaction.followups(1)
    await fake_discord.wait_for_requests("PATCH", "/webhooks/*/messages/@original")

    # The first follow-up after a defer fills in the "thinking" message; later ones are new.
    original = await interaction.original_message()
    assert original["content"] == "Results for rust (2 pages)" and original["edited_timestamp"]
    assert not interaction.ephemeral
    assert page2["content"] == "Page 2" and page2["flags"] & 64
    assert [m["content"] for m in fake_discord.messages(channel)] == ["Results for rust (2 pages)"]
    assert [r.query["wait"] for r in fake_discord.requests_to("POST", "/webhooks/*")] == ["1", "1"]


async def test_autocomplete_returns_choices(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    await synced_bot(run_bot)
    reader = guild.add_member("reader")

    choices = await fake_discord.autocomplete(
        guild, guild.channel("general"), reader, "news latest", focused="tag", value="o"
    )

    assert choices == [
        {"name": "python", "value": "python"},
        {"name": "discord", "value": "discord"},
    ]


async def test_button_click(fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot) -> None:
    await synced_bot(run_bot)
    reader = guild.add_member("reader")
    channel = guild.channel("general")
    first = await fake_discord.invoke(guild, channel, reader, "news latest")
    await first.response()
    assert first.original is not None

    click = await fake_discord.click(first.original, "news:more", reader)

    body = await click.response()
    assert body["type"] == 4 and body["data"]["content"] == "Here is more."
    with pytest.raises(InvalidInvocation):
        await fake_discord.click(first.original, "no-such-button", reader)
    with pytest.raises(InvalidInvocation, match="ephemeral"):
        await fake_discord.click(first.original, "news:more", guild.add_member("someone-else"))

    close = await fake_discord.click(first.original, "news:close", reader)
    assert (await close.response())["type"] == 7  # UPDATE_MESSAGE
    assert close.original is not None and close.original["id"] == first.original["id"]
    assert close.original["content"] == "Closed." and close.original["components"] == []


async def test_what_a_user_cannot_invoke(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    reader = guild.add_member("reader")
    channel = guild.channel("general")
    runner = await run_bot(make_bot())
    with pytest.raises(InvalidInvocation, match="sync"):
        await fake_discord.invoke(guild, channel, reader, "news latest")
    await runner.bot.tree.sync()
    with pytest.raises(InvalidInvocation, match="default_member_permissions"):
        await fake_discord.invoke(guild, channel, reader, "newsadmin")
    with pytest.raises(InvalidInvocation, match="required"):
        await fake_discord.invoke(guild, channel, reader, "news search")
    moderator = guild.add_member("mod", permissions=Permission.MANAGE_GUILD)
    interaction = await fake_discord.invoke(guild, channel, moderator, "newsadmin")
    assert (await interaction.response())["data"]["content"] == "configured"


async def test_late_answer_is_a_violation(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot(), allow_errors=True)
    await runner.bot.tree.sync()
    reader = guild.add_member("reader")

    interaction = await fake_discord.invoke(guild, guild.channel("general"), reader, "news slow")
    # Before the bot can answer (it runs on this event loop): 3 s pass on the fake's clock.
    fake_discord.clock.advance(fake_discord.interaction_deadline + 0.1)
    await fake_discord.wait_for_requests("POST", "/interactions/*/callback")

    assert interaction.callback is None
    assert fake_discord.requests_to("POST", "/interactions/*")[0].response["code"] == 10062
    assert [v.kind for v in fake_discord.take_violations()] == ["late_interaction_response"]
    await fake_discord.wait_for(lambda: runner.errors)  # discord.NotFound reached the command


async def answered_latest(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> FakeInteraction:
    """``/news latest`` run by a reader in #general, and answered."""
    await synced_bot(run_bot)
    reader = guild.add_member("reader")
    interaction = await fake_discord.invoke(guild, guild.channel("general"), reader, "news latest")
    await interaction.response()
    return interaction


async def test_second_acknowledgement_is_rejected(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    interaction = await answered_latest(fake_discord, guild, run_bot)

    url = f"{fake_discord.api_url}/interactions/{interaction.id}/{interaction.token}/callback"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"type": 4, "data": {"content": "again"}}) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["code"] == 40060

    assert [v.kind for v in fake_discord.take_violations()] == ["already_acknowledged"]


async def test_interaction_token_expires_on_the_fakes_clock(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    interaction = await answered_latest(fake_discord, guild, run_bot)
    webhook = f"/webhooks/{fake_discord.application_id}/{interaction.token}"
    url = f"{fake_discord.api_url}{webhook}?wait=true"

    async def follow_up() -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json={"content": "more"}) as resp,
        ):
            return resp.status, await resp.json()

    fake_discord.clock.advance(fake_discord.interaction_token_ttl - 1)
    assert (await follow_up())[0] == 200
    fake_discord.clock.advance(2)  # 15 minutes and a second
    status, body = await follow_up()
    assert status == 401 and body["code"] == 50027


# -- channels and messages ------------------------------------------------------------


async def test_send_with_embed_and_enforced_nonce(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    channel = guild.add_channel("news")
    runner = await run_bot(make_bot())
    dchannel = text_channel(runner, channel)
    embed = discord.Embed(title="Hello", description="World", url="https://example.com/a")
    embed.add_field(name="Takeaway", value="Tests matter")

    first = await dchannel.send(embed=embed, nonce="article-1")
    second = await dchannel.send(embed=embed, nonce="article-1")

    assert first.id == second.id
    stored = fake_discord.messages(channel)
    assert len(stored) == 1
    assert stored[0]["embeds"][0]["title"] == "Hello" and stored[0]["nonce"] == "article-1"
    sent = fake_discord.requests_to("POST", f"/channels/{channel.id}/messages")
    assert [r.json["enforce_nonce"] for r in sent] == [True, True]


async def test_edit_and_crosspost(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    news = guild.add_channel("announcements", ChannelType.announcement)
    runner = await run_bot(make_bot())
    plain = guild.channel("general")
    dnews = text_channel(runner, news)

    message = await dnews.send("Draft")
    await message.edit(content="Final")
    await message.publish()

    [stored] = fake_discord.messages(news)
    assert stored["content"] == "Final" and stored["edited_timestamp"] is not None
    assert stored["flags"] & 1  # CROSSPOSTED
    with pytest.raises(discord.HTTPException) as again:
        await message.publish()
    assert again.value.code == 40033
    dplain = text_channel(runner, plain)
    with pytest.raises(discord.HTTPException) as wrong_type:
        await (await dplain.send("x")).publish()
    assert wrong_type.value.code == 50024


async def test_forum_post_with_tags(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    forum = guild.add_channel(
        "articles", ChannelType.forum, available_tags=["python", "release"], require_tag=True
    )
    runner = await run_bot(make_bot())
    dforum = runner.bot.get_channel(forum.id)
    assert isinstance(dforum, discord.ForumChannel)
    tag = next(t for t in dforum.available_tags if t.name == "release")

    created = await dforum.create_thread(
        name="v1.0 is out", content="Key takeaways...", applied_tags=[tag]
    )

    assert created.thread.id == created.message.id  # a forum post's starter message
    thread = guild.channels[created.thread.id]
    assert thread.type == ChannelType.public_thread and thread.applied_tags == [tag.id]
    assert [m["content"] for m in fake_discord.messages(thread)] == ["Key takeaways..."]
    with pytest.raises(discord.HTTPException) as untagged:
        await dforum.create_thread(name="no tag", content="x")
    assert untagged.value.code == 40067
    await created.thread.send("A reply in the post")  # needs Send Messages in Threads
    assert len(fake_discord.messages(thread)) == 2


async def test_attachment_and_thread_in_text_channel(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    channel = text_channel(runner, guild.channel("general"))

    await channel.send("see file", file=discord.File(io.BytesIO(b"hello"), "notes.txt"))
    thread = await channel.create_thread(name="discussion", type=discord.ChannelType.public_thread)

    [stored] = fake_discord.messages(guild.channel("general"))
    assert (
        stored["attachments"][0]["filename"] == "notes.txt"
        and stored["attachments"][0]["size"] == 5
    )
    assert guild.channels[thread.id].type == ChannelType.public_thread


async def test_permission_denials(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    muted = guild.add_channel(
        "muted", permission_overwrites=[overwrite(guild.bot_member, deny=Permission.SEND_MESSAGES)]
    )
    hidden = guild.add_channel(
        "hidden", permission_overwrites=[overwrite(guild.everyone, deny=Permission.VIEW_CHANNEL)]
    )
    plain_text = guild.add_channel(
        "no-embeds",
        permission_overwrites=[overwrite(guild.everyone, deny=Permission.EMBED_LINKS)],
    )
    guild.update_role(
        guild.bot_role, permissions=Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES
    )
    runner = await run_bot(make_bot())

    with pytest.raises(discord.Forbidden) as denied:
        await text_channel(runner, muted).send("hi")
    assert denied.value.code == 50013
    with pytest.raises(discord.Forbidden) as no_access:
        await text_channel(runner, hidden).send("hi")
    assert no_access.value.code == 50001
    embed = discord.Embed(title="T", description="D")
    no_embeds = text_channel(runner, plain_text)
    with pytest.raises(discord.Forbidden):
        await no_embeds.send(embed=embed)
    # With content, Discord posts the message and silently drops the embeds.
    await no_embeds.send("text", embed=embed)
    assert fake_discord.messages(plain_text)[0]["embeds"] == []
    assert fake_discord.stats.invalid_requests == 3


async def test_role_mention_without_mention_everyone_does_not_ping(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    quiet = guild.add_role("subscribers", mentionable=False)
    loud = guild.add_role("news-pings", mentionable=True)
    runner = await run_bot(make_bot())
    channel = text_channel(runner, guild.channel("general"))

    await channel.send(
        f"{quiet.mention} {loud.mention} @everyone",
        allowed_mentions=discord.AllowedMentions(everyone=True, roles=True),
    )

    [stored] = fake_discord.messages(guild.channel("general"))
    assert stored["mention_roles"] == [str(loud.id)]
    assert stored["mention_everyone"] is False


async def test_world_changes_reach_the_bot(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    other = fake_discord.add_guild("Other")
    doomed = guild.add_channel("doomed")
    runner = await run_bot(make_bot())
    bot = runner.bot

    guild.delete_channel(doomed)
    fake_discord.remove_guild(other)
    late = guild.add_channel("late")
    guild.update_role(guild.bot_role, permissions=Permission.VIEW_CHANNEL)
    late.set_permissions(guild.bot_member, deny=Permission.SEND_MESSAGES)

    def muted_in_late() -> bool:
        channel = bot.get_channel(late.id)
        if not isinstance(channel, discord.TextChannel):
            return False
        return not channel.permissions_for(channel.guild.me).send_messages

    await fake_discord.wait_for(muted_in_late)  # CHANNEL_CREATE, then CHANNEL_UPDATE

    dguild = bot.get_guild(guild.id)
    assert dguild is not None and dguild.get_channel(doomed.id) is None
    assert bot.get_guild(other.id) is None
    general = dguild.get_channel(guild.channel("general").id)
    assert general is not None
    assert (
        general.permissions_for(dguild.me).value
        == fake_discord.bot_permissions(guild, guild.channel("general"))
        & ~discord.Permissions.voice().value
    )


async def test_gateway_resume_replays_missed_events(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    runner.bot.add_listener(on_resumed)

    fake_discord.disconnect_gateway(4000)
    missed = guild.add_channel("while-away")
    await asyncio.wait_for(resumed.wait(), 5)

    assert fake_discord.stats.resumes == 1 and fake_discord.stats.identifies == 1
    assert runner.bot.get_channel(missed.id) is not None


# -- errors, limits, rate limits ------------------------------------------------------


async def test_injected_errors(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    channel = text_channel(runner, guild.channel("general"))

    fake_discord.fail_next("POST", "/channels/*/messages", 404)
    with pytest.raises(discord.NotFound) as missing:
        await channel.send("x")
    assert missing.value.code == 10003

    fake_discord.fail_next("POST", "/channels/*/messages", 429, retry_after=0.05)
    await channel.send("after a 429")
    assert fake_discord.stats.rate_limited == 1
    assert [r.status for r in fake_discord.requests_to("POST", "/channels/*/messages")] == [
        404,
        429,
        200,
    ]

    # One 500 is retried by discord.py after a 1 s sleep: keep such tests rare.
    fake_discord.fail_next("POST", "/channels/*/messages", 500)
    await channel.send("after a 500")
    assert [m["content"] for m in fake_discord.messages(guild.channel("general"))] == [
        "after a 429",
        "after a 500",
    ]


async def test_injected_error_bodies_over_http(fake_discord: FakeDiscord, guild: FakeGuild) -> None:
    fake_discord.fail_next("*", "/channels/*", 502)
    fake_discord.fail_next("*", "/channels/*", 429, retry_after=2.5, global_=True)
    headers = {"Authorization": f"Bot {fake_discord.token}", "User-Agent": "DiscordBot (test, 1)"}
    url = f"{fake_discord.api_url}/channels/{guild.channel('general').id}"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(url) as resp:
            assert resp.status == 502 and resp.headers["Content-Type"] == "text/html"
        async with http.get(url) as resp:
            assert resp.status == 429 and resp.headers["Content-Type"] == "application/json"
            assert resp.headers["Via"] and resp.headers["X-RateLimit-Scope"] == "global"
            assert await resp.json() == {
                "message": "You are being rate limited.",
                "retry_after": 2.5,
                "global": True,
            }
        async with http.get(url) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
            assert int(resp.headers["X-RateLimit-Remaining"]) >= 0
            assert resp.headers["X-RateLimit-Bucket"]


async def test_bodies_over_discord_limits_are_violations(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    channel = text_channel(runner, guild.channel("general"))

    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.status == 400 and too_long.value.code == 50035
    huge = [discord.Embed(title="t", description="d" * 4000) for _ in range(2)]
    with pytest.raises(discord.HTTPException):
        await channel.send(embeds=huge)
    with pytest.raises(discord.HTTPException):
        await channel.send(embed=discord.Embed(title="relative", url="/articles/slug"))

    found = fake_discord.take_violations("invalid_body")
    assert len(found) == 3
    assert "2000 or fewer" in found[0].detail
    assert "6000" in found[1].detail
    assert "url" in found[2].detail
    assert fake_discord.messages(guild.channel("general")) == []


async def test_unimplemented_route_is_a_violation(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    with pytest.raises(discord.NotFound):
        await runner.bot.fetch_guild(guild.id)
    [violation] = fake_discord.take_violations("unimplemented")
    assert violation.path == f"/guilds/{guild.id}" and "documented by Discord" in violation.detail


@pytest.mark.fakediscord(per_channel=(5, 2.0))
async def test_rate_limit_headers_are_honoured(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    runner = await run_bot(make_bot())
    channel = text_channel(runner, guild.channel("general"))

    started = time.monotonic()
    await asyncio.gather(*(channel.send(f"post {i}") for i in range(6)))

    assert len(fake_discord.messages(guild.channel("general"))) == 6
    assert fake_discord.stats.rate_limited == 0  # discord.py waited instead of hitting 429
    sends = fake_discord.requests_to("POST", "/channels/*/messages")
    assert [r.status for r in sends] == [200] * 6
    # The 5th answer said Remaining: 0, so the 6th waited for the 2 s window to reset
    # (a window long enough that a pause of the machine does not spread the first five).
    assert sends[4].at - sends[0].at < 1.8 <= sends[5].at - sends[0].at
    assert time.monotonic() - started < 4.5


@pytest.mark.fakediscord(per_channel=(2, 10.0))
async def test_exceeding_a_bucket_answers_429(fake_discord: FakeDiscord, guild: FakeGuild) -> None:
    headers = {"Authorization": f"Bot {fake_discord.token}", "User-Agent": "DiscordBot (test, 1)"}
    url = f"{fake_discord.api_url}/channels/{guild.channel('general').id}/messages"
    async with aiohttp.ClientSession(headers=headers) as http:
        statuses = []
        for i in range(3):
            async with http.post(url, json={"content": f"m{i}"}) as resp:
                statuses.append(resp.status)
                last = resp
                body = await resp.json()
    assert statuses == [200, 200, 429]
    assert last.headers["X-RateLimit-Scope"] == "user" and last.headers["Via"]
    assert body["global"] is False and 9 < body["retry_after"] <= 10
    assert fake_discord.stats.invalid_requests == 1


async def test_a_locked_thread_takes_posts_and_edits_only_with_manage_threads(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    thread = guild.add_channel("live", ChannelType.public_thread, parent=guild.channel("general"))
    runner = await run_bot(make_bot())
    cached = runner.bot.get_channel(thread.id)
    assert isinstance(cached, discord.Thread)
    before = await cached.send("before the lock")

    thread.lock()
    await fake_discord.wait_for(lambda: cached.locked)
    with pytest.raises(discord.Forbidden) as refused:
        await cached.send("after the lock")
    assert refused.value.code == 160005
    with pytest.raises(discord.Forbidden):
        await before.edit(content="edited after the lock")

    guild.update_role(
        guild.bot_role,
        permissions=Permission.VIEW_CHANNEL
        | Permission.MANAGE_THREADS
        | Permission.SEND_MESSAGES_IN_THREADS,
    )
    await fake_discord.wait_for(lambda: cached.permissions_for(cached.guild.me).manage_threads)
    await cached.send("a moderator may")
    assert [m["content"] for m in fake_discord.messages(thread)] == [
        "before the lock",
        "a moderator may",
    ]


# -- modals -----------------------------------------------------------------------------


def _text_input(custom_id: str, **more: Any) -> dict[str, Any]:
    return {"type": 4, "custom_id": custom_id, "style": 1} | more


def test_a_modal_is_checked_where_the_schema_cannot() -> None:
    from tests.fakediscord.interactions import modal_errors

    good = {
        "custom_id": "m",
        "title": "Form",
        "components": [
            {"type": 18, "label": "A", "component": _text_input("a", value="hi", max_length=5)},
            {"type": 1, "components": [_text_input("b", label="B")]},
        ],
    }
    assert modal_errors(good) == []
    bad = {
        "custom_id": "m",
        "title": "Form",
        "components": [
            {"type": 18, "label": "A", "component": _text_input("a", label="again")},
            {"type": 1, "components": [_text_input("a")]},
            {"type": 18, "label": "C", "component": _text_input("c", value="x" * 6, max_length=5)},
            *({"type": 18, "label": "D", "component": _text_input(f"d{n}")} for n in range(3)),
        ],
    }
    paths = [path for path, _, _ in modal_errors(bad)]
    assert paths == [
        ("components",),
        ("components", 0, "component", "label"),
        ("components", 1, "components", 0, "custom_id"),
        ("components", 1, "components", 0, "label"),
        ("components", 2, "component", "value"),
    ]


def test_a_submitted_modal_carries_what_the_user_typed() -> None:
    from tests.fakediscord.interactions import modal_submit_data

    modal = {
        "custom_id": "m",
        "title": "Form",
        "components": [
            {"type": 18, "label": "A", "component": _text_input("a", value="pre")},
            {"type": 1, "components": [_text_input("b", label="B", required=False)]},
        ],
    }
    assert modal_submit_data(modal, {"b": "typed"}) == {
        "custom_id": "m",
        "components": [
            {"type": 18, "component": {"type": 4, "custom_id": "a", "value": "pre"}},
            {"type": 1, "components": [{"type": 4, "custom_id": "b", "value": "typed"}]},
        ],
    }
    with pytest.raises(InvalidInvocation, match="required"):
        modal_submit_data(modal, {"a": ""})
    with pytest.raises(InvalidInvocation, match="no text input"):
        modal_submit_data(modal, {"c": "x"})


async def test_a_modal_round_trip(
    fake_discord: FakeDiscord, guild: FakeGuild, run_bot: RunBot
) -> None:
    await synced_bot(run_bot)
    reader = guild.add_member("reader")
    form = await fake_discord.invoke(guild, guild.channel("general"), reader, "news form")
    body = await form.response()
    assert body["type"] == 9 and body["data"]["title"] == "Feedback"
    submitted = await fake_discord.submit_modal(form, {"feedback:text": "hello"})
    assert (await submitted.original_message())["content"] == "Got hello"
    with pytest.raises(InvalidInvocation, match="length"):
        await fake_discord.submit_modal(form, {"feedback:text": "x" * 21})

    # A modal submission cannot be answered with another modal.
    silent = await fake_discord.submit_modal(form, {"feedback:text": "silent"})
    url = f"{fake_discord.api_url}/interactions/{silent.id}/{silent.token}/callback"
    modal = body  # the same modal again
    async with aiohttp.ClientSession() as http, http.post(url, json=modal) as resp:
        assert resp.status == 400
    assert [v.kind for v in fake_discord.take_violations()] == ["invalid_body"]
    assert silent.callback is None
