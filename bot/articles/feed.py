"""RSS and Atom documents -> Articles. Pure: the bytes come from the caller.

feedparser does the format work (RSS 0.9x, RSS 1.0/RDF, RSS 2.0, Atom 0.3/1.0);
this module turns its loosely typed entries into the same :class:`Article` a
Markdown file gives, reporting entries it cannot use instead of failing the feed.
"""

from __future__ import annotations

import calendar
import codecs
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any
from xml.etree import ElementTree
from xml.sax import SAXException, SAXParseException
from xml.sax.saxutils import unescape

import feedparser

from bot.articles import html
from bot.articles.dates import ImpossibleDate, parse_date
from bot.articles.model import Article, ArticleError, unique_tags
from bot.articles.text import DEFAULT_HEADINGS, Headings, clip, first_sentences

DESCRIPTION_LIMIT = 1000
LEDE_LIMIT = 600
_NAME_LIMIT = 80

_UTC_SUFFIX = re.compile(r"\s*\b(?:UTC|GMT)$", re.IGNORECASE)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
# What feedparser's loose parser leaves escaped in plain fields (it turns numeric
# references into these names, and other named entities into characters).
_XML_ENTITIES = {"&quot;": '"', "&apos;": "'"}
# An element feedparser reads as plain text (a category, an author) holding a start
# tag other than an Atom person's parts: feedparser keeps only the text around the
# tag, or nothing. Only then is the document read a second time (see _dropped).
_MARKUP_IN_NAMES = re.compile(
    rb"<(?:[\w.-]+:)?(?:category|subject|author|creator|contributor|name)\b[^<>]*(?<!/)>[^<]*"
    rb"<(?![/!?]|(?:[\w.-]+:)?(?:name|email|uri)\b)"
)
# feedparser flags these as "bozo" although the document parsed fine.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class EntryError:
    """A feed entry that could not become an article, or a part of one that was ignored."""

    entry: str  # how to name the entry to a human: its title, link or index ("entry 3")
    reason: str


