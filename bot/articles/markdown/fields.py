"""Front matter fields -> article values.

Field names are matched case-insensitively (the caller lower-cases the keys) and,
where Hugo or common themes spell one field several ways, the first spelling with a
value wins. A field of the wrong type raises :class:`ArticleError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.articles.markdown.front_matter import kind_of
from bot.articles.model import ArticleError, unique_tags
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
    return unique_tags(value.strip() for value in values)


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
