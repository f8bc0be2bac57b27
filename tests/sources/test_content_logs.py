"""What the content source tells the operator: the first-start rule, and what became of
each changed file that no post shows (drafts, scheduled articles, copies, moves, files
saved unchanged, files fixed after a rejection)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.content import ContentSource
from tests.sources.helpers import SpyStore, announcements, article_md, by_title, watching
from tests.waiting import wait_until

LOG = "bot.sources.content"
LATER = datetime(2031, 5, 1, 18, 0, tzinfo=UTC)


@pytest.fixture
def store_class() -> type[SpyStore]:
    return SpyStore


def write(root: Path, name: str, text: str) -> Path:
    path = root / "articles" / name
    path.write_text(text, encoding="utf-8")
    return path


def source(store: SpyStore, root: Path) -> ContentSource:
    return ContentSource(store, root, site_url=None, tz=UTC, max_bytes=65536)


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG]


async def test_first_scan_states_the_first_start_rule_with_its_counts(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    write(root, "a.md", article_md("A"))
    write(root, "b.md", article_md("B"))
    write(root, "draft.md", article_md("Draft", draft=True))
    write(root, "later.md", article_md("Later", publish_date=LATER))
    write(root, "broken.md", "---\ntitle: [unclosed\n---\n")
    content = source(store, root)
    async with watching(content):
        pass
    [scan] = [line for line in said(caplog) if line.startswith("content ")]
    assert scan == (
        f"content {content.root}: 5 files (5 read, 0 unchanged, 1 rejected, 0 removed) in "
        f"{scan.split(' in ')[1].split(' s')[0]} s; first start: recorded 4 existing "
        "articles without announcing them (1 draft, 1 scheduled, announced when due); "
        "articles added from now on are announced"
    )
    assert "files/s" not in scan  # no rate for a handful of files
    assert not any(line.startswith(("draft saved", "scheduled")) for line in said(caplog))

    # The next start: one file, no first-start rule any more, and "1 file".
    caplog.clear()
    for path in (root / "articles").iterdir():
        if path.name != "a.md":
            path.unlink()
    again = source(store, root)
    async with watching(again):
        pass
    [scan] = [line for line in said(caplog) if line.startswith("content ")]
    assert scan.startswith(f"content {again.root}: 1 file (0 read, 1 unchanged, 0 rejected, 4 ")
    assert "first start" not in scan


async def test_changes_no_post_shows_are_explained(
    store: SpyStore, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = write(root, "original.md", article_md("Original"))
    content = source(store, root)
    async with watching(content):
        caplog.set_level(logging.INFO, logger=LOG)

        async def logged(text: str) -> bool:
            return any(text in line for line in said(caplog))

        write(root, "draft.md", article_md("Draft", draft=True))
        await wait_until(
            lambda: logged("draft saved: articles/draft.md ('Draft'); announced once it is"),
            "the draft line",
        )
        write(root, "later.md", article_md("Later", publish_date=LATER))
        await wait_until(
            lambda: logged(
                "scheduled: articles/later.md ('Later') goes out at 2031-05-01T18:00:00+00:00"
            ),
            "the scheduled line",
        )
        write(root, "copy.md", original.read_text(encoding="utf-8"))
        await wait_until(
            lambda: logged(
                "copy: articles/copy.md has the same content as articles/original.md; it is "
                "an article of its own"
            ),
            "the copy line",
        )
        write(root, "broken.md", "---\ntitle: [unclosed\n---\n")
        await wait_until(lambda: logged("rejected articles/broken.md: front matter"), "rejected")
        write(root, "broken.md", article_md("Mended"))
        await wait_until(
            lambda: logged("fixed: articles/broken.md reads cleanly now ('Mended')"), "fixed"
        )
        original.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
        await wait_until(
            lambda: logged("unchanged: articles/original.md ('Original') saved with the same"),
            "the unchanged line",
        )
        (root / "articles" / "copy.md").rename(root / "articles" / "renamed.md")
        await wait_until(
            lambda: logged("moved: articles/renamed.md is 'Original' from its old path"), "moved"
        )
        await wait_until(lambda: by_title(store, "Mended"), "Mended stored")
    # The copy is a new article; the draft, the scheduled one, the unchanged save and
    # the move announce nothing.
    assert await announcements(store) == [("published", "Original"), ("published", "Mended")]
