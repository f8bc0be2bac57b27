"""kill -9 in the middle of a fan-out, then a restart: every channel gets the post once.

The real bot runs as its own process (``python -m bot run``) against the in-process
fake Discord, with a content folder and a database in ``tmp_path``. The fake answers
message posts a little late (the message exists, the answer is on its way), so the
kill lands while posts are made but not yet recorded: after the restart those are
sent again with the same nonce, and the fake (like Discord) returns the message it
already has instead of posting twice. It runs on both engines (``database``).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from bot.config import is_postgres_url
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
from tests.waiting import wait_until

CHANNELS = 60
ANSWER_DELAY = 0.3  # seconds between a post being made and the bot hearing of it
KILL_AFTER = 20  # posts made before the kill


def slow_answers(
    fake: FakeDiscord, delay: float, template: str = "/channels/{channel_id}/messages"
) -> None:
    """Make the fake answer posts to ``template`` ``delay`` seconds after making them."""
    serve = fake._serve

    async def delayed(route: Any, handler: Any, request: web.Request) -> web.StreamResponse:
        response = await serve(route, handler, request)
        if request.method == "POST" and route.template == template:
            await asyncio.sleep(delay)
        return response

    fake._serve = delayed  # type: ignore[method-assign]


async def query(database: str | Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` in the bot process's database, read from outside it."""
    if is_postgres_url(database):
        connection = await asyncpg.connect(str(database))
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return list(db.execute(sql))


async def sent(database: str | Path) -> int:
    """How many deliveries the bot process has recorded as sent."""
    [(count,)] = await query(database, "SELECT count(*) FROM deliveries WHERE state = 'sent'")
    return int(count)


def alive(process: subprocess.Popen[bytes], check: Callable[[], Any]) -> Callable[[], Any]:
    """``check``, failing at once if the bot process has exited."""

    def checked() -> Any:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited ({process.returncode})")
        return check()

    return checked


async def first_scan(process: subprocess.Popen[bytes], database: str | Path) -> None:
    """Wait until the bot process has recorded its first scan of the content folder."""
    await wait_until(
        alive(
            process,
            lambda: query(database, "SELECT 1 FROM sources WHERE baseline_done_at IS NOT NULL"),
        ),
        "the first scan",
        timeout=30,
    )


async def has_no_work(database: str | Path) -> bool:
    """Whether the bot process has nothing left to do: no announcement, post or notice."""
    return not await query(
        database,
        "SELECT 1 FROM announcements WHERE done_at IS NULL "
        "UNION ALL SELECT 1 FROM deliveries WHERE due_at IS NOT NULL "
        "UNION ALL SELECT 1 FROM delivery_notices WHERE due_at IS NOT NULL",
    )


async def test_kill_9_during_fan_out_loses_nothing_and_doubles_nothing(
    fake_discord: FakeDiscord, tmp_path: Path, database: str | Path
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
    log = tmp_path / "bot.log"
    slow_answers(fake, ANSWER_DELAY)

    def posted() -> int:
        return sum(len(fake.messages(c)) for c in channels)

    async def all_sent() -> bool:
        return await sent(database) == CHANNELS

    first = start_bot(env, tmp_path, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        await first_scan(first, database)
        write_article(content, "breaking", "Breaking: Everyone Gets This Once", tags=["News"])
        await wait_until(
            alive(first, lambda: posted() >= KILL_AFTER), f"{KILL_AFTER} posts", timeout=30
        )
        kill(first)
        at_kill = posted()
        assert at_kill < CHANNELS, "the fan-out finished before the kill"
        recorded = await sent(database)
        # Posts made but not recorded: exactly the case the nonce is for.
        assert recorded < at_kill

        second = start_bot(env, tmp_path, log)
        await wait_until(
            alive(
                second,
                all_sent,
            ),
            "every post recorded after the restart",
            timeout=60,
        )
        # A duplicate, if any, has shown up once the bot has nothing left to send and
        # no request of it is being answered.
        await fake.wait_until_settled(lambda: has_no_work(database))

        per_channel = {c.id: len(fake.messages(c)) for c in channels}
        assert set(per_channel.values()) == {1}, per_channel
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
        assert stop(second) == 0
        second = None
    finally:
        kill(first)
        if second is not None:
            kill(second)
    assert not fake.violations
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
