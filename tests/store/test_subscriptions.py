"""Subscriptions and guild settings: CRUD, guild scoping, pause/resume, matching."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.articles.model import category_key, normalise_tag
from bot.store import (
    Filter,
    GuildSettings,
    Identity,
    Store,
    Subscription,
    SubscriptionError,
    Webhook,
)
from bot.store.subscriptions import MAX_TAGS, clean_tags, split_tags
from tests.store.helpers import DAY, T0

GUILD_A, GUILD_B = 1_000_000_000_000_000_001, 1_000_000_000_000_000_002
NEWS, SPORT, OTHER = 2_000_000_000_000_000_001, 2_000_000_000_000_000_002, 2_000_000_000_000_000_003
MOD, MOD_B = 3_000_000_000_000_000_001, 3_000_000_000_000_000_002
ROLE = 4_000_000_000_000_000_001


async def sub(
    store: Store,
    guild: int = GUILD_A,
    channel: int = NEWS,
    *,
    tags: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    role: int | None = None,
    by: int = MOD,
    now: datetime = T0,
) -> tuple[Subscription, bool]:
    """Subscribe with every filter given (the whole subscription replaced); returns it
    and whether it is new."""
    found, before = await store.subscribe(
        guild,
        channel,
        tags=tags,
        exclude_tags=exclude,
        mention_role_id=role,
        clear_mention=role is None,
        by_user_id=by,
        now=now,
    )
    return found, before is None


def keys(*tags: str) -> frozenset[str]:
    return frozenset(normalise_tag(t) for t in tags)


# -- create, read, update, delete ------------------------------------------------


async def test_subscribe_creates_and_reads_back(store: Store) -> None:
    created, is_new = await sub(store, tags=("Energy", "Climate"), exclude=("Opinion",), role=ROLE)
    assert is_new
    assert created.guild_id == GUILD_A and created.channel_id == NEWS
    assert created.filters[0].tags == ("Energy", "Climate")
    assert created.filters[0].exclude_tags == ("Opinion",)
    assert created.filters[0].mention_role_id == ROLE
    assert created.active and created.paused_reason is None and created.paused_at is None
    assert created.created_by == MOD
    assert created.created_at == created.updated_at == T0
    assert await store.get_subscription(GUILD_A, NEWS) == created
    assert await store.subscriptions(GUILD_A) == [created]
    assert await store.active_subscriptions() == [created]


async def test_subscribe_without_filters_gets_everything(store: Store) -> None:
    created, _ = await sub(store)
    assert (
        created.filters[0].tags == ()
        and created.filters[0].exclude_tags == ()
        and created.filters[0].mention_role_id is None
    )
    assert created.matches(frozenset()) and created.matches(keys("anything"))


async def test_resubscribing_updates_in_place(store: Store) -> None:
    first, _ = await sub(store, tags=("Energy",), role=ROLE)
    second, is_new = await sub(
        store, tags=("Sport",), exclude=("Football",), role=None, by=MOD_B, now=T0 + DAY
    )
    assert not is_new
    assert second.id == first.id  # rows referencing it (deliveries) survive the edit
    assert second.filters[0].tags == ("Sport",) and second.filters[0].exclude_tags == ("Football",)
    assert second.filters[0].mention_role_id is None
    assert second.created_by == MOD and second.created_at == T0  # the creator stays
    assert second.updated_at == T0 + DAY
    assert await store.subscriptions(GUILD_A) == [second]


async def test_resubscribing_never_resumes_a_paused_subscription(store: Store) -> None:
    await sub(store)
    assert await store.pause_subscription(GUILD_A, NEWS, "Missing Permissions", T0)
    again, is_new = await sub(store, tags=("Energy",), now=T0 + DAY)
    assert not is_new and not again.active
    assert again.paused_reason == "Missing Permissions" and again.paused_at == T0
    assert again.filters[0].tags == ("Energy",)


async def test_resubscribing_changes_only_what_is_given(store: Store) -> None:
    first, _ = await sub(store, tags=("Energy",), exclude=("Opinion",), role=ROLE)
    # Only the mention: the filters stay.
    other_role = ROLE + 1
    second, before = await store.subscribe(
        GUILD_A, NEWS, mention_role_id=other_role, by_user_id=MOD_B, now=T0 + DAY
    )
    assert before == first
    assert second.filters[0].tags == ("Energy",) and second.filters[0].exclude_tags == ("Opinion",)
    assert second.filters[0].mention_role_id == other_role
    # Only the tags: the mention and the exclusions stay.
    third, _ = await store.subscribe(GUILD_A, NEWS, tags=("Space",), by_user_id=MOD, now=T0)
    assert third.filters[0].tags == ("Space",) and third.filters[0].exclude_tags == ("Opinion",)
    assert third.filters[0].mention_role_id == other_role
    # Nothing given: nothing changes but the time of the edit.
    fourth, _ = await store.subscribe(GUILD_A, NEWS, by_user_id=MOD, now=T0 + 2 * DAY)
    assert replace(fourth, updated_at=third.updated_at) == third
    # An empty list means every article again; clear_mention drops the ping.
    fifth, _ = await store.subscribe(
        GUILD_A, NEWS, tags=(), clear_mention=True, by_user_id=MOD, now=T0
    )
    assert fifth.filters[0].tags == () and fifth.filters[0].exclude_tags == ("Opinion",)
    assert fifth.filters[0].mention_role_id is None
    with pytest.raises(ValueError, match="not both"):
        await store.subscribe(
            GUILD_A, NEWS, mention_role_id=ROLE, clear_mention=True, by_user_id=MOD, now=T0
        )


async def test_a_kept_filter_is_checked_with_the_new_one(store: Store) -> None:
    await sub(store, tags=("Energy",))
    with pytest.raises(SubscriptionError, match="both wanted and excluded"):
        await store.subscribe(GUILD_A, NEWS, exclude_tags=("energy",), by_user_id=MOD, now=T0)
    found = await store.get_subscription(GUILD_A, NEWS)
    assert found is not None and found.filters[0].exclude_tags == ()


async def test_tags_are_cleaned(store: Store) -> None:
    created, _ = await sub(store, tags=(" Energy ", "energy", "", "Climate  Change", "  "))
    assert created.filters[0].tags == ("Energy", "Climate Change")


async def test_filters_the_store_refuses(store: Store) -> None:
    with pytest.raises(SubscriptionError, match="both wanted and excluded"):
        await sub(store, tags=("Energy",), exclude=("ENERGY",))
    with pytest.raises(SubscriptionError, match=f"At most {MAX_TAGS}"):
        await sub(store, tags=tuple(f"t{i}" for i in range(MAX_TAGS + 1)))
    with pytest.raises(SubscriptionError, match="at most 100 characters"):
        await sub(store, exclude=("x" * 101,))
    assert await store.subscriptions(GUILD_A) == []


async def test_odd_text_is_stored(store: Store) -> None:
    created, _ = await sub(store, tags=("Café ☕", "bad \ud800 surrogate"))
    assert created.filters[0].tags[0] == "Café ☕"
    assert (await store.get_subscription(GUILD_A, NEWS)) == created


async def test_unsubscribe(store: Store) -> None:
    await sub(store)
    await sub(store, channel=SPORT)
    assert await store.unsubscribe(GUILD_A, NEWS)
    assert not await store.unsubscribe(GUILD_A, NEWS)
    assert [s.channel_id for s in await store.subscriptions(GUILD_A)] == [SPORT]
    assert await store.get_subscription(GUILD_A, NEWS) is None


async def test_list_is_per_guild_oldest_first(store: Store) -> None:
    await sub(store, channel=SPORT)
    await sub(store, channel=NEWS)
    await sub(store, GUILD_B, OTHER, by=MOD_B)
    assert [s.channel_id for s in await store.subscriptions(GUILD_A)] == [SPORT, NEWS]
    assert [s.channel_id for s in await store.subscriptions(GUILD_B)] == [OTHER]
    assert await store.subscriptions(12345) == []


# -- guild scoping ------------------------------------------------------------------


async def test_another_guild_can_never_read_or_change(store: Store) -> None:
    original, _ = await sub(store, tags=("Energy",), role=ROLE)
    assert await store.get_subscription(GUILD_B, NEWS) is None
    assert await store.subscriptions(GUILD_B) == []
    assert not await store.unsubscribe(GUILD_B, NEWS)
    assert not await store.pause_subscription(GUILD_B, NEWS, "hostile", T0 + DAY)
    await store.pause_subscription(GUILD_A, NEWS, "own pause", T0)
    assert not await store.resume_subscription(GUILD_B, NEWS, T0 + DAY)
    with pytest.raises(SubscriptionError, match="not in this server"):
        await sub(store, GUILD_B, NEWS, tags=("Sport",), by=MOD_B)
    after = await store.get_subscription(GUILD_A, NEWS)
    assert after is not None
    assert (
        after.filters[0].tags == original.filters[0].tags
        and after.filters[0].mention_role_id == ROLE
    )
    assert after.paused_reason == "own pause" and after.created_by == MOD
    assert await store.remove_guild(GUILD_B) == 0
    assert await store.get_subscription(GUILD_A, NEWS) is not None


async def test_settings_are_per_guild(store: Store) -> None:
    await store.set_guild_settings(GUILD_A, edit_on_update=False, color=0x1E90FF)
    assert await store.guild_settings(GUILD_B) == GuildSettings(GUILD_B)


async def test_the_notices_channel_is_kept_until_cleared(store: Store) -> None:
    await store.set_guild_settings(GUILD_A, notices_channel_id=SPORT)
    kept = await store.set_guild_settings(GUILD_A, color=0x123456)
    assert kept.notices_channel_id == SPORT
    cleared = await store.set_guild_settings(GUILD_A, clear_notices_channel=True)
    assert cleared == GuildSettings(GUILD_A, color=0x123456)
    assert await store.guild_settings(GUILD_A) == cleared
    with pytest.raises(ValueError, match="not both"):
        await store.set_guild_settings(GUILD_A, notices_channel_id=NEWS, clear_notices_channel=True)
    assert await store.guild_settings(GUILD_A) == cleared


# -- pause and resume ---------------------------------------------------------------


async def test_pause_and_resume(store: Store) -> None:
    await sub(store)
    await sub(store, channel=SPORT)
    assert await store.pause_subscription(GUILD_A, NEWS, "  Missing   Permissions ", T0 + DAY)
    paused = await store.get_subscription(GUILD_A, NEWS)
    assert paused is not None and not paused.active
    assert paused.paused_reason == "Missing Permissions"
    assert paused.paused_at == paused.updated_at == T0 + DAY
    assert [s.channel_id for s in await store.active_subscriptions()] == [SPORT]
    assert len(await store.subscriptions(GUILD_A)) == 2  # a paused one is still listed

    # Pausing again keeps the first reason: it is the one that says what to fix.
    assert not await store.pause_subscription(GUILD_A, NEWS, "later", T0 + 2 * DAY)
    again = await store.get_subscription(GUILD_A, NEWS)
    assert again is not None and again.paused_reason == "Missing Permissions"

    assert await store.resume_subscription(GUILD_A, NEWS, T0 + 3 * DAY)
    resumed = await store.get_subscription(GUILD_A, NEWS)
    assert resumed is not None and resumed.active and resumed.paused_at is None
    assert resumed.updated_at == T0 + 3 * DAY
    assert not await store.resume_subscription(GUILD_A, NEWS, T0 + 4 * DAY)
    assert [s.channel_id for s in await store.active_subscriptions()] == [NEWS, SPORT]


async def test_pause_of_nothing(store: Store) -> None:
    assert not await store.pause_subscription(GUILD_A, NEWS, "x", T0)
    assert not await store.resume_subscription(GUILD_A, NEWS, T0)


async def test_pause_reason_is_bounded(store: Store) -> None:
    await sub(store)
    assert await store.pause_subscription(GUILD_A, NEWS, "   ", T0)
    paused = await store.get_subscription(GUILD_A, NEWS)
    assert paused is not None and paused.paused_reason == "no reason given"
    await store.resume_subscription(GUILD_A, NEWS, T0)
    await store.pause_subscription(GUILD_A, NEWS, "x" * 5000, T0)
    paused = await store.get_subscription(GUILD_A, NEWS)
    assert paused is not None and paused.paused_reason is not None
    assert len(paused.paused_reason) == 200


async def test_active_subscriptions_span_every_guild(store: Store) -> None:
    await sub(store)
    await sub(store, GUILD_B, OTHER, by=MOD_B)
    assert {(s.guild_id, s.channel_id) for s in await store.active_subscriptions()} == {
        (GUILD_A, NEWS),
        (GUILD_B, OTHER),
    }


# -- channels and guilds going away -----------------------------------------------


async def test_remove_channel(store: Store) -> None:
    await sub(store)
    await sub(store, channel=SPORT)
    assert await store.remove_channel(NEWS) == 1
    assert await store.remove_channel(NEWS) == 0
    assert [s.channel_id for s in await store.subscriptions(GUILD_A)] == [SPORT]


async def test_remove_guild(store: Store) -> None:
    await sub(store)
    await sub(store, channel=SPORT)
    await sub(store, GUILD_B, OTHER, by=MOD_B)
    await store.set_guild_settings(GUILD_A, color=0x123456)
    await store.set_guild_settings(GUILD_B, color=0x654321)
    assert await store.remove_guild(GUILD_A) == 2
    assert await store.subscriptions(GUILD_A) == []
    assert await store.guild_settings(GUILD_A) == GuildSettings(GUILD_A)  # forgotten too
    assert [s.channel_id for s in await store.subscriptions(GUILD_B)] == [OTHER]
    assert (await store.guild_settings(GUILD_B)).color == 0x654321
    # Subscribing again after re-joining starts afresh.
    _, is_new = await sub(store)
    assert is_new


async def test_deleting_a_subscription_cascades_to_rows_referencing_it(tmp_path: Path) -> None:
    """What delivery's table will rely on: ON DELETE CASCADE with foreign keys on."""
    async with await Store.open(tmp_path / "news.db") as store:
        first, _ = await sub(store)
        second, _ = await sub(store, channel=SPORT)
        db = store._connection()
        await db.execute(
            "CREATE TABLE probe (subscription_id INTEGER NOT NULL "
            "REFERENCES subscriptions (id) ON DELETE CASCADE)"
        )
        await db.executemany("INSERT INTO probe VALUES (?)", [(first.id,), (second.id,)])
        # An update (re-subscribe, pause) keeps the rows; a removal takes them away.
        await sub(store, tags=("Sport",))
        await store.pause_subscription(GUILD_A, NEWS, "x", T0)
        assert len(list(await db.execute_fetchall("SELECT * FROM probe"))) == 2
        await store.unsubscribe(GUILD_A, NEWS)
        assert [r[0] for r in await db.execute_fetchall("SELECT * FROM probe")] == [second.id]
        await store.remove_channel(SPORT)
        assert list(await db.execute_fetchall("SELECT * FROM probe")) == []


