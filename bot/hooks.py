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

With many processes on one PostgreSQL database (:mod:`bot.leader`), a webhook may
reach a process that does not run the sources. It checks the request all the same
(its secret, the delivery id it remembers, the branch: before the remote's default
branch is known, as on a follower that never fetched, any push may be to it), then
asks the leader through the database (:data:`FETCH`, :data:`REFRESH`: a row the
leader takes, and a ``NOTIFY``), and says so in its answer. When no process leads at
that moment it answers as well: the next leader takes the row as it starts. When the
database cannot be reached it answers 503, so that the forge shows the delivery
failed.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Settings
from bot.forges import BadEvent, EventKind, Unauthorized, read_event, same_secret
from bot.sources.git import GitSource

log = logging.getLogger(__name__)

# Delivery ids remembered, to ignore a forge's redelivery of an event already handled.
SEEN_DELIVERIES = 1000

#: What the webhooks ask of the sources: fetch the repository, or every source looks.
FETCH = "fetch"
REFRESH = "refresh"
LOOKS = (FETCH, REFRESH)


class Asked(enum.Enum):
    """Who was asked to look: this process, which runs the sources; the leader (another
    process); nobody, no process leading right now; or nobody, the database being
    unreachable."""

    HERE = ""
    LEADER = ": passed to the leading process"
    NO_LEADER = ": no process leads right now; the next one to lead does it as it starts"
    UNREACHABLE = "the database cannot be reached to pass this to the leading process"


#: Asks the sources to look now (:data:`FETCH` or :data:`REFRESH`), wherever they run.
Ask = Callable[[str], Awaitable[Asked]]


def hook_routes(
    settings: Settings, git: GitSource | None, looks: Callable[[], list[str]], ask: Ask
) -> list[web.RouteDef]:
    """The listener's webhook routes: ``/hooks/publish``, and ``/hooks/push`` when a git
    repository is watched. ``looks`` names the sources :data:`REFRESH` asks to look;
    ``ask`` asks them."""
    if settings.webhook_secret is None:
        return []
    hooks = _Hooks(settings.webhook_secret.get_secret_value(), git, looks, ask)
    routes = [web.post("/hooks/publish", hooks.publish)]
    if git is not None:
        routes.append(web.post("/hooks/push", hooks.push))
    return routes


def _answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n")


def _unreachable() -> web.Response:
    return _answer(503, Asked.UNREACHABLE.value + "; deliver it again later")


class _Hooks:
    def __init__(
        self, secret: str, git: GitSource | None, looks: Callable[[], list[str]], ask: Ask
    ) -> None:
        self.secret = secret
        self.git = git
        self.looks = looks
        self.ask = ask
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
        asked = await self.ask(FETCH)
        if asked is Asked.UNREACHABLE:
            if event.delivery is not None:
                self.seen.pop(event.delivery, None)  # its redelivery is to be handled
            return _unreachable()
        (log.warning if asked is Asked.NO_LEADER else log.info)(
            "%s push to %s (delivery %s): fetching%s",
            event.forge,
            event.ref,
            event.delivery,
            asked.value,
        )
        return _answer(200, "fetching" + asked.value)

    async def publish(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(token.strip(), self.secret):
            log.warning("refused a publish request from %s", request.remote)
            response = _answer(401, "unauthorized: Authorization: Bearer <secret> needed")
            response.headers["WWW-Authenticate"] = 'Bearer realm="newsbot"'
            return response
        asked = await self.ask(REFRESH)
        if asked is Asked.UNREACHABLE:
            return _unreachable()
        looks = ", ".join(self.looks())
        (log.warning if asked is Asked.NO_LEADER else log.info)(
            "publish request: looking at %s now%s", looks or "nothing", asked.value
        )
        return _answer(202, "looking now at: " + (looks or "no source") + asked.value)