@dataclass(frozen=True, slots=True)
class _Dropped:
    """What feedparser drops from an entry, read from the document itself.

    ``links``: the text of ``<link>`` elements (feedparser keeps a ``uri`` attribute
    instead, ``at://…`` say). ``categories`` and ``authors``: for those holding markup
    (``<category><p>News</p></category>``), what feedparser made of them (the text
    outside the inner tags, often nothing) and their visible text.
    """

    links: tuple[str, ...] = ()
    categories: tuple[tuple[str, str], ...] = ()
    authors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: its own metadata, the usable articles and the rejected entries.

    ``warnings`` name what was ignored in entries that were still read (an impossible
    date: the entry is read as undated); the caller logs them, this module cannot.
    """

    title: str | None
    link: str | None
    articles: tuple[Article, ...]
    errors: tuple[EntryError, ...]
    ttl_minutes: int | None  # RSS <ttl>, None if absent/invalid
    warnings: tuple[EntryError, ...] = ()


def parse_feed(
    data: bytes | str,
    *,
    feed_url: str,
    tz: tzinfo = UTC,
    headings: Headings = DEFAULT_HEADINGS,
) -> ParsedFeed:
    """Parse an RSS or Atom document fetched from ``feed_url``.

    Relative links are resolved against ``feed_url`` (or the document's ``xml:base``);
    naive dates are read in ``tz``; ``headings`` name the takeaways' titles. Raises
    :class:`ArticleError` when ``data`` is not a feed at all; entries that cannot be
    used are listed in ``errors`` and do not stop the others. Nothing is fetched or
    opened: ``data`` is the document itself.
    """
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
    if not raw.strip():
        raise ArticleError("empty document")
    # A str was already decoded, so its bytes are UTF-8 whatever its XML declaration
    # says; bytes keep the declaration/BOM sniffing (application/xml has no default).
    content_type = "application/xml; charset=utf-8" if isinstance(data, str) else "application/xml"
    try:
        # A BytesIO, never the bytes themselves: feedparser tries to open() bytes and
        # str arguments as file names, and fetches str arguments that look like URLs.
        # No content-location either, so feedparser leaves relative ids alone and we
        # resolve links ourselves; xml:base is still honoured by feedparser.
        result = feedparser.parse(
            io.BytesIO(raw),
            response_headers={"content-type": content_type},
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's loose parser has failure modes of its own
        raise ArticleError(f"not a feed: the parser failed ({type(exc).__name__})") from exc

    entries: list[Any] = list(result.get("entries") or [])
    feed: Mapping[str, Any] = result.get("feed") or {}
    title = _text_field(feed, "title")
    _check_is_feed(raw, result, entries, title)

    # feedparser falls back to its SGML-based loose parser when the XML parser fails
    # (one bare "&" is enough) and tells only through the exception it keeps.
    loose = isinstance(result.get("bozo_exception"), SAXException) or not result.get("encoding")
    dropped: list[_Dropped] = []
    if _MARKUP_IN_NAMES.search(raw) or any(_lost_link(entry, feed_url) for entry in entries):
        # Decoded the way feedparser was told to (see content_type above).
        encoding = "utf-8" if isinstance(data, str) else None
        dropped = _dropped(raw, len(entries), encoding)
    articles: list[Article] = []
    errors: list[EntryError] = []
    warnings: list[EntryError] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        name = _entry_name(entry, index)
        ignored: list[str] = []
        try:
            article = _article(
                entry,
                feed_url=feed_url,
                tz=tz,
                loose=loose,
                dropped=dropped[index - 1] if dropped else _Dropped(),
                ignored=ignored,
                headings=headings,
            )
        except ArticleError as exc:
            errors.append(EntryError(name, str(exc)))
            continue
        except Exception as exc:  # a bug here must cost one entry, not the whole feed
            errors.append(EntryError(name, f"internal error: {type(exc).__name__}: {exc}"))
            continue
        if article.id in seen:
            errors.append(EntryError(name, f"duplicate id {article.id!r:.80}"))
            continue
        seen.add(article.id)
        articles.append(article)
        warnings.extend(EntryError(name, reason) for reason in ignored)

    return ParsedFeed(
        title=title,
        link=_url(feed.get("link"), feed_url),
        articles=tuple(articles),
        errors=tuple(errors),
        ttl_minutes=_ttl(feed.get("ttl")),
        warnings=tuple(warnings),
    )


def _check_is_feed(raw: bytes, result: Any, entries: list[Any], title: str | None) -> None:
    version = result.get("version") or ""
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(bozo, _BENIGN_BOZO):
        bozo = None
    # A broken document still counts when something feed-like survived: a titled
    # channel, or an entry that has at least a title, link or id.
    usable = title or any(_text_field(e, "title") or e.get("link") or e.get("id") for e in entries)
    if (version or (entries and title)) and (bozo is None or usable):
        return
    head = raw.lstrip()[:512].lower()
    if head.startswith((b"{", b"[")):
        raise ArticleError("not an RSS or Atom feed: looks like JSON")
    if b"<html" in head or head.startswith(b"<!doctype html"):
        raise ArticleError("not an RSS or Atom feed: looks like an HTML page")
    if bozo is not None:
        raise ArticleError(f"not an RSS or Atom feed: {_describe_parse_error(bozo, raw)}")
    raise ArticleError("not an RSS or Atom feed: no <rss>, <rdf:RDF> or <feed> document")


def _describe_parse_error(exc: object, raw: bytes) -> str:
    if isinstance(exc, SAXParseException):
        line = exc.getLineNumber()
        # feedparser puts an XML declaration line in front of a document without one.
        if not raw.lstrip(codecs.BOM_UTF8).startswith(b"<?xml") and isinstance(line, int):
            line = max(line - 1, 1)
        return f"{exc.getMessage()} at line {line}"
    return str(exc)[:200] or type(exc).__name__


def _entry_name(entry: Mapping[str, Any], index: int) -> str:
    for candidate in (_text_field(entry, "title"), _str(entry.get("link"))):
        if candidate:
            return clip(candidate, _NAME_LIMIT)
    return f"entry {index}"


def _article(
    entry: Mapping[str, Any],
    *,
    feed_url: str,
    tz: tzinfo,
    loose: bool,
    dropped: _Dropped,
    ignored: list[str],
    headings: Headings,
) -> Article:
    """The entry as an Article; what of it was ignored is appended to ``ignored``."""
    plain = _decoder(loose)
    title = _text_field(entry, "title")
    # The id as feedparser gives it, decoded or not: it is the entry's stored identity,
    # and a change of spelling would announce every such entry again.
    guid = _str(entry.get("id"))
    url, link_problem = _entry_link(entry, feed_url)
    if url is None:
        url = next(filter(None, (html.resolve_url(x, feed_url) for x in dropped.links)), None)
    if url is None:
        if not title and not guid:
            raise ArticleError("no title and no link")
        raise ArticleError(link_problem)
    if not title:
        raise ArticleError("no title")

    updated = _date(entry, "updated", tz, ignored)
    published = _date(entry, "published", tz, ignored) or updated
    terms = [plain(_str(t.get("term")) or _str(t.get("label"))) for t in _dicts(entry.get("tags"))]
    # Categories as written (whitespace collapsed), the first spelling of each.
    tags = unique_tags(" ".join(term.split()) for term in _restore(terms, dropped.categories))
    names = [plain(_str(a.get("name"))) for a in _dicts(entry.get("authors"))]

    content = _content_html(entry, url)
    summary = _summary_html(entry, url)
    trees = [(html.parse_html(markup), base) for markup, base in (content, summary) if markup]
    takeaways: tuple[str, ...] = ()
    for tree, base in trees:
        takeaways = html.takeaways(tree, base_url=base, headings=headings)
        if takeaways:
            break
    lede = None
    if not takeaways:
        for tree, base in trees:
            first = html.first_paragraph(tree, base_url=base)
            if first:
                lede = first_sentences(first, LEDE_LIMIT)
                break

    # Without a summary of its own, feedparser hands the full content over as the
    # summary; the whole article body is not a description.
    has_own_summary = bool(summary[0]) and summary[0] != content[0]
    description = html.html_to_text(summary[0]) if has_own_summary else ""
    return Article(
        id=guid or url,
        title=title,
        url=url,
        date=published,
        publish_date=published,
        lastmod=updated,
        tags=tags,
        categories=tags,
        authors=_authors(_restore(names, dropped.authors)),
        description=clip(description, DESCRIPTION_LIMIT) or None,
        image=_image(entry, url, trees),
        takeaways=takeaways,
        lede=lede or None,
    )


def _entry_link(entry: Mapping[str, Any], feed_url: str) -> tuple[str | None, str]:
    """The entry's absolute http(s) link, or ``None`` and why not."""
    link = _str(entry.get("link"))
    if not link:
        return None, "no link"
    alternates = [x for x in _dicts(entry.get("links")) if x.get("rel") == "alternate"]
    if not alternates and link == _str(entry.get("id")):
        # feedparser copies an RSS <guid> (or an Atom <id>) into `link` when there is
        # no <link>. That is only a link if it is already an absolute http(s) URL:
        # "abc-123" or "tag:example.com,2026:1" is an identifier, not an address.
        url = html.resolve_url(link, None)
        return url, "" if url else "no link"
    url = html.resolve_url(link, feed_url)
    return url, "" if url else f"link is not an http(s) URL: {link!r:.80}"


def _lost_link(entry: Mapping[str, Any], feed_url: str) -> bool:
    """Whether the link feedparser kept is unusable: the element's text may be better."""
    link = _str(entry.get("link"))
    return bool(link) and html.resolve_url(link, feed_url) is None


def _dropped(raw: bytes, count: int, encoding: str | None) -> list[_Dropped]:
    """Per entry, what feedparser dropped; empty when the document cannot tell.

    Read only for the rare feed that needs it, with the standard library's XML parser:
    a document that is not well-formed XML, or whose entries do not line up with
    feedparser's one for one, keeps what feedparser made of it.
    """
    # Never expand a document's own entities a second time (in UTF-16 or -32 too).
    if b"<!ENTITY" in raw.replace(b"\x00", b""):
        return []
    try:
        root = ElementTree.fromstring(raw, ElementTree.XMLParser(encoding=encoding))
    except (ElementTree.ParseError, ValueError, LookupError):
        return []
    try:
        found = [_dropped_from(el) for el in root.iter() if _local(el.tag) in ("item", "entry")]
    except RecursionError:  # serialising absurdly deep markup inside a category
        return []
    return found if len(found) == count else []


def _dropped_from(entry: ElementTree.Element) -> _Dropped:
    links: list[str] = []
    categories: list[tuple[str, str]] = []
    authors: list[tuple[str, str]] = []
    for child in entry:
        name = _local(child.tag)
        if name == "link" and len(child) == 0 and (child.text or "").strip():
            links.append((child.text or "").strip())
        elif name in ("category", "subject") and not child.get("term"):
            categories.extend(_markup_text(child))
        elif name in ("author", "creator", "contributor"):
            names = [c for c in child if _local(c.tag) == "name"]
            authors.extend(_markup_text(names[0] if names else child))
    return _Dropped(tuple(links), tuple(categories), tuple(authors))


def _markup_text(el: ElementTree.Element) -> list[tuple[str, str]]:
    """For ``el`` holding markup: what feedparser keeps of it, and its visible text."""
    if len(el) == 0:
        return []
    # feedparser keeps only the text between the inner elements.
    kept = (el.text or "") + "".join(c.tail or "" for c in el)
    inner = (el.text or "") + "".join(ElementTree.tostring(c, encoding="unicode") for c in el)
    text = html.html_to_text(inner)
    return [(" ".join(kept.split()), text)] if text else []


def _restore(values: list[str], recovered: tuple[tuple[str, str], ...]) -> list[str]:
    """feedparser's ``values`` with those that held markup given their visible text.

    One that feedparser kept in part takes its place; one it lost takes an empty
    place (feedparser leaves one for an author) or is added at the end.
    """
    full = {kept: text for kept, text in recovered if kept}
    lost = [text for kept, text in recovered if not kept]
    restored: list[str] = []
    for value in values:
        key = " ".join(value.split())
        if key in full:
            restored.append(full.pop(key))
        elif not key and lost:
            restored.append(lost.pop(0))
        else:
            restored.append(value)
    return restored + lost + list(full.values())


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _url(value: object, base: str) -> str | None:
    text = _str(value)
    return html.resolve_url(text, base) if text else None


def _date(entry: Mapping[str, Any], key: str, tz: tzinfo, ignored: list[str]) -> datetime | None:
    raw = _str(_own(entry, key))
    if not raw:
        return None
    # "2026-02-03 10:00:00 UTC" is common in feeds; feedparser reads it as midnight.
    iso_utc = _UTC_SUFFIX.sub("+00:00", raw)
    error: ArticleError | None = None
    for text in dict.fromkeys((raw, iso_utc)):
        try:
            parsed = parse_date(text, field=key, tz=tz)
        except ImpossibleDate as exc:
            # feedparser's reading of these is a rolled-over, wrong date: the
            # entry is read as if it had none (an undated entry) and we say why.
            ignored.append(f"{exc}; read as no date")
            return None
        except ArticleError as exc:
            error = error or exc
            continue
        if parsed is None:
            ignored.append(f"{key}: zero date {raw!r:.40}, read as no date")
        return parsed
    # feedparser knows many more date formats than ISO 8601 and RFC 2822; its
    # reading (always UTC) is the fallback when ours fails.
    fallback = _from_struct_time(_own(entry, f"{key}_parsed"))
    if fallback is None:
        raise error or ArticleError(f"{key}: not a date: {raw!r:.60}")
    return fallback


def _own(entry: Mapping[str, Any], key: str) -> Any:
    # `in` rather than get(): FeedParserDict.get("updated") quietly answers with
    # `published` when there is no <updated>, and a lastmod must not be invented.
    return entry.get(key) if key in entry else None


def _from_struct_time(value: object) -> datetime | None:
    if not isinstance(value, tuple) or len(value) < 6:
        return None
    try:
        # timegm copes with leap seconds and out-of-range fields that datetime() rejects.
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, TypeError, ValueError):
        return None