async def test_schema_enforces_one_subscription_per_channel(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    async with await Store.open(path) as store:
        await sub(store)
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO subscriptions (guild_id, channel_id, created_by, created_at, "
            "updated_at) VALUES (?, ?, 1, 0, 0)",
            (GUILD_B, NEWS),
        )
    with sqlite3.connect(path) as db:
        plan = " ".join(
            str(r)
            for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM subscriptions WHERE guild_id = ?", (GUILD_A,)
            )
        )
    assert "subscriptions_guild" in plan


# -- matching -----------------------------------------------------------------------


def make(
    tags: tuple[str, ...] = (), exclude: tuple[str, ...] = (), categories: tuple[str, ...] = ()
) -> Subscription:
    return Subscription(
        id=1,
        guild_id=GUILD_A,
        channel_id=NEWS,
        filters=(Filter(1, tags, exclude, categories),),
        paused_reason=None,
        paused_at=None,
        created_by=MOD,
        created_at=T0,
        updated_at=T0,
    )


def test_matching_any_tag_case_insensitively() -> None:
    s = make(tags=("Energy", "Climate  Change"))
    assert s.matches(keys("energy"))
    assert s.matches(keys("CLIMATE CHANGE", "Sport"))
    assert not s.matches(keys("Sport"))
    assert not s.matches(frozenset())  # untagged articles do not match a tag filter


