"""The site's own config and "only once it is live", end to end: the real bot against
the fake Discord, a content folder whose site root holds a ``hugo.toml``, and a local
web server standing in for the site, answering 404 until the page is "deployed"."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from tests.delivery.harness import subscribe_channels, write_article
from tests.e2e.conftest import make_bot, wait_until_scanned
from tests.fakediscord.plugin import RunBot
from tests.fakediscord.server import FakeDiscord
from tests.sources.feedserver import FeedServer


async def test_a_post_waits_for_its_page_and_carries_the_sites_url_and_name(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    content_dir: Path,
    discord_client_env: object,
    feed_server: FeedServer,
    database: str | Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (content_dir.parent / "hugo.toml").write_text(
        f'baseURL = "{feed_server.base_url}/"\ntitle = "The Example Times"\n'
        '[permalinks.page]\narticles = "/:year/:month/:slug/"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("NEWSBOT_DATABASE", str(database))
    monkeypatch.setenv("NEWSBOT_WAIT_LIVE", "120")
    for name in ("NEWSBOT_SITE_URL", "NEWSBOT_FEEDS", "NEWSBOT_DEV_GUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    guild = fake_discord.add_guild("Newsroom")
    channel = guild.add_channel("news")
    await subscribe_channels(database, [(guild.id, channel.id, ())])
    runner = await run_bot(make_bot(load_settings()))
    await wait_until_scanned(runner.bot)
    when = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    path = "/2026/03/tidal-power/"
    page = feed_server.route(path, status=404, content_type="text/html")
    write_article(content_dir, "tidal", "Tidal Power", date=when)

    await fake_discord.wait_for(lambda: len(feed_server.seen(path)) >= 2, timeout=15)
    assert fake_discord.messages(channel) == []  # the page is not there yet
    page.status = 200
    await fake_discord.wait_for(lambda: len(fake_discord.messages(channel)) == 1, timeout=15)
    [post] = fake_discord.messages(channel)
    embed = post["embeds"][0]
    assert embed["url"] == feed_server.url(path)
    assert embed["footer"]["text"].startswith("The Example Times")
