"""``NEWSBOT_WAIT_LIVE``: the real pipeline against a local site that answers 404 until
its page is "deployed"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import ANNOUNCE_BATCH, Pipeline, announce_loop
from bot.store import Store
from tests.sources.feedserver import FeedServer
from tests.sources.helpers import Recorder, article_md
from tests.test_metrics import value
from tests.waiting import wait_until

PAGE = "/articles/fresh/"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@asynccontextmanager
async def running(
    db: Path, root: Path, site: FeedServer, wait: float, recorder: Recorder
) -> AsyncIterator[Pipeline]:
    """The pipeline and its announcer, as ``newsbot run`` runs them, until the block ends."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, content_dir=root, database=db, site_url=site.base_url, wait_live=wait
    )
    store = await Store.open(db)
    pipeline = Pipeline(settings, store)
    pipeline.start()
    task = asyncio.create_task(
        announce_loop(store, pipeline.wake, pipeline.stop, recorder, pipeline.live)
    )
    try:
        assert pipeline.content is not None
        await wait_until(pipeline.content.ready.is_set, "the first scan", timeout=20)
        yield pipeline
    finally:
        pipeline.stop.set()
        await asyncio.wait_for(task, timeout=10)
        await pipeline.close()
        await store.close()


async def test_a_new_article_is_announced_once_its_page_answers(
    feed_server: FeedServer, root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sources.live")
    page = feed_server.route(PAGE, status=404, content_type="text/html")
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 60, recorder) as pipeline:
        metrics = pipeline.store.metrics

        def announced() -> float | None:
            return value(metrics, "newsbot_announcements_total", kind="published")

        write(root, "articles/fresh.md", article_md("Fresh"))
        # Checked again and again while it is a 404, with nothing announced meanwhile.
        await wait_until(lambda: len(feed_server.seen(PAGE)) >= 3, "three checks", timeout=20)
        assert recorder.titles() == [] and announced() == 0
        page.status = 200  # deployed
        await wait_until(lambda: recorder.titles() == ["Fresh"], "the post", timeout=20)
        # Counted once, when it went out.
        await wait_until(lambda: announced() == 1, "the announcement counted")
    assert all(r.method == "GET" for r in feed_server.seen(PAGE))
    assert "is live" in caplog.text and "anyway" not in caplog.text


async def test_a_page_that_never_answers_is_announced_anyway_with_a_warning(
    feed_server: FeedServer, root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 2, recorder):
        write(root, "articles/fresh.md", article_md("Fresh"))
        await wait_until(lambda: recorder.titles() == ["Fresh"], "the post", timeout=20)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"{feed_server.url(PAGE)} is still not live after 2 s (last answer: 404)" in w
        for w in warnings
    )


async def test_an_article_waiting_for_its_page_is_announced_after_a_restart(
    feed_server: FeedServer, root: Path, tmp_path: Path
) -> None:
    page = feed_server.route(PAGE, status=404, content_type="text/html")
    before, after = Recorder(), Recorder()
    async with running(tmp_path / "db", root, feed_server, 120, before):
        write(root, "articles/fresh.md", article_md("Fresh"))
        await wait_until(lambda: len(feed_server.seen(PAGE)) >= 1, "a check", timeout=20)
    assert before.titles() == []  # stopped while it waited
    async with running(tmp_path / "db", root, feed_server, 120, after):
        checks = len(feed_server.seen(PAGE))
        # Still held after the restart: checked again, not announced.
        await wait_until(lambda: len(feed_server.seen(PAGE)) > checks, "a check", timeout=20)
        assert after.titles() == []
        page.status = 200
        await wait_until(lambda: after.titles() == ["Fresh"], "the post", timeout=20)


async def test_updates_and_other_articles_are_never_held_back(
    feed_server: FeedServer, root: Path, tmp_path: Path
) -> None:
    live = feed_server.route("/articles/old/", status=200, content_type="text/html")
    feed_server.route(PAGE, status=404, content_type="text/html")
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 120, recorder):
        write(root, "articles/old.md", article_md("Old"))
        await wait_until(lambda: recorder.titles() == ["Old"], "the first post", timeout=20)
        write(root, "articles/fresh.md", article_md("Fresh"))  # held: its page is a 404
        await wait_until(lambda: len(feed_server.seen(PAGE)) >= 1, "a check", timeout=20)
        live.status = 404  # the site is being rebuilt: an update is not held back
        write(root, "articles/old.md", article_md("Old", takeaways=("Changed.",)))
        await wait_until(lambda: recorder.titles("updated") == ["Old"], "the edit", timeout=20)
        assert recorder.titles() == ["Old"]


async def test_without_a_wait_nothing_is_checked(
    feed_server: FeedServer, root: Path, tmp_path: Path
) -> None:
    feed_server.route(PAGE, status=404, content_type="text/html")
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 0, recorder):
        write(root, "articles/fresh.md", article_md("Fresh"))
        await wait_until(lambda: recorder.titles() == ["Fresh"], "the post", timeout=20)
    assert feed_server.seen(PAGE) == []


async def test_an_article_withdrawn_while_it_waits_is_not_held_any_longer(
    feed_server: FeedServer, root: Path, tmp_path: Path
) -> None:
    feed_server.route(PAGE, status=404, content_type="text/html")
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 120, recorder) as pipeline:
        write(root, "articles/fresh.md", article_md("Fresh"))
        await wait_until(lambda: len(feed_server.seen(PAGE)) >= 1, "a check", timeout=20)
        (root / "articles" / "fresh.md").unlink()
        # Handed on at once (the deliverer completes a withdrawn article's announcement
        # without posting it), and its page is no longer watched.
        await wait_until(lambda: len(recorder.seen) == 1, "the announcement", timeout=20)
        assert recorder.seen[0].article.status == "withdrawn"
        await wait_until(lambda: not pipeline.live._watches, "the watch to end", timeout=5)


async def test_more_held_articles_than_a_page_never_hold_up_a_newer_one_that_is_live(
    feed_server: FeedServer, root: Path, tmp_path: Path
) -> None:
    # Unknown paths answer 404: every "held" article's page is not deployed yet.
    feed_server.route(PAGE, status=200, content_type="text/html")
    held = ANNOUNCE_BATCH + 20
    recorder = Recorder()
    async with running(tmp_path / "db", root, feed_server, 600, recorder) as pipeline:
        for n in range(held):
            write(root, f"articles/held-{n}.md", article_md(f"Held {n}"))

        async def all_pending() -> bool:
            return len(await pipeline.store.pending_announcements(held + 1)) == held

        await wait_until(all_pending, "the held articles' announcements", timeout=30)
        write(root, "articles/fresh.md", article_md("Fresh"))
        await wait_until(lambda: recorder.titles() == ["Fresh"], "the live post", timeout=20)
        # Every held one is watched (its page asked for), none of them announced.
        await wait_until(lambda: len(pipeline.live._watches) == held, "every page watched")
        assert recorder.titles() == ["Fresh"]
        assert len(await pipeline.store.pending_announcements(held + 1)) == held
