"""A real, configurable HTTP server on 127.0.0.1 for feed-polling tests.

Use the ``feed_server`` fixture (``tests/conftest.py`` registers this module as a
plugin), then describe each path::

    feed_server.route("/feed.xml", body=RSS, etag='"v1"')
    feed_server.route("/old", redirect_to="/feed.xml", status=301)
    feed_server.route("/huge", stream_bytes=50_000_000)
    feed_server.route("/slow", delay=30)          # never answers within a short timeout
    feed_server.route("/drop", drop=True)         # closes the connection, no answer
    feed_server.route("/junk", raw=b"NOT HTTP")   # raw bytes instead of HTTP, then close
    url = feed_server.url("/feed.xml")

Every request is recorded in ``feed_server.requests`` (see :meth:`FeedServer.seen`).
Unknown paths answer 404. Handlers are cancelled when the client disconnects, so a
delayed or streaming answer never outlives the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

_CHUNK = 64 * 1024


@dataclass
class Route:
    """How the server answers one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml"
    # Seconds to wait before answering (cancelled if the client goes away).
    delay: float = 0.0
    # Location header (relative or absolute); status defaults to 302 when set.
    redirect_to: str | None = None
    # Send this ETag and answer 304 when If-None-Match carries it.
    etag: str | None = None
    # Send this Last-Modified and answer 304 when If-Modified-Since equals it.
    last_modified: str | None = None
    # Stream this many zero bytes in chunks instead of ``body`` (no Content-Length).
    stream_bytes: int | None = None
    # Advertise this Content-Length on a streamed answer (it may be a lie).
    content_length: int | None = None
    # Close the connection as soon as the request arrives, without any answer.
    drop: bool = False
    # Write these bytes instead of an HTTP answer, then close (broken servers).
    raw: bytes | None = None


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: CIMultiDictProxy[str]


@dataclass
class StreamStats:
    """What a streaming answer did: bytes written, and whether it ran to the end."""

    sent: int = 0
    completed: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class FeedServer:
    """The app behind the ``feed_server`` fixture; configure it with :meth:`route`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[SeenRequest] = []
        self.streams: dict[str, StreamStats] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def route(self, path: str, **options: object) -> Route:
        """Answer ``path`` as described by :class:`Route` fields; returns the route."""
        route = Route(**options)  # type: ignore[arg-type]
        if route.redirect_to is not None and "status" not in options:
            route.status = 302
        self.routes[path] = route
        return route

    def url(self, path: str) -> str:
        return self.base_url + path

    def seen(self, path: str) -> list[SeenRequest]:
        """The requests that reached ``path``, oldest first."""
        return [r for r in self.requests if r.path == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up (timeout, size cap) cancels the
        # handler, which is what stops a slow or endless answer on the server side.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            SeenRequest(
                request.method, request.path, CIMultiDictProxy(CIMultiDict(request.headers))
            )
        )
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="no such path")
        if route.drop or route.raw is not None:
            if request.transport is not None:
                if route.raw is not None:
                    request.transport.write(route.raw)
                    request.transport.close()
                else:
                    request.transport.abort()
            # Nothing can be sent any more; aiohttp swallows the failed write.
            return web.Response(status=500)
        if route.delay:
            await asyncio.sleep(route.delay)

        headers = CIMultiDict(route.headers)
        if route.redirect_to is not None:
            headers["Location"] = route.redirect_to
        if route.etag is not None:
            headers["ETag"] = route.etag
        if route.last_modified is not None:
            headers["Last-Modified"] = route.last_modified
        if self._not_modified(request, route):
            return web.Response(status=304, headers=headers)
        if route.stream_bytes is not None:
            return await self._stream(request, route, headers)
        return web.Response(
            status=route.status, body=route.body, headers=headers, content_type=route.content_type
        )

    @staticmethod
    def _not_modified(request: web.Request, route: Route) -> bool:
        if route.etag is not None and route.etag in request.headers.get("If-None-Match", ""):
            return True
        return (
            route.last_modified is not None
            and request.headers.get("If-Modified-Since") == route.last_modified
        )

    async def _stream(
        self, request: web.Request, route: Route, headers: CIMultiDict[str]
    ) -> web.StreamResponse:
        assert route.stream_bytes is not None
        stats = self.streams[request.path] = StreamStats()
        resp = web.StreamResponse(status=route.status, headers=headers)
        resp.content_type = route.content_type
        if route.content_length is not None:
            resp.content_length = route.content_length
        chunk = b"\0" * _CHUNK
        try:
            await resp.prepare(request)
            while stats.sent < route.stream_bytes:
                part = chunk[: route.stream_bytes - stats.sent]
                await resp.write(part)
                stats.sent += len(part)
            await resp.write_eof()
            stats.completed = True
        except ConnectionError:
            pass  # the client hung up: exactly what the tests want to see
        finally:
            stats.finished.set()
        return resp


@pytest.fixture(name="feed_server")
async def feed_server_fixture() -> AsyncIterator[FeedServer]:
    """A started :class:`FeedServer` on 127.0.0.1 (random port), closed after the test."""
    server = FeedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
