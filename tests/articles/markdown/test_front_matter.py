"""Front matter: YAML, TOML and JSON as Hugo reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.articles.model import ArticleError
from tests.articles.markdown.helpers import parse, yaml_doc

# --------------------------------------------------------------------------- front matter formats


def test_yaml_front_matter() -> None:
    article = parse("---\ntitle: Hello\ntags: [a, b]\n---\n\nBody text.\n")
    assert article.title == "Hello"
    assert article.tags == ("a", "b")
    assert article.lede == "Body text."


def test_toml_front_matter() -> None:
    text = (
        "+++\n"
        'title = "Hello TOML"\n'
        "date = 2026-02-03T19:00:14-05:00\n"
        'tags = ["one", "two"]\n'
        "draft = true\n"
        "[params]\n"
        "x = 1\n"
        "+++\n"
        "Body.\n"
    )
    article = parse(text)
    assert article.title == "Hello TOML"
    assert article.date == datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)
    assert article.tags == ("one", "two")
    assert article.draft is True


def test_toml_local_datetime_uses_tz() -> None:
    text = '+++\ntitle = "T"\ndate = 2026-07-01T12:00:00\n+++\n'
    article = parse(text, tz=ZoneInfo("America/New_York"))
    assert article.date == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)


def test_json_front_matter_pretty() -> None:
    text = (
        '{\n  "title": "Hello JSON",\n  "params": {\n    "a": 1\n  },\n  "tags": ["x"]\n}\nBody.\n'
    )
    article = parse(text)
    assert article.title == "Hello JSON"
    assert article.tags == ("x",)
    assert article.lede == "Body."


def test_json_front_matter_on_one_line_with_braces_in_strings() -> None:
    text = '{"title": "A } brace", "description": "{not the end}"}\n\nBody.\n'
    article = parse(text)
    assert article.title == "A } brace"
    assert article.description == "{not the end}"


def test_leading_blank_lines_and_crlf() -> None:
    text = "\r\n\r\n---\r\ntitle: CRLF\r\n---\r\n## Key Takeaways\r\n- one\r\n- two\r\n"
    article = parse(text)
    assert article.title == "CRLF"
    assert article.takeaways == ("one", "two")


def test_cr_line_endings() -> None:
    text = "---\rtitle: CR\r---\r## Key Takeaways\r- one\r  wrapped\r- two\r"
    assert parse(text).takeaways == ("one wrapped", "two")


def test_yaml_error_line_counts_crlf_and_leading_blank_lines() -> None:
    with pytest.raises(ArticleError, match="YAML error at line 5"):
        parse("\r\n\r\n---\r\ntitle: T\r\nbad: a: b\r\n---\r\n")


def test_keys_are_case_insensitive() -> None:
    article = parse(
        yaml_doc(
            "Title: Cased\nPublishDate: 2026-01-02\nExpiryDate: 2027-01-01\nLastMod: 2026-01-03\n"
            "Tags: [a]\nDRAFT: false"
        )
    )
    assert article.title == "Cased"
    assert article.publish_date == datetime(2026, 1, 2, tzinfo=UTC)
    assert article.expiry_date == datetime(2027, 1, 1, tzinfo=UTC)
    assert article.lastmod == datetime(2026, 1, 3, tzinfo=UTC)
    assert article.tags == ("a",)


@pytest.mark.parametrize("key", ["publishdate", "publishDate", "publish_date", "pubdate"])
def test_publish_date_aliases(key: str) -> None:
    article = parse(yaml_doc(f"title: T\n{key}: 2026-05-06"))
    assert article.publish_date == datetime(2026, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize("key", ["expiryDate", "expirydate", "expiry_date", "unpublishdate"])
def test_expiry_date_aliases(key: str) -> None:
    article = parse(yaml_doc(f"title: T\n{key}: 2026-05-06"))
    assert article.expiry_date == datetime(2026, 5, 6, tzinfo=UTC)
