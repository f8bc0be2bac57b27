"""Markdown article files (Hugo-style front matter + CommonMark body) -> :class:`Article`.

Pure: text in, an :class:`Article` or an :class:`ArticleError` out, nothing else.
The package is split by idea:

* :mod:`.front_matter` reads the YAML, TOML or JSON front matter;
* :mod:`.fields` turns its fields into article values, and gives the permalink;
* :mod:`.parser` is markdown-it-pyrs behind the guards it needs;
* :mod:`.render` turns parsed Markdown into Discord's dialect;
* :mod:`.scan` finds the Key Takeaways (or the lede) in the body.

Without takeaways, the lede is ``summary``, else ``description`` (both rendered as
inline Markdown), else the first prose paragraph of the body, cut at a sentence
boundary within :data:`LEDE_LIMIT` characters.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from bot.articles.dates import parse_date
from bot.articles.decode import DEFAULT_MAX_BYTES, decode_text
from bot.articles.markdown import fields
from bot.articles.markdown.front_matter import split_front_matter
from bot.articles.markdown.render import render_text_field
from bot.articles.markdown.scan import scan_body
from bot.articles.model import Article, ArticleError
from bot.articles.site import Site, SiteConfigError
from bot.articles.text import DEFAULT_HEADINGS, Headings, first_sentences

__all__ = ["DEFAULT_MAX_BYTES", "LEDE_LIMIT", "parse_markdown", "read_markdown"]

LEDE_LIMIT: Final = 600


def parse_markdown(
    text: str,
    *,
    rel_path: str,
    site_url: str | None = None,
    tz: tzinfo = UTC,
    site: Site | None = None,
    headings: Headings = DEFAULT_HEADINGS,
) -> Article:
    """Parse one article: front matter + Markdown body.

    ``rel_path`` is the file's POSIX path relative to the content folder (it gives the
    article's id, its Hugo permalink path, by ``site``'s configuration when given);
    the site URL (``site_url``, or the one of ``site``, or of the file's language) makes
    that and every relative link and image absolute; naive dates are read in ``tz``;
    ``headings`` name the takeaways' titles. Raises :class:`ArticleError` (and nothing
    else) for anything it cannot accept.
    """
    if site is None:
        site = Site(site_url=site_url)
    raw, body = split_front_matter(text)
    # Field names are read case-insensitively; of keys that differ by case only, the
    # first wins, and keys that are not text are ignored.
    fm: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(key, str):
            fm.setdefault(key.lower(), value)

    title = fields.text_field(fm, "title")
    if title is None:
        raise ArticleError("missing title")
    title = " ".join(title.split())

    # As written (offset kept): Hugo's permalink dates are the page's own wall clock.
    date = parse_date(fm.get("date"), field="date", tz=tz, keep_offset=True)
    publish_date = parse_date(
        fields.lookup(fm, fields.PUBLISH_KEYS)[1], field="publishDate", tz=tz, keep_offset=True
    )
    expiry_date = parse_date(fields.lookup(fm, fields.EXPIRY_KEYS)[1], field="expiryDate", tz=tz)
    lastmod = parse_date(
        fields.lookup(fm, fields.LASTMOD_KEYS)[1], field="lastmod", tz=tz, keep_offset=True
    )
    page_date = date or publish_date or lastmod

    description = fields.text_field(fm, "description")
    summary = fields.text_field(fm, "summary")
    slug = fields.text_field(fm, "slug")
    try:
        path, url = site.permalink(
            rel_path, title=title, slug=slug, url=fields.text_field(fm, "url"), date=page_date
        )
    except SiteConfigError as exc:
        raise ArticleError(f"permalink: {exc}") from None
    language, _ = site.locate(rel_path)
    site_url = site.base_url(language)

    lede_source = summary if summary is not None else description
    scan = scan_body(body, need_lede=lede_source is None, site_url=site_url, headings=headings)
    lede: str | None = None
    if not scan.takeaways:
        if lede_source is not None:
            lede = render_text_field(lede_source, site_url) or None
        else:
            lede = scan.lede
        if lede is not None:
            lede = first_sentences(lede, LEDE_LIMIT)

    return Article(
        id=path,
        title=title,
        url=url,
        date=_utc(date),
        publish_date=_utc(publish_date),
        expiry_date=expiry_date,
        lastmod=_utc(lastmod),
        draft=fields.draft(fm.get("draft")),
        tags=fields.terms(fm.get("tags"), "tags"),
        categories=fields.terms(fm.get("categories"), "categories"),
        authors=fields.authors(fm),
        description=description,
        summary=summary,
        image=fields.image(fm, site_url),
        takeaways=scan.takeaways,
        lede=lede,
        site_name=site.name_of(language),
    )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def read_markdown(
    data: bytes,
    *,
    rel_path: str,
    site_url: str | None = None,
    tz: tzinfo = UTC,
    max_bytes: int = DEFAULT_MAX_BYTES,
    site: Site | None = None,
    headings: Headings = DEFAULT_HEADINGS,
) -> Article:
    """Decode an article file's bytes (see :func:`decode_text`) and parse it."""
    return parse_markdown(
        decode_text(data, max_bytes=max_bytes),
        rel_path=rel_path,
        site_url=site_url,
        tz=tz,
        site=site,
        headings=headings,
    )
