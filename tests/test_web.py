"""The HTTP listener: its address setting, 404 for unknown paths, the body limit, a bind
failure naming the setting, and closing with an idle keep-alive connection open."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bot.config import SettingsError, load_settings
from bot.web import MAX_BODY_BYTES, HttpListener, ListenerError, parse_addr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:9000", ("::1", 9000)),
        (" 127.0.0.1:80 ", ("127.0.0.1", 80)),
    ],
)
def test_addresses(value: str, expected: tuple[str, int]) -> None:
    assert parse_addr(value) == expected


@pytest.mark.parametrize("value", ["8080", ":8080", "host:", "host:http", "host:65536", "h:-1"])
def test_bad_addresses(value: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|between 0 and 65535"):
        parse_addr(value)


def test_listener_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSBOT_HTTP_ADDR", "NEWSBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings(_env_file=None).http_addr is None
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, http_addr="127.0.0.1:8080")
    assert "NEWSBOT_WEBHOOK_SECRET: must be set when NEWSBOT_HTTP_ADDR is set" in str(refused.value)
    with pytest.raises(SettingsError, match="NEWSBOT_HTTP_ADDR=8080: must be HOST:PORT"):
        load_settings(_env_file=None, http_addr="8080", webhook_secret="s3cret")
    settings = load_settings(_env_file=None, http_addr=" ", webhook_secret="s3cret")
    assert settings.http_addr is None  # blank is off, as in .env.example


async def echo_length(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


async def test_unknown_paths_are_404_and_big_bodies_413() -> None:
    listener = HttpListener("127.0.0.1:0", [web.post("/echo", echo_length)])
    await listener.start()
    try:
        assert listener.port != 0
        base = f"http://127.0.0.1:{listener.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/") as response:
                assert response.status == 404
            async with session.get(f"{base}/echo") as response:
                assert response.status == 405
            async with session.post(f"{base}/echo", data=b"x" * 10) as response:
                assert (response.status, await response.text()) == (200, "10")
            async with session.post(f"{base}/echo", data=b"x" * (MAX_BODY_BYTES + 1)) as response:
                assert response.status == 413
    finally:
        await listener.close()
    await listener.close()  # twice is harmless


async def test_a_taken_address_names_the_setting() -> None:
    first = HttpListener("127.0.0.1:0")
    await first.start()
    try:
        second = HttpListener(f"127.0.0.1:{first.port}")
        with pytest.raises(ListenerError, match=rf"^NEWSBOT_HTTP_ADDR=127.0.0.1:{first.port}: "):
            await second.start()
    finally:
        await first.close()


async def test_an_idle_keep_alive_connection_does_not_hold_up_closing() -> None:
    listener = HttpListener("127.0.0.1:0")
    await listener.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    try:
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        await writer.drain()
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 404")
        # The connection stays open, idle; closing the listener ends it (bounded wait,
        # far above the listener's own shutdown timeout).
        await asyncio.wait_for(listener.close(), timeout=10)
        rest = await asyncio.wait_for(reader.read(), timeout=10)
        assert b"HTTP/1.1" not in rest  # nothing more was sent, the server hung up
    finally:
        writer.close()
