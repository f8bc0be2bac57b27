"""Front matter and feed dates -> aware UTC datetimes."""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime, time, tzinfo

from bot.articles.model import ArticleError

# Hugo reads a zero date ("0001-01-01") as "not set"; so do we.
_ZERO_YEAR = 1


def parse_date(value: object, *, field: str, tz: tzinfo = UTC) -> datetime | None:
    """Read one date field. Naive values are read in ``tz``; the result is aware UTC.

    Accepts what YAML and TOML hand over natively (``date``, ``datetime``), ISO 8601 /
    RFC 3339 strings (date only, with or without seconds, ``Z`` or an offset, ``T``
    or a space between date and time) and RFC 2822 strings. Empty values give
    ``None``; anything else raises :class:`ArticleError` naming the field.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        parsed = _parse_string(value.strip(), field)
    else:
        raise ArticleError(f"{field}: expected a date, got {type(value).__name__} {value!r:.40}")
    if parsed.year == _ZERO_YEAR:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ArticleError(f"{field}: date out of range: {value!r:.40}") from exc


def _parse_string(text: str, field: str) -> datetime:
    if not text:
        raise ArticleError(f"{field}: empty date")
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    else:
        # RFC 2822 "-0000" is UTC with the sender's zone unknown; Python returns it
        # naive, which would otherwise be read in the local zone.
        if parsed.tzinfo is None and text.endswith("-0000"):
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    raise ArticleError(f"{field}: not a date: {text!r:.60}")
