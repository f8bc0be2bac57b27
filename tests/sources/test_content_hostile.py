"""Hostile entries in the content folder: names that are not UTF-8, links out of the
folder, link loops and over-long paths. Each is skipped with one warning, in the first
scan and in the watch alike, and the articles after it keep flowing.

Real files in ``tmp_path`` and the real watcher; waits poll with a deadline.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path

import pytest

from bot.sources.content import ContentSource, is_utf8_name, is_within, printable
from tests.sources.helpers import (
    SpyStore,
    announcements,
    article_md,
    articles,
    by_title,
    watching,
)
from tests.waiting import wait_until

SITE = "https://news.example.org"
LOG = "bot.sources.content"


@pytest.fixture
def store_class() -> type[SpyStore]:
    return SpyStore


def make_source(store: SpyStore, root: Path) -> ContentSource:
    return ContentSource(store, root, site_url=SITE, tz=UTC, max_bytes=64 * 1024)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_raw(folder: Path, name: bytes, data: bytes) -> None:
    """A file whose name is raw bytes (not necessarily UTF-8)."""
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOG and r.levelno == logging.WARNING and text in r.getMessage()
    ]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG and r.levelno >= logging.ERROR]


def all_utf8(store: SpyStore) -> bool:
    """The store was never handed a path it cannot hold (lone surrogates)."""
    for item in store.recorded:
        try:
            item.path.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


async def stored_paths(store: SpyStore, source: ContentSource) -> set[str]:
    assert source.source_id is not None
    return set(await store.files(source.source_id))


# -- names that are not UTF-8 ----------------------------------------------------------


def test_names_paths_and_roots() -> None:
    bad = os.fsdecode(b"bad\xff.md")
    assert not is_utf8_name(bad) and is_utf8_name("caf\u00e9.md")
    assert printable(bad) == "bad\\xff.md" and printable("caf\u00e9.md") == "caf\u00e9.md"
    assert is_within("/site/content", "/site/content/a.md")
    assert not is_within("/site/content", "/site/content-old/a.md")
    assert not is_within("/site/content", "/site/content")
    assert not is_within("/site/content", "/etc/passwd")


async def test_a_name_that_is_not_utf8_at_first_start_is_skipped_once_and_the_rest_flows(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOG)
    articles_dir = root / "articles"
    write_raw(articles_dir, b"bad\xff.md", article_md("Bad name").encode())
    os.mkdir(os.path.join(os.fsencode(articles_dir), b"folder\xfe"))
    write_raw(articles_dir / os.fsdecode(b"folder\xfe"), b"inside.md", article_md("In it").encode())
    write(root, "articles/good.md", article_md("Good"))
    source = make_source(store, root)
    async with watching(source):
        assert await by_title(store, "Good") is not None
        # The bad file changes while watched (the watcher cannot even name it), then a
        # good article comes: it is stored and announced.
        write_raw(articles_dir, b"bad\xff.md", article_md("Bad name, edited").encode())
        write(root, "articles/later.md", article_md("Later"))
        await wait_until(lambda: by_title(store, "Later"), "the later article")
        write(root, "articles/last.md", article_md("Last"))
        await wait_until(lambda: by_title(store, "Last"), "the last article")
    assert await announcements(store) == [("published", "Later"), ("published", "Last")]
    assert await by_title(store, "Bad name") is None and await by_title(store, "In it") is None
    assert all_utf8(store)
    assert len(warnings_about(caplog, "articles/bad\\xff.md")) == 1
    assert len(warnings_about(caplog, "articles/folder\\xfe")) == 1
    assert errors(caplog) == []


async def test_a_name_that_is_not_utf8_arriving_while_watched_stops_nothing(
    store: SpyStore, root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOG)
    write(root, "articles/good.md", article_md("Good"))
    source = make_source(store, root)
    async with watching(source):
        write_raw(root / "articles", b"new\xff.md", article_md("Bad name").encode())
        write(root, "articles/after.md", article_md("After"))
        await wait_until(lambda: by_title(store, "After"), "the article after the bad name")
        # A folder moved in, holding a bad name beside a good article.
        outside = tmp_path / "incoming"
        outside.mkdir()
        write(outside, "moved-in.md", article_md("Moved in"))
        write_raw(outside, b"also\xfe.md", article_md("Bad name too").encode())
        os.rename(outside, root / "articles" / "incoming")
        await wait_until(lambda: by_title(store, "Moved in"), "the moved-in article")
        write(root, "articles/last.md", article_md("Last"))
        await wait_until(lambda: by_title(store, "Last"), "the last article")
    assert [t for _, t in await announcements(store)] == ["After", "Moved in", "Last"]
    assert all_utf8(store)
    assert len(warnings_about(caplog, "articles/new\\xff.md")) == 1
    assert len(warnings_about(caplog, "articles/incoming/also\\xfe.md")) == 1
    assert errors(caplog) == []


def write_deep(folder: Path, data: bytes, levels: int = 20) -> None:
    """``deep.md`` below ``levels`` folders of 242-byte names: a path over the system's
    4,096-byte limit, made (and rewritten) one folder at a time, relative to the last."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        for level in range(levels):
            name = f"{level:02d}" + "d" * 240
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("deep.md", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, dir_fd=fd)
        try:
            os.write(out, data)
        finally:
            os.close(out)
    finally:
        os.close(fd)


