"""The webhook routes of the HTTP listener.

- ``POST /hooks/push``: a forge's push event (GitHub, GitLab, Gitea, Forgejo), signed
  with ``NEWSBOT_WEBHOOK_SECRET``. A push to the watched branch fetches the git
  repository at once (200); a ping answers 200; other branches and other events 202
  and nothing; no signature or a wrong one 401 and nothing; a delivery already
  received (the forge's redelivery) 200 and nothing.
- ``POST /hooks/publish`` with ``Authorization: Bearer <secret>``: every source looks
  now (content folder rescan, git fetch, feed polls), for pipelines that are not git
  pushes. Answers 202.

Bodies over the listener's limit are answered 413 by the listener before any of this.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

from bot.config import Settings
from bot.forges import BadEvent, EventKind, Unauthorized, read_event, same_secret
from bot.sources.git import GitSource

log = logging.getLogger(__name__)

# Delivery ids remembered, to ignore a forge's redelivery of an event already handled.
SEEN_DELIVERIES = 1000


def hook_routes(
    settings: Settings, git: GitSource | None, refresh: Callable[[], list[str]]
) -> list[web.RouteDef]:
    """The listener's webhook routes: ``/hooks/publish``, and ``/hooks/push`` when a git
    repository is watched. ``refresh`` asks every source to look now and names them."""
    if settings.webhook_secret is None:
        return []
    hooks = _Hooks(settings.webhook_secret.get_secret_value(), git, refresh)
    routes = [web.post("/hooks/publish", hooks.publish)]
    if git is not None:
        routes.append(web.post("/hooks/push", hooks.push))
    return routes


def _answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n")


class _Hooks:
    def __init__(
        self, secret: str, git: GitSource | None, refresh: Callable[[], list[str]]
    ) -> None:
        self.secret = secret
        self.git = git
        self.refresh = refresh
        self.seen: OrderedDict[str, None] = OrderedDict()

    async def push(self, request: web.Request) -> web.Response:
        assert self.git is not None  # the route exists only with a repository
        body = await request.read()
        try:
            event = read_event(request.headers, body, self.secret)
        except Unauthorized as exc:
            log.warning("refused a push webhook from %s: %s", request.remote, exc)
            return _answer(401, f"unauthorized: {exc}")
        except BadEvent as exc:
            return _answer(400, str(exc))
        if event.delivery is not None:
            if event.delivery in self.seen:
                return _answer(200, f"delivery {event.delivery} was already received")
            self.seen[event.delivery] = None
            if len(self.seen) > SEEN_DELIVERIES:
                self.seen.popitem(last=False)
        if event.kind is EventKind.PING:
            return _answer(200, "pong")
        if event.kind is EventKind.OTHER:
            return _answer(202, f"ignored: {event.forge} event {event.name!r} is not a push")
        # Before the remote's default branch is known, any push may be to it.
        branch = self.git.branch
        if branch is not None and event.ref != f"refs/heads/{branch}":
            return _answer(202, f"ignored: {event.ref} is not the watched branch {branch}")
        log.info("%s push to %s (delivery %s): fetching", event.forge, event.ref, event.delivery)
        self.git.fetch_now()
        return _answer(200, "fetching")

    async def publish(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(token.strip(), self.secret):
            log.warning("refused a publish request from %s", request.remote)
            response = _answer(401, "unauthorized: Authorization: Bearer <secret> needed")
            response.headers["WWW-Authenticate"] = 'Bearer realm="newsbot"'
            return response
        asked = self.refresh()
        log.info("publish request: looking at %s now", ", ".join(asked) or "nothing")
        return _answer(202, "looking now at: " + (", ".join(asked) or "no source"))
