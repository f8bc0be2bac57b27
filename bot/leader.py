"""Leadership: which process runs the sources and sends the posts.

Many bot processes may share one PostgreSQL database, each serving the gateway for
its own shards. Exactly one of them at a time — the *leader* — runs the sources, the
publish-time re-check, the announcer and the deliverer's dispatcher, so that the
global rate limit is honoured by a single sender. The others (*followers*) keep their
gateways and answer commands from the shared database.

The leader is the holder of a session-level advisory lock (``pg_try_advisory_lock``)
on a connection of its own, opened outside the store's pool so that nothing recycles
it. Every process keeps such a connection: it ``LISTEN``\\ s on :data:`CHANNEL` and,
while following, tries the lock every :data:`RETRY_SECONDS`. The leader checks its
connection every :data:`RETRY_SECONDS` (a query that must answer within
:data:`PING_TIMEOUT`); when it fails, the leader stops leading at once and connects
again with backoff (one log line per change of state).

How the lock comes free:

* ``kill -9`` or a crash: the kernel closes the socket, the server ends the session
  and the lock with it; a follower takes it at its next try (within
  :data:`RETRY_SECONDS`).
* a network cut or a machine lost: the server sees the connection dead by TCP
  keepalives (:data:`SESSION_SETTINGS`: idle 5 s, then 3 probes 2 s apart, and at most
  10 s of unanswered data), about 11 s after the last ping. The cut-off leader has
  stopped leading before that (its ping fails within ``RETRY_SECONDS + PING_TIMEOUT``
  = 6 s), so two senders never overlap; a follower leads within 15 s.
* a graceful stop: the leader stops its work, unlocks and sends ``NOTIFY newsbot,
  'leader'``, which wakes every follower to try at once.

Work that another process hands to the leader goes through the database, and a
``NOTIFY`` on :data:`CHANNEL` says it is there (the leader also looks every few
seconds, in case it took over after the ``NOTIFY``):

* a backfill, a resume, a guild leave: rows in the outbox, then ``'wake'``
  (:meth:`Leadership.wake`), which wakes the leader's deliverer;
* a ``/newsadmin test``: a row in ``test_requests`` and ``'wake'``; the leader's
  deliverer claims it, posts it and answers ``'tested:<id>'``, which the waiting
  process hears (:meth:`Leadership.hearing`);
* a webhook asking the sources to look now (``'fetch'``, ``'refresh'``): a row in
  ``meta`` (:meth:`Store.ask_look <bot.store.sources.SourceQueries.ask_look>`), then
  the ``NOTIFY`` (:meth:`Leadership.ask_leader`), which the leader's listener hands to
  ``on_work``. The leader takes the rows as it hears it, and as it starts leading: a
  look asked while no process led, or of a leader stepping down, is done by the next
  one. So is a look the leader took and its sources had not finished when it stopped
  leading (a feed's poll): it asks it again, as a follower would.

Every process's listener also keeps its caches in step with the others' writes: a
transaction that changes articles sends ``'articles'``
(:data:`~bot.store.postgres.ARTICLES_CHANGED`, delivered on commit), and the listener
calls ``on_changed`` when it hears it, and each time it (re)connects, since a
``NOTIFY`` sent while it was away is lost.

The leader posts in every server, but its gateway cache holds only its own shards'
servers. Every process publishes, for the servers it serves, what the leader needs
to know of their subscribed channels and where their notices go
(:mod:`bot.delivery.facts`, read back by :mod:`bot.delivery.channels`).

On SQLite there is one process, and it always leads (and publishes nothing: its
cache has every server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg

from bot.shards import IdentifyGate
from bot.store.postgres import ARTICLES_CHANGED, CHANNEL

log = logging.getLogger(__name__)

#: The first key of every advisory lock the bot takes ("news"); the second says which.
LOCK_SPACE = 0x6E657773
LEADER_KEY = 0
#: The identify bucket ``b`` is locked as ``(LOCK_SPACE, IDENTIFY_KEY + b)``.
IDENTIFY_KEY = 1
#: The messages on :data:`~bot.store.postgres.CHANNEL` besides
#: :data:`~bot.store.postgres.ARTICLES_CHANGED`: work is due, the lock is free, and
#: (followed by a request's id) a test post is done. Any other message is work for
#: the leader (``on_work``).
WAKE = "wake"
HANDOVER = "leader"
TESTED = "tested:"
#: A follower tries the lock, and the leader checks its connection, this often.
RETRY_SECONDS = 3.0
#: How long the leader's check may take before it counts its connection as lost.
PING_TIMEOUT = 3.0
#: Reconnecting after the database went away waits this long, doubling up to the max.
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 5.0
#: Set on the lock connection's server session: how soon the server notices a dead
#: peer (a network cut) and so ends the session and frees the lock.
SESSION_SETTINGS = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
    "application_name": "newsbot leader lock",
}

#: What losing the database looks like to asyncpg.
LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Duty = Callable[[], Awaitable[None]]


class Leadership:
    """Runs ``lead`` when this process becomes the leader and ``follow`` when it stops
    being it; :meth:`wake` tells the leader (wherever it runs) that work is due, and
    ``on_work`` hears, while leading, the other messages processes send it.
    ``on_changed`` is called when any process changed articles, and on every
    (re)connect of the listener (the store's ``invalidate``: its caches are stale).

    ``url`` ``None`` (SQLite): this process leads from the start until :meth:`close`.
    """

    def __init__(
        self,
        url: str | None,
        *,
        lead: Duty,
        follow: Duty,
        on_wake: Callable[[], None],
        on_work: Callable[[str], None] | None = None,
        on_changed: Callable[[], None] | None = None,
        pool: asyncpg.Pool | None = None,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self.url = url
        self._lead = lead
        self._follow = follow
        self._on_wake = on_wake
        self._on_work = on_work
        self._on_changed = on_changed or (lambda: None)
        self._hearing: dict[str, asyncio.Event] = {}
        self._pool = pool
        self.retry = retry
        self.leading = False
        self._try_now = asyncio.Event()
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._notes: set[asyncio.Task[None]] = set()
        self._state = ""
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start following (PostgreSQL) or leading (SQLite) in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def close(self) -> None:
        """Stop leading (its work first), free the lock and tell the followers."""
        self._closing = True
        self._try_now.set()
        if self._task is not None:
            # The election stops between two queries: a query cancelled midway would
            # leave the connection unusable for the handover below.
            try:
                await asyncio.wait_for(asyncio.shield(self._task), PING_TIMEOUT * 3)
            except TimeoutError:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        leading = self.leading
        await self._step_down()
        connection = self._connection
        if leading and connection is not None and not connection.is_closed():
            with contextlib.suppress(*LOST):
                # Free the lock, then wake the followers (the NOTIFY is delivered when
                # the statement ends): one of them leads at once.
                await asyncio.wait_for(
                    connection.execute(
                        "SELECT pg_advisory_unlock_all(), pg_notify($1, $2)", CHANNEL, HANDOVER
                    ),
                    PING_TIMEOUT,
                )
        self._drop_connection()
        if self._notes:
            await asyncio.gather(*self._notes, return_exceptions=True)

    # -- work for the leader -----------------------------------------------------------------

    @property
    def alone(self) -> bool:
        """Whether this process is the only one (SQLite): it always leads, and no other
        process hands it work."""
        return self.url is None

    @property
    def runs_here(self) -> bool:
        """Whether the leader's work is this process's to do: it leads, or it is the
        only one (SQLite)."""
        return self.alone or self.leading

    @property
    def working(self) -> bool:
        """Whether this process leads and is not stepping down: work handed to it now
        is done here (while stepping down, it waits in the database for the next
        leader)."""
        return self.leading and not self._closing

    def wake(self) -> None:
        """Work is due for the sender: wake it here, and on PostgreSQL tell the leader
        (``NOTIFY``; its dispatcher also looks every few seconds anyway)."""
        self._on_wake()
        self.tell(WAKE)

    def tell(self, message: str) -> None:
        """Send ``message`` to every process (on PostgreSQL), in the background; a
        failure is logged (whoever waits for it looks in the database as well)."""
        if self._pool is None or self.url is None:
            return
        task = asyncio.create_task(self._notify(message), name="notify leader")
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _notify(self, message: str) -> None:
        try:
            await self.ask_leader(message)
        except LOST as exc:
            log.warning(
                "could not tell the other processes %r (they look again soon): %s", message, exc
            )

    async def ask_leader(self, message: str) -> bool:
        """Send ``message`` to the leader now (``NOTIFY``); returns whether a process
        leads at this moment to hear it. Raises one of :data:`LOST` when the database
        cannot be reached."""
        assert self._pool is not None and self.url is not None, "one process: nobody to ask"
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND classid = $3 AND objid = $4 AND objsubid = 2) "
                "FROM pg_notify($1, $2)",
                CHANNEL,
                message,
                LOCK_SPACE,
                LEADER_KEY,
            )
        )

    @contextlib.contextmanager
    def hearing(self, message: str) -> Iterator[asyncio.Event]:
        """An event set whenever ``message`` arrives (from any process) while in the
        block."""
        event = self._hearing[message] = asyncio.Event()
        try:
            yield event
        finally:
            if self._hearing.get(message) is event:
                del self._hearing[message]

    def _heard(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        message = str(payload)
        waiting = self._hearing.get(message)
        if waiting is not None:
            waiting.set()
        elif message == ARTICLES_CHANGED:
            self._on_changed()
        elif message == HANDOVER:
            self._try_now.set()
        elif message == WAKE:
            self._on_wake()
        elif self.working and self._on_work is not None and not message.startswith(TESTED):
            self._on_work(message)

    # -- the election ----------------------------------------------------------------------

    async def _run(self) -> None:
        if self.url is None:
            await self._step_up()
            return
        backoff = BACKOFF_SECONDS
        while not self._closing:
            try:
                await self._hold(self.url)
            except LOST as exc:
                await self._step_down()
                self._drop_connection()
                self._say("lost", f"database unreachable ({exc}); retrying with backoff")
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _hold(self, url: str) -> None:
        """Connect, listen, and try the lock until it is ours; then keep checking."""
        connection = await asyncpg.connect(
            url, timeout=PING_TIMEOUT * 2, server_settings=SESSION_SETTINGS
        )
        # Kept open when this returns: close() stops the work first, while the lock is
        # still held, and only then ends the session.
        self._connection = connection
        await connection.add_listener(CHANNEL, self._heard)
        # Listening from here on; what changed before (while away) was not heard.
        self._on_changed()
        # A session the server ended (a restart, an operator, the database going away):
        # check at once, so that the leader stops sending without waiting for its turn.
        connection.add_termination_listener(lambda _: self._try_now.set())
        self._say("following", "connected to the database; following")
        while not self._closing:
            self._try_now.clear()
            if self.leading:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), PING_TIMEOUT)
            else:
                won = await asyncio.wait_for(
                    connection.fetchval(
                        "SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, LEADER_KEY
                    ),
                    PING_TIMEOUT,
                )
                if won:
                    await self._step_up()
            await self._pause(self.retry)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a handover or :meth:`close` wakes us."""
        if not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._try_now.wait(), seconds)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()

    async def _step_up(self) -> None:
        self.leading = True
        self._say("leading", "leading: running the sources and sending the posts")
        await self._lead()

    async def _step_down(self) -> None:
        if self.leading:
            self.leading = False
            await self._follow()
            self._say("stopped", "stopped leading")

    def _say(self, state: str, message: str) -> None:
        """Log ``message`` once per change of state."""
        if state != self._state:
            self._state = state
            (log.warning if state == "lost" else log.info)("%s", message)


