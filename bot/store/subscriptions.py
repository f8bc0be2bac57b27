"""Subscriptions (which channel gets which articles) and per-server settings.

:class:`SubscriptionQueries` is one part of :class:`bot.store.Store`: its methods run
on the store's :class:`~bot.store.database.Database`, under its lock, like every other
query. Every method a moderator's command reaches takes the guild id and filters on
it, so a moderator of one server can never read or change another server's
subscriptions; only
:meth:`~SubscriptionQueries.active_subscriptions` (delivery's fan-out) and
:meth:`~SubscriptionQueries.remove_channel` (a gateway event naming a deleted channel)
work across servers.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.articles.model import category_key, normalise_tag, unique_tags
from bot.formats import DEFAULT_FORMAT, Format, format_to_json, read_format
from bot.store.codec import clean_text, dumps, from_us, opt_dt, to_us
from bot.store.database import (
    Connection,
    Engine,
    Row,
    fetch_all,
    fetch_one,
    fetch_value,
    from_row,
)

#: Limits on a filter's lists (per list), on one tag, and on a channel's filters.
MAX_TAGS = 25
MAX_TAG_LENGTH = 100
MAX_FILTERS = 10
#: A pause reason is shown in ``/newsadmin list``; longer ones are cut.
MAX_REASON_LENGTH = 200
#: Largest embed color (0xRRGGBB).
MAX_COLOR = 0xFFFFFF


def filters_column(subscription_id: str) -> str:
    """SQL: the filters of the subscription whose id is the expression
    ``subscription_id``, in number order, as one JSON array (see :func:`parse_filters`)."""
    return f"""(
        SELECT json_group_array(json_array(
            f.number, json(f.tags), json(f.exclude_tags), json(f.categories), f.mention_role_id
        ))
        FROM (
            SELECT * FROM subscription_filters
            WHERE subscription_id = {subscription_id} ORDER BY number
        ) f
    )"""


def parse_filters(text: str) -> tuple[Filter, ...]:
    """The filters of a :func:`filters_column` value."""
    return tuple(
        Filter(number, tuple(tags), tuple(exclude), tuple(categories), role)
        for number, tags, exclude, categories, role in json.loads(text)
    )


_SUBSCRIPTION = f"""
    SELECT s.id, s.guild_id, s.channel_id, s.paused_reason, s.paused_at, s.created_by,
           s.created_at, s.updated_at, s.format, s.identity,
           {filters_column("s.id")} AS filters
    FROM subscriptions s
"""


class Identity(enum.StrEnum):
    """Who a subscription's posts come from."""

    BOT = "bot"  # the bot itself
    WEBHOOK = "webhook"  # a webhook the bot made in the channel: the publication's name and face


@dataclass(frozen=True, slots=True)
class Webhook:
    """A channel webhook the bot made. The token is a secret (it lets anyone post in
    the channel): kept out of ``repr`` and never logged or shown."""

    id: int
    token: str = field(repr=False)


class SubscriptionError(ValueError):
    """A subscription the store refuses; ``str(err)`` is meant for the moderator."""


@dataclass(frozen=True, slots=True)
class Filter:
    """Which articles one filter of a channel's subscription wants, and whom it pings.

    ``tags``, ``exclude_tags`` and ``categories`` are shown as the moderator wrote
    them and matched case-insensitively (:func:`~bot.articles.model.normalise_tag`,
    :func:`~bot.articles.model.category_key`); their matching keys are in
    ``tag_keys``, ``exclude_keys`` and ``category_keys``.
    """

    number: int  # 1 to MAX_FILTERS, the moderators' handle on it
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    mention_role_id: int | None = None
    tag_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    exclude_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    category_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: delivery matches every new article against every filter.
        object.__setattr__(self, "tag_keys", frozenset(normalise_tag(t) for t in self.tags))
        object.__setattr__(
            self, "exclude_keys", frozenset(normalise_tag(t) for t in self.exclude_tags)
        )
        object.__setattr__(
            self, "category_keys", frozenset(category_key(c) for c in self.categories)
        )

    def matches(
        self, tag_keys: frozenset[str], category_keys: frozenset[str] = frozenset()
    ) -> bool:
        """Whether an article with these tags and categories is wanted.

        Any of ``tags`` or any of ``categories`` (every article when there are
        neither), and none of ``exclude_tags``: an excluded tag wins. The keys are
        already normalised (``Article.tag_keys()``, ``Article.category_keys()``).
        """
        if not self.exclude_keys.isdisjoint(tag_keys):
            return False
        if not self.tag_keys and not self.category_keys:
            return True
        return not self.tag_keys.isdisjoint(tag_keys) or not self.category_keys.isdisjoint(
            category_keys
        )


