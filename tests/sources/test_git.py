"""The git source: real repositories made in the test, a real SQLite store, the real
``git`` command; over a local path, over ``git://`` and over http with a password on
127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.service import Pipeline
from bot.sources.content import ContentSource
from bot.sources.git import (
    GitError,
    GitSource,
    changed_paths,
    clone_path,
    git_access,
    redact,
    remote_head,
    run_git,
)
from bot.store import Store
from tests.sources.gitrepos import GitDaemon, Site, git, git_daemon, git_http
from tests.sources.helpers import SpyStore, announcements, article_md, articles, by_title
from tests.waiting import wait_until

SITE = "https://news.example.org"
TOKEN = "ghp_s3cretT0ken"


@pytest.fixture
def store_class() -> type[SpyStore]:
    return SpyStore


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site with two published articles on ``main``."""
    repo = Site(tmp_path / "remote")
    repo.write("content/articles/one.md", article_md("Article One"))
    repo.write("content/articles/two.md", article_md("Article Two"))
    repo.write("hugo.toml", 'title = "Site"\n')
    repo.commit("first")
    repo.push()
    return repo


@pytest.fixture
def daemon(site: Site) -> Iterator[GitDaemon]:
    with git_daemon(site.origin.parent) as server:
        yield server


def make_source(
    store: Store, url: str, tmp_path: Path, branch: str | None = None, interval: float = 60.0
) -> GitSource:
    return GitSource(
        store,
        url,
        clone_dir=tmp_path / "clone",
        branch=branch,
        interval=interval,
        content_source=lambda folder, _site_root: ContentSource(
            store, folder, site_url=SITE, tz=UTC, max_bytes=64 * 1024
        ),
    )


