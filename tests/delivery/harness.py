"""Shared helpers for the delivery tests, the end-to-end tests that run the bot as
its own process (and kill it), and the benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web

from bot.config import is_postgres_url
from tests.waiting import wait_until

if TYPE_CHECKING:
    from tests.fakediscord.models import FakeChannel
    from tests.fakediscord.server import FakeDiscord

REPO = Path(__file__).resolve().parents[2]
#: The article the kill -9 tests publish.
BREAKING = "Breaking: Everyone Gets This Once"


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
    database: str | Path, subscriptions: Sequence[tuple[int, int, tuple[str, ...]]]
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
    *, api_url: str, gateway_url: str, token: str, content_dir: Path, database: str | Path
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


def slow_answers(
    fake: FakeDiscord, delay: float, template: str = "/channels/{channel_id}/messages"
) -> None:
    """Make the fake answer posts to ``template`` ``delay`` seconds after making them."""
    serve = fake._serve

    async def delayed(route: Any, handler: Any, request: web.Request) -> web.StreamResponse:
        response = await serve(route, handler, request)
        if request.method == "POST" and route.template == template:
            await asyncio.sleep(delay)
        return response

    fake._serve = delayed  # type: ignore[method-assign]


async def query(database: str | Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` in the bot process's database, read from outside it."""
    if is_postgres_url(database):
        connection = await asyncpg.connect(str(database))
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        return list(db.execute(sql))


async def sent(database: str | Path) -> int:
    """How many deliveries the bot process has recorded as sent."""
    [(count,)] = await query(database, "SELECT count(*) FROM deliveries WHERE state = 'sent'")
    return int(count)


def alive(process: subprocess.Popen[bytes], check: Callable[[], Any]) -> Callable[[], Any]:
    """``check``, failing at once if the bot process has exited."""

    def checked() -> Any:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited ({process.returncode})")
        return check()

    return checked


async def first_scan(process: subprocess.Popen[bytes], database: str | Path) -> None:
    """Wait until the bot process has recorded its first scan of the content folder."""
    await wait_until(
        alive(
            process,
            lambda: query(database, "SELECT 1 FROM sources WHERE baseline_done_at IS NOT NULL"),
        ),
        "the first scan",
        timeout=30,
    )


async def has_no_work(database: str | Path) -> bool:
    """Whether the bot process has nothing left to do: no announcement, post or notice."""
    return not await query(
        database,
        "SELECT 1 FROM announcements WHERE done_at IS NULL "
        "UNION ALL SELECT 1 FROM deliveries WHERE due_at IS NOT NULL "
        "UNION ALL SELECT 1 FROM delivery_notices WHERE due_at IS NOT NULL",
    )


class KillAndRestart:
    """A bot process killed with ``kill -9`` in the middle of its posts of an article
    to ``channels``, then a second one started on the same database to finish them.

    Use it as a context manager (it kills what is still running on the way out):
    :meth:`kill_mid_posts`, then :meth:`restart`, then :meth:`stop`.
    """

    def __init__(
        self,
        fake: FakeDiscord,
        channels: Sequence[FakeChannel],
        env: dict[str, str],
        tmp_path: Path,
        database: str | Path,
    ) -> None:
        """Run ``python -m bot run`` with ``env`` in ``tmp_path``, logging to ``bot.log``."""
        self.fake = fake
        self.channels = channels
        self.env = env
        self.tmp_path = tmp_path
        self.database = database
        self.log = tmp_path / "bot.log"
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> KillAndRestart:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for process in self.processes:
            kill(process)

    def posted(self) -> int:
        """How many posts the fake holds in the channels."""
        return sum(len(self.fake.messages(c)) for c in self.channels)

    async def all_sent(self) -> bool:
        """Whether the bot has recorded a post in every channel as sent."""
        return await sent(self.database) == len(self.channels)

    def _start(self) -> subprocess.Popen[bytes]:
        process = start_bot(self.env, self.tmp_path, self.log)
        self.processes.append(process)
        return process

    async def kill_mid_posts(self, content: Path, posts: int) -> int:
        """Start the first process; once it has scanned ``content``, publish
        :data:`BREAKING` there, and ``kill -9`` the process once ``posts`` posts are
        made. Returns how many were made by then."""
        first = self._start()
        await first_scan(first, self.database)
        write_article(content, "breaking", BREAKING, tags=["News"])
        await wait_until(alive(first, lambda: self.posted() >= posts), f"{posts} posts", timeout=30)
        kill(first)
        return self.posted()

    async def restart(self) -> None:
        """Start the second process and wait until it has recorded every post, has
        nothing left to do and no request of it is being answered (so that a
        duplicate, if any, has shown up)."""
        second = self._start()
        await wait_until(
            alive(second, self.all_sent), "every post recorded after the restart", timeout=60
        )
        await self.fake.wait_until_settled(lambda: has_no_work(self.database))

    def stop(self) -> str:
        """Stop the second process as an operator would, check that it exits with 0,
        that the fake saw no breach of Discord's rules and that nothing logged a
        traceback; returns the log of both processes."""
        assert stop(self.processes[-1]) == 0
        assert not self.fake.violations
        text = self.log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text
        return text