@dataclass(frozen=True, slots=True)
class Subscription:
    """One channel's subscription to the publication's articles: its filters (at least
    one, by number), and whether it is paused.

    An article is posted in the channel once when any filter matches it, pinging the
    roles of every filter that does (:meth:`mentions`).
    """

    id: int
    guild_id: int
    channel_id: int
    filters: tuple[Filter, ...]
    paused_reason: str | None  # None: active
    paused_at: datetime | None
    created_by: int
    created_at: datetime
    updated_at: datetime
    format: Format = DEFAULT_FORMAT  # how its posts look (bot/formats.py)
    identity: Identity = Identity.BOT
    #: Why its saved format can't be read by this version (it posts in the default).
    format_error: str | None = None

    @property
    def active(self) -> bool:
        """Whether articles are delivered (not paused)."""
        return self.paused_reason is None

    def filter(self, number: int) -> Filter | None:
        """The filter with this number, if there is one."""
        return next((f for f in self.filters if f.number == number), None)

    def matches(
        self, tag_keys: frozenset[str], category_keys: frozenset[str] = frozenset()
    ) -> bool:
        """Whether any filter wants an article with these keys (see
        :meth:`Filter.matches`). Paused or not does not matter here."""
        return any(f.matches(tag_keys, category_keys) for f in self.filters)

    def mentions(
        self, tag_keys: frozenset[str], category_keys: frozenset[str] = frozenset()
    ) -> tuple[int, ...]:
        """The roles to ping for such an article (see :func:`mentions`)."""
        return mentions(self.filters, tag_keys, category_keys)


