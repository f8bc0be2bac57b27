"""parse_date: front matter and feed dates -> aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.articles.dates import ImpossibleDate, parse_date
from bot.articles.model import ArticleError

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-03", datetime(2026, 2, 3, tzinfo=UTC)),
        ("2026-02-03T19:00:14Z", datetime(2026, 2, 3, 19, 0, 14, tzinfo=UTC)),
        ("2026-02-03t19:00:14z", datetime(2026, 2, 3, 19, 0, 14, tzinfo=UTC)),
        ("2026-02-03T19:00:14-05:00", datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)),
        ("2026-02-03T19:00:14+0530", datetime(2026, 2, 3, 13, 30, 14, tzinfo=UTC)),
        ("2026-02-03 19:00", datetime(2026, 2, 3, 19, 0, tzinfo=UTC)),
        ("2026-02-03T19:00:14.250Z", datetime(2026, 2, 3, 19, 0, 14, 250000, tzinfo=UTC)),
        ("  2026-02-03  ", datetime(2026, 2, 3, tzinfo=UTC)),
        ("Tue, 03 Feb 2026 19:00:14 -0500", datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)),
        ("Tue, 03 Feb 2026 19:00:14 GMT", datetime(2026, 2, 3, 19, 0, 14, tzinfo=UTC)),
        ("3 Feb 2026 19:00 +0100", datetime(2026, 2, 3, 18, 0, tzinfo=UTC)),
        # A leap second and the end of a day are real instants, not impossible ones.
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),
        ("Sat, 31 Dec 2016 18:59:60 -0500", datetime(2017, 1, 1, tzinfo=UTC)),
        ("2026-02-03T24:00:00+01:00", datetime(2026, 2, 3, 23, 0, tzinfo=UTC)),
        ("Tue, 3 Feb 2026 24:00 GMT", datetime(2026, 2, 4, tzinfo=UTC)),
    ],
)
def test_strings(value: str, expected: datetime) -> None:
    result = parse_date(value, field="date")
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Naive values are read in the given zone, with its DST rules.
        ("2026-01-15T09:30:00", datetime(2026, 1, 15, 14, 30, tzinfo=UTC)),
        ("2026-07-15T09:30:00", datetime(2026, 7, 15, 13, 30, tzinfo=UTC)),
        ("2026-01-15", datetime(2026, 1, 15, 5, 0, tzinfo=UTC)),
        (date(2026, 7, 15), datetime(2026, 7, 15, 4, 0, tzinfo=UTC)),
        (datetime(2026, 1, 15, 9, 30), datetime(2026, 1, 15, 14, 30, tzinfo=UTC)),
        # Values with an offset ignore the zone.
        ("2026-01-15T09:30:00+00:00", datetime(2026, 1, 15, 9, 30, tzinfo=UTC)),
        (
            datetime(2026, 1, 15, 9, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 1, 15, 7, 30, tzinfo=UTC),
        ),
        ("Thu, 15 Jan 2026 09:30:00", datetime(2026, 1, 15, 14, 30, tzinfo=UTC)),
        # RFC 2822 "-0000" means "UTC, origin unknown": still not naive.
        ("Thu, 15 Jan 2026 09:30:00 -0000", datetime(2026, 1, 15, 9, 30, tzinfo=UTC)),
    ],
)
def test_zone_for_naive_values(value: object, expected: datetime) -> None:
    assert parse_date(value, field="date", tz=NEW_YORK) == expected


def test_native_values() -> None:
    assert parse_date(date(2026, 2, 3), field="date") == datetime(2026, 2, 3, tzinfo=UTC)
    aware = datetime(2026, 2, 3, 12, tzinfo=UTC)
    assert parse_date(aware, field="date") == aware


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        date(1, 1, 1),
        "0001-01-01T00:00:00Z",
        # Hugo writes its zero date so in RSS; email.utils would read "0001" as 2001.
        "Mon, 01 Jan 0001 00:00:00 +0000",
    ],
)
def test_unset(value: object) -> None:
    assert parse_date(value, field="date") is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-13-45", "publishDate: not a date: '2026-13-45'"),
        ("yesterday", "publishDate: not a date: 'yesterday'"),
        ("   ", "publishDate: empty date"),
        ("Z", "publishDate: not a date: 'Z'"),
        ("2026-02-30", "publishDate: not a date"),
        ("Mon, 1 Jan 99999999999999999999 00:00:00 +0000", "publishDate: not a date"),
        (42, "publishDate: expected a date, got int 42"),
        (True, "publishDate: expected a date, got bool"),
        ([2026], "publishDate: expected a date, got list"),
        (time(7, 32), "publishDate: expected a date, got time"),
        ("9999-12-31T23:00:00-05:00", "publishDate: date out of range"),
    ],
)
def test_rejected(value: object, reason: str) -> None:
    with pytest.raises(ArticleError) as info:
        parse_date(value, field="publishDate")
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-45T99:99:99Z",
        "2026-02-30",
        "0000-00-00T00:00:00Z",
        "2026-02-03T10:00:00+9999",
        "2026-02-03T10:00:00+99:99",
        "2026-02-03T24:00:01Z",
        "2026-02-03T23:59:61Z",
        "2026-02-30T24:00:00Z",
        "2026-02-03T10:00:00+24:00",
        "2026-02-30 10:00 EST",
        "Tue, 03 Feb 2026 10:00:00 +9999",
        "Mon, 45 Feb 2026 99:99:99 GMT",
        "Mon, 01 Jan 0000 00:00:00 GMT",
        "9999-12-31T23:00:00-05:00",
    ],
)
def test_impossible_values_in_a_known_format_are_told_apart(value: str) -> None:
    # A feed reader must not hand these to a lenient parser that rolls them over.
    with pytest.raises(ImpossibleDate, match=r"^date: "):
        parse_date(value, field="date")


@pytest.mark.parametrize("value", ["yesterday", "next Tuesday-ish", "03 Feb 2026", "2026/02/03"])
def test_unknown_formats_are_not_impossible(value: str) -> None:
    with pytest.raises(ArticleError) as info:
        parse_date(value, field="date")
    assert not isinstance(info.value, ImpossibleDate)


def test_long_values_are_truncated_in_the_message() -> None:
    with pytest.raises(ArticleError) as info:
        parse_date("x" * 500, field="date")
    assert len(str(info.value)) < 100


@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(
            r"\A\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?\Z"
        ),
        st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
        st.dates(),
        st.integers(),
        st.floats(),
        st.none(),
    ),
    st.sampled_from([UTC, NEW_YORK, ZoneInfo("Asia/Kolkata")]),
)
def test_only_datetime_none_or_article_error(value: object, tz: ZoneInfo) -> None:
    try:
        result = parse_date(value, field="date", tz=tz)
    except ArticleError as exc:
        assert str(exc).startswith("date: ")
    else:
        assert result is None or (isinstance(result, datetime) and result.tzinfo is UTC)
