"""kill -9 between a webhook post and its record, then a restart: posted exactly once.

Executing a webhook takes no nonce, so Discord cannot absorb a resend: the restarted
bot must find the post in the channel's history first. The real bot runs as its own
process (``python -m bot run``, logging at DEBUG) against the in-process fake Discord;
the fake answers webhook posts a little late (the message exists, the answer is on
its way), so the kill lands while posts are made but not yet recorded.

The post is known by what it says (its fingerprint, kept at the attempt), so this
holds for every format: also one with no embed and no link, whose article is edited
while the bot is down (the post found is then edited to the new version).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.formats import DEFAULT_FORMAT, Format, parse_format
from bot.store import Identity, Store
from tests.delivery.harness import (
    BREAKING,
    KillAndRestart,
    bot_env,
    query,
    sent,
    slow_answers,
    write_article,
)
from tests.e2e.conftest import SAMPLES
from tests.fakediscord import Permission
from tests.fakediscord.models import DEFAULT_BOT_PERMISSIONS
from tests.fakediscord.server import FakeDiscord

CHANNELS = 12
ANSWER_DELAY = 0.5  # seconds between a webhook post being made and the bot hearing of it
EXECUTE = "/webhooks/{webhook_id}/{webhook_token}"


#: No embed, no link: nothing but the words tells this format's posts apart.
WORDS_ONLY = parse_format("📰 {{title}}: {{takeaways:1}}", "", "", "", "embed: off")


async def subscribe_by_webhook(
    database: str | Path, channels: list[tuple[int, int]], fmt: Format = DEFAULT_FORMAT
) -> None:
    store = await Store.open(database)
    try:
        for guild_id, channel_id in channels:
            now = datetime.now(UTC)
            await store.subscribe(
                guild_id, channel_id, by_user_id=1, now=now, identity=Identity.WEBHOOK
            )
            await store.set_format(guild_id, channel_id, fmt, now)
    finally:
        await store.close()


@pytest.mark.parametrize("custom", [False, True], ids=["default", "words-only-edited"])
@pytest.mark.fakediscord(bot_permissions=DEFAULT_BOT_PERMISSIONS | Permission.MANAGE_WEBHOOKS)
async def test_kill_9_between_webhook_post_and_record_posts_exactly_once(
    fake_discord: FakeDiscord, tmp_path: Path, database: str | Path, custom: bool
) -> None:
    fake = fake_discord
    guild = fake.add_guild("Newsroom")
    channels = [guild.add_channel(f"news-{i}") for i in range(CHANNELS)]
    content = tmp_path / "content"
    shutil.copytree(SAMPLES, content)
    fmt = WORDS_ONLY if custom else DEFAULT_FORMAT
    await subscribe_by_webhook(database, [(guild.id, c.id) for c in channels], fmt)
    env = bot_env(
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        token=fake.token,
        content_dir=content,
        database=database,
    )
    env.update(NEWSBOT_LOG_LEVEL="DEBUG", NEWSBOT_POST_NAME="The Daily Planet")
    slow_answers(fake, ANSWER_DELAY, EXECUTE)
    with KillAndRestart(fake, channels, env, tmp_path, database) as run:
        at_kill = await run.kill_mid_posts(content, 1)
        # Posts made but not recorded: exactly the case the history check is for.
        assert await sent(database) < at_kill
        title, point = BREAKING, "A first point."
        if custom:
            # Edited while the bot is down: the posts made no longer say what the
            # article would give now.
            title, point = f"{BREAKING} (Updated)", "Corrected."
            write_article(content, "breaking", title, tags=["News"], takeaways=(point,))

        await run.restart()
        if custom:
            for c in channels:
                [message] = fake.messages(c)
                assert message["content"] == f"📰 {title}: - {point}"
                assert message["embeds"] == []

        per_channel = {c.id: len(fake.messages(c)) for c in channels}
        assert set(per_channel.values()) == {1}, per_channel
        for channel_id, message_id, webhook_id in await query(
            database, "SELECT channel_id, message_id, webhook_id FROM deliveries"
        ):
            [message] = fake.messages(channel_id)
            assert int(message["id"]) == message_id
            assert int(message["webhook_id"]) == webhook_id
            assert message["author"]["username"] == "The Daily Planet"
        # The restarted bot looked before it posted, and posted only what was missing:
        # one execute per channel in all.
        assert fake.requests_to("GET", "/channels/*/messages")
        executes = [r for r in fake.requests_to("POST", "/webhooks/*") if r.status == 200]
        assert len(executes) == CHANNELS
        # One webhook per channel, even where the kill came between making it and
        # keeping it (the bot's own webhook is found and kept).
        assert all(len(fake.webhooks_in(c)) == 1 for c in channels)
        text = run.stop()
    assert "/webhooks/" in text  # discord.py's DEBUG lines name the routes...
    for webhook in fake.webhooks.values():
        assert webhook.token not in text  # ...never a token
