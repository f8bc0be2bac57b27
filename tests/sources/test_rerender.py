"""A setting that shapes posts changed: the stored articles are read again at the next
start and their posts re-rendered, without announcing anything again."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.articles.site import Site
from bot.config import Settings, load_settings
from bot.prepare import HASH_COVERS
from bot.service import ARTICLE_HASH, POST_SETTINGS, SITE_CONFIG, Pipeline, post_settings
from bot.sources.content import ContentSource
from bot.store import StoredArticle
from tests.sources.helpers import SpyStore, announcements, article_md, articles, by_title
from tests.waiting import wait_until

SITE = "https://news.example.org"
LOG = "bot.sources.content"


@pytest.fixture
def store_class() -> type[SpyStore]:
    return SpyStore


def source(store: SpyStore, root: Path, site_url: str | None, tz: tzinfo = UTC) -> ContentSource:
    """The folder's source as a start of the bot with these settings builds it."""
    shaping = {"NEWSBOT_SITE_URL": site_url, "NEWSBOT_TIMEZONE": str(tz)}
    return ContentSource(
        store, root, site_url=site_url, tz=tz, max_bytes=65536, post_settings=shaping
    )


def write(root: Path, name: str, text: str) -> None:
    (root / "articles" / name).write_text(text, encoding="utf-8")


async def test_new_site_url_reaches_stored_posts_without_announcing_again(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(root, "old.md", article_md("Old news"))
    # A naive date: read in the configured time zone.
    write(root, "naive.md", article_md("Naive date").replace("+00:00", ""))
    first = await source(store, root, None).scan()  # the baseline: nothing announced
    assert not first.rerendered
    write(root, "new.md", article_md("New article"))
    await source(store, root, None).scan()
    assert await announcements(store) == [("published", "New article")]
    for done in await store.pending_announcements():  # posted
        await store.complete_announcement(done.id, datetime.now(UTC))
    stored = await articles(store)
    assert stored["/articles/old/"].url is None
    assert "url" not in stored["/articles/old/"].message["embeds"][0]

    # Stopped; NEWSBOT_SITE_URL and NEWSBOT_TIMEZONE set; "new.md" edited meanwhile.
    write(root, "new.md", article_md("New article", takeaways=("Edited.",)))
    caplog.set_level(logging.INFO, logger=LOG)
    paris = ZoneInfo("Europe/Paris")
    restarted = source(store, root, SITE, paris)
    stats = await restarted.scan()

    assert stats.rerendered and stats.read == 3 and stats.unchanged == 0
    stored = await articles(store)
    for key, article in stored.items():
        assert article.url == f"{SITE}{key}"
        assert article.message["embeds"][0]["url"] == f"{SITE}{key}"
    assert stored["/articles/naive/"].published_at == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert stored["/articles/old/"].version == 1
    # Only the file that really changed is an update (its posts get edited); the others
    # are re-rendered quietly.
    assert await announcements(store) == [("published", "New article"), ("updated", "New article")]
    said = [r.getMessage() for r in caplog.records if "re-render" in r.getMessage()]
    assert said == [
        f"content {restarted.root}: NEWSBOT_SITE_URL, NEWSBOT_TIMEZONE changed since the "
        "stored articles were read; reading all 3 files again to re-render their posts "
        "(nothing is announced again)"
    ]

    # The next start with the same settings reads nothing again.
    again = await source(store, root, SITE, paris).scan()
    assert not again.rerendered and again.read == 0 and again.unchanged == 3


async def test_an_interrupted_re_render_is_done_again(store: SpyStore, root: Path) -> None:
    write(root, "a.md", article_md("A"))
    await source(store, root, None).scan()
    stopped = asyncio.Event()
    stopped.set()
    interrupted = await source(store, root, SITE).scan(stopped)
    assert interrupted.rerendered and not interrupted.complete
    assert (await articles(store))["/articles/a/"].url is None
    done = await source(store, root, SITE).scan()
    assert done.rerendered and done.complete
    assert (await articles(store))["/articles/a/"].url == f"{SITE}/articles/a/"


def test_post_settings_are_named_by_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch, no_bot_env: None
) -> None:
    monkeypatch.setenv("NEWSBOT_SITE_URL", SITE + "/")
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("NEWSBOT_TAKEAWAYS_HEADINGS", "Key Points, At a glance")
    shaping = post_settings(load_settings())
    assert shaping == {
        "NEWSBOT_SITE_URL": SITE,
        "NEWSBOT_TIMEZONE": "Europe/Paris",
        "NEWSBOT_TAKEAWAYS_HEADINGS": "Key Points, At a glance",
        SITE_CONFIG: Site().fingerprint(),
        ARTICLE_HASH: HASH_COVERS,
    }
    assert len(shaping) == len(POST_SETTINGS) + 2


