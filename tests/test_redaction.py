"""Secrets in URL queries: private feeds often carry one (``?token=…``)."""

from __future__ import annotations

import logging

import pytest

from bot.redaction import RedactingFilter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://h/feed?token=abc123", "https://h/feed?token=***"),
        ("https://h/feed?format=rss&api_key=K-1.x", "https://h/feed?format=rss&api_key=***"),
        ("https://h/f?access_token=t&x=1#top", "https://h/f?access_token=***&x=1#top"),
        ("https://h/f?Key=t;sig=s", "https://h/f?Key=***;sig=***"),
        ("fetch 'https://h/f?secret=s3' failed", "fetch 'https://h/f?secret=***' failed"),
        ("https://u:p@h/f?password=p", "https://***@h/f?password=***"),
        # Parameters that only end like a secret's name, and plain ones, stay.
        ("https://h/f?monkey=1&bypass=2&keys=3", "https://h/f?monkey=1&bypass=2&keys=3"),
        ("https://h/f?page=2&lang=en", "https://h/f?page=2&lang=en"),
        ("token=abc in a sentence", "token=abc in a sentence"),
    ],
)
def test_query_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_log_lines_lose_query_secrets() -> None:
    record = logging.LogRecord(
        "bot.sources.feeds", logging.WARNING, __file__, 1, "feed %s: %s", None, None
    )
    record.args = ("https://h/feed.xml?token=abc123", "HTTP 500")
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "feed https://h/feed.xml?token=***: HTTP 500"