# -- pure parts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:pw@host/x.git", "https://***@host/x.git"),
        (f"https://{TOKEN}@github.com/o/r", "https://***@github.com/o/r"),
        ("fetch 'https://a:b@c@d.org/r' failed", "fetch 'https://***@d.org/r' failed"),
        ("ssh://git@host:22/r.git and http://x:y@h/", "ssh://***@host:22/r.git and http://***@h/"),
        ("git@github.com:org/site.git", "git@github.com:org/site.git"),  # no secret in it
        ("/srv/site.git", "/srv/site.git"),
    ],
)
def test_redact_urls(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_the_configured_secret_anywhere() -> None:
    url = f"https://x-access-token:{TOKEN}@github.com/o/r.git"
    said = f"remote said: bad credentials {TOKEN} for {url}"
    assert TOKEN not in redact(said, url)
    assert redact(said, url) == (
        "remote said: bad credentials *** for https://***@github.com/o/r.git"
    )
    # A token given as the user name of an https URL; percent-encoded ones too.
    assert redact(f"token {TOKEN}", f"https://{TOKEN}@github.com/o/r") == "token ***"
    assert redact("pw p@ss", "https://u:p%40ss@host/r") == "pw ***"
    # ssh's user name is no secret: messages keep the word "git".
    assert redact("git says no", "ssh://git@host/r.git") == "git says no"


def test_git_access_moves_http_credentials_off_the_command_line() -> None:
    remote, env = git_access(f"https://x-access-token:{TOKEN}@github.com:443/o/r.git")
    assert remote == "https://github.com:443/o/r.git"
    assert (env["NEWSBOT_GIT_USERNAME"], env["NEWSBOT_GIT_PASSWORD"]) == ("x-access-token", TOKEN)
    assert env["GIT_CONFIG_KEY_1"] == "credential.https://github.com:443.helper"
    assert TOKEN not in env["GIT_CONFIG_VALUE_1"]
    # A token as the user name; percent-encoded characters are decoded for git.
    remote, env = git_access(f"http://{TOKEN}@h/r")
    assert (remote, env["NEWSBOT_GIT_USERNAME"], env["NEWSBOT_GIT_PASSWORD"]) == (
        "http://h/r",
        TOKEN,
        "",
    )
    assert git_access("https://u:p%40s%3As@h/r")[1]["NEWSBOT_GIT_PASSWORD"] == "p@s:s"
    # Nothing secret to move: given as they are.
    for url in ["https://h/r.git", "ssh://git@h/r.git", "git@h:o/r.git", "/srv/r.git"]:
        assert git_access(url) == (url, {})


def test_clone_path_is_beside_the_database_and_ignores_credentials(tmp_path: Path) -> None:
    database = tmp_path / "data" / "newsbot.sqlite3"
    plain = clone_path(database, "https://github.com/org/site.git")
    assert plain.parent == tmp_path / "data" / "newsbot.sqlite3-git"
    assert plain.name.startswith("site-")
    assert clone_path(database, f"https://{TOKEN}@github.com/org/site.git") == plain
    assert clone_path(database, "https://github.com/org/other.git") != plain
    assert clone_path(database, "git@github.com:org/site.git").name.startswith("site-")
    assert clone_path(database, "/srv/repos/site").name.startswith("site-")
    assert TOKEN not in str(clone_path(database, f"https://{TOKEN}@h/{TOKEN}.git").parent)


def test_remote_head_and_changed_paths() -> None:
    said = "ref: refs/heads/trunk\tHEAD\n0123abcd\tHEAD\n"
    assert remote_head(said) == "trunk"
    assert remote_head("0123abcd\tHEAD\n") is None
    assert remote_head("ref: refs/tags/v1\tHEAD\n") is None
    assert changed_paths(b"content/a.md\0content/b c.md\0content/\xe9.md\0") == [
        "content/a.md",
        "content/b c.md",
        "content/\udce9.md",
    ]
    assert changed_paths(b"") == []


def test_git_settings(no_bot_env: None) -> None:
    settings = load_settings(_env_file=None, git_url=" https://h/r.git ", git_branch="")
    assert (settings.git_url, settings.git_branch, settings.git_interval) == (
        "https://h/r.git",
        None,
        60.0,
    )
    assert not settings.uses_samples  # a repository is a source: no samples
    for bad, message in [
        ({"git_url": "--upload-pack=touch /tmp/x"}, "^NEWSBOT_GIT_URL='--upload-pack=tou"),
        ({"git_url": f"https://{TOKEN}@h/a b"}, r"^NEWSBOT_GIT_URL='https://\*\*\*@h/a b': "),
        ({"git_branch": "-f"}, "^NEWSBOT_GIT_BRANCH=-f: '-f' is not a branch name"),
        ({"git_branch": "a..b"}, "NEWSBOT_GIT_BRANCH"),
        ({"git_branch": "a\x01b"}, "NEWSBOT_GIT_BRANCH"),
        ({"git_interval": "0.5"}, "NEWSBOT_GIT_INTERVAL"),
    ]:
        with pytest.raises(SettingsError, match=message):
            load_settings(_env_file=None, **bad)
    assert load_settings(_env_file=None, git_branch="refs/heads/site/live").git_branch == (
        "site/live"
    )


# -- against real repositories --------------------------------------------------------


async def test_first_clone_is_recorded_then_pushes_are_announced(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    source = make_source(store, str(site.origin), tmp_path)
    await source.update()
    assert source.ready.is_set() and source.branch == "main"  # the remote's HEAD
    assert (tmp_path / "clone" / "content" / "articles" / "one.md").is_file()
    assert await by_title(store, "Article One") is not None
    assert await announcements(store) == []  # the first clone: the baseline

    site.publish("content/articles/three.md", article_md("Article Three"))
    store.recorded.clear()
    await source.update()
    assert await announcements(store) == [("published", "Article Three")]
    assert [item.path for item in store.recorded] == ["articles/three.md"]  # only it

    # A file outside the content folder changes nothing; nothing is read.
    site.publish("hugo.toml", 'title = "Renamed"\n')
    store.recorded.clear()
    await source.update()
    assert store.recorded == []

    # An edit is read (its post, still pending here, goes out with the new words).
    site.publish("content/articles/three.md", article_md("Article Three", takeaways=["New."]))
    await source.update()
    edited = await by_title(store, "Article Three")
    assert edited is not None and edited.takeaways == ("New.",)

    # A rename is a move: the same article at a new path, announced once only.
    git("mv", "content/articles/three.md", "content/articles/moved.md", cwd=site.work)
    site.commit("move")
    site.push()
    before = await announcements(store)
    await source.update()
    assert await announcements(store) == before
    moved = await by_title(store, "Article Three")
    assert moved is not None and moved.status == "published"

    site.remove("content/articles/moved.md")
    site.commit("delete")
    site.push()
    await source.update()
    gone = await by_title(store, "Article Three")
    assert gone is not None and gone.status == "withdrawn"
    assert await announcements(store) == before


async def test_a_force_push_re_announces_nothing(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    source = make_source(store, str(site.origin), tmp_path)
    base = git("rev-parse", "HEAD", cwd=site.work)
    await source.update()
    site.publish("content/articles/x.md", article_md("Story X"))
    await source.update()
    assert await announcements(store) == [("published", "Story X")]

    # History rewritten without X: X is withdrawn, nothing announced.
    site.reset(base)
    site.write("content/articles/y.md", article_md("Story Y draft", draft=True))
    site.commit("rewritten")
    site.push(force=True)
    await source.update()
    x = await by_title(store, "Story X")
    assert x is not None and x.status == "withdrawn"

    # Rewritten again, with X back (same words, another commit) and a new Z: only Z is new.
    site.reset(base)
    site.write("content/articles/x.md", article_md("Story X"))
    site.write("content/articles/z.md", article_md("Story Z"))
    site.commit("rewritten again")
    site.push(force=True)
    await source.update()
    assert await announcements(store) == [("published", "Story X"), ("published", "Story Z")]
    x = await by_title(store, "Story X")
    assert x is not None and x.status == "published"


async def test_a_restart_reads_only_what_changed_meanwhile(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    await make_source(store, str(site.origin), tmp_path).update()
    site.publish("content/articles/new.md", article_md("While Away"))
    store.recorded.clear()
    again = make_source(store, str(site.origin), tmp_path)  # a new process, same clone
    await again.update()
    assert [item.path for item in store.recorded] == ["articles/new.md"]
    assert await announcements(store) == [("published", "While Away")]


async def test_leading_again_reads_what_another_process_recorded_meanwhile(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    """Two processes on two machines, each with its own clone at the same path, lead in
    turn: one reads a commit the other never sees, and a later commit undoes it."""
    clone = tmp_path / "clone"
    mounted: list[str] = []

    def mount(machine: str) -> None:
        """The clone's path now holds ``machine``'s disk."""
        if mounted:
            clone.rename(tmp_path / mounted.pop())
        if (tmp_path / machine).exists():
            (tmp_path / machine).rename(clone)
        mounted.append(machine)

    async def lead(source: GitSource) -> None:
        """One term of leading: the source runs until it has read the remote's tip."""
        stop = asyncio.Event()
        tip = git("rev-parse", "HEAD", cwd=site.work)
        task = asyncio.create_task(source.run(stop))
        await wait_until(lambda: source.head == tip, "the tip read")
        stop.set()
        await task

    first = make_source(store, str(site.origin), tmp_path)
    second = make_source(store, str(site.origin), tmp_path)
    mount("first")
    await lead(first)
    site.publish("content/articles/one.md", article_md("Article One", takeaways=["Edited."]))
    mount("second")
    await lead(second)
    edited = await by_title(store, "Article One")
    assert edited is not None and edited.takeaways == ("Edited.",)
    site.publish("content/articles/one.md", article_md("Article One"))  # undone

    # The first clone's diff (its last commit to the tip) holds no change to one.md.
    mount("first")
    store.recorded.clear()
    await lead(first)
    one = await by_title(store, "Article One")
    assert one is not None and one.takeaways == ("First point.", "Second point.", "Third point.")
    assert "articles/one.md" in [item.path for item in store.recorded]
    # Within a term, later rounds read only what changed.
    site.publish("content/articles/three.md", article_md("Article Three"))
    store.recorded.clear()
    await first.update()
    assert [item.path for item in store.recorded] == ["articles/three.md"]


async def test_over_git_protocol_and_a_configured_branch(
    store: SpyStore, site: Site, daemon: GitDaemon, tmp_path: Path
) -> None:
    site.write("content/articles/draft-branch.md", article_md("Only On Preview"))
    site.commit("preview")
    site.push(branch="preview")
    site.reset("HEAD~1")
    url = daemon.url(site.origin)
    source = make_source(store, url, tmp_path, branch="preview")
    await source.update()
    assert daemon.connections == 1
    assert await by_title(store, "Only On Preview") is not None
    assert await announcements(store) == []

    site.publish("content/articles/main-only.md", article_md("Main Only"))
    await source.update()  # main moved, preview did not: nothing new
    assert await by_title(store, "Main Only") is None


async def test_an_unreachable_remote_is_logged_once_without_credentials(
    store: SpyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"https://bot:{TOKEN}@127.0.0.1:{port}/site.git"
    source = make_source(store, url, tmp_path, interval=1.0)
    assert TOKEN not in source.public_url
    with pytest.raises(GitError) as failed:
        await source.update()
    assert TOKEN not in str(failed.value)

    stop = asyncio.Event()
    caplog.set_level(logging.DEBUG, "bot.sources.git")
    task = asyncio.create_task(source.run(stop))
    source.fetch_now()
    try:
        await wait_until(
            lambda: sum("still failing" in r.getMessage() for r in caplog.records) >= 1,
            "a second failed fetch",
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "retrying every 1 s" in warnings[0]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "clone" / ".git" / "config").read_text().count(TOKEN)


async def test_a_remote_that_never_answers_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection, say nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(GitError, match=r"git ls-remote took longer than 0.5 s"):
            await run_git("ls-remote", f"git://127.0.0.1:{port}/x.git", timeout=0.5)
    finally:
        server.close()
        await server.wait_closed()


async def test_an_empty_remote_and_a_missing_branch_are_errors(
    store: SpyStore, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.git"
    git("init", "--quiet", "--bare", empty)
    with pytest.raises(GitError):
        await make_source(store, str(empty), tmp_path).update()
    site = Site(tmp_path / "remote")
    site.publish("content/articles/a.md", article_md("A"))
    with pytest.raises(GitError, match="couldn't find remote ref"):
        await make_source(store, str(site.origin), tmp_path, branch="nope").update()


async def test_a_commit_without_content_folder_holds_no_articles(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    source = make_source(store, str(site.origin), tmp_path)
    await source.update()
    git("rm", "--quiet", "-r", "content", cwd=site.work)
    site.commit("no more content")
    site.push()
    await source.update()
    one = await by_title(store, "Article One")
    assert one is not None and one.status == "withdrawn"
    # And a fresh process on that checkout starts fine (the folder is made empty).
    await make_source(store, str(site.origin), tmp_path).update()


HUGO_TOML = """\
baseURL = "https://daily.example.org/"
title = "The Daily"
contentDir = "site/posts"
[permalinks.page]
articles = "/:year/:month/:filename/"
"""


@pytest.mark.usefixtures("no_bot_env")
async def test_the_checkouts_site_config_shapes_its_articles(
    store: SpyStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = Site(tmp_path / "remote")
    repo.write("hugo.toml", HUGO_TOML)
    repo.write("site/posts/articles/one.md", article_md("Article One"))
    repo.write("content/articles/other.md", article_md("Not In The Content Folder"))
    repo.commit("a site")
    repo.push()
    database = tmp_path / "news.sqlite3"

    def start(**env: str) -> GitSource:
        pipeline = Pipeline(Settings(git_url=str(repo.origin), database=database, **env), store)
        assert pipeline.git is not None
        return pipeline.git

    source = start()
    await source.update()
    one = await by_title(store, "Article One")
    assert one is not None and one.url == "https://daily.example.org/2024/01/one/"
    assert one.message["embeds"][0]["footer"]["text"].startswith("The Daily")
    assert await by_title(store, "Not In The Content Folder") is None

    # A push that changes the config re-reads every article in the new one, quietly.
    repo.write("hugo.toml", HUGO_TOML.replace(":year/:month", "news/:year"))
    repo.publish("site/posts/articles/two.md", article_md("Article Two"))
    caplog.set_level(logging.INFO, logger="bot.sources.content")
    await source.update()
    assert "site config changed since the stored articles were read" in caplog.text
    stored = {a.title: a.url for a in (await articles(store)).values()}
    assert stored == {
        "Article One": "https://daily.example.org/news/2024/one/",
        "Article Two": "https://daily.example.org/news/2024/two/",
    }
    assert await announcements(store) == [("published", "Article Two")]

    # The environment wins over the config; the next start re-renders with it.
    caplog.clear()
    await start(site_url=SITE).update()
    assert "NEWSBOT_SITE_URL changed since the stored articles were read" in caplog.text
    one = await by_title(store, "Article One")
    assert one is not None and one.url == f"{SITE}/news/2024/one/"
    assert await announcements(store) == [("published", "Article Two")]


@pytest.mark.usefixtures("no_bot_env")
async def test_a_site_config_that_cannot_be_used_is_reported_and_retried(
    store: SpyStore, site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.write("hugo.toml", 'baseURL = "https://x.example.org/"\ntimeZone = "Mars/Olympus"\n')
    site.commit("a bad zone")
    site.push()
    settings = Settings(git_url=str(site.origin), database=tmp_path / "news.sqlite3")
    source = Pipeline(settings, store).git
    assert source is not None
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(stop))
    try:
        await wait_until(lambda: "Mars/Olympus" in caplog.text, "the error reported")
        assert "site configuration: hugo.toml: timeZone: unknown time zone" in caplog.text
        site.write("hugo.toml", 'baseURL = "https://x.example.org/"\n')
        site.commit("fixed")
        site.push()
        source.fetch_now()
        await wait_until(source.ready.is_set, "the fixed config read")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    one = await by_title(store, "Article One")
    assert one is not None and one.url == "https://x.example.org/articles/one/"


async def test_fetch_requests_coalesce(store: SpyStore, site: Site, tmp_path: Path) -> None:
    source = make_source(store, str(site.origin), tmp_path, interval=3600.0)
    stop = asyncio.Event()
    task = asyncio.create_task(source.run(stop))
    try:
        await wait_until(lambda: source.ready.is_set(), "the first clone")
        site.publish("content/articles/hooked.md", article_md("Hooked"))
        for _ in range(5):  # five webhooks at once
            source.fetch_now()

        async def announced() -> bool:
            return await announcements(store) == [("published", "Hooked")]

        await wait_until(announced, "the pushed article")
        assert source.fetches == 2 and not source.fetch_wanted  # one fetch for all five
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert source.fetches == 2


async def test_a_content_folder_linking_out_of_the_repository_is_not_read(
    store: SpyStore, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.md").write_text(article_md("Private Notes"), encoding="utf-8")
    site = Site(tmp_path / "remote")
    (site.work / "content").symlink_to(outside)
    site.commit("a link")
    site.push()
    with pytest.raises(GitError, match="content is a link out of the repository"):
        await make_source(store, str(site.origin), tmp_path).update()
    assert await by_title(store, "Private Notes") is None


async def test_a_restart_puts_a_tampered_checkout_right(
    store: SpyStore, site: Site, tmp_path: Path
) -> None:
    await make_source(store, str(site.origin), tmp_path).update()
    checkout = tmp_path / "clone" / "content" / "articles"
    (checkout / "one.md").write_text(article_md("Edited In The Clone"), encoding="utf-8")
    (checkout / "two.md").unlink()
    (tmp_path / "clone" / ".git" / "index.lock").touch()  # a git killed mid-way
    await make_source(store, str(site.origin), tmp_path).update()
    assert await by_title(store, "Edited In The Clone") is None
    two = await by_title(store, "Article Two")
    assert two is not None and two.status == "published"
    assert await announcements(store) == []


@pytest.fixture
def git_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """The command lines of every git process started from here on (a call reads them
    so far): a wrapper stands in for ``git`` on PATH and for each program of git's exec
    path (the http remote helper, upload-pack, ...), records, and runs the real one."""
    real = Path(git("--exec-path"))
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "record-argv"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "${{0##*/}} $*" >> "{log}"\nexec "{real}/${{0##*/}}" "$@"\n'
    )
    wrapper.chmod(0o755)
    for program in real.iterdir():
        runs = program.is_file() and os.access(program, os.X_OK)
        (shims / program.name).symlink_to(wrapper if runs else program)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GIT_EXEC_PATH", str(shims))
    return lambda: log.read_text(encoding="utf-8") if log.exists() else ""


def files_holding(secret: str, folder: Path) -> list[Path]:
    """The files under ``folder`` with ``secret`` in them."""
    files = [f for f in folder.rglob("*") if f.is_file()]
    assert files, f"no files in {folder}"
    return [f for f in files if secret.encode() in f.read_bytes()]


async def test_credentials_are_on_no_command_line_and_not_on_disk(
    store: SpyStore,
    site: Site,
    tmp_path: Path,
    git_argv: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A helper in the user's own git config that would store what git was given.
    stored = tmp_path / "git-credentials"
    user_config = tmp_path / "gitconfig"
    user_config.write_text(f"[credential]\n\thelper = store --file {stored}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))
    password = f"{TOKEN}@:/ %"  # percent-encoded in the URL, as it must be
    with git_http(site.origin.parent, "bot", password) as server:
        url = server.url(site.origin)
        source = make_source(store, url, tmp_path)
        await source.update()  # the remote's default branch, then the first fetch
        site.publish("content/articles/three.md", article_md("Article Three"))
        await source.update()
        assert await by_title(store, "Article Three") is not None
        assert server.served > 0

        wrong = make_source(store, url.replace(TOKEN, "wrong"), tmp_path / "other")
        with pytest.raises(GitError, match="Authentication failed") as failed:
            await wrong.update()
        assert "wrong" not in str(failed.value)
        assert server.refused > 0

    recorded = git_argv()
    assert "git-remote-http http://127.0.0.1" in recorded  # the process speaking http
    assert "git ls-remote" in recorded and "git fetch" in recorded
    assert TOKEN not in recorded and "wrong" not in recorded
    assert files_holding(TOKEN, tmp_path / "clone" / ".git") == []
    assert not stored.exists()
