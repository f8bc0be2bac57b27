"""A channel's facts as published for the leader: written and read back exactly,
anything else refused; used only for a server missing from the cache."""

from __future__ import annotations

import json

import discord
import pytest

from bot.delivery.channels import ChannelFacts, Kind, Target, notice_channels, resolve
from bot.delivery.policy import ForumTag

FORUM = ChannelFacts(
    Target(
        Kind.FORUM,
        missing=("Send Messages in Posts",),
        pingable=(11, 33),
        tags=(ForumTag(1, "énergie", False), ForumTag(2, "grid", True)),
        can_moderate=True,
    ),
    webhook_missing=("Manage Webhooks",),
)
GUILD, CHANNEL = 500, 600


@pytest.mark.parametrize(
    "facts",
    [
        FORUM,
        ChannelFacts(Target(Kind.TEXT)),
        ChannelFacts(Target(Kind.NEWS, pingable=(2**63 - 1,))),
        ChannelFacts(Target(Kind.THREAD, missing=("View Channel",)), ("View Channel",)),
        ChannelFacts(Target(Kind.UNUSABLE)),
    ],
)
def test_facts_read_back_as_written(facts: ChannelFacts) -> None:
    assert ChannelFacts.from_json(facts.to_json()) == facts


def test_the_stored_form_is_compact_json() -> None:
    assert json.loads(FORUM.to_json()) == {
        "kind": "forum",
        "missing": ["Send Messages in Posts"],
        "webhook_missing": ["Manage Webhooks"],
        "pingable": [11, 33],
        "tags": [[1, "énergie", False], [2, "grid", True]],
        "can_moderate": True,
    }
    assert " " not in ChannelFacts(Target(Kind.TEXT)).to_json()


def _with(**changes: object) -> str:
    return json.dumps(json.loads(FORUM.to_json()) | changes)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        '{"kind": "text"}',  # fields missing
        _with(kind="voice"),
        _with(kind=None),
        _with(missing="Send Messages"),  # a string, not a list
        _with(missing=[1]),
        _with(webhook_missing=None),
        _with(pingable=["11"]),
        _with(pingable=[1.5]),
        _with(pingable=[True]),
        _with(tags=[[1, "a"]]),
        _with(tags=[["1", "a", False]]),
        _with(tags=[[1, 2, False]]),
        _with(tags=[[1, "a", "yes"]]),
        _with(tags={"abc": 1}),
        _with(can_moderate=1),
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a channel's facts"):
        ChannelFacts.from_json(text)


def test_the_target_asked_for() -> None:
    assert FORUM.target_for([33, 22, 11], webhook=False) == Target(
        Kind.FORUM,
        missing=("Send Messages in Posts",),
        pingable=(33, 11),  # in the order asked, only those that may be pinged
        tags=FORUM.target.tags,
        can_moderate=True,
    )
    webhook = FORUM.target_for([], webhook=True)
    assert (webhook.missing, webhook.pingable) == (("Manage Webhooks",), ())


async def test_stored_facts_count_only_for_a_server_missing_from_the_cache() -> None:
    client = discord.Client(intents=discord.Intents.none())  # knows no server
    stored = FORUM.to_json()
    assert resolve(client, GUILD, CHANNEL, [11]) == Target(Kind.UNKNOWN)
    assert resolve(client, GUILD, CHANNEL, [11], stored=stored) == FORUM.target_for(
        [11], webhook=False
    )
    assert resolve(client, GUILD, CHANNEL, webhook=True, stored=stored).missing == (
        "Manage Webhooks",
    )
    # Unreadable: tried, as with nothing stored.
    assert resolve(client, GUILD, CHANNEL, stored="{") == Target(Kind.UNKNOWN)

    assert notice_channels(client, GUILD, CHANNEL) == []
    assert notice_channels(client, GUILD, CHANNEL, stored=[]) == []
    # The channel to avoid is left out, and at most `limit` are offered.
    assert notice_channels(client, GUILD, 2, stored=[1, 2, 3, 4]) == [1, 3, 4]
    assert notice_channels(client, GUILD, 9, stored=[1, 2, 3, 4]) == [1, 2, 3]
    assert notice_channels(client, GUILD, 9, limit=1, stored=[1, 2]) == [1]
