"""The gateway websocket: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME, dispatches.

Frames are text JSON; the `compress=zlib-stream` query parameter discord.py sends is
ignored (discord.py only inflates binary frames, so uncompressed text is fine).
Close codes are Discord's (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FakeDiscord

HEARTBEAT_INTERVAL_MS = 41250
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
GUILDS_INTENT = 1 << 0
MEMBERS_INTENT = 1 << 1
# Discord allows 120 gateway commands per connection per 60 s before closing with 4008.
COMMANDS_PER_MINUTE = 120
_EVENT_LOG_SIZE = 1000


@dataclass(eq=False)
class Session:
    id: str
    intents: int
    shard: tuple[int, int]
    seq: int = 0
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_EVENT_LOG_SIZE))
    connection: Connection | None = None
    presence: dict[str, Any] | None = None

    def sees_guild(self, guild_id: int) -> bool:
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id


class Connection:
    """One websocket. Frames go through a queue so synchronous code can dispatch in order."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: Session | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._received: deque[float] = deque()
        self.closed_by_server = False
        self._writing = False
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    @property
    def flushed(self) -> bool:
        """Every frame queued so far has been written to the socket (or never will be)."""
        return self.writer.done() or (self._queue.empty() and not self._writing)

    def send(self, frame: dict[str, Any]) -> None:
        self._queue.put_nowait(("frame", json.dumps(frame)))

    def send_text(self, text: str) -> None:
        """Queue a text frame exactly as given (it need not be JSON)."""
        self._queue.put_nowait(("frame", text))

    def close(self, code: int, reason: str = "") -> None:
        """Close after the frames already queued have been sent."""
        self.closed_by_server = True
        self._queue.put_nowait(("close", (code, reason)))

    def over_command_limit(self) -> bool:
        now = time.monotonic()
        self._received.append(now)
        while self._received and self._received[0] <= now - 60:
            self._received.popleft()
        return len(self._received) > COMMANDS_PER_MINUTE

    async def _write_loop(self) -> None:
        while True:
            kind, value = await self._queue.get()
            if self.ws.closed:
                return
            self._writing = True
            try:
                if kind == "frame":
                    try:
                        await self.ws.send_str(value)
                    except ConnectionError:
                        return
                else:
                    code, reason = value
                    await self.ws.close(code=code, message=reason.encode())
                    return
            finally:
                self._writing = False