def test_matching_exclude_wins() -> None:
    s = make(tags=("Energy",), exclude=("Opinion",))
    assert s.matches(keys("Energy"))
    assert not s.matches(keys("Energy", "opinion"))
    everything_but = make(exclude=("Sponsored",))
    assert everything_but.matches(keys("Energy"))
    assert everything_but.matches(frozenset())
    assert not everything_but.matches(keys("SPONSORED"))


def cats(*categories: str) -> frozenset[str]:
    return frozenset(category_key(c) for c in categories)


def test_matching_categories_like_tags() -> None:
    politics = make(categories=("Politics",))
    assert politics.matches(frozenset(), cats("POLITICS"))
    assert not politics.matches(frozenset(), cats("Economy"))
    # A tag spelled like the category is not the category (and the other way round).
    assert not politics.matches(keys("Politics"), frozenset())
    assert not make(tags=("Politics",)).matches(frozenset(), cats("Politics"))
    # Tags or categories: either is enough; an excluded tag still wins.
    either = make(tags=("Energy",), exclude=("Opinion",), categories=("Politics",))
    assert either.matches(keys("Energy"), cats("Sport"))
    assert either.matches(keys("Sport"), cats("Politics"))
    assert not either.matches(keys("Opinion"), cats("Politics"))


async def test_categories_are_stored_and_kept(store: Store) -> None:
    first, _ = await store.subscribe(
        GUILD_A, NEWS, categories=("Politics", " politics ", "Economy"), by_user_id=MOD, now=T0
    )
    assert first.filters[0].categories == ("Politics", "Economy")
    second, _ = await store.subscribe(GUILD_A, NEWS, tags=("Energy",), by_user_id=MOD, now=T0)
    assert second.filters[0].categories == ("Politics", "Economy") and second.filters[0].tags == (
        "Energy",
    )
    with pytest.raises(SubscriptionError, match="categories"):
        await store.subscribe(
            GUILD_A, NEWS, categories=[str(n) for n in range(26)], by_user_id=MOD, now=T0
        )


