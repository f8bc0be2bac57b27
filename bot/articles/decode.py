"""Raw bytes -> text, rejecting what is not a text article with a clear reason."""

from __future__ import annotations

import codecs

from bot.articles.model import ArticleError

DEFAULT_MAX_BYTES = 2 * 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode an article file. UTF-8 (with or without BOM) and BOM-marked UTF-16/32 are
    accepted; empty, oversized, binary and non-UTF-8 input raise :class:`ArticleError`.

    Guessing a legacy code page would publish mojibake to Discord, so bytes that are
    not valid UTF-8 are refused with the offset of the first bad byte instead.
    """
    if len(data) > max_bytes:
        raise ArticleError(f"file too large: {len(data):,} bytes (limit {max_bytes:,})")
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            break
    if encoding == "utf-8" and b"\x00" in data:
        raise ArticleError("binary file (contains NUL bytes)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        # The utf-8-sig codec reports positions after its BOM: count from the file start.
        offset = exc.start + len(data) - len(exc.object)
        name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        raise ArticleError(
            f"not valid {name}: byte 0x{exc.object[exc.start]:02x} at offset {offset}"
        ) from exc
    if "\x00" in text:
        raise ArticleError("binary file (contains NUL characters)")
    if not text or text.isspace():  # as "not text.strip()", without copying the text
        raise ArticleError("empty file")
    return text