def _decoder(loose: bool) -> Callable[[str], str]:
    """How to read a plain field (a name, a category) feedparser handed over.

    The strict parser decodes entities; the loose one decodes titles but leaves the
    XML entities in plain fields ("Tom &amp; Jerry"), so the same entry would read
    differently whenever a bare "&" appears in the document. (Ids are not read this
    way: they stay as stored, see ``_article``.)
    """
    if not loose:
        return lambda text: text
    return lambda text: unescape(text, _XML_ENTITIES)


def _authors(values: Iterable[str]) -> tuple[str, ...]:
    # Names only: feedparser keeps e-mail addresses apart, and those are not for Discord.
    names: list[str] = []
    for value in values:
        name = " ".join(value.split())
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _content_html(entry: Mapping[str, Any], url: str) -> tuple[str, str]:
    """The entry's full content as HTML and the base to resolve its links against."""
    contents = [c for c in _dicts(entry.get("content")) if _is_text(c.get("type"))]
    contents.sort(key=lambda c: _str(c.get("type")).lower() not in _HTML_TYPES)
    for detail in contents:
        markup = _as_html(detail.get("value"), detail.get("type"))
        if markup.strip():
            return markup, _base(detail, url)
    return "", url


def _summary_html(entry: Mapping[str, Any], url: str) -> tuple[str, str]:
    detail = entry.get("summary_detail")
    detail = detail if isinstance(detail, Mapping) else {}
    if not _is_text(detail.get("type")):
        return "", url
    markup = _as_html(entry.get("summary"), detail.get("type", "text/html"))
    return (markup, _base(detail, url)) if markup.strip() else ("", url)


