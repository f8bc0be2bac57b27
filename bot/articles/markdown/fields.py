"""Front matter fields -> article values, and the article's permalink.

Field names are matched case-insensitively (the caller lower-cases the keys) and,
where Hugo or common themes spell one field several ways, the first spelling with a
value wins. A field of the wrong type raises :class:`ArticleError` naming it.

Permalinks follow Hugo's defaults (``uglyURLs = false``, ``disablePathToLower =
false``): the path comes from the file's path with the extension dropped, page
bundles (``index.md``) and sections (``_index.md``) take their folder's path, each
segment is sanitised like Hugo's ``MakePath`` (whitespace becomes ``-``, characters
other than letters, digits, marks and ``._-~+#@%`` are dropped) and lower-cased. A
front matter ``slug`` replaces the last segment (not for ``_index.md``, as in Hugo)
and is sanitised the same way; a front matter ``url`` replaces the whole path and is
kept as written. Multilingual file names (``post.fr.md``) are not special-cased.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from bot.articles.markdown.front_matter import kind_of
from bot.articles.model import ArticleError, normalise_tag
from bot.articles.text import absolute_url

PUBLISH_KEYS = ("publishdate", "publish_date", "pubdate", "published")
EXPIRY_KEYS = ("expirydate", "expiry_date", "unpublishdate")
LASTMOD_KEYS = ("lastmod", "modified")
_IMAGE_KEYS = ("featured_image", "featuredimage", "image", "images")


def lookup(fm: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, Any]:
    """The first of ``keys`` present with a value that is not empty, and that value
    (the first key and ``None`` when there is none)."""
    for key in keys:
        value = fm.get(key)
        if value is not None and value != "":
            return key, value
    return keys[0], None


def _scalar_text(value: object, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ArticleError(f"{field}: expected text, got {kind_of(value)}")


def text_field(fm: Mapping[str, Any], *keys: str) -> str | None:
    """A text field (numbers are read as their text), stripped; ``None`` if empty."""
    key, value = lookup(fm, keys)
    if value is None:
        return None
    return _scalar_text(value, key).strip() or None


def draft(value: object) -> bool:
    """The ``draft`` flag: a boolean, or the text "true" / "false"."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ArticleError(f"draft: expected true or false, got {kind_of(value)} {value!r:.40}")


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    """``values`` stripped, without empty ones and without repeats (as tags match)."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = value.strip()
        key = normalise_tag(value)
        if key and key not in seen:
            seen.add(key)
            out.append(value)
    return tuple(out)


def terms(value: object, field: str) -> tuple[str, ...]:
    """Tags or categories: a list, or one comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return _unique(value.split(","))
    if isinstance(value, list):
        return _unique([_scalar_text(v, field) for v in value if v is not None])
    return _unique([_scalar_text(value, field)])


def authors(fm: Mapping[str, Any]) -> tuple[str, ...]:
    """The names in ``author`` and ``authors`` (text, lists, or ``{name: ...}``)."""
    names: list[str] = []
    for key in ("author", "authors"):
        value = fm.get(key)
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            # Some themes write `author: {name: ..., email: ...}`.
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                item = item["name"]
            names.append(_scalar_text(item, key))
    return _unique(names)


def image(fm: Mapping[str, Any], site_url: str | None) -> str | None:
    """The featured image as an absolute URL: the first of its spellings, or the
    first entry of ``images``."""
    key, value = lookup(fm, _IMAGE_KEYS)
    if isinstance(value, list):
        value = next((v for v in value if v is not None and v != ""), None)
    if value is None:
        return None
    return absolute_url(_scalar_text(value, key), site_url)


_PATH_PUNCTUATION = frozenset("._-~+#@%")


def sanitise_segment(segment: str) -> str:
    """One path segment the way Hugo's ``MakePath`` writes it (lower-cased)."""
    out: list[str] = []
    pending_hyphen = False
    for ch in segment:
        if ch in _PATH_PUNCTUATION or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            if pending_hyphen and ch != "-":
                out.append("-")
            pending_hyphen = False
            out.append(ch)
        elif ch.isspace() and out and out[-1] != "-":
            pending_hyphen = True
    return "".join(out).lower()


def permalink(rel_path: str, slug: str | None, url: str | None) -> tuple[str, bool]:
    """The article's path (its id) and whether that is already an absolute URL."""
    if url is not None:
        if absolute_url(url, None) is not None:
            return url, True
        return "/" + url.lstrip("/"), False
    if slug is not None and not sanitise_segment(slug):
        slug = None  # nothing usable left: keep the file's own name
    segments = [s for s in rel_path.replace("\\", "/").split("/") if s not in ("", ".")]
    name = segments.pop() if segments else ""
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    if stem == "_index":
        pass  # a section page: its folder's path; Hugo ignores `slug` here
    elif stem == "index":
        if slug is not None:
            segments[-1:] = [slug]
    else:
        segments.append(slug if slug is not None else stem)
    cleaned = [c for c in (sanitise_segment(s) for s in segments) if c]
    return ("/" + "/".join(cleaned) + "/") if cleaned else "/", False
