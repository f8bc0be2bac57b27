"""``newsbot preview``: show, for files, folders and feed documents, the exact posts the bot
would send, without Discord and without the store."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.articles.feed import parse_feed
from bot.articles.markdown import read_markdown
from bot.articles.model import Article, ArticleError
from bot.articles.site import Site, SiteConfigError
from bot.articles.text import DEFAULT_HEADINGS, Headings
from bot.sources.site import read_site_config, site_of, time_zone
from bot.summary import render_message, render_text

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".feed"})


@dataclass(frozen=True, slots=True)
class Item:
    """One line of preview output: an article, or the reason an input was rejected."""

    source: str
    article: Article | None = None
    error: str | None = None


def content_root(path: Path) -> Path:
    """The Hugo content root for ``path``: its nearest ancestor named ``content``, else
    the folder given (or the file's own folder), so permalinks match the site's."""
    start = path if path.is_dir() else path.parent
    for ancestor in (start, *start.parents):
        if ancestor.name == "content":
            return ancestor
    return start


def is_feed_document(path: Path, head: bytes) -> bool:
    """Feeds are told apart by extension, else by content (XML starts with ``<``)."""
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return False
    if suffix in FEED_SUFFIXES:
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


class _Sites:
    """The site of each content root: the Hugo configuration in the root's parent (as
    ``newsbot run`` reads it), with ``site_url`` and ``tz``, when given, winning."""

    def __init__(self, site_url: str | None, tz: tzinfo | None) -> None:
        self.site_url = site_url
        self.tz = tz
        self._read: dict[Path, tuple[Site, tzinfo]] = {}

    def of(self, root: Path) -> tuple[Site, tzinfo]:
        """The site and zone of the files under ``root``; raises SiteConfigError."""
        if root not in self._read:
            config = read_site_config(root.parent)
            site = site_of(config, root.parent, root, self.site_url or config.base_url)
            self._read[root] = site, self.tz or ZoneInfo(time_zone(config) or "UTC")
        return self._read[root]


def iter_items(
    paths: list[str],
    *,
    site_url: str | None,
    tz: tzinfo | None,
    max_bytes: int,
    headings: Headings = DEFAULT_HEADINGS,
) -> Iterator[Item]:
    """Read every input; rejected inputs become items with an error, never exceptions.
    ``tz`` ``None``: the site's ``timeZone``, else UTC."""
    sites = _Sites(site_url, tz)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = content_root(path)
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MARKDOWN_SUFFIXES
            )
            for file in files:
                yield _read_one(file, str(file), root, sites, max_bytes, headings)
        elif path.exists():
            yield from _read_path(path, raw, sites, max_bytes, headings)
        else:
            yield Item(raw, error="no such file or folder")


def _read_path(
    path: Path, source: str, sites: _Sites, max_bytes: int, headings: Headings
) -> Iterator[Item]:
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        yield Item(source, error=f"cannot read: {exc.strerror or exc}")
        return
    if not is_feed_document(path, head):
        yield _read_one(path, source, content_root(path), sites, max_bytes, headings)
        return
    try:
        data = _read_capped(path, max_bytes)
        feed_url = sites.site_url or path.resolve().as_uri()
        feed = parse_feed(data, feed_url=feed_url, tz=sites.tz or UTC, headings=headings)
    except (OSError, ArticleError) as exc:
        yield Item(source, error=_reason(exc))
        return
    for article in feed.articles:
        yield Item(source, article=article)
    for entry_error in feed.errors:
        yield Item(source, error=f"entry {entry_error.entry}: {entry_error.reason}")


def _read_one(
    path: Path, source: str, root: Path, sites: _Sites, max_bytes: int, headings: Headings
) -> Item:
    try:
        site, tz = sites.of(root)
    except SiteConfigError as exc:
        return Item(source, error=f"site configuration: {exc}")
    try:
        data = _read_capped(path, max_bytes)
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        article = read_markdown(data, rel_path=rel, site=site, tz=tz, headings=headings)
        return Item(source, article=article)
    except (OSError, ArticleError) as exc:
        return Item(source, error=_reason(exc))


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """Read at most one byte past the cap, so a huge file is never loaded whole."""
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArticleError(f"file too large: over {max_bytes:,} bytes")
    return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


def write_items(
    items: Iterator[Item], *, as_json: bool, out: TextIO, err: TextIO, now: datetime | None = None
) -> int:
    """Print the items; return the exit code (0 all read, 1 some rejected)."""
    now = now or datetime.now(UTC)
    status = 0
    for item in items:
        if item.article is None:
            status = 1
            if as_json:
                out.write(json.dumps({"source": item.source, "error": item.error}) + "\n")
            else:
                err.write(f"{item.source}: error: {item.error}\n")
            continue
        message = render_message(item.article)
        if as_json:
            record: dict[str, Any] = {
                "source": item.source,
                "article": item.article.to_json(now),
                "message": message,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(_human(item, message, now) + "\n")
    out.flush()
    return status


def _human(item: Item, message: dict[str, Any], now: datetime) -> str:
    article = item.article
    assert article is not None
    published = article.published_at.isoformat() if article.published_at else "no date"
    header = f"── {item.source}  [{article.status(now).value}, {published}]"
    return f"{header}\n{render_text(message)}\n"


def run_preview(
    paths: list[str],
    *,
    as_json: bool,
    site_url: str | None,
    tz: tzinfo | None,
    max_bytes: int,
    headings: Headings = DEFAULT_HEADINGS,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """The whole ``preview`` command; returns its exit code."""
    items = iter_items(paths, site_url=site_url, tz=tz, max_bytes=max_bytes, headings=headings)
    return write_items(items, as_json=as_json, out=out or sys.stdout, err=err or sys.stderr)
