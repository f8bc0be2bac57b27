"""Shared helpers for the delivery tests and the fan-out benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def article_text(
    title: str,
    *,
    tags: Sequence[str] = (),
    takeaways: Sequence[str] = ("A first point.", "A second point."),
    date: datetime | None = None,
    extra: str = "",
) -> str:
    """A published Markdown article (dated a minute ago unless told)."""
    when = (date or datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    tag_list = ", ".join(f'"{t}"' for t in tags)
    bullets = "\n".join(f"* {t}" for t in takeaways)
    return (
        f'---\ntitle: "{title}"\ndate: {when}\nauthor: "Test Desk"\n'
        f"tags: [{tag_list}]\n{extra}---\n\n## Key Takeaways\n{bullets}\n"
    )


def write_article(folder: Path, slug: str, title: str, **kwargs: Any) -> Path:
    """Write an article file in one step (a temporary file renamed into place), as an
    editor or a deploy would, so the watcher never sees it half written."""
    articles = folder / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    path = articles / f"{slug}.md"
    temporary = articles / f".{slug}.md.tmp"
    temporary.write_text(article_text(title, **kwargs), encoding="utf-8")
    os.replace(temporary, path)
    return path


async def subscribe_channels(
    database: Path | str, subscriptions: Sequence[tuple[int, int, tuple[str, ...]]]
) -> None:
    """Write ``(guild_id, channel_id, tags)`` subscriptions into ``database`` before a
    bot process starts on it, as moderators would have with ``/newsadmin subscribe``."""
    from bot.store import Store

    store = await Store.open(database)
    try:
        now = datetime.now(UTC)
        for guild_id, channel_id, tags in subscriptions:
            await store.subscribe(
                guild_id,
                channel_id,
                tags=tags,
                exclude_tags=(),
                mention_role_id=None,
                by_user_id=1,
                now=now,
            )
    finally:
        await store.close()


def bot_env(
    *, api_url: str, gateway_url: str, token: str, content_dir: Path, database: Path | str
) -> dict[str, str]:
    """The environment of a ``python -m bot run`` process pointed at a fake Discord."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        DISCORD_TOKEN=token,
        NEWSBOT_DISCORD_API_URL=api_url,
        NEWSBOT_DISCORD_GATEWAY_URL=gateway_url,
        NEWSBOT_CONTENT_DIR=str(content_dir),
        NEWSBOT_DATABASE=str(database),
        NEWSBOT_SITE_URL="https://news.example.org",
        NEWSBOT_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def start_bot(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start the real bot process (``python -m bot run``), logging to ``log``."""
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process (no clean-up of any kind) and reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not stop in time; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=10)