async def test_a_channel_has_several_filters(store: Store) -> None:
    await store.subscribe(
        GUILD_A, NEWS, tags=("Politics",), mention_role_id=ROLE, by_user_id=MOD, now=T0
    )
    both, before = await store.subscribe(
        GUILD_A, NEWS, number=3, tags=("Energy",), mention_role_id=ROLE + 1, by_user_id=MOD, now=T0
    )
    assert before is not None and before.id == both.id and before.filter(3) is None
    assert [(f.number, f.tags, f.mention_role_id) for f in both.filters] == [
        (1, ("Politics",), ROLE),
        (3, ("Energy",), ROLE + 1),
    ]
    # One subscription: one row for the channel, however many filters.
    assert [s.id for s in await store.subscriptions(GUILD_A)] == [both.id]
    assert both.matches(keys("Energy")) and both.matches(keys("politics"))
    assert both.mentions(keys("Energy", "Politics")) == (ROLE, ROLE + 1)
    assert both.mentions(keys("Energy")) == (ROLE + 1,)
    assert both.mentions(keys("Sport")) == ()
    with pytest.raises(SubscriptionError, match="filters 1 to 10"):
        await store.subscribe(GUILD_A, NEWS, number=11, by_user_id=MOD, now=T0)

    # Removing a filter keeps the others; removing the last one, the subscription.
    assert not await store.unsubscribe(GUILD_A, NEWS, 2)
    assert await store.unsubscribe(GUILD_A, NEWS, 1)
    left = await store.get_subscription(GUILD_A, NEWS)
    assert left is not None and [f.number for f in left.filters] == [3]
    assert await store.unsubscribe(GUILD_A, NEWS, 3)
    assert await store.get_subscription(GUILD_A, NEWS) is None
    assert not await store.unsubscribe(GUILD_A, NEWS, 3)


