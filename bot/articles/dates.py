"""Front matter and feed dates -> aware UTC datetimes."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.articles.model import ArticleError

# Hugo reads a zero date ("0001-01-01") as "not set"; so do we.
_ZERO_YEAR = 1

# The shape of an ISO 8601 / RFC 3339 date-time. Text of this shape that
# datetime.fromisoformat refuses has impossible values (month 13, offset +99:99),
# not a format someone else might know.
_ISO_SHAPE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?"
)
# Any text starting with such a day ("2026-02-30 10:00 EST") names that day: if the
# day cannot be, neither can the date, whatever follows.
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")

# Real instants datetime cannot spell: a leap second (RFC 3339 allows "23:59:60") and
# the end of a day (ISO 8601's "24:00"). Read as the next second / the next midnight.
_LEAP_SECOND = re.compile(r"(?<=\d\d:\d\d):60(?!\d)")
_END_OF_DAY = re.compile(r"(?<![\d:+-])24:00(?::00)?(?![\d:])")


class ImpossibleDate(ArticleError):
    """A date in a format we read (ISO 8601, RFC 2822) whose values cannot be.

    Told apart from text that is no date at all because lenient readers (feedparser)
    roll such values over into another, wrong date instead of refusing them.
    """


def parse_date(
    value: object, *, field: str, tz: tzinfo = UTC, keep_offset: bool = False
) -> datetime | None:
    """Read one date field. Naive values are read in ``tz``; the result is aware UTC
    (with ``keep_offset``, aware in the offset it was written in, or ``tz``).

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
        utc = parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ImpossibleDate(f"{field}: date out of range: {value!r:.40}") from exc
    return parsed if keep_offset else utc


def _parse_string(text: str, field: str) -> datetime:
    if not text:
        raise ArticleError(f"{field}: empty date")
    try:
        return _parse_text(text, field)
    except ImpossibleDate:
        for pattern, spelled, step in (
            (_LEAP_SECOND, ":59", timedelta(seconds=1)),
            (_END_OF_DAY, "23:59:59", timedelta(seconds=1)),
        ):
            respelled = pattern.sub(spelled, text, count=1)
            if respelled != text:
                try:
                    return _parse_text(respelled, field) + step
                except ArticleError:
                    break
        raise


def _parse_text(text: str, field: str) -> datetime:
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        if _ISO_SHAPE.fullmatch(text) or not _possible_day(text):
            raise _impossible(text, field) from None
    if email.utils.parsedate_tz(text) is None:
        raise ArticleError(f"{field}: not a date: {text!r:.60}")
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        # The RFC 2822 shape was recognised above, so its values are what failed.
        raise _impossible(text, field) from None
    # RFC 2822 "-0000" is UTC with the sender's zone unknown; Python returns it
    # naive, which would otherwise be read in the local zone.
    if parsed.tzinfo is None and text.endswith("-0000"):
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return _written_year(parsed, text)
    except ValueError:  # year 0
        raise _impossible(text, field) from None


def _possible_day(text: str) -> bool:
    match = _ISO_DAY.match(text)
    if match is None:
        return True
    try:
        date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return True


def _impossible(text: str, field: str) -> ImpossibleDate:
    return ImpossibleDate(f"{field}: not a date: {text!r:.60} (no such day, time or offset)")


def _written_year(parsed: datetime, text: str) -> datetime:
    """Undo email.utils reading a year written in full below 100 ("0001") as 20xx/19xx.

    Two-digit years ("26") are RFC 822's and stay as email.utils reads them; Hugo
    writes its zero date as "Mon, 01 Jan 0001 00:00:00 +0000", which must stay year 1.
    """
    tokens = text.replace(",", " ").split()
    if str(parsed.year) in tokens:
        return parsed
    for token in tokens:
        if token.isdigit() and len(token) >= 3 and int(token) < 100:
            return parsed.replace(year=int(token))
    return parsed
