"""Stored values round-trip exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.articles.model import Article
from bot.store.codec import article_from_data, article_to_json, from_us, to_us


@pytest.mark.parametrize(
    "value",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(1, 1, 2, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_microseconds_round_trip(value: datetime) -> None:
    back = from_us(to_us(value))
    assert back == value and back.tzinfo is UTC


def test_naive_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2024, 1, 1))


def test_article_round_trip() -> None:
    article = Article(
        id="/a/",
        title="Tïtle",
        url="https://example.com/a/",
        date=datetime(2024, 1, 1, tzinfo=UTC),
        publish_date=datetime(2024, 1, 2, tzinfo=UTC),
        expiry_date=None,
        lastmod=datetime(2024, 1, 3, tzinfo=UTC),
        draft=True,
        tags=("a", "B"),
        categories=("c",),
        authors=("Ada",),
        description="d",
        summary="s",
        image="/i.png",
        takeaways=("**one**", "two\n  - nested"),
        lede="l",
        extra={"weight": 3, "when": datetime(2024, 1, 1, tzinfo=UTC)},
    )
    data = json.loads(article_to_json(article))
    assert data["extra"] == {"weight": 3, "when": "2024-01-01 00:00:00+00:00"}
    assert article_from_data(data) == article
    assert article_from_data({**data, "unknown": 1}) == article
