"""A site in git, end to end: the real bot follows a real repository (a bare origin that
an author pushes to, over a local path or ``git://`` on 127.0.0.1) and posts to the
fake Discord; forges' push webhooks reach its HTTP listener."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.client import NewsBot
from bot.config import load_settings
from bot.forges import Forge
from bot.sources.git import GitSource
from bot.web import MAX_BODY_BYTES
from tests.delivery.harness import article_text
from tests.e2e.conftest import make_bot, wait_until_idle, wait_until_scanned
from tests.fakediscord.models import FakeChannel
from tests.fakediscord.plugin import BotRunner, RunBot
from tests.fakediscord.server import FakeDiscord
from tests.sources.gitrepos import GitDaemon, Site, git, git_daemon
from tests.sources.helpers import by_title
from tests.test_forges import signed
from tests.waiting import wait_until

SECRET = "forge-hook-secret"


@dataclass
class GitDesk:
    """A running bot following ``site``, with one subscribed channel."""

    fake: FakeDiscord
    runner: BotRunner[NewsBot]
    site: Site
    channel: FakeChannel
    daemon: GitDaemon | None

    @property
    def bot(self) -> NewsBot:
        return self.runner.bot

    @property
    def git(self) -> GitSource:
        assert self.bot.pipeline.git is not None
        return self.bot.pipeline.git

    def posts(self) -> list[dict[str, Any]]:
        return self.fake.messages(self.channel)

    async def wait_posts(self, count: int) -> list[dict[str, Any]]:
        await self.fake.wait_for(lambda: len(self.posts()) >= count, what=f"{count} posts")
        return self.posts()

    async def has_status(self, title: str, status: str) -> bool:
        found = await by_title(self.bot.store, title)
        return found is not None and found.status == status


@pytest.fixture
def transport(request: pytest.FixtureRequest, site: Site) -> Iterator[GitDaemon | None]:
    """``None`` for a local path, else the git daemon serving the site."""
    with ExitStack() as stack:
        yield stack.enter_context(git_daemon(site.origin.parent)) if request.param else None


async def open_desk(
    fake: FakeDiscord,
    run_bot: RunBot,
    site: Site,
    daemon: GitDaemon | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **env: str,
) -> GitDesk:
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSBOT_CONTENT_DIR", "NEWSBOT_FEEDS", "NEWSBOT_DEV_GUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "data" / "newsbot.sqlite3"))
    monkeypatch.setenv("NEWSBOT_SITE_URL", "https://news.example.org")
    url = daemon.url(site.origin) if daemon else str(site.origin)
    monkeypatch.setenv("NEWSBOT_GIT_URL", url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    guild = fake.add_guild("Newsroom")
    channel = guild.add_channel("news")
    runner = await run_bot(make_bot(load_settings()))
    await wait_until_scanned(runner.bot)
    await runner.bot.store.subscribe(
        guild.id,
        channel.id,
        tags=(),
        exclude_tags=(),
        mention_role_id=None,
        by_user_id=1,
        now=runner.bot.deliverer._now(),
    )
    return GitDesk(fake, runner, site, channel, daemon)


@pytest.mark.parametrize("transport", [False, True], ids=["path", "git-daemon"], indirect=True)
async def test_pushes_are_posted_edited_withdrawn_and_a_force_push_re_announces_nothing(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    site: Site,
    transport: GitDaemon | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = await open_desk(
        fake_discord, run_bot, site, transport, tmp_path, monkeypatch, NEWSBOT_GIT_INTERVAL="1"
    )
    base = git("rev-parse", "HEAD", cwd=site.work)
    # The clone lives beside the database; the samples were recorded, not announced.
    assert desk.git.clone_dir.parent == (tmp_path / "data" / "newsbot.sqlite3-git").resolve()
    await wait_until_idle(fake_discord, desk.bot)
    assert desk.posts() == []

    site.publish("content/articles/pushed.md", article_text("Pushed Story", takeaways=["One."]))
    [post] = await desk.wait_posts(1)
    assert post["embeds"][0]["title"] == "Pushed Story"

    site.publish("content/articles/pushed.md", article_text("Pushed Story", takeaways=["Two."]))
    await fake_discord.wait_for_requests(
        "PATCH", f"/channels/{desk.channel.id}/messages/{post['id']}"
    )
    [edited] = desk.posts()
    assert "Two." in edited["embeds"][0]["description"]

    site.remove("content/articles/pushed.md")
    site.commit("withdraw")
    site.push()
    await wait_until(lambda: desk.has_status("Pushed Story", "withdrawn"), "the story withdrawn")

    # History rewritten: the story comes back (its last words) beside a new one.
    site.reset(base)
    site.write("content/articles/pushed.md", article_text("Pushed Story", takeaways=["Two."]))
    site.write("content/articles/fresh.md", article_text("Fresh Story"))
    site.commit("rewritten")
    site.push(force=True)
    posts = await desk.wait_posts(2)
    assert posts[1]["embeds"][0]["title"] == "Fresh Story"
    await wait_until(lambda: desk.has_status("Pushed Story", "published"), "the story back")
    await wait_until_idle(fake_discord, desk.bot)
    assert len(fake_discord.requests_to("POST", f"/channels/{desk.channel.id}/messages")) == 2


@pytest.fixture
def daemon(site: Site) -> Iterator[GitDaemon]:
    with git_daemon(site.origin.parent) as server:
        yield server


@pytest.fixture
async def hooks(
    fake_discord: FakeDiscord,
    run_bot: RunBot,
    site: Site,
    daemon: GitDaemon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[GitDesk, str, aiohttp.ClientSession]]:
    desk = await open_desk(
        fake_discord,
        run_bot,
        site,
        daemon,
        tmp_path,
        monkeypatch,
        NEWSBOT_GIT_INTERVAL="3600",  # only webhooks fetch during the test
        NEWSBOT_GIT_BRANCH="main",
        NEWSBOT_HTTP_ADDR="127.0.0.1:0",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
    )
    await wait_until(lambda: desk.git.ready.is_set() and desk.git.fetches == 1, "first fetch")
    assert desk.bot.listener is not None
    async with aiohttp.ClientSession() as session:
        yield desk, f"http://127.0.0.1:{desk.bot.listener.port}", session


async def test_forges_webhooks_fetch_at_once_and_forged_ones_fetch_nothing(
    hooks: tuple[GitDesk, str, aiohttp.ClientSession],
) -> None:
    desk, base, session = hooks
    assert desk.daemon is not None

    async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with session.post(f"{base}/hooks/push", data=body, headers=headers) as response:
            return response.status, await response.text()

    push = json.dumps({"ref": "refs/heads/main"}).encode()
    fetches, connections = desk.git.fetches, desk.daemon.connections

    # Pushed, but the webhook is forged, unsigned, for another branch, or too big.
    desk.site.publish("content/articles/waiting.md", article_text("Waiting Story"))
    assert (await post(push, signed(Forge.GITHUB, push, secret="guess")))[0] == 401
    assert (await post(push, {"X-GitHub-Event": "push"}))[0] == 401
    assert (await post(push, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "no"}))[0] == 401
    other = json.dumps({"ref": "refs/heads/preview"}).encode()
    assert (await post(other, signed(Forge.GITEA, other, secret=SECRET, delivery="o")))[0] == 202
    ping = signed(Forge.GITHUB, b"{}", event="ping", secret=SECRET, delivery="p")
    assert await post(b"{}", ping) == (200, "pong\n")
    big = b" " * (MAX_BODY_BYTES + 1)
    assert (await post(big, signed(Forge.GITHUB, big, secret=SECRET, delivery="b")))[0] == 413
    assert not desk.git.fetch_wanted
    assert (desk.git.fetches, desk.daemon.connections) == (fetches, connections)
    assert desk.posts() == []

    # Signed pushes from each forge: fetched at once, the new article posted.
    for number, forge in enumerate(Forge, start=1):
        title = "Waiting Story" if number == 1 else f"Story From {forge}"
        if number > 1:
            desk.site.publish(f"content/articles/{forge.lower()}.md", article_text(title))
        headers = signed(forge, push, secret=SECRET, delivery=f"d{number}")
        assert await post(push, headers) == (200, "fetching\n")
        posts = await desk.wait_posts(number)
        assert posts[-1]["embeds"][0]["title"] == title
        # The forge delivers the same event again: nothing more happens.
        status, text = await post(push, headers)
        assert status == 200 and "already received" in text
        assert not desk.git.fetch_wanted

    # A pipeline that is no git push: POST /hooks/publish with the bearer secret.
    desk.site.publish("content/articles/published.md", article_text("Published By CI"))
    auth = {"Authorization": f"Bearer {SECRET}"}
    async with session.post(f"{base}/hooks/publish", headers=auth) as response:
        assert response.status == 202
    posts = await desk.wait_posts(len(Forge) + 1)
    assert posts[-1]["embeds"][0]["title"] == "Published By CI"
    await wait_until_idle(desk.fake, desk.bot)
    assert len(desk.posts()) == len(Forge) + 1