class Gateway:
    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        # While set, new connections are refused (503), as during an outage of Discord's.
        self.refusing = False
        # Cleared by `FakeDiscord.hold_gateway`: new connections wait for their HELLO.
        self.accepting = asyncio.Event()
        self.accepting.set()
        self._identified_at: dict[int, float] = {}  # identify bucket -> last IDENTIFY
        _, remaining, _ = server.session_starts
        self._starts_left = remaining
        # The configured reset_after counts from the first time a client reads the limit
        # (a bot slow to start, say on PostgreSQL, still sees the limit it is meant to).
        self._starts_reset_at: float | None = None

    # -- sharding --------------------------------------------------------------------

    def recommended_shards(self) -> int:
        """GET /gateway/bot's ``shards``: as configured, else one per 1,000 guilds."""
        configured = self.server.recommended_shards
        return configured or max(1, math.ceil(len(self.server.guilds) / 1000))

    def session_start_limit(self) -> dict[str, int]:
        """GET /gateway/bot's ``session_start_limit``, on real time."""
        total, _, reset_after = self.server.session_starts
        now = time.monotonic()
        if self._starts_reset_at is None:
            self._starts_reset_at = now + reset_after
        if now >= self._starts_reset_at:
            self._starts_left = total
            self._starts_reset_at = now + 86_400.0
        return {
            "total": total,
            "remaining": self._starts_left,
            "reset_after": math.ceil((self._starts_reset_at - now) * 1000),
            "max_concurrency": self.server.max_concurrency,
        }

    def _identify_too_soon(self, shard_id: int) -> bool:
        """Whether this IDENTIFY's bucket (``shard_id % max_concurrency``) already had
        one within the identify interval; if not, this one takes the bucket's turn."""
        bucket = shard_id % max(1, self.server.max_concurrency)
        now = time.monotonic()
        last = self._identified_at.get(bucket)
        if last is not None and now - last < self.server.identify_interval:
            return True
        self._identified_at[bucket] = now
        return False

    # -- dispatching -----------------------------------------------------------------

    def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None, guild_id: int | None
    ) -> None:
        for session in list(self.sessions.values()):
            if intent is not None and not session.intents & intent:
                continue
            if guild_id is not None and not session.sees_guild(guild_id):
                continue
            self._send_event(session, event, data)

    def _send_event(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(frame)
        if session.connection is not None:
            session.connection.send(frame)
        self.server._notify()

    @property
    def ready(self) -> bool:
        return any(s.connection is not None for s in self.sessions.values())

    def ready_for(self, guild_id: int) -> bool:
        """Whether a connected session receives ``guild_id``'s events."""
        return any(
            s.connection is not None and s.sees_guild(guild_id) for s in self.sessions.values()
        )

    # -- the websocket ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        self.server.stats.gateway_connects += 1
        if request.query.get("encoding", "json") != "json":
            conn.close(4002, "Only encoding=json is supported by the fake")
        await self.accepting.wait()
        conn.send(
            {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    conn.close(4002, "Decode error")
                    break
                self._on_frame(conn, msg.data)
        finally:
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                # A client closing with 1000/1001 ends its session: it cannot be resumed.
                if not conn.closed_by_server and ws.close_code in (1000, 1001):
                    self.sessions.pop(session.id, None)
            conn.writer.cancel()  # the peer is gone: nothing queued can be delivered
            self.server._notify()
        return ws

    def _on_frame(self, conn: Connection, raw: str) -> None:
        if conn.over_command_limit():
            conn.close(4008, "Rate limited.")
            return
        try:
            frame = json.loads(raw)
            op, data = frame["op"], frame.get("d")
        except (ValueError, KeyError, TypeError):
            conn.close(4002, "Decode error")
            return
        if op == 1:
            conn.send({"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:
            self._identify(conn, data)
        elif op == 6:
            self._resume(conn, data)
        elif conn.session is None:
            conn.close(4003, "Not authenticated.")
        elif op == 3:
            conn.session.presence = data
        elif op == 8:
            self._request_members(conn.session, data)
        elif op == 4:
            pass  # voice state update: a news bot never joins voice
        else:
            conn.close(4001, "Unknown opcode.")

    def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        server = self.server
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if not isinstance(data, dict) or data.get("token") != server.token:
            conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~server.privileged_intents:
            conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard") or [0, 1]
        if not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            conn.close(4010, "Invalid shard.")
            return
        if self._identify_too_soon(shard[0]):
            # Discord's answer to an identify bucket going faster than once per 5 s.
            server.stats.invalid_sessions += 1
            conn.send({"op": 9, "s": None, "t": None, "d": False})
            return
        self.session_start_limit()  # a limit whose time is up resets first
        if self._starts_left <= 0:
            # Discord resets the token of a bot that starts sessions beyond its limit.
            from .server import Violation  # the server module imports this one

            server.violations.append(
                Violation(
                    "session_start_limit", "GATEWAY", "IDENTIFY", "no session starts remained"
                )
            )
            conn.close(4004, "Authentication failed.")
            return
        self._starts_left -= 1
        session = Session(secrets.token_hex(16), intents, (shard[0], shard[1]))
        guilds = [g for g in server.guilds.values() if session.sees_guild(g.id)]
        if len(guilds) > server.guilds_per_shard:
            conn.close(4011, "Sharding required.")
            return
        server.stats.identifies += 1
        server.stats.identified_shards.append(shard[0])
        session.presence = data.get("presence")
        self.sessions[session.id] = session
        conn.session = session
        session.connection = conn
        ready = {
            "v": 10,
            "user": server.bot_user.payload()
            | {"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": server.gateway_url,
            "application": {"id": str(server.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        if data.get("shard"):
            ready["shard"] = list(shard)
        self._send_event(session, "READY", ready)
        for guild in guilds:
            payload = guild.payload(all_members=bool(intents & MEMBERS_INTENT))
            self._send_event(session, "GUILD_CREATE", payload)

    def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        server = self.server
        session = self.sessions.get(str((data or {}).get("session_id")))
        if session is None or data.get("token") != server.token:
            conn.send({"op": 9, "s": None, "t": None, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            session.connection.close(4000, "Session resumed elsewhere")
        conn.session = session
        session.connection = conn
        server.stats.resumes += 1
        last_seen = data.get("seq") or 0
        for frame in list(session.events):
            if frame["s"] > last_seen:
                conn.send(frame)
        self._send_event(session, "RESUMED", {})

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.server.guilds.get(int((data or {}).get("guild_id", 0)))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._send_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- test controls ---------------------------------------------------------------

    def close_all(self, code: int, shard: int | None = None) -> None:
        for conn in list(self.connections):
            if shard is None or (conn.session is not None and conn.session.shard[0] == shard):
                conn.close(code, "closed by the fake")

    def send_raw(self, text: str) -> None:
        for conn in list(self.connections):
            conn.send_text(text)
        self.server._notify()

    def send_op(self, op: int, data: Any = None) -> None:
        for conn in list(self.connections):
            conn.send({"op": op, "s": None, "t": None, "d": data})

    async def shutdown(self) -> None:
        for conn in list(self.connections):
            conn.close(1001, "server shutting down")
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001), timeout=1)
        self.sessions.clear()