@pytest.mark.usefixtures("no_bot_env")
async def test_a_new_site_config_or_headings_re_render_at_the_next_start(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hugo = root.parent / "hugo.toml"
    hugo.write_text('baseURL = "https://daily.example.org/"\ntitle = "The Daily"\n')
    text = article_md("Glance").replace("## Key Takeaways", "## At a glance")
    write(root, "glance.md", text)
    caplog.set_level(logging.INFO, logger=LOG)

    async def start(**env: str) -> StoredArticle:
        pipeline = Pipeline(
            Settings(content_dir=root, database=root.parent / "news.sqlite3", **env), store
        )
        assert pipeline.content is not None
        await pipeline.content.scan()
        article = await by_title(store, "Glance")
        assert article is not None
        return article

    first = await start()
    assert first.url == "https://daily.example.org/articles/glance/" and first.takeaways == ()
    # Still the same config (the same values from other files too): nothing read again.
    (root.parent / "hugo.toml").unlink()
    (root.parent / "config" / "_default").mkdir(parents=True)
    (root.parent / "config" / "_default" / "hugo.toml").write_text(
        hugo_text := ('baseURL = "https://daily.example.org/"\ntitle = "The Daily"\n')
    )
    caplog.clear()
    await start()
    assert "re-render" not in caplog.text

    (root.parent / "config" / "_default" / "hugo.toml").write_text(
        hugo_text + '[permalinks.page]\narticles = "/:year/:filename/"\n'
    )
    moved = await start()
    assert "site config changed since the stored articles were read" in caplog.text
    assert moved.url == "https://daily.example.org/2024/glance/"

    caplog.clear()
    found = await start(takeaways_headings="At a glance")
    assert "NEWSBOT_TAKEAWAYS_HEADINGS changed since" in caplog.text
    assert found.takeaways == ("First point.", "Second point.", "Third point.")
    assert await announcements(store) == []


@pytest.mark.usefixtures("no_bot_env")
@pytest.mark.parametrize("site_url", [None, SITE])
async def test_start_warns_when_no_site_url_is_set(
    store: SpyStore,
    root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    site_url: str | None,
) -> None:
    settings = Settings(content_dir=root, database=tmp_path / "news.sqlite3", site_url=site_url)
    pipeline = Pipeline(settings, store)
    pipeline.start()
    try:
        assert pipeline.content is not None
        await wait_until(pipeline.content.ready.is_set, "the first scan")
    finally:
        await pipeline.close()
    warned = [r for r in caplog.records if "NEWSBOT_SITE_URL is not set" in r.getMessage()]
    assert [r.levelname for r in warned] == (["WARNING"] if site_url is None else [])


@pytest.mark.usefixtures("no_bot_env")
async def test_the_upgrade_to_hashes_of_every_placeholder_edits_no_post(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = article_md("Brief")
    write(root, "brief.md", text)
    caplog.set_level(logging.INFO, logger=LOG)

    async def start() -> None:
        pipeline = Pipeline(Settings(content_dir=root, database=root.parent / "db"), store)
        assert pipeline.content is not None
        await pipeline.content.scan()

    await start()
    # The store as the version before left it: hashes of the default post alone, and
    # no word of what they cover.
    [content] = await store.sources()
    key = f"post_settings:{content.id}"
    recorded = json.loads(await store.get_meta(key) or "{}")
    del recorded[ARTICLE_HASH]
    await store.set_meta(key, json.dumps(recorded, sort_keys=True))
    async with store._transaction() as db:
        await db.execute("UPDATE articles SET content_hash = substr(content_hash, 1, 32)")

    await start()
    assert "article hash changed since the stored articles were read" in caplog.text
    assert await announcements(store) == []
    # Hashed whole again: a change that only a custom format shows is an update.
    write(root, "brief.md", text.replace("tags:", 'summary: "Only a format shows this."\ntags:'))
    await start()
    assert await announcements(store) == [("updated", "Brief")]