def test_one_role_is_pinged_once() -> None:
    s = replace(
        make(),
        filters=(Filter(1, ("A",), mention_role_id=ROLE), Filter(2, ("B",), mention_role_id=ROLE)),
    )
    assert s.mentions(keys("A", "B")) == (ROLE,)


def test_matching_empty_tags_is_everything() -> None:
    s = make()
    assert s.matches(frozenset()) and s.matches(keys("Anything", "at all"))


def test_paused_is_not_active_but_still_matches() -> None:
    s = make()
    assert s.active
    paused = replace(s, paused_reason="x", paused_at=T0)
    assert not paused.active and paused.matches(frozenset())
    assert paused.filters == s.filters


@given(
    tags=st.lists(st.text(max_size=8), max_size=4),
    exclude=st.lists(st.text(max_size=8), max_size=4),
    article=st.lists(st.text(max_size=8), max_size=4),
)
def test_matching_rule(tags: list[str], exclude: list[str], article: list[str]) -> None:
    s = make(tuple(tags), tuple(exclude))
    article_keys = frozenset(normalise_tag(t) for t in article)
    wanted = {normalise_tag(t) for t in tags}
    unwanted = {normalise_tag(t) for t in exclude}
    expected = not (unwanted & article_keys) and (not wanted or bool(wanted & article_keys))
    assert s.matches(article_keys) == expected


def test_split_tags() -> None:
    assert split_tags("Energy, climate,, energy , Climate   change") == (
        "Energy",
        "climate",
        "Climate change",
    )
    assert split_tags(None) == () and split_tags(" , ,") == ()
    assert clean_tags(["A", "a", "B"]) == ("A", "B")


# -- guild settings -------------------------------------------------------------------