class SharedIdentifyGate(IdentifyGate):
    """The identify gate of every process on one PostgreSQL database: a bucket's turn
    is the advisory lock ``(LOCK_SPACE, IDENTIFY_KEY + bucket)``, which the process
    whose shard identifies holds for ``interval`` seconds (on a connection of its own,
    so that a process dying mid-turn frees it). When the database cannot be reached,
    the process's own gate is used, with a warning."""

    def __init__(self, url: str, max_concurrency: int = 1, *, interval: float | None = None):
        super().__init__(max_concurrency, interval=interval)
        self.url = url
        self._turns: set[asyncio.Task[None]] = set()

    async def wait(self, shard_id: int) -> None:
        """Return when ``shard_id``'s bucket is free in every process; it then stays
        taken for ``interval`` seconds."""
        key = IDENTIFY_KEY + self.bucket(shard_id)
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(
                self.url, timeout=PING_TIMEOUT * 2, server_settings=SESSION_SETTINGS
            )
            await connection.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, key)
        except LOST as exc:
            if connection is not None:
                connection.terminate()
            log.warning(
                "cannot take shard %d's IDENTIFY turn in the database (%s); "
                "using this process's own gate",
                shard_id,
                exc,
            )
            await super().wait(shard_id)
            return
        except BaseException:
            if connection is not None:
                connection.terminate()
            raise
        task = asyncio.create_task(self._hold(connection), name=f"identify turn {shard_id}")
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _hold(self, connection: asyncpg.Connection) -> None:
        try:
            await asyncio.sleep(self.interval)
        finally:
            connection.terminate()  # ends the session: the bucket is free again

    async def close(self) -> None:
        """Free every bucket this process holds."""
        for task in list(self._turns):
            task.cancel()
        await asyncio.gather(*self._turns, return_exceptions=True)
