"""The article store: the one object the rest of the bot holds for all of its data.

Use it as::

    store = await Store.open(settings.database)   # or ":memory:" in tests
    try:
        ...
    finally:
        await store.close()

or ``async with await Store.open(path) as store: ...``.

A :class:`Store` is made of parts, one per job, each holding the same
:class:`~bot.store.database.Database` (connection, lock, transactions):

* :class:`~bot.store.lookups.LookupQueries`: the latest articles, search, tags, titles;
* :class:`~bot.store.sources.SourceQueries`: sources, their files and feed state, meta;
* :class:`~bot.store.writes.IngestWriter`: recording files, feed entries and the
  clock's status changes by the rules of :mod:`bot.store.ingest`, and the
  announcements they make;
* :class:`~bot.store.subscriptions.SubscriptionQueries`: subscriptions and settings;
* :class:`~bot.store.deliveries.DeliveryQueries`: the delivery outbox and notices;
* :class:`~bot.store.status.StatusQueries`: whole-database summaries for operators;
* :class:`~bot.store.requests.TestRequestQueries`: test posts handed to the leader;
* :class:`~bot.store.facts.FactQueries`: what the process serving a server publishes
  about its channels for the leader.

The store's methods are its parts' methods (see :class:`_Forward`), so callers keep
one object and one name per operation. Every call is serialised with every other
one, and every write is one transaction (all or nothing). Datetimes go in and come
out aware (UTC); naive ones are refused.

Only the parts and the database hold SQL. The parts run on either engine: SQLite's
:class:`~bot.store.database.Database` or PostgreSQL's
:class:`~bot.store.postgres.PostgresDatabase`, which :meth:`Store.open` picks from
the database setting (a ``postgresql://`` URL, or a file path).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from bot.articles.model import Article
from bot.config import is_postgres_url
from bot.metrics import Metrics
from bot.store.database import Connection, Database, Engine
from bot.store.deliveries import DeliveryQueries
from bot.store.facts import FactQueries
from bot.store.ingest import MOVE_WINDOW
from bot.store.lookups import LookupQueries
from bot.store.models import DatabaseLost, FileItem, IngestResult
from bot.store.postgres import PostgresDatabase
from bot.store.requests import TestRequestQueries
from bot.store.sources import SourceQueries
from bot.store.status import StatusQueries
from bot.store.subscriptions import SubscriptionQueries
from bot.store.writes import IngestWriter

_Part = TypeVar("_Part")
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Forward(Generic[_Part, _P, _R]):
    """A :class:`Store` method that is a method of one of its parts:
    ``store.search(...)`` calls ``store._lookups.search(...)``, with the same
    signature and docstring."""

    def __init__(self, part: str, method: Callable[Concatenate[_Part, _P], _R]) -> None:
        """Forward to ``method`` of the store's attribute ``part``."""
        self._part = part
        self._name = method.__name__
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, store: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, store: Store, owner: type[Any]) -> Callable[_P, _R]: ...

    def __get__(self, store: Store | None, owner: type[Any]) -> Self | Callable[_P, _R]:
        if store is None:
            return self
        method: Callable[_P, _R] = getattr(getattr(store, self._part), self._name)
        return method


