"""The real bot starts against the fake Discord and answers a lookup."""

from __future__ import annotations

from bot.config import Settings
from tests.e2e.conftest import make_bot
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord


async def test_latest(fake_discord: FakeDiscord, run_bot: RunBot, bot_settings: Settings) -> None:
    guild = fake_discord.add_guild("Newsroom")
    channel = guild.add_channel("general-2")
    member = guild.add_member("reader")
    runner = await run_bot(make_bot(bot_settings))
    bot = runner.bot
    await fake_discord.wait_for(lambda: len(fake_discord.commands) > 0)
    # The first scan records the samples (first-start rule: nothing announced).
    await fake_discord.wait_for(
        lambda: bot.pipeline.content is not None and bot.pipeline.content.source_id is not None
    )
    import asyncio

    for _ in range(100):
        if await bot.store.article_count() >= 4:
            break
        await asyncio.sleep(0.05)
    interaction = await fake_discord.invoke(guild, channel, member, "news latest")
    body = await interaction.response()
    print(body)
    assert body["type"] == 4
