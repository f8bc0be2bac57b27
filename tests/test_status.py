"""``newsbot status`` on databases in each state: empty, healthy, a failing source, a
post waiting too long, unreadable; as text and as JSON, with its exit codes, beside a
store that is open for writing (a running bot) and with none."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.status import run_status
from bot.store import SourceKind, Store
from tests.store.helpers import art, item

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CONTENT = "/srv/site/content"
FEED = "https://reader:s3cret@example.org/feed.xml"


@dataclass
class World:
    path: str | Path  # a SQLite file, or a PostgreSQL URL (tests/store/test_status.py)
    store: Store  # open for writing, as a running bot holds it


async def build(path: str | Path) -> World:
    """A bot's database: a content folder whose first scan found two articles, and
    which gave a new one 2 minutes ago, announced and fanned out to four channels
    in two servers: two posts sent, one pending, one held in a paused channel."""
    store = await Store.open(path)
    content = await store.source(SourceKind.CONTENT, CONTENT)
    await store.record_files(
        content.id,
        [item("old.md", art("/old/")), item("draft.md", art("/draft/", draft=True))],
        NOW - timedelta(hours=3),
    )
    await store.mark_baseline_done(content.id, NOW - timedelta(hours=3))
    queued = NOW - timedelta(minutes=2)
    [result] = await store.record_files(
        content.id, [item("new.md", art("/new/", title="Grid Holds Up"))], queued
    )
    assert result.announced and result.article_id is not None
    [announcement] = await store.pending_announcements(10)
    subscriptions = []
    for guild, channel in ((1, 11), (1, 12), (1, 13), (2, 21)):
        subscription, _ = await store.subscribe(
            guild, channel, tags=(), exclude_tags=(), mention_role_id=None, by_user_id=5, now=queued
        )
        subscriptions.append(subscription)
    targets = [(s.id, s.guild_id, s.channel_id, f"n{s.id}") for s in subscriptions]
    await store.fan_out(announcement.id, result.article_id, targets, queued)
    deliveries = await store.deliveries(article_id=result.article_id)
    for delivery in deliveries[:2]:
        await store.mark_sent(
            delivery.id,
            message_id=delivery.channel_id * 10,
            message_channel_id=delivery.channel_id,
            version=1,
            crosspost=False,
            now=NOW - timedelta(minutes=1),
        )
    await store.pause_subscription(2, 21, "I'm missing a permission there", queued)
    return World(path, store)


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    world = await build(tmp_path / "newsbot.sqlite3")
    yield world
    await world.store.close()


async def status(path: str | Path, *, as_json: bool, now: datetime = NOW) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = await run_status(path, as_json=as_json, now=now, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def test_a_healthy_bot_as_text(world: World) -> None:
    code, text, err = await status(world.path, as_json=False)
    assert (code, err) == (0, "")
    lines = text.splitlines()
    assert lines[0] == "newsbot: healthy"
    assert f"  content  {CONTENT}" in lines
    assert "           state: ok" in lines
    assert "           last success: 2026-12-06 11:58:00 UTC (2 min ago)" in lines
    assert "Articles: 1 draft, 2 published" in lines
    assert any(
        line.startswith("  2026-12-06 11:58:00 UTC (2 min ago)  published ")
        and "'Grid Holds Up' (/new/): 2 channels, 2 waiting" in line
        for line in lines
    ), text
    assert (
        "Deliveries: 1 pending (oldest queued 2026-12-06 11:58:00 UTC (2 min ago)), "
        "1 held for paused channels, 0 failed"
    ) in lines
    server = lines.index("  server 2:")
    assert lines[server + 1] == (
        "    channel 21, since 2026-12-06 11:58:00 UTC (2 min ago): I'm missing a permission there"
    )


async def test_a_healthy_bot_as_json(world: World) -> None:
    code, out, _ = await status(world.path, as_json=True)
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "healthy" and report["problems"] == []
    assert report["sources"] == [
        {
            "kind": "content",
            "source": CONTENT,
            "state": "ok",
            "last_success_at": "2026-12-06T11:58:00+00:00",
            "last_error": None,
            "failures": 0,
            "failing_since": None,
        }
    ]
    assert report["articles"] == {"draft": 1, "published": 2}
    [announcement] = report["announcements"]
    assert announcement["kind"] == "published" and announcement["article_id"] == "/new/"
    assert (announcement["channels_reached"], announcement["channels_waiting"]) == (2, 2)
    assert report["deliveries"] == {
        "pending": 1,
        "oldest_pending_at": "2026-12-06T11:58:00+00:00",
        "oldest_pending_seconds": 120.0,
        "held": 1,
        "failed": 0,
    }
    assert report["paused"] == [
        {
            "guild_id": "2",
            "channel_id": "21",
            "reason": "I'm missing a permission there",
            "paused_at": "2026-12-06T11:58:00+00:00",
        }
    ]


async def test_a_post_waiting_over_ten_minutes_needs_attention(world: World) -> None:
    ten_minutes = NOW + timedelta(minutes=8)  # queued at NOW - 2 min
    assert (await status(world.path, as_json=False, now=ten_minutes))[0] == 0
    later = ten_minutes + timedelta(seconds=1)
    code, text, _ = await status(world.path, as_json=False, now=later)
    assert code == 1
    assert text.splitlines()[0] == (
        "newsbot: needs attention: a post has waited 10 min to be delivered"
    )
    code, out, _ = await status(world.path, as_json=True, now=NOW + timedelta(hours=2))
    assert code == 1
    assert json.loads(out)["problems"] == ["a post has waited 2 h 2 min to be delivered"]


async def test_a_failing_feed_needs_attention_and_its_credentials_stay_hidden(
    world: World,
) -> None:
    store = world.store
    feed = await store.source(SourceKind.FEED, FEED)
    polled = NOW - timedelta(minutes=30)
    await store.save_feed_state(
        feed.id, etag=None, last_modified=None, failures=0, next_attempt_at=None,
        failing_since=None, last_error=None, last_polled_at=polled,
    )  # fmt: skip
    await store.save_feed_state(
        feed.id, etag=None, last_modified=None, failures=3, next_attempt_at=None,
        failing_since=NOW - timedelta(minutes=20), last_error="HTTP 503", last_polled_at=NOW,
    )  # fmt: skip
    code, text, _ = await status(world.path, as_json=False)
    assert code == 1
    assert "s3cret" not in text
    shown = "https://***@example.org/feed.xml"  # as the logs show it
    assert text.splitlines()[0] == f"newsbot: needs attention: source {shown} is failing"
    assert (
        "           state: failing since 2026-12-06 11:40:00 UTC (20 min ago), 3 failed attempts"
    ) in text.splitlines()
    assert "           last success: 2026-12-06 11:30:00 UTC (30 min ago)" in text.splitlines()
    assert "           last error: HTTP 503" in text.splitlines()
    code, out, _ = await status(world.path, as_json=True)
    assert code == 1 and "s3cret" not in out
    [_, source] = json.loads(out)["sources"]
    assert source == {
        "kind": "feed",
        "source": shown,
        "state": "failing",
        "last_success_at": "2026-12-06T11:30:00+00:00",
        "last_error": "HTTP 503",
        "failures": 3,
        "failing_since": "2026-12-06T11:40:00+00:00",
    }


async def test_a_database_the_bot_has_only_just_created(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    await (await Store.open(path)).close()
    code, text, _ = await status(path, as_json=False)
    assert code == 0
    assert "  (none yet: the bot has not run with a source)" in text.splitlines()
    assert "Articles: none" in text.splitlines()
    code, out, _ = await status(path, as_json=True)
    report = json.loads(out)
    assert (code, report["sources"], report["announcements"], report["paused"]) == (0, [], [], [])
    assert report["deliveries"]["pending"] == 0


async def test_status_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.sqlite3"
    world = await build(path)
    await world.store.close()
    before = path.read_bytes(), path.stat().st_mtime_ns
    assert (await status(path, as_json=True))[0] == 0
    # (SQLite may open the -wal and -shm files beside a WAL database; it writes no data.)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("kind", ["missing", "directory", "not a database", "newer", "older"])
async def test_an_unreadable_database_is_exit_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "newsbot.sqlite3"
    if kind == "directory":
        path.mkdir()
    elif kind == "not a database":
        path.write_bytes(b"this is not SQLite\n" * 100)
    elif kind in ("newer", "older"):
        await (await Store.open(path)).close()
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {999 if kind == 'newer' else 1}")
        db.close()
    code, text, err = await status(path, as_json=False)
    assert (code, text) == (2, "")
    assert err.startswith(f"newsbot status: cannot read the database {path}: ")
    assert err.count("\n") == 1
    code, out, _ = await status(path, as_json=True)
    assert code == 2
    assert json.loads(out) == {"status": "unreadable", "error": err.split(": ", 1)[1].strip()}
    assert path.exists() == (kind != "missing")  # never created


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "newsbot.sqlite3"
    monkeypatch.setenv("NEWSBOT_DATABASE", str(path))
    assert main(["status", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["status"] == "unreadable"
    asyncio.run(_create(path))
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["database"] == str(path)
    assert main(["status"]) == 0
    assert capsys.readouterr().out.startswith("newsbot: healthy\n")


async def _create(path: Path) -> None:
    await (await Store.open(path)).close()
