"""The service: Pipeline in process, and ``newsbot run --dry-run`` as a real subprocess.

Real folders, real SQLite files, a real feed server on 127.0.0.1. Every wait polls with
a deadline; typical latencies are printed (``-s``) and attached to the test report.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import SAMPLE_CONTENT_DIR, Settings
from bot.service import Pipeline, announce_loop
from bot.sources.http import PollPolicy
from bot.store import Store
from tests.samples import SAMPLE_KEYS
from tests.sources.dryrun import DryRun, clean_env
from tests.sources.feedserver import FeedServer
from tests.sources.helpers import (
    Recorder,
    article_md,
    articles,
    soon,
    summary,
)
from tests.sources.test_feeds import BROKEN, rss
from tests.waiting import wait_until, wait_until_sync

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class Running:
    """A started Pipeline with an announcer that records what it delivers."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.recorder = Recorder()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.pipeline.start()
        p = self.pipeline
        self.task = asyncio.create_task(announce_loop(p.store, p.wake, p.stop, self.recorder))
        return self

    async def __aexit__(self, *exc: object) -> None:
        started = time.monotonic()
        await asyncio.wait_for(self.pipeline.close(), timeout=10)
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)
        # Closing is prompt even with a feed that never answers.
        assert time.monotonic() - started < 5


# -- publish-time re-check -------------------------------------------------------------