def _is_text(content_type: object) -> bool:
    # Atom content may be any media type (an image, a PDF, base64 bytes); only text
    # and markup are an article's words.
    kind = _str(content_type).lower()
    return not kind or kind in _HTML_TYPES or kind == "text" or kind.startswith("text/")


def _as_html(value: object, content_type: object) -> str:
    text = _str(value)
    if _str(content_type).lower() in _HTML_TYPES or not content_type:
        return text
    return escape(text)  # text/plain: "<" is a character, not a tag


def _base(detail: Mapping[str, Any], entry_url: str) -> str:
    # feedparser records the xml:base in effect; without one, links in the content
    # are relative to the entry's own page.
    return html.resolve_url(_str(detail.get("base")), None) or entry_url


def _image(
    entry: Mapping[str, Any], url: str, trees: Iterable[tuple[html.Element, str]]
) -> str | None:
    for candidate in _image_candidates(entry):
        found = html.resolve_url(candidate, url)
        if found:
            return found
    for tree, base in trees:
        found = html.first_image(tree, base_url=base)
        if found:
            return found
    return None


def _image_candidates(entry: Mapping[str, Any]) -> Iterator[str]:
    for media in _dicts(entry.get("media_content")):
        medium = _str(media.get("medium")).lower()
        kind = _str(media.get("type")).lower()
        if medium == "image" or kind.startswith("image/") or not (medium or kind):
            yield _str(media.get("url"))
    for thumb in _dicts(entry.get("media_thumbnail")):
        yield _str(thumb.get("url"))
    for link in _dicts(entry.get("links")):
        if link.get("rel") == "enclosure" and _str(link.get("type")).lower().startswith("image/"):
            yield _str(link.get("href"))


def _ttl(value: object) -> int | None:
    try:
        minutes = int(_str(value).strip())
    except ValueError:
        return None
    return minutes if minutes > 0 else None


def _text_field(container: Mapping[str, Any], key: str) -> str | None:
    """A title-like field as plain text (feedparser may hand over HTML for it)."""
    value = _str(container.get(key))
    detail = container.get(f"{key}_detail")
    kind = _str(detail.get("type")).lower() if isinstance(detail, Mapping) else ""
    text = html.html_to_text(value) if kind in _HTML_TYPES else " ".join(value.split())
    return text or None


def _dicts(value: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list | tuple):
        yield from (item for item in value if isinstance(item, Mapping))


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
