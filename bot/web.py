"""The bot's one HTTP listener (``NEWSBOT_HTTP_ADDR``), on aiohttp's server.

It is off unless the setting is given. The parts of the bot that answer over HTTP (push
webhooks, metrics, health) each contribute their routes; any other path answers 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import web

log = logging.getLogger(__name__)

# The largest request body accepted (a forge's push event is far smaller); larger ones
# are answered 413 before they are read whole.
MAX_BODY_BYTES = 1024 * 1024
# How long closing waits for requests in flight; idle keep-alive connections (a scraper
# holding one open) are closed at once and never delay shutdown.
SHUTDOWN_SECONDS = 2.0


class ListenerError(Exception):
    """The listener cannot start; the message names the setting and the reason."""


def parse_addr(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6; port 0 picks a free one) as a pair.

    Raises ValueError with what is allowed.
    """
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host or not port_text.isdecimal():
        raise ValueError("must be HOST:PORT, for example 127.0.0.1:8080 or 0.0.0.0:8080")
    port = int(port_text)
    if port > 65535:
        raise ValueError("the port must be between 0 and 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


class HttpListener:
    """One aiohttp application served on one address until :meth:`close`."""

    def __init__(self, addr: str, routes: Iterable[web.AbstractRouteDef] = ()) -> None:
        self.host, self.port = parse_addr(addr)
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.add_routes(list(routes))
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve; :attr:`port` is then the bound port (useful with port 0)."""
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS, handle_signals=False
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ListenerError(
                f"NEWSBOT_HTTP_ADDR={self.host}:{self.port}: cannot listen there: "
                f"{exc.strerror or exc}"
            ) from exc
        self._runner = runner
        if runner.addresses:
            self.port = runner.addresses[0][1]
        log.info("HTTP listener on %s:%d", self.host, self.port)

    async def close(self) -> None:
        """Stop listening and close every connection; safe to call twice."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
