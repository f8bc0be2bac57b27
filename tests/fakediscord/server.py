"""FakeDiscord: an in-process, Discord-compatible REST v10 + gateway server for end-to-end tests.

The real, unmodified discord.py client talks to it once `discord.http.Route.BASE` is
`server.api_url` and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` is
`yarl.URL(server.gateway_url)` (the `discord_client_env` fixture does both).

Honesty rules: bodies are validated against Discord's OpenAPI document and documented
limits (a violation answers 400 like Discord *and* is recorded so the test fails);
permissions are computed Discord's way; rate limits send Discord's headers and 429s;
an interaction can be acknowledged once, within 3 seconds.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import json
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from tests.waiting import wait_until

from . import messages, validation
from .clock import FakeClock
from .errors import ApiError, RateLimitedError
from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    EPHEMERAL,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    FakeInteraction,
    InvalidInvocation,
    build_command_data,
    find_component,
    modal_submit_data,
)
from .models import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Permission,
    Snowflakes,
    as_int,
)
from .ratelimits import Decision, RateLimiter, bucket_hash
from .rest import ROUTES, Call, Handler, Route
from .webhooks import FakeWebhook

API_PREFIX = "/api/v10"
# Turns of the event loop with nothing happening before `wait_until_settled` believes it:
# enough for a frame written to a local socket to be read and handled by the client.
_QUIET_TURNS = 5
JSON = "application/json"  # exactly: discord.py compares the Content-Type string
GUILD_MESSAGES_INTENT = 1 << 9

T = TypeVar("T")


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix, e.g. /channels/123/messages
    route: str  # the OpenAPI template, e.g. /channels/{channel_id}/messages
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float
    status: int = 0
    response: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class Violation:
    """Something Discord would reject (or a fake limitation the test ran into)."""

    kind: str
    method: str
    path: str
    detail: str
    body: Any = None

    def __str__(self) -> str:
        return f"[{self.kind}] {self.method} {self.path}: {self.detail}"


@dataclass
class Stats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # 429 answers (route, global or injected)
    invalid_requests: int = 0  # 401, 403 and 429 (not shared-scope): what Cloudflare bans on
    gateway_connects: int = 0
    identifies: int = 0
    resumes: int = 0
    identified_shards: list[int] = field(default_factory=list)  # shard of every READY
    invalid_sessions: int = 0  # op 9 answers to an IDENTIFY (its bucket went too fast)
    stalled: int = 0  # requests held up by stall()


@dataclass
class _Failure:
    method: str
    pattern: str
    status: int
    remaining: int
    retry_after: float
    is_global: bool
    code: int | None
    message: str | None


def _matches(pattern: str, method: str, path: str, want_method: str) -> bool:
    return want_method in ("*", method) and fnmatch.fnmatchcase(path, pattern)


class FakeDiscord:
    """A Discord-compatible server. See tests/fakediscord/README.md for the tour."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "NewsBot",
        rate_limits: bool = True,
        per_channel: tuple[int, float] = (5, 5.0),
        global_per_second: int = 50,
        route_limits: dict[tuple[str, str], tuple[int, float]] | None = None,
        crossposts_per_hour: int = 10,
        privileged_intents: int = 0,
        bot_permissions: Any = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: Any = DEFAULT_EVERYONE_PERMISSIONS,
        interaction_deadline: float = 3.0,
        interaction_token_ttl: float = 15 * 60,
        nonce_ttl: float = 120.0,
        check_responses: bool = False,
        clock: FakeClock | None = None,
        shards: int | None = None,
        max_concurrency: int = 1,
        session_starts: tuple[int, int, float] = (1000, 1000, 86_400.0),
        identify_interval: float = 5.0,
        guilds_per_shard: int = 2500,
    ) -> None:
        self.ids = Snowflakes()
        self.token = token
        self.bot_user = FakeUser(self.ids.next(), bot_name, bot=True)
        self.application_id = self.bot_user.id  # as for every modern Discord application
        self.app_owner = FakeUser(self.ids.next(), "app-owner")
        self.verify_key = secrets.token_hex(32)
        self.privileged_intents = privileged_intents
        self.default_bot_permissions = as_int(bot_permissions)
        self.default_everyone_permissions = as_int(everyone_permissions)
        self.interaction_deadline = interaction_deadline
        self.interaction_token_ttl = interaction_token_ttl
        self.nonce_ttl = nonce_ttl
        self.check_responses = check_responses
        # Interaction deadlines and token lifetimes and nonce windows run on this clock;
        # a test moves it with `fake.clock.advance(seconds)`.
        self.clock = clock or FakeClock()
        # Sharding, as GET /gateway/bot tells it: the recommended shard count (None: one
        # per 1,000 guilds, as Discord recommends), identify buckets, and the session
        # start limit (total, remaining now, seconds until it resets to total).
        self.recommended_shards = shards
        self.max_concurrency = max_concurrency
        self.session_starts = session_starts
        self.identify_interval = identify_interval
        self.guilds_per_shard = guilds_per_shard

        self.rate_limits = rate_limits
        self._limiter = RateLimiter(global_per_second=global_per_second)
        self.route_limits: dict[tuple[str, str], tuple[int, float]] = {
            ("POST", "/channels/{channel_id}/messages"): per_channel,
            ("PATCH", "/channels/{channel_id}/messages/{message_id}"): per_channel,
            ("DELETE", "/channels/{channel_id}/messages/{message_id}"): per_channel,
            ("POST", "/channels/{channel_id}/threads"): per_channel,
            ("POST", "/channels/{channel_id}/messages/{message_id}/crosspost"): (
                crossposts_per_hour,
                3600.0,
            ),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}"): (5, 2.0),
        }
        self.route_limits.update(route_limits or {})
        self.default_route_limit = (50, 1.0)

        self.guilds: dict[int, FakeGuild] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.command_syncs: list[int | None] = []  # scope of every PUT: None=global, else guild id
        # A server's own rules for who may use a command (Server Settings >
        # Integrations): (guild id, command name) -> {role or user id: allowed}.
        self.command_permissions: dict[tuple[int, str], dict[int, bool]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.stats = Stats()
        self.gateway = Gateway(self)

        self._failures: list[_Failure] = []
        self._message_channels: dict[int, FakeChannel] = {}
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._published_edits: dict[int, list[float]] = {}
        self.webhooks: dict[int, FakeWebhook] = {}  # channel webhooks by id
        self.avatars: dict[str, str] = {}  # avatar hash -> the avatar_url it was given as
        self._waiters: list[asyncio.Future[None]] = []
        self._watchers: list[Callable[[], None]] = []  # raise to abort wait_for (a dead bot)
        # True while a client still works on what it was sent (see BotRunner.handling).
        self._busy: list[Callable[[], bool]] = []
        self._in_flight = 0  # requests received and not yet answered
        self._stalled_until = 0.0  # see stall()
        self._changes = 0  # bumped by every request and event: "did anything happen?"
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        for route in ROUTES:
            app.router.add_route(route.method, API_PREFIX + route.template, self._endpoint(route))
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._unimplemented)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self.gateway.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """For `discord.http.Route.BASE`."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """For `DiscordWebSocket.DEFAULT_GATEWAY` (wrap it in `yarl.URL`)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- building the world -----------------------------------------------------------

    def add_guild(
        self, name: str, *, owner_id: int | None = None, system_channel: bool = True
    ) -> FakeGuild:
        """A guild the bot has joined (GUILD_CREATE is sent if the bot is connected)."""
        owner = FakeUser(owner_id or self.ids.next(), f"{name}-owner")
        guild = FakeGuild(
            self,
            name,
            owner=owner,
            bot_permissions=self.default_bot_permissions,
            everyone_permissions=self.default_everyone_permissions,
        )
        if system_channel:
            guild.system_channel_id = guild.add_channel("general").id
        self.guilds[guild.id] = guild
        self.gateway.dispatch(
            "GUILD_CREATE", guild.payload(all_members=False), intent=None, guild_id=guild.id
        )
        return guild

    def remove_guild(self, guild: FakeGuild) -> None:
        """The bot is kicked from `guild`: GUILD_DELETE without `unavailable`."""
        self.guilds.pop(guild.id, None)
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, intent=None, guild_id=guild.id)

    def bot_permissions(self, guild: FakeGuild, channel: FakeChannel) -> int:
        return guild.bot_member.permissions_in(channel)

    def _dispatch(self, event: str, data: dict[str, Any], *, intent: int | None) -> None:
        """Used by the model objects when a test changes the world."""
        guild_id = int(data.get("guild_id") or data["id"])
        if guild_id in self.guilds:
            self.gateway.dispatch(event, data, intent=intent, guild_id=guild_id)

    # -- reading what happened ----------------------------------------------------------

    def messages(self, channel: FakeChannel | int) -> list[dict[str, Any]]:
        """Messages visible in `channel` (not ephemeral), oldest first, edits applied."""
        found = self._channel_or_none(channel if isinstance(channel, int) else channel.id)
        if found is None:
            return []
        return [
            json.loads(json.dumps(m)) for m in found.messages.values() if not m["flags"] & EPHEMERAL
        ]

    def webhooks_in(self, channel: FakeChannel) -> list[FakeWebhook]:
        """The channel's webhooks (Server Settings > Integrations > Webhooks)."""
        return [w for w in self.webhooks.values() if w.channel is channel]

    def delete_webhook(self, webhook: FakeWebhook) -> None:
        """A moderator deletes a webhook: its token stops working (404 Unknown
        Webhook), its messages stay."""
        self.webhooks.pop(webhook.id, None)

    def avatar_url(self, message: dict[str, Any]) -> str | None:
        """The avatar URL a webhook message was posted with (None: the default)."""
        avatar = message["author"].get("avatar")
        return self.avatars.get(avatar) if avatar else None

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded requests whose path matches a glob, e.g. ("POST", "/channels/*/messages")."""
        return [r for r in self.requests if _matches(pattern, r.method, r.path, method)]

    def take_violations(self, kind: str | None = None) -> list[Violation]:
        """Remove and return the recorded violations (of one kind): for tests that expect them."""
        taken = [v for v in self.violations if kind is None or v.kind == kind]
        self.violations = [v for v in self.violations if v not in taken]
        return taken

    async def wait_for(
        self,
        predicate: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "the condition",
    ) -> T:
        """Wait until `predicate()` (may be async) is truthy, re-checked on every request
        and event; a dead bot (see `run_bot`) fails the wait at once."""

        def check() -> T | Awaitable[T | None] | None:
            for watcher in list(self._watchers):
                watcher()
            return predicate()

        # Woken by any request or event; the short poll also catches changes on the
        # bot's side (its cache, its logs) that the fake cannot see happen.
        return await wait_until(
            check, what, timeout=timeout, interval=0.02, wake=self._changed, describe=self._recent
        )

    @property
    def settled(self) -> bool:
        """Nothing under way: no request being answered, every gateway event written to
        its socket, and no connected bot still handling one (a command, a click)."""
        return (
            self._in_flight == 0
            and all(c.flushed for c in self.gateway.connections)
            and not any(busy() for busy in self._busy)
        )

    async def wait_until_settled(
        self,
        also: Callable[[], Awaitable[bool]] | Callable[[], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the fake is `settled` and `also()` (the bot's own work: say, an
        empty outbox) holds, and both stay so while the event loop goes round a few
        times with no request or event: then whatever was going to happen has.

        The way to assert that something did *not* happen, instead of sleeping."""

        async def quiet() -> bool:
            for _ in range(_QUIET_TURNS):
                before = self._changes
                if not self.settled:
                    return False
                if also is not None:
                    done = also()
                    if inspect.isawaitable(done):
                        done = await done
                    if not done:
                        return False
                await asyncio.sleep(0)
                if self._changes != before:
                    return False
            return True

        await self.wait_for(quiet, timeout, "the bot and the fake to settle")

    async def _changed(self, at_most: float) -> None:
        """Return on the next request or event, or after `at_most` seconds."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, at_most)
        except TimeoutError:
            # `_notify` may have swapped the list out while wait_for was cancelling
            # the timed-out waiter (it yields once to do so): then it is gone already.
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _recent(self) -> str:
        recent = "\n  ".join(str(r) for r in self.requests[-10:]) or "(none)"
        return f"{self._in_flight} request(s) in flight; last requests:\n  {recent}" + "".join(
            f"\n  violation: {v}" for v in self.violations
        )

    async def wait_for_requests(
        self,
        method: str,
        pattern: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until `count` answered requests match; returns them."""

        def answered() -> list[RecordedRequest]:
            hits = [r for r in self.requests_to(method, pattern) if r.status]
            return hits if len(hits) >= count else []

        return await self.wait_for(answered, timeout)

    def _notify(self) -> None:
        self._changes += 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- test controls ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        *,
        count: int = 1,
        retry_after: float = 0.1,
        global_: bool = False,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` and Discord's body for it.

        `path_pattern` is a glob over the path after /api/v10 ("/channels/*/messages");
        `method` may be "*". 403 -> 50013 Missing Permissions, 404 -> 10003 Unknown
        Channel (override with code/message), 429 -> a rate limit with `retry_after`,
        500 JSON, 502/504 Cloudflare HTML, 503 plain text, like the real thing."""
        self._failures.append(
            _Failure(
                method.upper(), path_pattern, status, count, retry_after, global_, code, message
            )
        )

    @property
    def busiest_second(self) -> int:
        """The most requests the global limit has counted in one second (of 50)."""
        return self._limiter.busiest_second

    def stall(self, seconds: float) -> None:
        """For the next ``seconds``, take requests in but look at none of them, then
        serve them all at once, as a server process descheduled (or collecting garbage)
        for that long would: the limits count them when served, all together."""
        self._stalled_until = max(self._stalled_until, time.monotonic() + seconds)

    def disconnect_gateway(self, code: int = 4000, *, shard: int | None = None) -> None:
        """Close every gateway connection (or only those of shard ``shard``) with
        `code` (4000: the client will RESUME)."""
        self.gateway.close_all(code, shard)

    def hold_gateway(self) -> None:
        """Keep new gateway connections waiting for their HELLO until
        `release_gateway()`: a shard disconnected meanwhile stays down."""
        self.gateway.accepting.clear()

    def release_gateway(self) -> None:
        """Let held and new gateway connections through again."""
        self.gateway.accepting.set()

    def shard_of(self, guild: FakeGuild, shard_count: int) -> int:
        """The shard that receives `guild`'s events: ``(guild_id >> 22) % shard_count``."""
        return (guild.id >> 22) % shard_count

    def gateway_outage(self, down: bool = True) -> None:
        """Start (close every connection, refuse new ones with 503) or end an outage of
        the gateway; clients reconnect with their own backoff once it ends."""
        self.gateway.refusing = down
        if down:
            self.gateway.close_all(4000)

    def send_raw_frame(self, text: str) -> None:
        """Write ``text`` as one text frame to every gateway connection, unchecked and
        with no sequence number of its own: a malformed frame (not JSON, an event
        missing a key) that a client must survive."""
        self.gateway.send_raw(text)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client reconnects and resumes."""
        self.gateway.send_op(7)

    # -- interactions ----------------------------------------------------------------

    def set_command_permissions(
        self, guild: FakeGuild, command: str, allowed: dict[FakeRole | FakeMember, bool]
    ) -> None:
        """A server admin changes who may use ``/command`` in Server Settings >
        Integrations: roles (``guild.everyone`` too) and members allowed or denied,
        overriding its ``default_member_permissions`` there (see ``may_use``). Discord
        tells the bot nothing the bot needs."""
        self.command_permissions[(guild.id, command)] = {
            target.id: allow for target, allow in allowed.items()
        }

    async def invoke(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        member: FakeMember,
        command: str,
        *,
        subcommand: str | None = None,
        group: str | None = None,
        options: dict[str, Any] | None = None,
        forged: bool = False,
    ) -> FakeInteraction:
        """A member runs a slash command: "news latest" or ("news", subcommand="latest").

        ``forged=True`` sends the option values as given, unchecked (``count=0``, a
        string for an integer): what a hostile client can send, which Discord's own
        client never would.
        """
        path = command.split() + [p for p in (group, subcommand) if p]
        self._check_can_use_commands(guild, member, channel)
        data = build_command_data(self, member, channel, path, dict(options or {}), forged=forged)
        return await self._dispatch_interaction(APPLICATION_COMMAND, guild, channel, member, data)

    async def autocomplete(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        member: FakeMember,
        command: str,
        *,
        focused: str,
        value: str = "",
        subcommand: str | None = None,
        group: str | None = None,
        options: dict[str, Any] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """A member types `value` into option `focused`; returns the bot's choices."""
        path = command.split() + [p for p in (group, subcommand) if p]
        self._check_can_use_commands(guild, member, channel)
        opts = dict(options or {}) | {focused: value}
        data = build_command_data(self, member, channel, path, opts, focused=focused)
        interaction = await self._dispatch_interaction(AUTOCOMPLETE, guild, channel, member, data)
        body = await interaction.response(timeout)
        choices: list[dict[str, Any]] = (body.get("data") or {}).get("choices") or []
        return choices

    async def click(
        self,
        message: dict[str, Any] | int,
        custom_id: str,
        member: FakeMember,
        *,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A member clicks a button (or picks `values` in a select) on one of the bot's messages."""
        message_id = int(message["id"] if isinstance(message, dict) else message)
        channel = self._message_channels.get(message_id)
        current = self._find_message(message_id)
        if channel is None or current is None:
            raise InvalidInvocation(f"message {message_id} does not exist")
        component = find_component(current, custom_id)
        if component is None:
            raise InvalidInvocation(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise InvalidInvocation(f"component {custom_id!r} is disabled")
        if current["flags"] & EPHEMERAL:
            owner = (current.get("interaction_metadata") or {}).get("user", {}).get("id")
            if owner != str(member.id):
                raise InvalidInvocation("only the invoking user can see an ephemeral message")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        return await self._dispatch_interaction(
            MESSAGE_COMPONENT, member.guild, channel, member, data, message=current
        )

    async def submit_modal(
        self, interaction: FakeInteraction, values: dict[str, str] | None = None
    ) -> FakeInteraction:
        """The user who got a modal from ``interaction`` submits it, having typed
        ``values`` (by text input custom id; the others keep their prefilled text)."""
        body = await interaction.response()
        if body["type"] != 9:
            raise InvalidInvocation("the bot answered with no modal")
        data = modal_submit_data(body["data"], dict(values or {}))
        member = interaction.member
        return await self._dispatch_interaction(
            MODAL_SUBMIT,
            member.guild,
            interaction.channel,
            member,
            data,
            message=interaction.message,
            trigger=interaction,
        )

    def _check_can_use_commands(
        self, guild: FakeGuild, member: FakeMember, channel: FakeChannel
    ) -> None:
        if member.guild is not guild or channel.guild is not guild:
            raise InvalidInvocation("member and channel must belong to the guild")
        perms = member.permissions_in(channel)
        if not perms & Permission.USE_APPLICATION_COMMANDS:
            raise InvalidInvocation(
                f"{member.user.username} cannot use commands in #{channel.name}"
            )

    async def _dispatch_interaction(
        self,
        kind: int,
        guild: FakeGuild,
        channel: FakeChannel,
        member: FakeMember,
        data: dict[str, Any],
        *,
        message: dict[str, Any] | None = None,
        trigger: FakeInteraction | None = None,
    ) -> FakeInteraction:
        # Discord sends an interaction on the connection of the shard owning the guild.
        await self.wait_for(lambda: self.gateway.ready_for(guild.id), timeout=5.0)
        interaction = FakeInteraction(
            self, kind, guild.id, channel, member, data, message, trigger=trigger
        )
        interaction.id = self.ids.next()
        perms_in_channel = str(member.permissions_in(channel))
        payload: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": interaction.token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload() | {"permissions": perms_in_channel},
            "member": member.payload() | {"permissions": perms_in_channel},
            "app_permissions": str(guild.bot_member.permissions_in(channel)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        self.interactions[interaction.id] = interaction
        interaction.created_at = self.clock()
        self.gateway.dispatch("INTERACTION_CREATE", payload, intent=None, guild_id=guild.id)
        return interaction

    # -- the HTTP pipeline -------------------------------------------------------------

    def _endpoint(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        handler: Handler = route.handler

        async def endpoint(request: web.Request) -> web.StreamResponse:
            self._in_flight += 1
            self._notify()
            try:
                stalled = self._stalled_until - time.monotonic()
                if stalled > 0:
                    self.stats.stalled += 1
                    await asyncio.sleep(stalled)
                return await self._serve(route, handler, request)
            finally:
                self._in_flight -= 1
                self._notify()

        return endpoint

    async def _serve(
        self, route: Route, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        path = request.path.removeprefix(API_PREFIX)
        body, parse_error = await self._read_body(request)
        record = RecordedRequest(
            request.method,
            path,
            route.template,
            dict(request.query),
            body,
            {
                k: v
                for k, v in request.headers.items()
                if k.lower()
                in ("authorization", "user-agent", "content-type", "x-audit-log-reason")
            },
            time.monotonic(),
        )
        self.requests.append(record)
        self.stats.requests += 1
        headers: dict[str, str] = {}
        try:
            if route.bot_auth:
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    raise ApiError(401, 0, "401: Unauthorized")
                user_agent = request.headers.get("User-Agent", "")
                if not user_agent.startswith("DiscordBot"):
                    self._violate(
                        "user_agent",
                        record,
                        f"User-Agent {user_agent!r} is not 'DiscordBot (url, version)'",
                    )
            injected = self._take_failure(request.method, path)
            if injected is not None:
                return self._finish(record, *self._injected_answer(injected, route))
            if self.rate_limits:
                decision = self._limiter.check_global() if route.bot_auth else None
                if decision is None:
                    decision = self._route_decision(route, request)
                headers = decision.headers
                if not decision.allowed:
                    return self._finish(record, 429, self._too_many(decision), headers)
            if parse_error:
                raise ApiError(400, 50109, "The request body contains invalid JSON.")
            self._validate(route, record, body)
            status, answer = await handler(
                self, Call(request, dict(request.match_info), body, record)
            )
        except ApiError as error:
            return self._finish(record, error.status, error.body, headers)
        except RateLimitedError as limited:
            decision = Decision(False, headers | {"X-RateLimit-Scope": "user"}, limited.retry_after)
            return self._finish(record, 429, self._too_many(decision), decision.headers)
        if self.check_responses and 200 <= status < 300:
            self._check_response(route, record, status, answer)
        return self._finish(record, status, answer, headers)

    async def _read_body(self, request: web.Request) -> tuple[Any, bool]:
        if not request.can_read_body:
            return None, False
        if request.content_type == "multipart/form-data":
            payload: Any = None
            files = []
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "name", None) == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append({"filename": getattr(part, "filename", None), "size": len(data)})
            if isinstance(payload, dict) and files:
                payload.setdefault("_files", files)
            return payload, False
        raw = await request.read()
        if not raw:
            return None, False
        try:
            return json.loads(raw), False
        except ValueError:
            return raw.decode(errors="replace"), True

    def _finish(
        self, record: RecordedRequest, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> web.Response:
        record.status = status
        record.response = body
        self.stats.by_status[status] += 1
        if status == 429:
            self.stats.rate_limited += 1
        scope = (headers or {}).get("X-RateLimit-Scope")
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self.stats.invalid_requests += 1
        self._notify()
        all_headers = dict(headers or {})
        if status == 204 or body is None:
            return web.Response(status=204 if status < 300 else status, headers=all_headers)
        if isinstance(body, tuple):  # (content type, text) for non-JSON error pages
            all_headers["Content-Type"] = body[0]
            return web.Response(status=status, body=body[1].encode(), headers=all_headers)
        all_headers["Content-Type"] = JSON
        return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)

    def _violate(self, kind: str, record: RecordedRequest, detail: str) -> None:
        self.violations.append(Violation(kind, record.method, record.path, detail, record.json))

    def _too_many(self, decision: Decision) -> dict[str, Any]:
        decision.headers["Via"] = "1.1 google"
        return {
            "message": "You are being rate limited.",
            "retry_after": decision.retry_after,
            "global": decision.is_global,
        }

    def _route_decision(self, route: Route, request: web.Request) -> Decision:
        params = request.match_info
        major = next(
            (
                params[k]
                for k in ("channel_id", "guild_id", "webhook_id", "interaction_id")
                if k in params
            ),
            "",
        )
        if "webhook_token" in params:
            major += "+" + params["webhook_token"]
        limit, period = self.route_limits.get(
            (route.method, route.template), self.default_route_limit
        )
        return self._limiter.hit(
            bucket_hash(f"{route.method} {route.template}"), major, limit, period
        )

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if _matches(failure.pattern, method, path, failure.method):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _injected_answer(self, failure: _Failure, route: Route) -> tuple[int, Any, dict[str, str]]:
        status = failure.status
        if status == 429:
            scope = "global" if failure.is_global else "user"
            headers = {
                "Retry-After": str(max(1, round(failure.retry_after))),
                "X-RateLimit-Scope": scope,
            }
            if failure.is_global:
                headers["X-RateLimit-Global"] = "true"
            decision = Decision(False, headers, failure.retry_after, failure.is_global)
            return 429, self._too_many(decision), decision.headers
        defaults = {
            400: (50035, "Invalid Form Body"),
            401: (0, "401: Unauthorized"),
            403: (50013, "Missing Permissions"),
            404: (10003, "Unknown Channel"),
            500: (0, "500: Internal Server Error"),
        }
        if status in (502, 504):
            name = "Bad Gateway" if status == 502 else "Gateway Time-out"
            page = (
                f"<html><head><title>{status} {name}</title></head><body><center>"
                f"<h1>{status} {name}</h1></center><hr><center>cloudflare</center></body></html>"
            )
            return status, ("text/html", page), {}
        if status == 503:
            text = (
                "upstream connect error or disconnect/reset before headers. reset reason: overflow"
            )
            return status, ("text/plain", text), {}
        code, message = defaults.get(status, (0, f"{status}: Error"))
        return status, {"code": failure.code or code, "message": failure.message or message}, {}

    def _validate(self, route: Route, record: RecordedRequest, body: Any) -> None:
        validator = validation.request_validator(route.method, route.template)
        if validator is None:
            return
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "_files"}
        errors = validation.schema_errors(validator, body)
        errors += self._limit_errors(route, body)
        if errors:
            tree = validation.error_tree(errors)
            self._violate("invalid_body", record, json.dumps(tree))
            raise ApiError(400, 50035, "Invalid Form Body", errors=tree)

    def _limit_errors(self, route: Route, body: Any) -> list[validation.FieldError]:
        template = route.template
        if template.endswith("/commands"):
            return validation.command_limit_errors(body)
        if template.endswith("/callback") and isinstance(body, dict):
            if body.get("type") == 8:
                return validation.autocomplete_limit_errors(body)
            return validation.message_limit_errors(body.get("data"), ("data",))
        if template.endswith("/threads") and isinstance(body, dict):
            return validation.message_limit_errors(body.get("message"), ("message",))
        if "/messages" in template or template.startswith("/webhooks/"):
            return validation.message_limit_errors(body)
        return []

    def _check_response(
        self, route: Route, record: RecordedRequest, status: int, answer: Any
    ) -> None:
        validator = validation.response_validator(route.method, route.template, status)
        if validator is None or answer is None:
            return
        errors = validation.schema_errors(validator, answer)
        if errors:
            self._violate("fake_response", record, f"the fake answered off-spec: {errors[:5]}")

    async def _unimplemented(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(API_PREFIX)
        record = RecordedRequest(
            request.method, path, "", dict(request.query), None, {}, time.monotonic()
        )
        self.requests.append(record)
        self.stats.requests += 1
        documented = validation.is_documented(request.method, path)
        known = "documented by Discord" if documented else "unknown to Discord"
        self._violate("unimplemented", record, f"the fake does not implement this route ({known})")
        return self._finish(record, 404, {"message": "404: Not Found", "code": 0})

    # -- shared helpers for handlers ------------------------------------------------------

    def _channel_or_none(self, channel_id: int) -> FakeChannel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def _channel(self, channel_id: str) -> FakeChannel:
        channel = self._channel_or_none(int(channel_id)) if channel_id.isdigit() else None
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _require(self, channel: FakeChannel, *needed: int) -> int:
        perms = channel.guild.bot_member.permissions_in(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if any(not perms & p for p in needed):
            raise ApiError(403, 50013, "Missing Permissions")
        return perms

    def _find_message(self, message_id: int) -> dict[str, Any] | None:
        channel = self._message_channels.get(message_id)
        return channel.messages.get(message_id) if channel else None

    def _message_in(self, channel: FakeChannel, message_id: str) -> dict[str, Any]:
        message = channel.messages.get(int(message_id)) if message_id.isdigit() else None
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _store(self, channel: FakeChannel, message: dict[str, Any]) -> None:
        mid = int(message["id"])
        channel.messages[mid] = message
        channel.last_message_id = mid
        self._message_channels[mid] = channel
        if not message["flags"] & EPHEMERAL:
            self._dispatch_message("MESSAGE_CREATE", channel, message)

    def _dispatch_message(self, event: str, channel: FakeChannel, message: dict[str, Any]) -> None:
        guild = channel.guild
        data = message | {
            "guild_id": str(guild.id),
            "member": guild.bot_member.payload(with_user=False),
        }
        self.gateway.dispatch(event, data, intent=GUILD_MESSAGES_INTENT, guild_id=guild.id)

    def _new_message(
        self, channel: FakeChannel, body: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """A message by the bot (see `messages.build_message` for the keyword arguments)."""
        return messages.build_message(
            self.ids, self.bot_user, self.application_id, channel, body, **kwargs
        )

    def _remove_message(self, channel: FakeChannel, message: dict[str, Any]) -> None:
        mid = int(message["id"])
        channel.messages.pop(mid, None)
        self._message_channels.pop(mid, None)
        if not message["flags"] & EPHEMERAL:
            guild_id = channel.guild.id
            data = {"id": str(mid), "channel_id": str(channel.id), "guild_id": str(guild_id)}
            self.gateway.dispatch(
                "MESSAGE_DELETE", data, intent=GUILD_MESSAGES_INTENT, guild_id=guild_id
            )
