"""Conversions between Python values and what the database stores."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.articles.model import Article

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Article fields holding datetimes / tuples, for the JSON round trip.
_DATE_FIELDS = frozenset({"date", "publish_date", "expiry_date", "lastmod"})
_TUPLE_FIELDS = frozenset({"tags", "categories", "authors", "takeaways"})


def to_us(value: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime given to the store: {value!r}")
    return (value - _EPOCH) // _MICROSECOND


def opt_us(value: datetime | None) -> int | None:
    """:func:`to_us`, passing ``None`` through."""
    return None if value is None else to_us(value)


def from_us(value: int) -> datetime:
    """The aware UTC datetime of :func:`to_us`."""
    return _EPOCH + timedelta(microseconds=value)


def opt_dt(value: int | None) -> datetime | None:
    """:func:`from_us`, passing ``None`` through."""
    return None if value is None else from_us(value)


# One encoder for all: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def clean_text(text: str) -> str:
    """Text as the database can take it: a lone surrogate (which a Discord client can
    send, and UTF-8 cannot encode) becomes ``?``; every other character is kept."""
    return text.encode("utf-8", "replace").decode("utf-8")


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is."""
    return _ENCODE(value)


def article_to_json(article: Article) -> str:
    """Every field of ``article`` as JSON; ``extra`` is kept where it is JSON-able."""
    data: dict[str, Any] = {}
    for name in _ARTICLE_FIELDS:
        value = getattr(article, name)
        if value is None:
            pass
        elif name in _DATE_FIELDS:
            value = value.isoformat()
        elif name in _TUPLE_FIELDS:
            value = list(value)
        data[name] = value
    try:
        return dumps(data)
    except (TypeError, ValueError):
        # ``extra`` is free-form: keep what survives a string conversion.
        data["extra"] = json.loads(json.dumps(data["extra"], default=str))
        return dumps(data)


def article_from_data(data: dict[str, Any]) -> Article:
    """The inverse of :func:`article_to_json` (after ``json.loads``)."""
    known = set(_ARTICLE_FIELDS)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            continue
        if name in _DATE_FIELDS and value is not None:
            value = datetime.fromisoformat(value)
        elif name in _TUPLE_FIELDS:
            value = tuple(value)
        kwargs[name] = value
    return Article(**kwargs)
