"""``newsbot status``: how the bot is doing, read from its database alone.

It opens the database read-only, so it works beside a running bot and with none, and
prints, like ``systemctl status``: each source with its state, last success and last
error; the articles by status; the last announcements and how many channels each
reached; the outbox; paused subscriptions by server. ``--json`` prints the same as one
JSON object. Exit 0 healthy, 1 something needs attention (a failing source, a post
waiting over 10 minutes), 2 the database cannot be read.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

from bot.redaction import redact
from bot.store import SourceRow, Store, StoreError
from bot.store.status import Outbox, PausedSubscription, RecentAnnouncement

#: A post waiting longer than this (in an active channel) needs attention.
STALE_OUTBOX = timedelta(minutes=10)
#: Announcements listed.
RECENT = 10

HEALTHY, ATTENTION, UNREADABLE = 0, 1, 2


def source_state(source: SourceRow) -> str:
    """``failing`` (its last attempt failed), ``starting`` (first scan or poll not
    recorded yet) or ``ok``."""
    if source.failing:
        return "failing"
    if not source.baseline_done:
        return "starting"
    return "ok"


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``newsbot status`` shows, read at ``now``."""

    database: str
    now: datetime
    sources: list[SourceRow]
    articles: dict[str, int]
    announcements: list[RecentAnnouncement]
    outbox: Outbox
    paused: list[PausedSubscription]

    @property
    def problems(self) -> list[str]:
        """What needs attention, one phrase each."""
        found = [
            f"source {redact(s.locator)} is failing"
            for s in self.sources
            if source_state(s) == "failing"
        ]
        oldest = self.outbox.oldest_pending_at
        if oldest is not None and self.now - oldest > STALE_OUTBOX:
            found.append(f"a post has waited {_span(self.now - oldest)} to be delivered")
        return found

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 something needs attention."""
        return ATTENTION if self.problems else HEALTHY


async def read_report(store: Store, database: str, now: datetime) -> Report:
    """Gather the report from ``store``."""
    return Report(
        database=database,
        now=now,
        sources=await store.sources(),
        articles=await store.article_counts(),
        announcements=await store.recent_announcements(RECENT),
        outbox=await store.outbox(),
        paused=await store.paused_subscriptions(),
    )


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    shown = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{shown} ({_span(now - moment)} ago)"


def render_text(report: Report) -> str:
    """The report as ``systemctl status``-like text."""
    now = report.now
    problems = report.problems
    head = "healthy" if not problems else "needs attention: " + "; ".join(problems)
    lines = [
        f"newsbot: {head}",
        f"  Database: {report.database}",
        f"   Checked: {_when(now, now).split(' (')[0]}",
        "",
        "Sources:",
    ]
    if not report.sources:
        lines.append("  (none yet: the bot has not run with a source)")
    for s in report.sources:
        state = source_state(s)
        if state == "failing":
            state += f" since {_when(s.failing_since, now)}, {s.failures} failed attempts"
        lines.append(f"  {s.kind.value:<8} {redact(s.locator)}")
        lines.append(f"           state: {state}")
        lines.append(f"           last success: {_when(s.last_success_at, now)}")
        if s.last_error:
            lines.append(f"           last error: {s.last_error}")
    counts = ", ".join(f"{n} {status}" for status, n in report.articles.items()) or "none"
    lines += ["", f"Articles: {counts}", "", f"Last {RECENT} announcements:"]
    if not report.announcements:
        lines.append("  (none)")
    for a in report.announcements:
        reached = f"{a.channels_reached} channel{'s' if a.channels_reached != 1 else ''}"
        waiting = f", {a.channels_waiting} waiting" if a.channels_waiting else ""
        done = "" if a.done_at else " (not handed to delivery yet)"
        lines.append(
            f"  {_when(a.created_at, now)}  {a.kind.value:<9} {a.title!r} ({a.article_key}): "
            f"{reached}{waiting}{done}"
        )
    outbox = report.outbox
    oldest = outbox.oldest_pending_at
    lines += [
        "",
        f"Deliveries: {outbox.pending} pending"
        + (f" (oldest queued {_when(oldest, now)})" if oldest else "")
        + f", {outbox.held} held for paused channels, {outbox.failed} failed",
        "",
        "Paused subscriptions:",
    ]
    if not report.paused:
        lines.append("  (none)")
    for guild_id, paused in groupby(report.paused, key=lambda p: p.guild_id):
        lines.append(f"  server {guild_id}:")
        for p in paused:
            lines.append(f"    channel {p.channel_id}, since {_when(p.paused_at, now)}: {p.reason}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> dict[str, Any]:
    """The report as one JSON object (ids as strings, times in ISO 8601 UTC)."""
    outbox = report.outbox
    oldest = outbox.oldest_pending_at
    return {
        "status": "healthy" if not report.problems else "attention",
        "problems": report.problems,
        "database": report.database,
        "checked_at": _time(report.now),
        "sources": [
            {
                "kind": s.kind.value,
                "source": redact(s.locator),
                "state": source_state(s),
                "last_success_at": _time(s.last_success_at),
                "last_error": s.last_error,
                "failures": s.failures,
                "failing_since": _time(s.failing_since),
            }
            for s in report.sources
        ],
        "articles": report.articles,
        "announcements": [
            {
                "id": a.id,
                "kind": a.kind.value,
                "created_at": _time(a.created_at),
                "done_at": _time(a.done_at),
                "article_id": a.article_key,
                "title": a.title,
                "channels_reached": a.channels_reached,
                "channels_waiting": a.channels_waiting,
            }
            for a in report.announcements
        ],
        "deliveries": {
            "pending": outbox.pending,
            "oldest_pending_at": _time(oldest),
            "oldest_pending_seconds": (
                max(0.0, (report.now - oldest).total_seconds()) if oldest else None
            ),
            "held": outbox.held,
            "failed": outbox.failed,
        },
        "paused": [
            {
                "guild_id": str(p.guild_id),
                "channel_id": str(p.channel_id),
                "reason": p.reason,
                "paused_at": _time(p.paused_at),
            }
            for p in report.paused
        ],
    }


async def run_status(
    database: str | Path,
    *,
    as_json: bool = False,
    now: datetime | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the report of the database at ``database`` (on ``out``, by default
    stdout; problems on ``err``, stderr); returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        store = await Store.open(database, read_only=True)
        try:
            report = await read_report(store, redact(str(database)), now or datetime.now(UTC))
        finally:
            await store.close()
    except (StoreError, sqlite3.Error, OSError) as exc:
        reason = f"cannot read the database {redact(str(database))}: {exc}"
        if as_json:
            out.write(json.dumps({"status": "unreadable", "error": reason}) + "\n")
        print(f"newsbot status: {reason}", file=err)
        return UNREADABLE
    if as_json:
        out.write(json.dumps(render_json(report), ensure_ascii=False) + "\n")
    else:
        out.write(render_text(report))
    return report.exit_code
