"""decode_text: bytes -> text, or a reason."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.articles.decode import DEFAULT_MAX_BYTES, decode_text
from bot.articles.model import ArticleError

TEXT = "---\ntitle: Café ünïcode ✓\n---\nBody 🙂\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT.encode("utf-8"), TEXT),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), TEXT),
        (TEXT.encode("utf-16"), TEXT),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), TEXT),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), TEXT),
        (TEXT.encode("utf-32"), TEXT),
        (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), TEXT),
        (b"x", "x"),
    ],
)
def test_accepted(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_size_limit_is_inclusive() -> None:
    assert decode_text(b"a" * 10, max_bytes=10) == "a" * 10
    with pytest.raises(ArticleError, match=r"file too large: 11 bytes \(limit 10\)"):
        decode_text(b"a" * 11, max_bytes=10)


def test_default_limit() -> None:
    assert DEFAULT_MAX_BYTES == 2 * 1024 * 1024
    with pytest.raises(ArticleError, match="file too large: 2,097,153 bytes"):
        decode_text(b"a" * (DEFAULT_MAX_BYTES + 1))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b" \t\r\n", "empty file"),
        (codecs.BOM_UTF8, "empty file"),
        ("  \n".encode("utf-16"), "empty file"),
        (b"abc\x00def", "binary file (contains NUL bytes)"),
        (b"\x7fELF\x02\x01\x01\x00\x00", "binary file (contains NUL bytes)"),
        ("a\x00b".encode("utf-16"), "binary file (contains NUL characters)"),
        (b"caf\xe9", "not valid UTF-8: byte 0xe9 at offset 3"),
        (b"ok\xc3", "not valid UTF-8: byte 0xc3 at offset 2"),
        (codecs.BOM_UTF8 + b"abc\xff", "not valid UTF-8: byte 0xff at offset 6"),
        (codecs.BOM_UTF16_LE + b"a", "not valid UTF-16: byte 0x61 at offset 2"),
        (codecs.BOM_UTF16_LE + b"a\x00\x00\xd8", "not valid UTF-16: byte 0x00 at offset 4"),
    ],
)
def test_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError) as info:
        decode_text(data)
    assert str(info.value) == reason


def test_utf8_text_without_bom_that_looks_like_utf16_is_binary() -> None:
    # UTF-16 without a BOM is full of NUL bytes: refused rather than guessed.
    with pytest.raises(ArticleError, match="binary"):
        decode_text("title".encode("utf-16-le"))


@given(st.binary(max_size=200))
def test_any_bytes_give_text_or_article_error(data: bytes) -> None:
    try:
        text = decode_text(data, max_bytes=150)
    except ArticleError as exc:
        assert str(exc)
    else:
        assert text.strip()
        assert "\x00" not in text


@given(st.text(min_size=1).filter(lambda s: s.strip() and "\x00" not in s))
def test_utf8_round_trip(text: str) -> None:
    assert decode_text(text.encode("utf-8")) == text
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8")) == text
    assert decode_text(text.encode("utf-16")) == text