async def test_scheduled_articles_are_announced_once_when_their_time_comes(
    root: Path,
    store: Store,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    # Found scheduled on the first start: announced when its time comes all the same.
    early_at = soon(3)
    write(root, "articles/early.md", article_md("Early", publish_date=early_at))
    write(root, "articles/old.md", article_md("Old"))
    settings = Settings(content_dir=root, database=tmp_path / "news.sqlite3")
    async with Running(Pipeline(settings, store)) as run:
        assert run.pipeline.content is not None
        await wait_until(run.pipeline.content.ready.is_set, "the first scan")
        # Written while running, due in two or three seconds; and one expiring meanwhile.
        late_at = soon(3)
        write(root, "articles/late.md", article_md("Late", publish_date=late_at))
        write(root, "articles/brief.md", article_md("Brief", expiry_date=soon(3)))

        async def stored(key: str, status: str | None = None) -> bool:
            a = (await articles(store)).get(key)
            return a is not None and (status is None or a.status == status)

        await wait_until(lambda: stored("/articles/late/"), "Late in the store")
        await wait_until(lambda: "Brief" in run.recorder.titles(), "Brief, published now")
        if datetime.now(UTC) < late_at - timedelta(milliseconds=100):
            assert await stored("/articles/late/", "scheduled")
            assert "Late" not in run.recorder.titles()

        await wait_until(
            lambda: {"Early", "Late"} <= set(run.recorder.titles()),
            "the scheduled posts",
            timeout=8,
        )
        delivered = {
            a.article.title: at for a, at in zip(run.recorder.seen, run.recorder.at, strict=True)
        }
        lateness = []
        for title, due in (("Early", early_at), ("Late", late_at)):
            # Delivered at or after its time (monotonic -> wall clock: within a few ms).
            wall = datetime.now(UTC) - timedelta(seconds=time.monotonic() - delivered[title])
            assert wall >= due - timedelta(milliseconds=50), title
            lateness.append((wall - due).total_seconds())
        await wait_until(lambda: stored("/articles/brief/", "expired"), "Brief, expired", timeout=8)
        await wait_until(lambda: stored("/articles/early/", "published"), "Early, published")
    assert Counter(run.recorder.titles()) == Counter(["Brief", "Early", "Late"])
    assert [a.kind for a in run.recorder.seen] == ["published"] * 3
    line = summary("scheduled: due -> delivered", lateness)
    record_property("scheduled lateness", line)
    print(line)


# -- feeds and content together --------------------------------------------------------


async def test_broken_feeds_never_hold_up_the_healthy_feed_or_the_content_folder(
    root: Path,
    store: Store,
    tmp_path: Path,
    feed_server: FeedServer,
    record_property: Callable[[str, object], None],
) -> None:
    for path, options in BROKEN.items():
        feed_server.route(path, **options)
    feed_server.route("/healthy.xml", body=rss([("a", "Alpha", T0)]))
    broken = [feed_server.url(p) for p in BROKEN if p != "/loop-b"]
    healthy = feed_server.url("/healthy.xml")
    settings = Settings(
        content_dir=root, database=tmp_path / "news.sqlite3", feeds=(*broken, healthy)
    )
    policy = PollPolicy(
        interval=0.2,
        timeout=1.0,
        max_bytes=1_000_000,
        backoff_base=0.2,
        backoff_max=0.4,
        failing_after=3,
    )
    write(root, "articles/old.md", article_md("Old"))
    pipeline = Pipeline(settings, store, policy=policy)
    assert not pipeline.scanned()
    async with Running(pipeline) as run:
        assert run.pipeline.content is not None
        # Ready (/readyz) once every source had its first go, the broken feeds included.
        await wait_until(run.pipeline.scanned, "every source's first scan or poll")

        async def baselines() -> bool:
            row = await store.source("feed", healthy)
            return row.baseline_done and run.pipeline.content.ready.is_set()

        await wait_until(baselines, "the first poll and the first scan")
        latencies = []
        for n in range(3):
            started = time.monotonic()
            entries = [("a", "Alpha", T0)] + [
                (f"f{i}", f"Feed news {i}", T0 + timedelta(hours=i + 1)) for i in range(n + 1)
            ]
            feed_server.route("/healthy.xml", body=rss(entries))
            write(root, f"articles/new-{n}.md", article_md(f"File news {n}"))

            def both(n: int = n) -> bool:
                titles = run.recorder.titles()
                return f"Feed news {n}" in titles and f"File news {n}" in titles

            await wait_until(both, f"round {n}'s posts")
            latencies.append(time.monotonic() - started)

        # Meanwhile every broken feed was tried, more than once, and is failing now.
        async def all_failing() -> bool:
            rows = [await store.source("feed", url) for url in broken]
            return all(r.failures >= 3 for r in rows)

        await wait_until(all_failing, "the broken feeds failing", timeout=10)
    assert Counter(run.recorder.titles()) == Counter(
        [f"Feed news {n}" for n in range(3)] + [f"File news {n}" for n in range(3)]
    )
    line = summary("healthy feed + new file -> both delivered, with broken feeds", latencies)
    record_property("with broken feeds", line)
    print(line)


# -- newsbot run --dry-run -------------------------------------------------------------


def integrity(db: Path) -> None:
    """The database is whole and the store opens it; no announcement left pending."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        pending = conn.execute("SELECT count(*) FROM announcements WHERE done_at IS NULL")
        assert pending.fetchone() == (0,)
    conn.close()

    async def reopen() -> int:
        async with await Store.open(db) as store:
            return await store.article_count()

    assert asyncio.run(reopen()) > 0


def content_env(root: Path, db: Path) -> dict[str, str]:
    return clean_env(NEWSBOT_CONTENT_DIR=str(root), NEWSBOT_DATABASE=str(db))


def test_dry_run_prints_new_articles_only_and_stops_cleanly_on_sigint(
    root: Path, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    for n in range(3):
        write(root, f"articles/existing-{n}.md", article_md(f"Existing {n}"))
    db = tmp_path / "news.sqlite3"
    run = DryRun(tmp_path, content_env(root, db))
    try:
        run.wait_for_log(f"content {root}: 3 files")
        latencies = []
        count = 5
        for n in range(count):
            started = time.monotonic()
            write(root, f"articles/new-{n}.md", article_md(f"New article {n}"))
            key = f"/articles/new-{n}/"
            wait_until_sync(lambda key=key: key in run.posts(), f"the post of {key}", timeout=10)
            latencies.append(run.post_times()[key] - started)
        assert run.stop(signal.SIGINT) == 0
    finally:
        run.close()
    # Nothing for the articles that were there at the first start; each new one once.
    assert run.posts() == [f"/articles/new-{n}/" for n in range(count)]
    assert run.posts("EDIT (article updated)") == []
    out = run.stdout()
    assert "New article 0" in out and "First point." in out and "Existing" not in out
    err = run.stderr()
    assert "stopping" in err and "Traceback" not in err
    integrity(db)
    line = summary("dry run: file written -> post printed", latencies)
    record_property("dry run latency", line)
    print(line)


def test_dry_run_without_settings_watches_the_bundled_samples_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    # No NEWSBOT_* setting, no token, no .env: the cwd is an empty folder.
    run = DryRun(tmp_path, clean_env())
    try:
        run.wait_for_log(
            f"no sources configured: watching the bundled samples in {SAMPLE_CONTENT_DIR}"
        )
        run.wait_for_log(f"content {SAMPLE_CONTENT_DIR}: ")
        assert run.stop(signal.SIGTERM) == 0
    finally:
        run.close()
    assert run.stdout() == ""  # the first start announces none of them
    err = run.stderr()
    assert "stopping" in err and "Traceback" not in err
    db = tmp_path / "newsbot.sqlite3"  # the default database, in the cwd
    integrity(db)
    # The user may have added articles of their own: the shipped ones are there at least.
    with sqlite3.connect(db) as conn:
        keys = {key for (key,) in conn.execute("SELECT key FROM articles")}
    conn.close()
    assert keys >= SAMPLE_KEYS


def test_a_second_process_on_the_same_sqlite_database_is_refused_in_one_line(
    root: Path, tmp_path: Path
) -> None:
    """SQLite means one process: a second bot on the same file would send every post
    twice. It stops at once with one line; the first one runs on, and after it stops
    the file is free again."""
    write(root, "articles/one.md", article_md("One"))
    db = tmp_path / "news.sqlite3"
    env = content_env(root, db)
    first = DryRun(tmp_path, env)
    try:
        first.wait_for_log(f"content {root}: 1 file")
        second = DryRun(tmp_path, env)
        try:
            assert second.wait() == 1
        finally:
            second.close()
        [line] = second.err_lines()
        assert line.endswith(
            f"cannot use the database {db}: the database {db} is in use by another newsbot "
            "process: SQLite means one process (stop the other one, or share a PostgreSQL "
            "database between them)"
        )
        assert first.proc.poll() is None
        write(root, "articles/two.md", article_md("Two"))
        wait_until_sync(lambda: "/articles/two/" in first.posts(), "the first one posting")
        assert first.stop(signal.SIGTERM) == 0
    finally:
        first.close()
    integrity(db)  # opens it in this process: the lock went with the first one


def test_a_store_moved_to_postgresql_announces_nothing_again(
    root: Path, tmp_path: Path, postgres_url: str
) -> None:
    """Growing up: the bot ran on SQLite, ``newsbot migrate-store`` copies its store,
    and the bot started on PostgreSQL posts only what is new since."""
    for n in range(3):
        write(root, f"articles/existing-{n}.md", article_md(f"Existing {n}"))
    db = tmp_path / "news.sqlite3"
    first = DryRun(tmp_path, content_env(root, db))
    try:
        first.wait_for_log(f"content {root}: 3 files")
        write(root, "articles/on-sqlite.md", article_md("On SQLite"))
        wait_until_sync(lambda: "/articles/on-sqlite/" in first.posts(), "the post on SQLite")
        wait_until_sync(lambda: no_pending(db), "its completion")
        assert first.stop(signal.SIGTERM) == 0
    finally:
        first.close()
    moved = subprocess.run(
        [sys.executable, "-m", "bot", "migrate-store", str(db), postgres_url],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert moved.returncode == 0, moved.stderr
    assert "articles: 4 rows" in moved.stdout
    second = DryRun(
        tmp_path, clean_env(NEWSBOT_CONTENT_DIR=str(root), NEWSBOT_DATABASE=postgres_url)
    )
    try:
        second.wait_for_log(f"content {root}: 4 files")
        write(root, "articles/on-postgresql.md", article_md("On PostgreSQL"))
        wait_until_sync(lambda: second.posts() != [], "a post on PostgreSQL")
        assert second.stop(signal.SIGTERM) == 0
    finally:
        second.close()
    assert second.posts() == ["/articles/on-postgresql/"]
    assert "Traceback" not in second.stderr()


def no_pending(db: Path) -> bool:
    with sqlite3.connect(db, timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM announcements WHERE done_at IS NULL")
        pending = row.fetchone()[0]
    conn.close()
    return bool(pending == 0)


def test_kill_9_never_loses_a_post_and_repeats_at_most_the_one_in_flight(
    root: Path, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    record_property("seed", seed)
    for n in range(3):
        write(root, f"articles/existing-{n}.md", article_md(f"Existing {n}"))
    db = tmp_path / "news.sqlite3"
    env = content_env(root, db)

    def done() -> bool:
        return no_pending(db)

    runs: list[DryRun] = []
    wanted: list[str] = []
    try:
        # Run 1: one article announced and completed, then 50 at once and a kill -9 as
        # the posts come out (after a random number of them).
        run = DryRun(tmp_path, env)
        runs.append(run)
        run.wait_for_log(f"content {root}: 3 files")
        write(root, "articles/before.md", article_md("Before"))
        wait_until_sync(lambda: "/articles/before/" in run.posts(), "the first post", timeout=10)
        wait_until_sync(done, "its completion", timeout=10)
        batch = [f"/articles/burst/a{n:02d}/" for n in range(50)]
        wanted += batch
        for n in range(50):
            write(root, f"articles/burst/a{n:02d}.md", article_md(f"Burst {n}"))
        k = rng.randint(1, 25)
        wait_until_sync(lambda: len(run.posts()) >= 1 + k, f"{k} posts", timeout=10)
        run.kill()

        # Run 2: catches up; then 20 more, killed at a random moment (before, during or
        # after they are recorded and printed).
        run = DryRun(tmp_path, env)
        runs.append(run)
        run.wait_for_log(f"content {root}:")
        seen = lambda: {p for r in runs for p in r.posts()}  # noqa: E731
        wait_until_sync(lambda: set(wanted) <= seen(), "run 2 catching up", timeout=10)
        wait_until_sync(done, "run 2's completions", timeout=10)
        batch = [f"/articles/second/b{n:02d}/" for n in range(20)]
        wanted += batch
        for n in range(20):
            write(root, f"articles/second/b{n:02d}.md", article_md(f"Second {n}"))
        time.sleep(rng.uniform(0.0, 0.3))  # the random moment of the kill, not an assertion
        run.kill()

        # Run 3: catches up, then stops cleanly.
        run = DryRun(tmp_path, env)
        runs.append(run)
        run.wait_for_log(f"content {root}:")
        wait_until_sync(lambda: set(wanted) <= seen(), "run 3 catching up", timeout=10)
        wait_until_sync(done, "run 3's completions", timeout=10)
        assert run.stop(signal.SIGINT) == 0
    finally:
        for r in runs:
            r.close()

    printed = [[p for p in r.posts()] for r in runs]
    everything = [p for posts in printed for p in posts]
    # Never the articles of the first start; the one completed before the kill, once.
    assert not any(p.startswith("/articles/existing-") for p in everything)
    assert everything.count("/articles/before/") == 1
    # Every new article printed at least once.
    assert set(wanted) <= set(everything)
    # No run prints an article twice; across a kill -9, at most the post in flight (the
    # last one the killed run printed, whose completion may not have been committed) is
    # printed again, and then first thing by the next run.
    for posts in printed:
        assert len(posts) == len(set(posts))
    repeats = [p for p, n in Counter(everything).items() if n > 1]
    for killed, after in itertools.pairwise(printed):
        again = set(killed) & set(after)
        assert len(again) <= 1, again
        if again:
            assert again == {killed[-1]} and after[0] == killed[-1]
    assert len(repeats) <= 2
    assert all(r.posts("EDIT (article updated)") == [] for r in runs)
    integrity(db)
    note = f"seed {seed}: run 1 printed {len(printed[0])}, run 2 {len(printed[1])}, "
    note += f"run 3 {len(printed[2])}; repeated across kills: {repeats}"
    record_property("kill -9", note)
    print(note)


def test_dry_run_stops_with_one_line_when_its_database_is_deleted(
    root: Path, tmp_path: Path
) -> None:
    write(root, "articles/existing.md", article_md("Existing"))
    db = tmp_path / "news.sqlite3"
    run = DryRun(tmp_path, content_env(root, db))
    try:
        run.wait_for_log(f"content {root}: 1 file (")
        db.unlink()
        code = run.wait(timeout=15)
    finally:
        run.close()
    assert code == 1, run.stderr()
    said = [line for _, line in run.err if "was deleted" in line]
    assert len(said) == 1, run.stderr()
    assert f"the database {db} was deleted while the bot was running; stopping" in said[0]
    assert "Traceback" not in run.stderr()


async def test_a_lost_database_ends_the_sources_without_a_traceback(
    root: Path,
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Whichever loop meets the lost database first ends quietly: the database watch
    # (``until_stopped``, or the client's) says why, in one line.
    monkeypatch.setattr("bot.store.database.IDENTITY_CHECK_SECONDS", 0.0)
    database = tmp_path / "news.sqlite3"
    store = await Store.open(database)
    write(root, "a.md", article_md("A"))
    feed_server.route("/f.xml", body=rss([]))
    settings = Settings(content_dir=root, database=database, feeds=(feed_server.url("/f.xml"),))
    policy = PollPolicy(interval=30.0, timeout=5.0, max_bytes=1_000_000)
    pipeline = Pipeline(settings, store, policy=policy)
    try:
        pipeline.start()
        await wait_until(pipeline.scanned, "the first scan and poll")
        database.unlink()
        await asyncio.wait_for(store.wait_lost(), timeout=10)
        # Every source's next database call meets the loss: make them all look now.
        pipeline.refresh()
        write(root, "b.md", article_md("B"))
        pipeline.recheck.set()
        await wait_until(
            lambda: all(task.done() for task in pipeline._tasks), "every source to end"
        )
    finally:
        await pipeline.close()
        await store.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