def article_keys(
    tags: Iterable[str], categories: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """An article's tags and categories as the keys filters match on."""
    return (
        frozenset(normalise_tag(t) for t in tags),
        frozenset(category_key(c) for c in categories),
    )


def mentions(
    filters: Iterable[Filter], tag_keys: frozenset[str], category_keys: frozenset[str]
) -> tuple[int, ...]:
    """The roles to ping for an article with these keys: those of the filters that
    match it, each once, in filter order."""
    roles = (
        f.mention_role_id
        for f in filters
        if f.mention_role_id is not None and f.matches(tag_keys, category_keys)
    )
    return tuple(dict.fromkeys(roles))


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A server's delivery settings (the defaults when it never changed them)."""

    guild_id: int
    edit_on_update: bool = True  # edit posted messages when their article changes
    color: int | None = None  # embed color 0xRRGGBB; None: the bot's default
    notices_channel_id: int | None = None  # None: the system channel, else any it can use


def split_tags(text: str | None) -> tuple[str, ...]:
    """A comma-separated list of tags as a moderator types it, cleaned up.

    Whitespace is trimmed and collapsed, empty items dropped, and repeats (in any
    case) dropped keeping the first spelling: ``"Energy, climate,, energy"`` is
    ``("Energy", "climate")``.
    """
    return clean_tags((text or "").split(","))


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags trimmed, without empty items and without repeats (first spelling kept)."""
    return unique_tags(clean_text(" ".join(raw.split())) for raw in tags)


def _checked_filters(
    tags: Sequence[str], exclude_tags: Sequence[str], categories: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    include = clean_tags(tags)
    exclude = clean_tags(exclude_tags)
    wanted = clean_tags(categories)
    for name, found in (("tags", include), ("excluded tags", exclude), ("categories", wanted)):
        if len(found) > MAX_TAGS:
            raise SubscriptionError(f"At most {MAX_TAGS} {name} per filter ({len(found)} given).")
        long = [t for t in found if len(t) > MAX_TAG_LENGTH]
        if long:
            raise SubscriptionError(
                f"A tag is at most {MAX_TAG_LENGTH} characters: “{long[0][:40]}…” is longer."
            )
    exclude_keys = {normalise_tag(t) for t in exclude}
    both = [t for t in include if normalise_tag(t) in exclude_keys]
    if both:
        raise SubscriptionError(
            f"**{both[0]}** is both wanted and excluded: name each tag in only one list."
        )
    return include, exclude, wanted


def _subscription(row: Row) -> Subscription:
    fmt, format_error = read_format(row["format"])
    return from_row(
        Subscription,
        row,
        filters=parse_filters(row["filters"]),
        format=fmt,
        format_error=format_error,
        identity=Identity(row["identity"]),
        paused_at=opt_dt(row["paused_at"]),
        created_at=from_us(row["created_at"]),
        updated_at=from_us(row["updated_at"]),
    )


async def _one(db: Connection, guild_id: int, channel_id: int) -> Subscription | None:
    row = await fetch_one(
        db,
        f"{_SUBSCRIPTION} WHERE s.guild_id = :guild_id AND s.channel_id = :channel_id",
        {"guild_id": guild_id, "channel_id": channel_id},
    )
    return _subscription(row) if row is not None else None


async def _settings(db: Connection, guild_id: int) -> GuildSettings:
    row = await fetch_one(
        db,
        """
        SELECT edit_on_update, color, notices_channel_id FROM guild_settings
        WHERE guild_id = :guild_id
        """,
        {"guild_id": guild_id},
    )
    if row is None:
        return GuildSettings(guild_id)
    return GuildSettings(
        guild_id, bool(row["edit_on_update"]), row["color"], row["notices_channel_id"]
    )


class SubscriptionQueries:
    """The subscriptions and per-server settings."""

    def __init__(self, database: Engine) -> None:
        """Keep subscriptions in ``database``."""
        self._database = database

    # -- subscriptions -------------------------------------------------------------

    async def subscribe(
        self,
        guild_id: int,
        channel_id: int,
        *,
        by_user_id: int,
        now: datetime,
        number: int = 1,
        tags: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        mention_role_id: int | None = None,
        clear_mention: bool = False,
        identity: Identity | None = None,
    ) -> tuple[Subscription, Subscription | None]:
        """Subscribe a channel, or change or add one of its filters (by ``number``);
        returns the subscription, and what it was before (``None``: it is new).

        Only what is given changes: ``None`` keeps a list of the filter (an empty list
        means every article), ``mention_role_id=None`` keeps its mention and
        ``clear_mention`` drops it; a new filter starts empty; ``identity=None`` keeps
        who posts (the bot, for a new subscription). A paused subscription
        stays paused (only :meth:`resume_subscription` resumes); the id and the creator
        stay. Tags are cleaned (:func:`clean_tags`). Raises :class:`SubscriptionError`
        for filters it refuses (too many, too long, a tag both wanted and excluded, a
        number outside 1 to :data:`MAX_FILTERS`) or a channel id another server holds.
        """
        if clear_mention and mention_role_id is not None:
            raise ValueError("give a mention_role_id or clear_mention, not both")
        if not 1 <= number <= MAX_FILTERS:
            raise SubscriptionError(f"A channel has filters 1 to {MAX_FILTERS}, not {number}.")
        async with self._database.transaction() as db:
            holder = await fetch_one(
                db,
                "SELECT guild_id FROM subscriptions WHERE channel_id = :channel_id",
                {"channel_id": channel_id},
            )
            if holder is not None and holder["guild_id"] != guild_id:
                # Channel ids are unique across Discord, so this is a forged or confused
                # request: never let it touch the other server's row.
                raise SubscriptionError("That channel is not in this server.")
            before = await _one(db, guild_id, channel_id)
            old = (before.filter(number) if before else None) or Filter(number)
            include, exclude, wanted = _checked_filters(
                old.tags if tags is None else tags,
                old.exclude_tags if exclude_tags is None else exclude_tags,
                old.categories if categories is None else categories,
            )
            mention = mention_role_id
            if mention is None and not clear_mention:
                mention = old.mention_role_id
            params = {
                "guild_id": guild_id,
                "channel_id": channel_id,
                "number": number,
                "tags": dumps(include),
                "exclude_tags": dumps(exclude),
                "categories": dumps(wanted),
                "mention_role_id": mention,
                "by_user_id": by_user_id,
                "now": to_us(now),
                "identity": str(identity or (before.identity if before else Identity.BOT)),
            }
            if before is None:
                params["id"] = await fetch_value(
                    db,
                    """
                    INSERT INTO subscriptions (guild_id, channel_id, created_by, created_at,
                                               updated_at, identity)
                    VALUES (:guild_id, :channel_id, :by_user_id, :now, :now, :identity)
                    RETURNING id
                    """,
                    params,
                )
            else:
                params["id"] = before.id
                await db.execute(
                    "UPDATE subscriptions SET updated_at = :now, identity = :identity "
                    "WHERE id = :id",
                    params,
                )
            await db.execute(
                """
                INSERT INTO subscription_filters (subscription_id, number, tags, exclude_tags,
                                                  categories, mention_role_id)
                VALUES (:id, :number, :tags, :exclude_tags, :categories, :mention_role_id)
                ON CONFLICT (subscription_id, number) DO UPDATE SET
                    tags = excluded.tags,
                    exclude_tags = excluded.exclude_tags,
                    categories = excluded.categories,
                    mention_role_id = excluded.mention_role_id
                """,
                params,
            )
            found = await _one(db, guild_id, channel_id)
        assert found is not None
        return found, before

    async def unsubscribe(self, guild_id: int, channel_id: int, number: int | None = None) -> bool:
        """Remove this server's subscription of a channel, or only its filter
        ``number`` (the whole subscription when it was the last one); False when there
        was none."""
        params = {
            "guild_id": guild_id,
            "channel_id": channel_id,
            "number": number,
            "whole": number is None,
        }
        async with self._database.transaction() as db:
            if number is not None:
                cursor = await db.execute(
                    """
                    DELETE FROM subscription_filters
                    WHERE number = :number AND subscription_id = (
                        SELECT id FROM subscriptions
                        WHERE guild_id = :guild_id AND channel_id = :channel_id
                    )
                    """,
                    params,
                )
                if cursor.rowcount == 0:
                    return False
            cursor = await db.execute(
                """
                DELETE FROM subscriptions
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                AND (:whole OR NOT EXISTS (
                    SELECT 1 FROM subscription_filters f WHERE f.subscription_id = subscriptions.id
                ))
                """,
                params,
            )
            return number is not None or cursor.rowcount > 0

    async def subscriptions(self, guild_id: int) -> list[Subscription]:
        """This server's subscriptions, oldest first."""
        async with self._database.reading() as db:
            rows = await fetch_all(
                db,
                f"{_SUBSCRIPTION} WHERE s.guild_id = :guild_id ORDER BY s.id",
                {"guild_id": guild_id},
            )
        return [_subscription(row) for row in rows]

    async def get_subscription(self, guild_id: int, channel_id: int) -> Subscription | None:
        """This server's subscription of a channel, if any."""
        async with self._database.reading() as db:
            return await _one(db, guild_id, channel_id)

    async def set_format(self, guild_id: int, channel_id: int, fmt: Format, now: datetime) -> bool:
        """Give a channel's subscription this format (:data:`DEFAULT_FORMAT`: the
        default post); False when the server has no subscription of that channel."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE subscriptions SET format = :format, updated_at = :now
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                """,
                {
                    "format": format_to_json(fmt),
                    "now": to_us(now),
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                },
            )
            return cursor.rowcount > 0

    async def pause_subscription(
        self, guild_id: int, channel_id: int, reason: str, now: datetime
    ) -> bool:
        """Stop delivering to a channel, remembering why; False if none or already paused.

        An already paused subscription keeps its first reason (the one that says what
        to fix).
        """
        text = clean_text(" ".join(reason.split()))[:MAX_REASON_LENGTH] or "no reason given"
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE subscriptions
                SET paused_reason = :reason, paused_at = :now, updated_at = :now
                WHERE guild_id = :guild_id AND channel_id = :channel_id AND paused_at IS NULL
                """,
                {"reason": text, "now": to_us(now), "guild_id": guild_id, "channel_id": channel_id},
            )
            return cursor.rowcount > 0

    async def resume_subscription(self, guild_id: int, channel_id: int, now: datetime) -> bool:
        """Deliver to a paused channel again; False if there is none or it was not paused."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE subscriptions SET paused_reason = NULL, paused_at = NULL, updated_at = :now,
                    webhooks_lost = 0
                WHERE guild_id = :guild_id AND channel_id = :channel_id AND paused_at IS NOT NULL
                """,
                {"now": to_us(now), "guild_id": guild_id, "channel_id": channel_id},
            )
            return cursor.rowcount > 0

    async def set_webhook(
        self, guild_id: int, channel_id: int, webhook: Webhook | None, *, replacing: int | None
    ) -> bool:
        """Keep the webhook delivery made in the channel (``None``: forget it, after
        Discord said it is gone). Only when the one kept is still ``replacing`` (its
        id; ``None``: none kept), so two workers never undo each other; False if not."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE subscriptions SET webhook_id = :webhook_id, webhook_token = :token
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                AND webhook_id IS :replacing
                """,
                {
                    "webhook_id": webhook.id if webhook else None,
                    "token": webhook.token if webhook else None,
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                    "replacing": replacing,
                },
            )
            return cursor.rowcount > 0

    async def lose_webhook(self, guild_id: int, channel_id: int, webhook_id: int) -> int:
        """Discord says the channel's webhook ``webhook_id`` is gone: forget it; returns
        how many webhooks the channel lost since its subscription was last resumed
        (0: it was not the one kept any more)."""
        async with self._database.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE subscriptions
                SET webhook_id = NULL, webhook_token = NULL, webhooks_lost = webhooks_lost + 1
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                AND webhook_id = :webhook_id
                """,
                {"guild_id": guild_id, "channel_id": channel_id, "webhook_id": webhook_id},
            )
            if cursor.rowcount == 0:
                return 0
            lost = await fetch_value(
                db,
                """
                SELECT webhooks_lost FROM subscriptions
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                """,
                {"guild_id": guild_id, "channel_id": channel_id},
            )
            return int(lost)

    async def webhook(self, guild_id: int, channel_id: int) -> Webhook | None:
        """The webhook kept for a subscribed channel, if any (a secret: see :class:`Webhook`)."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db,
                """
                SELECT webhook_id, webhook_token FROM subscriptions
                WHERE guild_id = :guild_id AND channel_id = :channel_id
                AND webhook_id IS NOT NULL
                """,
                {"guild_id": guild_id, "channel_id": channel_id},
            )
        return Webhook(row["webhook_id"], row["webhook_token"]) if row else None

    async def active_subscriptions(self) -> list[Subscription]:
        """Every server's active subscriptions, by id: for delivery's fan-out only."""
        async with self._database.reading() as db:
            rows = await fetch_all(db, f"{_SUBSCRIPTION} WHERE s.paused_at IS NULL ORDER BY s.id")
        return [_subscription(row) for row in rows]

    async def remove_guild(self, guild_id: int) -> int:
        """The bot left a server: forget its subscriptions, settings and published facts;
        returns how many subscriptions."""
        params = {"guild_id": guild_id}
        async with self._database.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE guild_id = :guild_id", params
            )
            await db.execute("DELETE FROM guild_settings WHERE guild_id = :guild_id", params)
            await db.execute("DELETE FROM channel_facts WHERE guild_id = :guild_id", params)
            await db.execute("DELETE FROM guild_facts WHERE guild_id = :guild_id", params)
            return cursor.rowcount

    async def remove_channel(self, channel_id: int) -> int:
        """A channel or thread was deleted: forget its subscription (and its published
        facts); returns how many (0/1)."""
        params = {"channel_id": channel_id}
        async with self._database.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE channel_id = :channel_id", params
            )
            await db.execute("DELETE FROM channel_facts WHERE channel_id = :channel_id", params)
            return cursor.rowcount

    # -- guild settings ----------------------------------------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        """A server's settings (the defaults if it never changed any)."""
        async with self._database.reading() as db:
            return await _settings(db, guild_id)

    async def set_guild_settings(
        self,
        guild_id: int,
        *,
        edit_on_update: bool | None = None,
        color: int | None = None,
        clear_color: bool = False,
        notices_channel_id: int | None = None,
        clear_notices_channel: bool = False,
    ) -> GuildSettings:
        """Change the given settings (``None``: leave as is); returns them all.

        ``clear_color`` goes back to the bot's default colour, ``clear_notices_channel``
        to notices in the system channel. Raises :class:`SubscriptionError` for a colour
        outside 0x000000-0xFFFFFF.
        """
        if color is not None and not 0 <= color <= MAX_COLOR:
            raise SubscriptionError(f"A color is between #000000 and #FFFFFF, not {color}.")
        if clear_color and color is not None:
            raise ValueError("give a color or clear_color, not both")
        if clear_notices_channel and notices_channel_id is not None:
            raise ValueError("give a notices channel or clear_notices_channel, not both")
        async with self._database.transaction() as db:
            current = await _settings(db, guild_id)
            edit = current.edit_on_update if edit_on_update is None else edit_on_update
            new_color = None if clear_color else (current.color if color is None else color)
            notices = (
                None if clear_notices_channel else notices_channel_id or current.notices_channel_id
            )
            await db.execute(
                """
                INSERT INTO guild_settings (guild_id, edit_on_update, color, notices_channel_id)
                VALUES (:guild_id, :edit_on_update, :color, :notices_channel_id)
                ON CONFLICT (guild_id) DO UPDATE SET
                    edit_on_update = excluded.edit_on_update,
                    color = excluded.color,
                    notices_channel_id = excluded.notices_channel_id
                """,
                {
                    "guild_id": guild_id,
                    "edit_on_update": int(edit),
                    "color": new_color,
                    "notices_channel_id": notices,
                },
            )
        return GuildSettings(guild_id, edit, new_color, notices)
