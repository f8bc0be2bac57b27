"""``NEWSBOT_HTTP_ADDR`` in a real ``newsbot run`` (with ``NEWSBOT_LOG_FORMAT=json``):
the listener comes up beside the gateway and answers the operators' paths, every log
line is a JSON object, and a scraper holding a keep-alive connection does not delay
SIGTERM."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_run_cli import SECRET, environment, serving, start
from tests.fakediscord.server import FakeDiscord
from tests.waiting import wait_until

LISTENING = re.compile(r"^HTTP listener on 127\.0\.0\.1:(\d+)$")


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
        NEWSBOT_LOG_FORMAT="json",
    )
    process = await start(env, tmp_path)
    writer = None
    try:
        await serving(fake_discord, process)
        records = [json.loads(line) for line in list(process.stderr_lines)]
        ports = [m[1] for r in records if (m := LISTENING.match(r["message"]))]
        assert len(ports) == 1, process.stderr
        base = f"http://127.0.0.1:{ports[0]}"
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                async with session.get(f"{base}/readyz") as response:
                    return response.status == 200 and await response.json() == {"status": "ok"}

            await wait_until(ready, "/readyz to answer 200", timeout=20)
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with session.get(f"{base}/metrics") as response:
                text = await response.text()
            async with session.get(f"{base}/nothing-here") as response:
                assert response.status == 404
        unlabelled = {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.labels
        }
        assert unlabelled["newsbot_gateway_shards_connected"] == 1
        # A scraper holding its keep-alive connection open.
        reader, writer = await asyncio.open_connection("127.0.0.1", int(ports[0]))
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: bot\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    finally:
        if process.proc.returncode is None:
            process.proc.send_signal(signal.SIGTERM)
    code = await process.wait()  # bounded: fails if the process does not exit
    if writer is not None:
        writer.close()
    assert code == 0, process.stderr
    records = [json.loads(line) for line in process.stderr_lines]  # every line
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert records[-1]["message"] == "stopped"
    assert any(r["logger"].startswith("discord.") for r in records)  # discord.py's too
    assert "hook-secret" not in process.stderr + process.stdout
    assert SECRET not in process.stderr + process.stdout