async def test_guild_settings_defaults_and_updates(store: Store) -> None:
    assert await store.guild_settings(GUILD_A) == GuildSettings(GUILD_A, True, None)
    changed = await store.set_guild_settings(GUILD_A, edit_on_update=False)
    assert changed == GuildSettings(GUILD_A, False, None)
    changed = await store.set_guild_settings(GUILD_A, color=0x1E90FF)
    assert changed == GuildSettings(GUILD_A, False, 0x1E90FF)  # the other setting stays
    assert await store.guild_settings(GUILD_A) == changed
    changed = await store.set_guild_settings(GUILD_A, edit_on_update=True)
    assert changed == GuildSettings(GUILD_A, True, 0x1E90FF)
    assert await store.set_guild_settings(GUILD_A) == changed  # nothing given: nothing changes
    cleared = await store.set_guild_settings(GUILD_A, clear_color=True)
    assert cleared == GuildSettings(GUILD_A, True, None)
    assert await store.guild_settings(GUILD_A) == cleared


async def test_the_notices_channel_is_kept_per_server(store: Store) -> None:
    chosen = await store.set_guild_settings(GUILD_A, notices_channel_id=OTHER)
    assert chosen == GuildSettings(GUILD_A, True, None, OTHER)
    # Other settings changed later leave it; another server has its own.
    assert (await store.set_guild_settings(GUILD_A, color=1)).notices_channel_id == OTHER
    assert (await store.guild_settings(GUILD_B)).notices_channel_id is None
    await store.remove_guild(GUILD_A)
    assert (await store.guild_settings(GUILD_A)).notices_channel_id is None


async def test_guild_settings_refuse_bad_colours(store: Store) -> None:
    for bad in (-1, 0x1000000):
        with pytest.raises(SubscriptionError, match="color"):
            await store.set_guild_settings(GUILD_A, color=bad)
    assert await store.set_guild_settings(GUILD_A, color=0) == GuildSettings(GUILD_A, True, 0)
    assert (await store.set_guild_settings(GUILD_A, color=0xFFFFFF)).color == 0xFFFFFF
    with pytest.raises(ValueError, match="not both"):
        await store.set_guild_settings(GUILD_A, color=1, clear_color=True)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await sub(store, now=T0.replace(tzinfo=None))


# -- identity and the channel's webhook ----------------------------------------------


async def test_identity_is_kept_unless_given(store: Store) -> None:
    created, _ = await sub(store)
    assert created.identity is Identity.BOT
    changed, _ = await store.subscribe(
        GUILD_A, NEWS, by_user_id=MOD, now=T0, identity=Identity.WEBHOOK
    )
    assert changed.identity is Identity.WEBHOOK
    again, _ = await store.subscribe(GUILD_A, NEWS, by_user_id=MOD, now=T0, tags=["Energy"])
    assert again.identity is Identity.WEBHOOK
    back, _ = await store.subscribe(GUILD_A, NEWS, by_user_id=MOD, now=T0, identity=Identity.BOT)
    assert back.identity is Identity.BOT
    fresh, _ = await store.subscribe(
        GUILD_A, SPORT, by_user_id=MOD, now=T0, identity=Identity.WEBHOOK
    )
    assert fresh.identity is Identity.WEBHOOK


async def test_the_channel_webhook_is_kept_forgotten_and_counted(store: Store) -> None:
    await sub(store)
    assert await store.webhook(GUILD_A, NEWS) is None
    first = Webhook(11, "secret-one")
    assert "secret-one" not in repr(first)
    assert await store.set_webhook(GUILD_A, NEWS, first, replacing=None)
    # Only over the one it replaces: a second maker loses.
    assert not await store.set_webhook(GUILD_A, NEWS, Webhook(12, "other"), replacing=None)
    assert await store.webhook(GUILD_A, NEWS) == first
    assert await store.webhook(GUILD_B, NEWS) is None  # another server's view: nothing
    assert await store.lose_webhook(GUILD_A, NEWS, 99) == 0  # not the one kept
    assert await store.lose_webhook(GUILD_A, NEWS, 11) == 1
    assert await store.webhook(GUILD_A, NEWS) is None
    assert await store.set_webhook(GUILD_A, NEWS, Webhook(13, "t"), replacing=None)
    assert await store.lose_webhook(GUILD_A, NEWS, 13) == 2
    # Resuming starts the count again.
    assert await store.pause_subscription(GUILD_A, NEWS, "webhook deleted again", T0)
    assert await store.resume_subscription(GUILD_A, NEWS, T0)
    assert await store.set_webhook(GUILD_A, NEWS, Webhook(14, "t"), replacing=None)
    assert await store.lose_webhook(GUILD_A, NEWS, 14) == 1
