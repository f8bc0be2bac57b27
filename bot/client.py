"""The discord.py client: opens the store, loads the cogs, starts the pipeline."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import signal
import sqlite3
import zlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands
from discord.gateway import DiscordWebSocket, ReconnectWebSocket
from discord.state import AutoShardedConnectionState

from bot.config import Settings
from bot.hooks import LOOKS, Asked
from bot.interactions import APOLOGY, UserFacingError, check_options, send_private
from bot.leader import LOST, PING_TIMEOUT, Leadership, SharedIdentifyGate
from bot.metrics import Metrics
from bot.permissions import display_name, listed
from bot.service import Deliver, Pipeline, announce_loop
from bot.shards import IdentifyGate, buckets
from bot.store import Announcement, DatabaseLost, Store, StoreError
from bot.web import HttpListener, ListenerError

if TYPE_CHECKING:
    from bot.delivery import Deliverer

log = logging.getLogger(__name__)

# A news bot never joins voice: skip discord.py's start-up warnings about voice libraries.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

EXTENSIONS = ("cogs.news", "cogs.admin", "cogs.delivery")
SHARDING_REQUIRED = 4011  # the gateway's close code for a shard with too many servers

# What reading a malformed gateway frame that is no readable event raises inside
# discord.py: not JSON (ValueError), JSON of the wrong shape, HELLO or READY missing a
# key, a broken zlib stream.
MALFORMED_FRAME = (ValueError, LookupError, TypeError, AttributeError, zlib.error)


def point_at(api_url: str, gateway_url: str) -> None:
    """Send REST calls and the gateway connection to the given endpoints.

    discord.py reads both from class attributes, so this is process-wide: it is meant
    for a Discord-compatible server or a REST proxy in front of Discord.
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def bot_intents() -> discord.Intents:
    """The fewest intents the bot needs: guilds (channels, roles, joins and leaves).

    No members, no presences, no message content: slash commands arrive without them.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


async def _log_announcement(announcement: Announcement) -> None:
    log.info(
        "article %s: %s (%s)",
        announcement.kind,
        announcement.article.title,
        announcement.article.url or announcement.article.key,
    )


def _resuming_on_unreadable(
    socket: DiscordWebSocket,
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """``socket``'s frame reader, treating a frame it cannot read (not JSON, a HELLO
    without its interval) as Discord's own RECONNECT: close, then resume the session,
    so Discord replays whatever it sent meanwhile and nothing is lost. (discord.py
    would end the shard's connection loop, and the process with it.)"""
    read = socket.received_message

    async def received_message(msg: Any, /) -> None:
        try:
            await read(msg)
        except MALFORMED_FRAME:
            log.exception(
                "could not read a frame from Discord's gateway; resuming (shard %s)",
                socket.shard_id,
            )
            await socket.close()
            raise ReconnectWebSocket(socket.shard_id) from None

    return received_message


class _GuardedState(AutoShardedConnectionState[Any]):
    """discord.py's connection state, guarding every gateway socket it is handed.

    discord.py hands the state each new socket of every shard (first connection,
    resume, re-identify) before reading its first frame: the guard is in place for all.
    """

    def _update_references(self, ws: DiscordWebSocket) -> None:
        super()._update_references(ws)
        ws.received_message = _resuming_on_unreadable(ws)  # type: ignore[method-assign]


def _skipping_on_error(event: str, parser: Callable[[Any], None]) -> Callable[[Any], None]:
    """discord.py's reader of one kind of gateway event, logging and skipping an event
    it cannot read; the connection and every other event go on."""

    def parse(data: Any) -> None:
        try:
            parser(data)
        except Exception:
            log.exception("skipped an unreadable %s event from Discord's gateway", event)

    return parse


class NewsTree(app_commands.CommandTree["NewsBot"]):
    """The command tree, with one error handler for every slash command."""

    async def interaction_check(self, interaction: discord.Interaction[NewsBot], /) -> bool:
        """Refuse options outside their declared range before any command runs."""
        self.client.metrics.command_started(interaction.extras)
        check_options(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[NewsBot], error: app_commands.AppCommandError
    ) -> None:
        """One handler for every slash command: a short private answer, never silence."""
        if isinstance(error, UserFacingError):
            message = str(error)
        elif isinstance(
            error, app_commands.MissingPermissions | app_commands.BotMissingPermissions
        ):
            missing = listed([display_name(p) for p in error.missing_permissions])
            who = "You need" if isinstance(error, app_commands.MissingPermissions) else "I need"
            message = f"{who} the {missing} permission for this."
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "This command only works in a server."
        elif isinstance(error, app_commands.CommandOnCooldown):
            message = f"Slow down a little: try again in {error.retry_after:.0f} s."
        elif isinstance(error, app_commands.CheckFailure) or (
            # A value the user gave that could not be read; a transformer that failed
            # itself (the store, say) has the failure as the cause and is our fault.
            isinstance(error, app_commands.TransformerError) and error.__cause__ is None
        ):
            message = str(error) or "You can't use this command here."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            cause: BaseException = error
            if isinstance(error, app_commands.CommandInvokeError):
                cause = error.original
            elif error.__cause__ is not None:
                cause = error.__cause__
            log.error("command /%s failed", command, exc_info=cause)
            message = APOLOGY
        await send_private(interaction, message)
        name = interaction.command.qualified_name if interaction.command else "?"
        outcome = "error" if message == APOLOGY else "refused"
        self.client.metrics.command_done(name, interaction.extras, outcome)


class NewsBot(commands.AutoShardedBot):
    """The news bot, on as many gateway shards as it needs.

    ``store`` and ``pipeline`` exist once ``setup_hook`` has run.
    """

    store: Store
    pipeline: Pipeline
    # Set by the cogs.delivery extension, which also makes it the announcer's hook
    # (``deliver``): new articles are then fanned out to subscribed channels.
    deliverer: Deliverer

    def __init__(
        self, settings: Settings, *, deliver: Deliver | None = None, **options: Any
    ) -> None:
        options.setdefault("intents", bot_intents())
        options.setdefault("help_command", None)
        options.setdefault("tree_cls", NewsTree)
        options.setdefault("command_prefix", commands.when_mentioned)
        options.setdefault(
            "allowed_mentions", discord.AllowedMentions.none()
        )  # nothing the bot says pings anyone unless a post explicitly allows it
        # One registry per bot; its trace counts every response Discord gives.
        self.metrics = Metrics()
        options.setdefault("http_trace", self.metrics.trace_config())
        options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            options.setdefault("shard_ids", list(settings.shard_ids))
        super().__init__(**options)
        self.settings = settings
        self.deliver: Deliver = deliver or _log_announcement
        self._announcer: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._looking: set[asyncio.Task[None]] = set()  # looks other processes asked for
        # Who runs the sources and sends (one process of many on PostgreSQL).
        self.leadership: Leadership | None = None
        self._sender: Deliverer | None = None
        # Set when the database file was deleted or replaced under the running bot.
        self.database_lost: DatabaseLost | None = None
        self.synced: bool | None = None  # whether start-up pushed commands to Discord
        self.listener: HttpListener | None = None  # NEWSBOT_HTTP_ADDR, once started
        self.identify_gate = IdentifyGate()  # max_concurrency is known at launch
        # An error while reading one event (an INTERACTION_CREATE without its id, a
        # field Discord dropped) escapes discord.py's connection loop: skip that event
        # instead, on this client's own table of event readers.
        parsers = self._connection.parsers
        for event, parser in parsers.items():
            parsers[event] = _skipping_on_error(event, parser)

    async def setup_hook(self) -> None:
        """Open the store, load the cogs, sync commands if they changed, start sources."""
        self.store = await Store.open(self.settings.database, metrics=self.metrics)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.synced = await self.sync_commands()
        self.pipeline = Pipeline(self.settings, self.store)
        postgres = self.store.engine == "postgresql"
        self.leadership = Leadership(
            str(self.settings.database) if postgres else None,
            lead=self._lead,
            follow=self._follow,
            on_wake=self._wake_sender,
            on_work=self._heard_work,
            on_changed=self.store.database.invalidate,
            pool=getattr(self.store.database, "pool", None),
        )
        # The deliverer the delivery extension made (if loaded), run while leading.
        self._sender = getattr(self, "deliverer", None)
        if self._sender is not None:
            self._sender.notify = self.leadership.wake
            self._sender.leadership = self.leadership
        self.listener = self.pipeline.listener(self, scanned=self._scanned, ask=self._look)
        if self.listener is not None:
            await self.listener.start()
        self.leadership.start()
        self._watch = asyncio.create_task(self._stop_if_database_lost(), name="database watch")

    async def _lead(self) -> None:
        """This process leads: run the sources, the re-check, the announcer, delivery,
        and the looks asked while no process led."""
        self.pipeline.start()
        if self.leadership is not None and not self.leadership.alone:
            self._take_looks()
        self._announcer = asyncio.create_task(
            announce_loop(
                self.store,
                self.pipeline.wake,
                self.pipeline.stop,
                self.deliver,
                self.pipeline.live,
            ),
            name="announcer",
        )
        if self._sender is not None:
            self._sender.start()

    async def _follow(self) -> None:
        """This process no longer leads: stop everything :meth:`_lead` started. What is
        left waits in the database for the next leader: the outbox, and a webhook's look
        the sources had not finished (asked again, as a follower asks)."""
        await asyncio.gather(*self._looking, return_exceptions=True)
        if self._sender is not None:
            await self._sender.close()
        if self._announcer is not None:
            self._announcer.cancel()
            await asyncio.gather(self._announcer, return_exceptions=True)
            self._announcer = None
        await self.pipeline.close()
        left = self.pipeline.unfinished_look()
        if left is not None and self.leadership is not None and not self.leadership.alone:
            log.info("passing an unfinished look (%s) on to the next leader", left)
            try:  # bounded: a process that lost the database must still step down
                await asyncio.wait_for(self._look(left), PING_TIMEOUT)
            except TimeoutError:
                log.warning("could not pass an unfinished look (%s) on in time", left)

    def _scanned(self) -> bool:
        """Whether this process's sources made their first scan (``/readyz``); a
        follower on PostgreSQL runs none, so it waits for nothing."""
        leadership = self.leadership
        if leadership is not None and leadership.url is not None and not leadership.leading:
            return True
        return self.pipeline.scanned()

    async def _look(self, what: str) -> Asked:
        """Have the sources look now (a webhook's :data:`~bot.hooks.FETCH` or
        :data:`~bot.hooks.REFRESH`): here if this process runs them, else by asking
        the leader through the database."""
        leadership = self.leadership
        if leadership is None or leadership.alone or leadership.working:
            return await self.pipeline.look_here(what)
        try:
            await self.store.ask_look(what, discord.utils.utcnow())
            leads = await leadership.ask_leader(what)
        except LOST as exc:
            log.warning("could not pass a webhook's %r to the leading process: %s", what, exc)
            return Asked.UNREACHABLE
        return Asked.LEADER if leads else Asked.NO_LEADER

    def _heard_work(self, what: str) -> None:
        """Work another process sent the leader (this process) through the database."""
        if what in LOOKS:
            self._take_looks()
        else:
            log.warning("ignored an unknown message from another process: %r", what)

    def _take_looks(self) -> None:
        """Do, in the background, the looks other processes asked of the sources
        (:meth:`_look`), each once: as another process asks, and as this one starts
        leading."""
        task = asyncio.create_task(self._looks_asked(), name="looks asked")
        self._looking.add(task)
        task.add_done_callback(self._looking.discard)

    async def _looks_asked(self) -> None:
        try:
            asked = await self.store.take_looks()
        except LOST as exc:  # still asked: taken at the next NOTIFY, or by the next leader
            log.warning("could not read the looks other processes asked for: %s", exc)
            return
        for what in asked:
            log.info("looking now (%s), as another process asked", what)
            self.pipeline.look_now(what)

    def _wake_sender(self) -> None:
        if self._sender is not None:
            self._sender.poke()

    async def _stop_if_database_lost(self) -> None:
        # Running on against a deleted file would lose every later change (and after a
        # restart, every subscription) without a word: stop instead.
        self.database_lost = await self.store.wait_lost()
        await self.close()

    async def sync_commands(self) -> bool:
        """Push the command tree to Discord only when it differs from the last push.

        A hash of the exact payload is kept in the store per application and scope, so
        restarts with unchanged commands make no registration request at all.
        """
        guild_id = self.settings.dev_guild_id
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"commands:{self.application_id}:{guild_id or 'global'}"
        if await self.store.get_meta(key) == digest:
            log.info("slash commands unchanged since the last sync; not re-registering")
            return False
        try:
            await self.tree.sync(guild=guild)
        except discord.Forbidden as exc:
            if guild is None:
                raise
            raise StartupError(
                f"cannot register slash commands in server {guild_id} (NEWSBOT_DEV_GUILD_ID): "
                "invite the bot there with the applications.commands scope, or unset it"
            ) from exc
        await self.store.set_meta(key, digest)
        log.info(
            "registered %d slash commands %s",
            len(payload),
            f"in guild {guild_id}" if guild_id else "globally (may take a while to appear)",
        )
        return True

    def _get_state(self, **options: Any) -> AutoShardedConnectionState[Any]:
        return _GuardedState(
            dispatch=self.dispatch,
            handlers=self._handlers,
            hooks=self._hooks,
            http=self.http,
            **options,
        )

    async def launch_shards(self) -> None:
        """Connect this process's shards as fast as Discord allows.

        discord.py connects shards one after another, 5 s apart; Discord lets shards of
        different identify buckets (``shard_id % max_concurrency``) start together.
        Waits for the daily session-start limit to reset rather than spend its last
        starts.
        """
        if self.is_closed():
            return
        configured: int | None = self.shard_count  # None: Discord's recommendation
        while True:
            recommended, _, limits = await self.http.get_bot_gateway()
            self.shard_count = configured or recommended
            shard_ids = self.shard_ids or list(range(self.shard_count))
            if limits["remaining"] >= len(shard_ids):
                break
            wait = limits["reset_after"] / 1000
            log.warning(
                "Discord allows %d more gateway session starts until its daily limit "
                "resets, and %d shards need one: waiting %.0f s for the reset",
                limits["remaining"],
                len(shard_ids),
                wait,
            )
            await asyncio.sleep(wait)
        self._connection.shard_count = self.shard_count
        self._connection.shard_ids = shard_ids
        if self.store.engine == "postgresql":
            # Every process's shards take turns through the shared database.
            self.identify_gate = SharedIdentifyGate(
                str(self.settings.database), limits["max_concurrency"]
            )
        else:
            self.identify_gate = IdentifyGate(limits["max_concurrency"])
        log.info(
            "starting %d of %d shards, %d at a time",
            len(shard_ids),
            self.shard_count,
            self.identify_gate.max_concurrency,
        )
        # The settings' gateway URL (Discord's own by default), as with one connection.
        gateway = DiscordWebSocket.DEFAULT_GATEWAY
        first = shard_ids[0]

        async def launch(bucket: list[int]) -> None:
            # One after another within a bucket: each waits its turn at the gate in
            # before_identify_hook, with its socket open only for that turn.
            for shard_id in bucket:
                await self.launch_shard(gateway, shard_id, initial=shard_id == first)

        await asyncio.gather(
            *(launch(bucket) for bucket in buckets(shard_ids, self.identify_gate.max_concurrency))
        )

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for the shard's identify bucket (every IDENTIFY: start, re-identify)."""
        await self.identify_gate.wait(shard_id or 0)

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[NewsBot],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """Count a slash command answered, and time it."""
        self.metrics.command_done(command.qualified_name, interaction.extras, "ok")

    async def on_ready(self) -> None:
        """Log who we are once every shard is connected."""
        # What the shards loaded (thousands of servers, their channels and roles) lives
        # as long as the process: out of the collector's sight, so that its full
        # collections, which would walk all of it, do not stall the event loop.
        gc.freeze()
        assert self.user is not None
        log.info(
            "connected as %s (%s) to %d servers on %d shards",
            self.user,
            self.user.id,
            len(self.guilds),
            len(self.shards),
        )

    async def close(self) -> None:
        """Stop the sources and the announcer, then close the store and the connection."""
        if self._watch is not None and self._watch is not asyncio.current_task():
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        self._watch = None
        if self.leadership is not None:
            # Stops the leader's work first, then frees the lock for a follower.
            await self.leadership.close()
        if isinstance(self.identify_gate, SharedIdentifyGate):
            await self.identify_gate.close()
        if self.listener is not None:
            await self.listener.close()
        if hasattr(self, "pipeline"):
            await self.pipeline.close()
        await super().close()
        if hasattr(self, "store"):
            await self.store.close()


class StartupError(Exception):
    """The bot cannot start for a reason its message explains in one line."""


async def run_bot(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM; returns the exit code."""
    assert settings.discord_token is not None
    point_at(settings.discord_api_url, settings.discord_gateway_url)
    bot = NewsBot(settings)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()  # a reference, so the task is not collected

    def stop(sig: signal.Signals) -> None:
        log.info("%s received: disconnecting from Discord and closing the store", sig.name)
        task = asyncio.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        async with bot:
            await bot.start(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        log.error("Discord refused the token (DISCORD_TOKEN): check it in the Developer Portal")
        return 1
    except discord.PrivilegedIntentsRequired:
        log.error("Discord refused a privileged intent; the bot should not ask for any")
        return 1
    except discord.ConnectionClosed as exc:
        if exc.code != SHARDING_REQUIRED:
            raise
        log.error(
            "Discord requires more shards (close code 4011: a shard may hold at most "
            "2,500 servers): raise NEWSBOT_SHARD_COUNT, or leave it empty to use "
            "Discord's recommendation"
        )
        return 1
    except (StartupError, ListenerError) as exc:
        log.error("%s", exc)
        return 1
    except discord.HTTPException as exc:
        log.error("Discord refused a start-up request: %s", exc)
        return 1
    except (StoreError, sqlite3.Error) as exc:
        log.error("cannot use the database %s: %s", settings.database_shown, exc)
        return 1
    except (aiohttp.ClientConnectionError, OSError) as exc:
        log.error(
            "cannot reach Discord at NEWSBOT_DISCORD_API_URL=%s: %s", settings.discord_api_url, exc
        )
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if bot.database_lost is not None:
        log.error("%s", bot.database_lost)
        return 1
    log.info("stopped")
    return 0
