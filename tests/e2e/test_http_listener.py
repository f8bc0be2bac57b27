"""``NEWSBOT_HTTP_ADDR`` in a real ``newsbot run``: the listener comes up beside the
gateway, and a client holding a keep-alive connection does not delay SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from tests.e2e.test_run_cli import SECRET, environment, serving, start
from tests.fakediscord.server import FakeDiscord

LISTENING = re.compile(r"HTTP listener on 127\.0\.0\.1:(\d+)$")


@pytest.mark.fakediscord(token=SECRET)
async def test_listener_serves_and_sigterm_is_not_held_up(
    fake_discord: FakeDiscord, tmp_path: Path, content_dir: Path
) -> None:
    fake_discord.add_guild("Newsroom")
    env = environment(
        fake_discord,
        tmp_path,
        content_dir,
        DISCORD_TOKEN=SECRET,
        NEWSBOT_HTTP_ADDR="127.0.0.1:0",
        NEWSBOT_WEBHOOK_SECRET="hook-secret",
    )
    process = await start(env, tmp_path)
    writer = None
    try:
        await serving(fake_discord, process)
        ports = [m[1] for line in process.stderr_lines if (m := LISTENING.search(line))]
        assert len(ports) == 1, process.stderr
        reader, writer = await asyncio.open_connection("127.0.0.1", int(ports[0]))
        writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: bot\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 404")
    finally:
        if process.proc.returncode is None:
            process.proc.send_signal(signal.SIGTERM)
    code = await process.wait()  # bounded: fails if the process does not exit
    if writer is not None:
        writer.close()
    assert code == 0, process.stderr
    assert "hook-secret" not in process.stderr + process.stdout
