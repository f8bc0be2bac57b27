"""kill -9 in the middle of a fan-out, then a restart: every channel gets the post once.

The real bot runs as its own process (``python -m bot run``) against the in-process
fake Discord, with a content folder and a database in ``tmp_path``. The fake answers
message posts a little late (the message exists, the answer is on its way), so the
kill lands while posts are made but not yet recorded: after the restart those are
sent again with the same nonce, and the fake (like Discord) returns the message it
already has instead of posting twice. It runs on both engines (``database``).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.delivery.harness import (
    BREAKING,
    KillAndRestart,
    bot_env,
    query,
    sent,
    slow_answers,
    subscribe_channels,
    write_article,
)
from tests.e2e.conftest import SAMPLES
from tests.fakediscord.server import FakeDiscord

CHANNELS = 60
ANSWER_DELAY = 0.3  # seconds between a post being made and the bot hearing of it
KILL_AFTER = 20  # posts made before the kill


@pytest.mark.parametrize("edited", [False, True], ids=["unchanged", "edited-while-down"])
async def test_kill_9_during_fan_out_loses_nothing_and_doubles_nothing(
    fake_discord: FakeDiscord, tmp_path: Path, database: str | Path, edited: bool
) -> None:
    fake = fake_discord
    guilds = [fake.add_guild(f"Guild {n}") for n in range(3)]
    channels = [g.add_channel(f"news-{i}") for i in range(CHANNELS // 3) for g in guilds]
    content = tmp_path / "content"
    shutil.copytree(SAMPLES, content)
    await subscribe_channels(database, [(c.guild.id, c.id, ()) for c in channels])
    env = bot_env(
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        token=fake.token,
        content_dir=content,
        database=database,
    )
    slow_answers(fake, ANSWER_DELAY)
    with KillAndRestart(fake, channels, env, tmp_path, database) as run:
        at_kill = await run.kill_mid_posts(content, KILL_AFTER)
        assert at_kill < CHANNELS, "the fan-out finished before the kill"
        recorded = await sent(database)
        # Posts made but not recorded: exactly the case the nonce is for.
        assert recorded < at_kill
        made = {c.id for c in channels if fake.messages(c)}
        title, point = BREAKING, "A first point."
        if edited:
            # Edited while the bot is down: a resend's nonce returns the post made
            # before the kill, which says what the article said then.
            title, point = f"{BREAKING} (Corrected)", "Corrected."
            write_article(content, "breaking", title, tags=["News"], takeaways=(point,))

        await run.restart()
        per_channel = {c.id: len(fake.messages(c)) for c in channels}
        assert set(per_channel.values()) == {1}, per_channel
        # Each shows the article as it is now: those made before the kill were edited.
        for c in channels:
            [embed] = fake.messages(c)[0]["embeds"]
            assert (embed["title"], embed["description"].splitlines()[0]) == (title, f"- {point}")
        edited_in = {
            int(r.path.split("/")[2])
            for r in fake.requests_to("PATCH", "/channels/*/messages/*")
            if r.status == 200
        }
        assert edited_in == (made if edited else set())
        rows = await query(database, "SELECT channel_id, message_id, nonce FROM deliveries")
        assert len(rows) == CHANNELS
        for channel_id, message_id, _ in rows:
            [message] = fake.messages(channel_id)
            assert int(message["id"]) == message_id
        # Resends after the restart carried the same nonces and created nothing.
        nonces = Counter(
            r.json["nonce"] for r in fake.requests_to("POST", "/channels/*/messages") if r.status
        )
        assert set(nonces) == {nonce for _, _, nonce in rows}
        assert sum(nonces.values()) > CHANNELS
        run.stop()