class Store:
    """The database of sources, files, articles, tags, announcements, subscriptions
    and deliveries."""

    def __init__(self, database: Engine, *, move_window: timedelta = MOVE_WINDOW) -> None:
        """Use an open, migrated database; use :meth:`open` instead."""
        self._database = database
        self._lookups = LookupQueries(database)
        self._sources = SourceQueries(database)
        self._writer = IngestWriter(database, move_window=move_window)
        self._subscriptions = SubscriptionQueries(database)
        self._deliveries = DeliveryQueries(database)
        self._status = StatusQueries(database)
        self._tests = TestRequestQueries(database)
        self._facts = FactQueries(database)

    # -- the database ------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        move_window: timedelta = MOVE_WINDOW,
        metrics: Metrics | None = None,
        read_only: bool = False,
    ) -> Self:
        """Open (creating if needed) and migrate the SQLite database at ``path``, or
        the PostgreSQL database when ``path`` is a ``postgresql://`` URL.

        One store per process. Raises
        :class:`~bot.store.models.StoreError` when SQLite lacks FTS5 or the database is
        newer than this code. Its calls are timed into ``metrics`` (the bot's; by
        default a registry of its own). ``read_only``: see :meth:`Database.open`.
        """
        database: Engine
        if is_postgres_url(path):
            assert isinstance(path, str)
            database = await PostgresDatabase.open(path, metrics=metrics, read_only=read_only)
        else:
            database = await Database.open(path, metrics=metrics, read_only=read_only)
        return cls(database, move_window=move_window)

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._database.engine

    @property
    def database(self) -> Engine:
        """The database under the store (for PostgreSQL, its ``pool`` gives
        connections of their own to the parts of the bot that coordinate processes)."""
        return self._database

    @property
    def metrics(self) -> Metrics:
        """The bot's metrics: every part of the bot holds the store, so this is where
        they record what they do (one line each)."""
        return self._database.metrics

    async def close(self) -> None:
        """Close the database (idempotent). Waits for a running transaction."""
        await self._database.close()

    async def wait_lost(self) -> DatabaseLost:
        """Wait until the database file is found deleted or replaced under the running
        bot; returns the error that says so (every later call raises it too)."""
        return await self._database.wait_lost()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def bulk(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Many write transactions in a row (a large scan); see :meth:`Database.bulk`."""
        return self._database.bulk()

    # For tests that must reach behind the store: a raw transaction, the connection.
    def _transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        return self._database.transaction()

    def _connection(self) -> Any:
        return self._database.connection()  # type: ignore[attr-defined]

    # -- lookups -----------------------------------------------------------------

    article_count = _Forward("_lookups", LookupQueries.article_count)
    get = _Forward("_lookups", LookupQueries.get)
    latest = _Forward("_lookups", LookupQueries.latest)
    search = _Forward("_lookups", LookupQueries.search)
    tags = _Forward("_lookups", LookupQueries.tags)
    categories = _Forward("_lookups", LookupQueries.categories)
    find_articles = _Forward("_lookups", LookupQueries.find_articles)

    # -- sources, files, meta ----------------------------------------------------

    source = _Forward("_sources", SourceQueries.source)
    get_source = _Forward("_sources", SourceQueries.get_source)
    sources = _Forward("_sources", SourceQueries.sources)
    mark_baseline_done = _Forward("_sources", SourceQueries.mark_baseline_done)
    save_feed_state = _Forward("_sources", SourceQueries.save_feed_state)
    files = _Forward("_sources", SourceQueries.files)
    file_stats = _Forward("_sources", SourceQueries.file_stats)
    copy_of = _Forward("_sources", SourceQueries.copy_of)
    get_meta = _Forward("_sources", SourceQueries.get_meta)
    set_meta = _Forward("_sources", SourceQueries.set_meta)
    ask_look = _Forward("_sources", SourceQueries.ask_look)
    take_looks = _Forward("_sources", SourceQueries.take_looks)

    # -- ingest ------------------------------------------------------------------

    # Every file change goes through record_files (a test's spy store counts on it).
    record_files = _Forward("_writer", IngestWriter.record_files)
    record_entries = _Forward("_writer", IngestWriter.record_entries)
    refresh_statuses = _Forward("_writer", IngestWriter.refresh_statuses)
    next_transition_at = _Forward("_writer", IngestWriter.next_transition_at)
    pending_announcements = _Forward("_writer", IngestWriter.pending_announcements)
    complete_announcement = _Forward("_writer", IngestWriter.complete_announcement)

    async def record_file(
        self,
        source_id: int,
        path: str,
        *,
        size: int,
        mtime_ns: int,
        file_hash: str,
        article: Article | None,
        article_hash: str | None,
        message: dict[str, Any] | None,
        error: str | None,
        now: datetime,
    ) -> IngestResult:
        """Record one scanned file: its article (with hash and message) or its error."""
        item = FileItem(path, size, mtime_ns, file_hash, article, article_hash, message, error)
        return (await self.record_files(source_id, [item], now))[0]

    async def remove_file(self, source_id: int, path: str, now: datetime) -> IngestResult:
        """The file at ``path`` was deleted or moved away: withdraw its article."""
        return (await self.record_files(source_id, (), now, removed=[path]))[0]

    # -- subscriptions and server settings ----------------------------------------

    subscribe = _Forward("_subscriptions", SubscriptionQueries.subscribe)
    unsubscribe = _Forward("_subscriptions", SubscriptionQueries.unsubscribe)
    subscriptions = _Forward("_subscriptions", SubscriptionQueries.subscriptions)
    get_subscription = _Forward("_subscriptions", SubscriptionQueries.get_subscription)
    pause_subscription = _Forward("_subscriptions", SubscriptionQueries.pause_subscription)
    resume_subscription = _Forward("_subscriptions", SubscriptionQueries.resume_subscription)
    set_format = _Forward("_subscriptions", SubscriptionQueries.set_format)
    active_subscriptions = _Forward("_subscriptions", SubscriptionQueries.active_subscriptions)
    set_webhook = _Forward("_subscriptions", SubscriptionQueries.set_webhook)
    webhook = _Forward("_subscriptions", SubscriptionQueries.webhook)
    lose_webhook = _Forward("_subscriptions", SubscriptionQueries.lose_webhook)
    remove_guild = _Forward("_subscriptions", SubscriptionQueries.remove_guild)
    remove_channel = _Forward("_subscriptions", SubscriptionQueries.remove_channel)
    guild_settings = _Forward("_subscriptions", SubscriptionQueries.guild_settings)
    set_guild_settings = _Forward("_subscriptions", SubscriptionQueries.set_guild_settings)

    # -- the delivery outbox ------------------------------------------------------

    fan_out = _Forward("_deliveries", DeliveryQueries.fan_out)
    queue_edits = _Forward("_deliveries", DeliveryQueries.queue_edits)
    queue_backfill = _Forward("_deliveries", DeliveryQueries.queue_backfill)
    due_subscriptions = _Forward("_deliveries", DeliveryQueries.due_subscriptions)
    next_due_at = _Forward("_deliveries", DeliveryQueries.next_due_at)
    due_work = _Forward("_deliveries", DeliveryQueries.due_work)
    mark_attempt = _Forward("_deliveries", DeliveryQueries.mark_attempt)
    is_recorded = _Forward("_deliveries", DeliveryQueries.is_recorded)
    mark_sent = _Forward("_deliveries", DeliveryQueries.mark_sent)
    mark_edited = _Forward("_deliveries", DeliveryQueries.mark_edited)
    drop_edit = _Forward("_deliveries", DeliveryQueries.drop_edit)
    mark_crossposted = _Forward("_deliveries", DeliveryQueries.mark_crossposted)
    retry_later = _Forward("_deliveries", DeliveryQueries.retry_later)
    finish_delivery = _Forward("_deliveries", DeliveryQueries.finish_delivery)
    deliveries = _Forward("_deliveries", DeliveryQueries.deliveries)
    delivery_counts = _Forward("_deliveries", DeliveryQueries.delivery_counts)
    add_notice = _Forward("_deliveries", DeliveryQueries.add_notice)
    due_notices = _Forward("_deliveries", DeliveryQueries.due_notices)
    next_notice_at = _Forward("_deliveries", DeliveryQueries.next_notice_at)
    notices = _Forward("_deliveries", DeliveryQueries.notices)
    finish_notice = _Forward("_deliveries", DeliveryQueries.finish_notice)
    retry_notice = _Forward("_deliveries", DeliveryQueries.retry_notice)

    # -- operators' summaries --------------------------------------------------------

    ping = _Forward("_status", StatusQueries.ping)
    outbox = _Forward("_status", StatusQueries.outbox)
    article_counts = _Forward("_status", StatusQueries.article_counts)
    recent_announcements = _Forward("_status", StatusQueries.recent_announcements)
    paused_subscriptions = _Forward("_status", StatusQueries.paused_subscriptions)

    # -- test posts handed to the leader ----------------------------------------------

    add_test_request = _Forward("_tests", TestRequestQueries.add_test_request)
    claim_test_requests = _Forward("_tests", TestRequestQueries.claim_test_requests)
    finish_test_request = _Forward("_tests", TestRequestQueries.finish_test_request)
    test_request = _Forward("_tests", TestRequestQueries.test_request)
    withdraw_test_request = _Forward("_tests", TestRequestQueries.withdraw_test_request)

    # -- servers' facts published for the leader ------------------------------------

    publish_facts = _Forward("_facts", FactQueries.publish_facts)
    channel_facts = _Forward("_facts", FactQueries.channel_facts)
    notice_facts = _Forward("_facts", FactQueries.notice_facts)
    subscribed_guilds = _Forward("_facts", FactQueries.subscribed_guilds)