# -- symlinks --------------------------------------------------------------------------


async def test_links_out_of_the_folder_are_never_followed_by_scan_or_watch(
    store: SpyStore, root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOG)
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere, "article.md", article_md("Elsewhere"))
    write(elsewhere, "second.md", article_md("Elsewhere too"))
    (root / "articles" / "passwd.md").symlink_to("/etc/passwd")
    (root / "articles" / "elsewhere.md").symlink_to(elsewhere / "article.md")
    (root / "articles" / "up.md").symlink_to(Path("..") / ".." / "elsewhere" / "article.md")
    (root / "articles" / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    write(root, "articles/good.md", article_md("Good"))
    source = make_source(store, root)
    async with watching(source):
        assert await stored_paths(store, source) == {"articles/good.md"}
        (root / "articles" / "later-link.md").symlink_to(elsewhere / "second.md")
        write(elsewhere, "article.md", article_md("Elsewhere, edited"))
        write(elsewhere, "third.md", article_md("Inside a linked folder"))
        write(root, "articles/after.md", article_md("After"))
        await wait_until(lambda: by_title(store, "After"), "the article after the links")
    for name in ("passwd.md", "elsewhere.md", "up.md", "later-link.md"):
        assert len(warnings_about(caplog, f"articles/{name}")) == 1, name
    # A restart's scan agrees with the watch: none of them is read.
    await make_source(store, root).scan()
    assert await stored_paths(store, source) == {"articles/good.md", "articles/after.md"}
    assert await announcements(store) == [("published", "After")]
    assert errors(caplog) == []


async def test_a_link_inside_the_folder_is_read_alike_by_scan_and_watch(
    store: SpyStore, root: Path, tmp_path: Path
) -> None:
    write(root, "shared/real.md", article_md("Real"))
    (root / "articles" / "alias.md").symlink_to(Path("..") / "shared" / "real.md")
    source = make_source(store, root)
    async with watching(source):
        assert await stored_paths(store, source) == {"shared/real.md", "articles/alias.md"}
        # A new link, and an edit of the file both links lead to.
        write(root, "shared/other.md", article_md("Other"))
        (root / "articles" / "new-alias.md").symlink_to(root / "shared" / "other.md")

        def linked(alias: str, new_alias: str) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                stored = await articles(store)
                titles = [stored.get(k) for k in ("/articles/alias/", "/articles/new-alias/")]
                return [a.title if a else None for a in titles] == [alias, new_alias]

            return check

        await wait_until(linked("Real", "Other"), "the new link read as its target")
        write(root, "shared/other.md", article_md("Other, edited"))
        await wait_until(linked("Real", "Other, edited"), "the edit seen through the link")
        # The link turned to lead out of the folder: its article is withdrawn.
        write(tmp_path / "outside", "x.md", article_md("Outside"))
        (root / "articles" / "alias.md").unlink()
        (root / "articles" / "alias.md").symlink_to(tmp_path / "outside" / "x.md")

        async def withdrawn() -> bool:
            return "articles/alias.md" not in await stored_paths(store, source)

        await wait_until(withdrawn, "the link out withdrawn")
    watched = await stored_paths(store, source)
    assert watched == {"shared/real.md", "shared/other.md", "articles/new-alias.md"}
    stats = await make_source(store, root).scan()
    assert (stats.read, stats.removed) == (0, 0)  # the scan sees exactly what the watch saw
    assert await by_title(store, "Outside") is None


async def test_link_loops_and_over_long_paths_are_logged_once_without_a_rescan(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOG)
    write(root, "articles/good.md", article_md("Good"))
    source = make_source(store, root)
    scans = 0
    scan = source.scan

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal scans
        scans += 1
        return await scan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "scan", counted)
    folder = root / "articles"
    async with watching(source):
        for n in range(3):  # the same offenders in three batches
            for name in ("loop.md", "a.md", "b.md", "long.md"):
                (folder / name).unlink(missing_ok=True)
            (folder / "loop.md").symlink_to("loop.md")
            (folder / "a.md").symlink_to("b.md")
            (folder / "b.md").symlink_to("a.md")
            (folder / "long.md").symlink_to("x" * 300)  # one name over the 255-byte limit
            write_deep(folder, article_md(f"Deep {n}").encode())
            write(root, f"articles/after-{n}.md", article_md(f"After {n}"))
            await wait_until(lambda n=n: by_title(store, f"After {n}"), f"article {n}")
    assert scans == 1  # the first one only: no batch forced a full rescan
    assert [t for _, t in await announcements(store)] == ["After 0", "After 1", "After 2"]
    await source.scan()  # and a later scan does not log them again
    for name in ("loop.md", "a.md", "b.md", "long.md"):
        assert len(warnings_about(caplog, f"articles/{name}")) == 1, name
    # The deep tree: its first folder out of reach, and its file, each logged once.
    assert 1 <= len(warnings_about(caplog, "articles/00ddd")) <= 2
    assert await by_title(store, "Deep 2") is None
    assert errors(caplog) == []
    assert not any(r.exc_info for r in caplog.records if r.name == LOG)
