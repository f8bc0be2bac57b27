"""kill -9 in the middle of a fan-out, then a restart: every channel gets the post once.

The real bot runs as its own process (``python -m bot run``) against the in-process
fake Discord, with a content folder and a database in ``tmp_path``. The fake answers
message posts a little late (the message exists, the answer is on its way), so the
kill lands while posts are made but not yet recorded: after the restart those are
sent again with the same nonce, and the fake (like Discord) returns the message it
already has instead of posting twice.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.delivery.harness import (
    bot_env,
    kill,
    start_bot,
    stop,
    subscribe_channels,
    write_article,
)
from tests.e2e.conftest import SAMPLES
from tests.fakediscord.server import FakeDiscord

CHANNELS = 60
ANSWER_DELAY = 0.3  # seconds between a post being made and the bot hearing of it
KILL_AFTER = 20  # posts made before the kill


def slow_answers(fake: FakeDiscord, delay: float) -> None:
    """Make the fake answer message posts ``delay`` seconds after making them."""
    serve = fake._serve

    async def delayed(route: Any, handler: Any, request: web.Request) -> web.StreamResponse:
        response = await serve(route, handler, request)
        if request.method == "POST" and route.template == "/channels/{channel_id}/messages":
            await asyncio.sleep(delay)
        return response

    fake._serve = delayed  # type: ignore[method-assign]


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return list(db.execute(sql))


async def until(check: Any, timeout: float, what: str, process: Any = None) -> Any:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the bot exited ({process.returncode}) before {what}")
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_kill_9_during_fan_out_loses_nothing_and_doubles_nothing(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    guilds = [fake.add_guild(f"Guild {n}") for n in range(3)]
    channels = [g.add_channel(f"news-{i}") for i in range(CHANNELS // 3) for g in guilds]
    content = tmp_path / "content"
    shutil.copytree(SAMPLES, content)
    database = tmp_path / "newsbot.sqlite3"
    await subscribe_channels(database, [(c.guild.id, c.id, ()) for c in channels])
    env = bot_env(
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        token=fake.token,
        content_dir=content,
        database=database,
    )
    log = tmp_path / "bot.log"
    slow_answers(fake, ANSWER_DELAY)

    def posted() -> int:
        return sum(len(fake.messages(c)) for c in channels)

    first = start_bot(env, tmp_path, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        await until(
            lambda: query(database, "SELECT 1 FROM sources WHERE baseline_done_at IS NOT NULL"),
            30,
            "the first scan",
            first,
        )
        write_article(content, "breaking", "Breaking: Everyone Gets This Once", tags=["News"])
        await until(lambda: posted() >= KILL_AFTER, 30, f"{KILL_AFTER} posts", first)
        kill(first)
        at_kill = posted()
        assert at_kill < CHANNELS, "the fan-out finished before the kill"
        recorded = query(database, "SELECT count(*) FROM deliveries WHERE state = 'sent'")[0][0]
        # Posts made but not recorded: exactly the case the nonce is for.
        assert recorded < at_kill

        second = start_bot(env, tmp_path, log)
        await until(
            lambda: (
                query(database, "SELECT count(*) FROM deliveries WHERE state = 'sent'")[0][0]
                == CHANNELS
            ),
            60,
            "every post recorded after the restart",
            second,
        )
        await asyncio.sleep(0.5)  # a duplicate, if any, would show up now

        per_channel = {c.id: len(fake.messages(c)) for c in channels}
        assert set(per_channel.values()) == {1}, per_channel
        rows = query(database, "SELECT channel_id, message_id, nonce FROM deliveries")
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
        assert stop(second) == 0
        second = None
    finally:
        kill(first)
        if second is not None:
            kill(second)
    assert not fake.violations
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
