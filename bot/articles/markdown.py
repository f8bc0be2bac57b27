"""Markdown article files (Hugo-style front matter + CommonMark body) -> :class:`Article`.

Pure: text in, an :class:`Article` or an :class:`ArticleError` out, nothing else.

Front matter may be YAML (``---``), TOML (``+++``) or JSON (a ``{...}`` object at
the start of the file), as Hugo reads it; the common flat shape of YAML and TOML
front matter is read by a shortcut with exactly the parsers' result. The body is read
as CommonMark + strikethrough (markdown-it-pyrs, markdown-it.rs, is the reference),
and only the parts of it that matter: the sections that spell "takeaway", and without
takeaways the opening blocks up to the first real paragraph (see "fast path" below
for when the whole body is parsed instead). Each such part is first offered to a
small reader of the plain shapes articles are made of (headings, paragraphs, lists
with one level of nested bullets; plain text, unambiguous ``**``/``*`` emphasis,
one-line code spans, links and images with plain labels and URLs; see "simple
blocks" below), which gives markdown-it's outcome without building its node tree,
and gives up on the whole part at anything else; markdown-it then parses it. Front
matter ``summary`` and ``description`` go the same way. Text that could nest deeper
than a few hundred levels is refused ("markdown nested too deeply"): the Rust parser
would overflow the stack.

Takeaways: the list right under a heading that reads "Key Takeaways" (any level,
ATX or setext, any case, singular too, an optional colon and decoration such as an
emoji ignored), or under a paragraph that holds only those words, bold or plain
(``**Key Takeaways:**``, ``__Key Takeaways__``). Blank lines may come between; any
other block in between means no takeaways there. Only top-level blocks count (not
inside block quotes or list items); the first such heading with a non-empty list
wins. Each top-level item is one string: its paragraphs joined with spaces, nested
items appended as ``"\n  - text"`` lines (two more spaces per level).

Inline Markdown becomes Discord's dialect: strong -> ``**x**`` (``__x__`` is
underline in Discord), emphasis -> ``*x*``, ``~~x~~`` and code spans kept, links
``[text](absolute-url)`` (relative ones resolved against ``site_url``, else just
their text), images ``[alt](url)`` or their alt text, raw HTML reduced to its text,
line breaks to spaces, and backslash escapes of Discord markup characters kept.
Template leftovers (:func:`~bot.articles.text.is_placeholder_link`) lose their link;
when the text itself is a placeholder word ("Keyword") the whole link goes and the
gap is closed ("said [Keyword](/articles/slug), an expert" -> "said, an expert").

Without takeaways, the lede is ``summary``, else ``description`` (both rendered as
inline Markdown), else the first top-level paragraph that is prose (not only images,
not a lone bold line standing as a heading, not only Hugo shortcodes), cut at a
sentence boundary within :data:`LEDE_LIMIT` characters.

Permalinks follow Hugo's defaults (``uglyURLs = false``, ``disablePathToLower =
false``): the path comes from ``rel_path`` with the extension dropped, page bundles
(``index.md``) and sections (``_index.md``) take their folder's path, each segment
is sanitised like Hugo's ``MakePath`` (whitespace becomes ``-``, characters other
than letters, digits, marks and ``._-~+#@%`` are dropped) and lower-cased. A front
matter ``slug`` replaces the last segment (not for ``_index.md``, as in Hugo) and
is sanitised the same way; a front matter ``url`` replaces the whole path and is
kept as written. Multilingual file names (``post.fr.md``) are not special-cased.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Final
from urllib.parse import urlsplit

import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler
from markdown_it_pyrs import MarkdownIt, Node

from bot.articles.dates import parse_date
from bot.articles.decode import DEFAULT_MAX_BYTES, decode_text
from bot.articles.model import Article, ArticleError
from bot.articles.text import (
    absolute_url,
    first_sentences,
    is_placeholder_link,
    is_placeholder_text,
)

__all__ = ["DEFAULT_MAX_BYTES", "LEDE_LIMIT", "parse_markdown", "read_markdown"]

LEDE_LIMIT: Final = 600

# --------------------------------------------------------------------------- front matter

# PyYAML's C loader only does the scanning and parsing in C; node resolution and
# construction stay in Python. These overrides trim that Python part: plain
# (non-generator) constructors for mappings and sequences, and a memo of implicit
# tag resolution, which is what most front matter scalars ("title", "tags", ...)
# go through on every file.
try:
    from yaml import CSafeLoader as _YAMLBase
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _YAMLBase  # type: ignore[assignment]

_RESOLVE_MEMO: dict[tuple[str, bool, bool], str] = {}
_RESOLVE_MEMO_MAX = 4096


_base_resolve: Callable[[Any, Any, Any, Any], str] = _YAMLBase.resolve


class _YAMLLoader(_YAMLBase):
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= 64:
            key = (value, implicit[0], implicit[1])
            tag = _RESOLVE_MEMO.get(key)
            if tag is None:
                tag = _base_resolve(self, kind, value, implicit)
                if len(_RESOLVE_MEMO) < _RESOLVE_MEMO_MAX:
                    _RESOLVE_MEMO[key] = tag
            return tag
        return _base_resolve(self, kind, value, implicit)


def _construct_map(loader: Any, node: Any) -> dict[Any, Any]:
    result: dict[Any, Any] = loader.construct_mapping(node)  # merges "<<" keys too
    return result


def _construct_seq(loader: Any, node: Any) -> list[Any]:
    result: list[Any] = loader.construct_sequence(node)
    return result


def _construct_timestamp(loader: Any, node: Any) -> Any:
    # An impossible timestamp such as 2026-13-45 makes PyYAML raise a bare ValueError;
    # hand the text on instead so parse_date() rejects it with the field's name.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_YAMLLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_YAMLLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_YAMLLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


# Most front matter is a flat list of "key: value" lines: strings, dates, booleans,
# lists of strings. Loading it through PyYAML (even its C parser) or tomllib costs
# more than everything else in an article, so that shape is read directly, with the
# very same result: YAML scalars are resolved and built by PyYAML's own resolver and
# constructors. Anything else (nesting, multi-line or escaped strings, anchors,
# comments after values, tables, duplicate TOML keys ...) returns None, and the real
# parser reads the text, errors and all.
_YAML_KEY_LINE = re.compile(r"([A-Za-z_][\w-]*):(?: +(.*))?")
_YAML_KEY_LINES = re.compile(r"^" + _YAML_KEY_LINE.pattern + "$", re.MULTILINE)
_YAML_ITEM_LINE = re.compile(r"( *)- +(.*)")
# Quoted strings whose only escapes are \" and \\, which both YAML and TOML read as
# the character escaped (the TOML one without control characters).
_YAML_ESCAPED = re.compile(r'"((?:[^"\\]|\\["\\])*)"')
_TOML_ESCAPED = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\["\\])*)"')
_QUOTE_ESCAPE = re.compile(r"\\(.)")
_YAML_SINGLE = re.compile(r"'((?:[^']|'')*)'")
_YAML_FLOW_ITEM = re.compile(
    r""" *(?:"([^"\\]*)"|'((?:[^']|'')*)'|([^\s,\[\]{}#"'&*!|>%@`?:\-][^,\[\]{}#:]*?)) *(,|$)"""
)
# Characters the fast path leaves to PyYAML: tabs, the line breaks YAML 1.1 adds to
# "\n" (NEL, LS, PS), the byte order mark and whatever PyYAML finds non-printable.
_YAML_UNUSUAL = re.compile(
    "[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_YAML_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
_YAML_STR = "tag:yaml.org,2002:str"
_YAML_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# The most common timestamps, which PyYAML's resolver reads as such: 2026-02-03,
# 2026-02-03T19:00:14Z, 2026-02-03T19:00:14-05:00.
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d))?", re.ASCII)
_YAML_CONSTRUCTOR: Final = yaml.constructor.SafeConstructor()
_YAML_BUILDERS: Final[dict[str, Callable[[Any], Any]]] = {
    "tag:yaml.org,2002:null": _YAML_CONSTRUCTOR.construct_yaml_null,
    "tag:yaml.org,2002:bool": _YAML_CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:int": _YAML_CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _YAML_CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": lambda node: _construct_timestamp(_YAML_CONSTRUCTOR, node),
}
_NOT_SIMPLE = object()  # a value the fast path does not read


def _yaml_plain(text: str) -> Any:
    """A plain (unquoted) YAML scalar, resolved and built as PyYAML does."""
    if ": " in text or " #" in text or text.endswith(":") or text[0] in _YAML_PLAIN_START:
        return _NOT_SIMPLE
    if _ISO_TIMESTAMP.fullmatch(text) is not None:
        # Dates resolve to timestamps; fromisoformat() builds the same value faster.
        try:
            return (datetime if len(text) > 10 else date).fromisoformat(text)
        except ValueError:
            return _construct_timestamp(_YAML_CONSTRUCTOR, yaml.ScalarNode(_YAML_TIMESTAMP, text))
    tag = _resolve_plain(text)
    if tag == _YAML_STR:
        return text
    if tag == _YAML_TIMESTAMP:
        return _construct_timestamp(_YAML_CONSTRUCTOR, yaml.ScalarNode(tag, text))
    value = _BUILT_MEMO.get(text, _NOT_SIMPLE)
    if value is _NOT_SIMPLE:
        build = _YAML_BUILDERS.get(tag)
        if build is None:
            return _NOT_SIMPLE  # "<<", "=" and friends
        value = build(yaml.ScalarNode(tag, text))
        if len(text) <= 64 and len(_BUILT_MEMO) < _RESOLVE_MEMO_MAX:
            _BUILT_MEMO[text] = value  # null, a boolean or a number: immutable
    return value


# Plain scalars built as null, booleans and numbers ("false" in "draft: false"), by text.
_BUILT_MEMO: dict[str, Any] = {}


_PLAIN_MEMO: dict[str, str] = {}  # _RESOLVE_MEMO's plain-scalar entries, by text alone


def _resolve_plain(text: str) -> str:
    tag = _PLAIN_MEMO.get(text)
    if tag is None:
        tag = _base_resolve(_YAMLLoader, yaml.ScalarNode, text, (True, False))
        if len(text) <= 64 and len(_PLAIN_MEMO) < _RESOLVE_MEMO_MAX:
            _PLAIN_MEMO[text] = tag
    return tag


def _yaml_scalar(text: str) -> Any:
    first = text[0]
    if first == '"':
        inner = text[1:-1]
        if text[-1:] == '"' and len(text) > 1 and '"' not in inner and "\\" not in inner:
            return inner  # no escape: the pattern below is not needed
        match = _YAML_ESCAPED.fullmatch(text)
        return _QUOTE_ESCAPE.sub(r"\1", match.group(1)) if match else _NOT_SIMPLE
    if first == "'":
        match = _YAML_SINGLE.fullmatch(text)
        return match.group(1).replace("''", "'") if match else _NOT_SIMPLE
    return _yaml_plain(text)


def _yaml_flow_list(text: str) -> Any:
    inner = text[1:-1]
    if not inner.strip():
        return []
    if inner[:1] == '"' and inner[-1:] == '"' and len(inner) > 1 and "\\" not in inner:
        # Double-quoted strings split by ", " (the usual shape), read without patterns.
        quoted = inner[1:-1].split('", "')
        if not any('"' in item for item in quoted):
            return quoted
    items: list[Any] = []
    pos = 0
    while pos < len(inner):
        match = _YAML_FLOW_ITEM.match(inner, pos)
        if match is None or match.end() == pos:
            return _NOT_SIMPLE
        double, single, plain, comma = match.groups()
        if double is not None:
            items.append(double)
        elif single is not None:
            items.append(single.replace("''", "'"))
        else:
            value = _yaml_plain(plain)
            if value is _NOT_SIMPLE:
                return _NOT_SIMPLE
            items.append(value)
        pos = match.end()
        if not comma:
            break
        if not inner[pos:].strip():
            return _NOT_SIMPLE  # a trailing comma
    return items if pos >= len(inner) else _NOT_SIMPLE


def _simple_yaml(fm: str) -> dict[str, Any] | None:
    """``fm`` as PyYAML would load it, when it is flat "key: value" lines; else None."""
    if fm.isascii():
        if not fm.replace("\n", "").isprintable():  # control characters, tabs
            return None
    elif _YAML_UNUSUAL.search(fm) is not None:
        return None
    data: dict[str, Any] = {}
    value: Any
    lines_only = fm.strip("\n")
    pairs = _YAML_KEY_LINES.findall(lines_only)
    if pairs and len(pairs) == lines_only.count("\n") + 1:
        # Key lines only (the loop below, with one pattern call for them all): nothing
        # after a colon is null, as no block list item follows.
        for key, text in pairs:
            if _resolve_plain(key) != _YAML_STR:
                return None
            text = text.rstrip(" ")
            if not text:
                value = None
            elif text[0] == "[" and text[-1] == "]":
                value = _yaml_flow_list(text)
            else:
                value = _yaml_scalar(text)
            if value is _NOT_SIMPLE:
                return None
            data[key] = value
        return data
    lines = fm.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line[0] == "#":
            continue
        match = _YAML_KEY_LINE.fullmatch(line)
        if match is None:
            return None
        key, text = match.groups()
        text = text.rstrip(" ") if text else text
        if _resolve_plain(key) != _YAML_STR:
            return None  # "true:", "null:", "2024:" are not text keys
        if text:
            if text[0] == "[" and text[-1] == "]":
                value = _yaml_flow_list(text)
            else:
                value = _yaml_scalar(text)
        else:
            # Nothing after the colon: null, or a block list of scalars.
            items: list[Any] = []
            indent: str | None = None
            while i < len(lines) and (item := _YAML_ITEM_LINE.fullmatch(lines[i])):
                if indent is None:
                    indent = item.group(1)
                elif item.group(1) != indent:
                    return None
                text = item.group(2).rstrip(" ")
                items.append(_yaml_scalar(text) if text else _NOT_SIMPLE)
                i += 1
            if i < len(lines) and lines[i][:1] in (" ", "-"):
                return None  # something nested or multi-line
            value = items if indent is not None else None
            if any(v is _NOT_SIMPLE for v in items):
                return None
        if value is _NOT_SIMPLE:
            return None
        data[key] = value
    return data or None


_TOML_LINE = re.compile(r"([A-Za-z0-9_-]+)[ \t]*=[ \t]*(.*)")
_TOML_LINES = re.compile(r"^" + _TOML_LINE.pattern + "$", re.MULTILINE)
_TOML_LITERAL = re.compile(r"'([^'\x00-\x08\x0a-\x1f\x7f]*)'")
_TOML_INTEGER = re.compile(r"[+-]?(?:0|[1-9](?:_?[0-9])*)")
_TOML_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))?)?"
)
_TOML_ITEM = re.compile(
    r"""[ \t]*(?:"([^"\\\x00-\x08\x0a-\x1f\x7f]*)"|'([^'\x00-\x08\x0a-\x1f\x7f]*)')[ \t]*(,|$)"""
)


def _toml_value(text: str) -> Any:
    first = text[:1]
    if first == '"':
        inner = text[1:-1]
        if text[-1] == '"' and len(text) > 1 and _plain_toml_string(inner):
            return inner  # no escape: the pattern below is not needed
        match = _TOML_ESCAPED.fullmatch(text)
        return _QUOTE_ESCAPE.sub(r"\1", match.group(1)) if match else _NOT_SIMPLE
    if first == "'":
        match = _TOML_LITERAL.fullmatch(text)
        return match.group(1) if match else _NOT_SIMPLE
    if text in ("true", "false"):
        return text == "true"
    if first == "[" and text[-1:] == "]":
        inner = text[1:-1]
        if inner[:1] == '"' and inner[-1:] == '"' and len(inner) > 1:
            # Basic strings split by ", " (the usual shape), read without patterns.
            items: list[Any] = inner[1:-1].split('", "')
            if all(_plain_toml_string(item) for item in items):
                return items
        items = []
        pos = 0
        while inner[pos:].strip(" \t"):
            match = _TOML_ITEM.match(inner, pos)
            if match is None:
                return _NOT_SIMPLE
            items.append(match.group(1) if match.group(1) is not None else match.group(2))
            pos = match.end()
            if not match.group(3):
                break
        return items if not inner[pos:].strip(" \t") else _NOT_SIMPLE
    if _TOML_INTEGER.fullmatch(text):
        return int(text.replace("_", ""))
    match = _TOML_DATETIME.fullmatch(text)
    if match is None:
        return _NOT_SIMPLE
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micros = int(fraction.ljust(6, "0")[:6]) if fraction else 0
        tz: tzinfo | None = None
        if zulu:
            tz = UTC
        elif sign:
            tz = _toml_offset(sign, off_h, off_m)
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
    except ValueError:
        return _NOT_SIMPLE  # tomllib words the error


def _plain_toml_string(text: str) -> bool:
    """Whether ``text`` can stand between the quotes of a basic string as it is: no
    quote, backslash or control character (printable text has none of the last)."""
    return '"' not in text and "\\" not in text and text.isprintable()


@functools.lru_cache(maxsize=64)
def _toml_offset(sign: str, hours: str, minutes: str) -> timezone:
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def _simple_toml(fm: str) -> dict[str, Any] | None:
    """``fm`` as tomllib would load it, when it is flat "key = value" lines; else None."""
    data: dict[str, Any] = {}
    lines_only = fm.strip("\n")
    pairs = _TOML_LINES.findall(lines_only)
    if pairs and len(pairs) == lines_only.count("\n") + 1:
        # Key lines only: the loop below, with one pattern call for them all.
        for key, text in pairs:
            value = _toml_value(text.rstrip(" \t"))
            if value is _NOT_SIMPLE or key in data:
                return None
            data[key] = value
        return data
    for line in fm.split("\n"):
        if not line.strip(" \t") or line.lstrip(" \t")[0] == "#":
            if any((c < " " and c != "\t") or c == "\x7f" for c in line):
                return None
            continue
        match = _TOML_LINE.fullmatch(line)
        if match is None:
            return None
        key, text = match.groups()
        value = _toml_value(text.rstrip(" \t"))
        if value is _NOT_SIMPLE or key in data:
            return None
        data[key] = value
    return data or None


def _split_fenced(boundary: re.Pattern[str], fence: str, text: str) -> tuple[str, str]:
    """python-frontmatter's ``boundary.split(text, 2)`` (front matter, then content),
    with the closing fence found by a literal search: the regex alone walks the front
    matter one character at a time."""
    opening = boundary.match(text)
    if opening is None:
        raise ValueError("no opening fence")
    pos = opening.end()
    while (line := text.find("\n" + fence, pos)) >= 0:
        closing = boundary.match(text, line + 1)
        if closing is not None:
            return text[opening.end() : line + 1], text[closing.end() :]
        pos = line + 1
    raise ValueError("no closing fence")


class _YAML(YAMLHandler):
    """python-frontmatter's YAML handler (``---`` fences), on the loader above."""

    name = "YAML"

    def split(self, text: str) -> tuple[str, str]:
        assert self.FM_BOUNDARY is not None
        return _split_fenced(self.FM_BOUNDARY, "---", text)

    def load(self, fm: str, **kwargs: object) -> Any:
        simple = _simple_yaml(fm)
        return simple if simple is not None else yaml.load(fm, Loader=_YAMLLoader)


class _TOML(BaseHandler):
    """``+++`` fenced TOML on the standard library's ``tomllib``."""

    name = "TOML"
    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def split(self, text: str) -> tuple[str, str]:
        return _split_fenced(self.FM_BOUNDARY, "+++", text)

    def load(self, fm: str, **kwargs: object) -> Any:
        simple = _simple_toml(fm)
        return simple if simple is not None else tomllib.loads(fm)


class _JSON(JSONHandler):
    """A JSON object at the start of the file, ended by its own closing brace (as Hugo
    reads it), rather than by a line holding only ``}``."""

    name = "JSON"
    FM_BOUNDARY = re.compile(r"\{")

    def split(self, text: str) -> tuple[str, str]:
        _, end = json.JSONDecoder().raw_decode(text)
        return text[:end], text[end:]


_HANDLERS: Final[tuple[_YAML | _TOML | _JSON, ...]] = (_YAML(), _TOML(), _JSON())
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def _split_front_matter(text: str) -> tuple[dict[Any, Any], str]:
    if "\r" in text:  # CRLF and old-Mac CR line endings, for the fences and the body
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.lstrip("\ufeff").lstrip()
    skipped = len(text) - len(stripped)
    for handler in _HANDLERS:
        if handler.detect(stripped):
            break
    else:
        raise ArticleError("no front matter (the file must start with '---', '+++' or '{')")
    # File line on which the front matter text starts, for error messages.
    base_line = text.count("\n", 0, skipped)
    try:
        fm, body = handler.split(stripped)
    except json.JSONDecodeError as exc:
        raise ArticleError(
            f"front matter: JSON error at line {base_line + exc.lineno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ArticleError(f"front matter: {handler.name} nested too deeply") from None
    except ValueError:  # only one fence line
        raise ArticleError(f"front matter: no closing {handler.END_DELIMITER!r} line") from None
    if handler.FM_BOUNDARY is not None and handler.END_DELIMITER:
        opening = handler.FM_BOUNDARY.match(stripped)
        if opening is not None:
            base_line += stripped.count("\n", 0, opening.end())
    data = _load_front_matter(handler, fm, base_line)
    if data is None or data == {}:
        raise ArticleError("front matter is empty")
    if not isinstance(data, dict):
        raise ArticleError(f"front matter must be a mapping of fields, not {_kind(data)}")
    return data, body


def _load_front_matter(handler: _YAML | _TOML | _JSON, fm: str, base_line: int) -> Any:
    try:
        return handler.load(fm)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {base_line + mark.line + 1}" if mark is not None else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise ArticleError(f"front matter: YAML error{where}: {reason}") from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise ArticleError(f"front matter: YAML error: {reason}") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = ""
        position = _TOML_POSITION.search(message)
        if position is not None:
            where = f" at line {base_line + int(position.group(1))}"
            message = message[: position.start()]
        raise ArticleError(f"front matter: TOML error{where}: {message}") from None
    except json.JSONDecodeError as exc:  # pragma: no cover - split() already decoded it
        raise ArticleError(f"front matter: JSON error: {exc.msg}") from None
    except RecursionError:
        raise ArticleError(f"front matter: {handler.name} nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # Constructors of exotic YAML tags (!!binary, !!float ...) raise plain errors.
        raise ArticleError(f"front matter: {handler.name} error: {exc}") from None


def _kind(value: object) -> str:
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- fields

_PUBLISH_KEYS = ("publishdate", "publish_date", "pubdate", "published")
_EXPIRY_KEYS = ("expirydate", "expiry_date", "unpublishdate")
_LASTMOD_KEYS = ("lastmod", "modified")
_IMAGE_KEYS = ("featured_image", "featuredimage", "image")
_IMAGE_OR_IMAGES_KEYS = (*_IMAGE_KEYS, "images")


def _lookup(fm: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, Any]:
    """The first of ``keys`` present with a value that is not empty."""
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
    raise ArticleError(f"{field}: expected text, got {_kind(value)}")


def _text_field(fm: Mapping[str, Any], *keys: str) -> str | None:
    key, value = _lookup(fm, keys)
    if value is None:
        return None
    return _scalar_text(value, key).strip() or None


def _draft(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ArticleError(f"draft: expected true or false, got {_kind(value)} {value!r:.40}")


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = value.strip()
        key = " ".join(value.split()).casefold()  # normalise_tag(), without the call
        if key and key not in seen:
            seen.add(key)
            out.append(value)
    return tuple(out)


def _terms(value: object, field: str) -> tuple[str, ...]:
    """Tags or categories: a list, or one comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return _unique(value.split(","))
    if isinstance(value, list):
        return _unique(
            [v if type(v) is str else _scalar_text(v, field) for v in value if v is not None]
        )
    return _unique([_scalar_text(value, field)])


def _authors(fm: Mapping[str, Any]) -> tuple[str, ...]:
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


def _image(fm: Mapping[str, Any], site_url: str | None) -> str | None:
    key, value = _lookup(fm, _IMAGE_OR_IMAGES_KEYS)
    if isinstance(value, list):
        value = next((v for v in value if v is not None and v != ""), None)
    if value is None:
        return None
    return _absolute(_scalar_text(value, key), site_url)


# --------------------------------------------------------------------------- urls

# absolute_url() (urljoin, then urlsplit to check the result) is exact but slow, and
# every article resolves a few URLs. The common shapes are joined here directly, with
# the same result: an absolute http(s) URL of plain characters is returned as it is; a
# root-relative or relative path of plain characters, without "//" or dot segments
# (which urljoin would rewrite), is appended to the site's origin or folder. Anything
# else goes to absolute_url().
_PLAIN_URL_CHARS = r"[\w\-.~%!$&'()*+,=@"
_ABSOLUTE_URL = re.compile(
    r"https?://" + _PLAIN_URL_CHARS + r":]+(?:/" + _PLAIN_URL_CHARS + r":/]*)?", re.ASCII
)
_ROOT_PATH = re.compile(r"/" + _PLAIN_URL_CHARS + r"/]*", re.ASCII)
_RELATIVE_PATH = re.compile(r"(?:\./)?(?![./])" + _PLAIN_URL_CHARS + r"/]+", re.ASCII)


@functools.lru_cache(maxsize=32)
def _site_parts(site_url: str) -> tuple[str, str] | None:
    """The origin ("https://host") and folder ("https://host/blog/") relative links
    join to, when the fast join is exact for this site; else None."""
    base = site_url if site_url.endswith("/") else site_url + "/"
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if any(c in base for c in "?#;") or "/." in parts.path or "//" in parts.path:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin, origin + parts.path


@functools.lru_cache(maxsize=32)
def _site_parses(site_url: str) -> bool:
    """Whether urljoin() accepts ``site_url`` as a base (it rejects "https://[")."""
    try:
        urlsplit(site_url if site_url.endswith("/") else site_url + "/")
    except ValueError:
        return False
    return True


def _absolute(href: str, site_url: str | None) -> str | None:
    """``absolute_url(href, site_url)``, faster for the usual shapes of link."""
    href = href.strip()
    if _ABSOLUTE_URL.fullmatch(href) is not None:
        if site_url is None or _site_parses(site_url):
            return href
        return absolute_url(href, site_url)
    if "//" not in href and "/." not in href:
        if _ROOT_PATH.fullmatch(href) is not None:
            if site_url is None:
                return None
            parts = _site_parts(site_url)
            if parts is not None:
                return parts[0] + href
        elif _RELATIVE_PATH.fullmatch(href) is not None:
            if site_url is None:
                return None
            parts = _site_parts(site_url)
            if parts is not None:
                return parts[1] + href.removeprefix("./")
    return absolute_url(href, site_url)


# --------------------------------------------------------------------------- permalink

_PATH_PUNCTUATION = frozenset("._-~+#@%")
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~+#@%-]+")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~+#@%-]+(?:/[A-Za-z0-9._~+#@%-]+)*")


def _sanitise_segment(segment: str) -> str:
    """One path segment the way Hugo's ``MakePath`` writes it (lower-cased)."""
    if _PLAIN_SEGMENT.fullmatch(segment) is not None:
        return segment.lower()  # nothing to drop or replace: the loop below agrees
    out: list[str] = []
    pending_hyphen = False
    for ch in segment:
        if ch in _PATH_PUNCTUATION or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            if pending_hyphen and ch != "-":
                out.append("-")
            pending_hyphen = False
            out.append(ch)
        elif ch.isspace() and out and out[-1] != "-":
            pending_hyphen = True
    return "".join(out).lower()


def _permalink(rel_path: str, slug: str | None, url: str | None) -> tuple[str, bool]:
    """The article's path (its id) and whether that is already an absolute URL."""
    if url is not None:
        if absolute_url(url, None) is not None:
            return url, True
        return "/" + url.lstrip("/"), False
    if slug is not None and not _sanitise_segment(slug):
        slug = None  # nothing usable left: keep the file's own name
    segments = [s for s in rel_path.replace("\\", "/").split("/") if s not in ("", ".")]
    name = segments.pop() if segments else ""
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    if stem == "_index":
        pass  # a section page: its folder's path; Hugo ignores `slug` here
    elif stem == "index":
        if slug is not None:
            segments[-1:] = [slug]
    else:
        segments.append(slug if slug is not None else stem)
    joined = "/".join(segments)
    if _PLAIN_PATH.fullmatch(joined) is not None:
        # Plain segments, none empty: each sanitises to itself lower-cased.
        return "/" + joined.lower() + "/", False
    cleaned = [c for c in (_sanitise_segment(s) for s in segments) if c]
    return ("/" + "/".join(cleaned) + "/") if cleaned else "/", False


# --------------------------------------------------------------------------- markdown

_MD: Final = MarkdownIt("commonmark").enable("strikethrough")

_TAKEAWAY = re.compile("takeaway", re.IGNORECASE)
_TAKEAWAY_BYTES = re.compile(b"takeaway", re.IGNORECASE)
_TAKEAWAY_TITLES = frozenset({"key takeaways", "key takeaway"})
_BACKTICKS = re.compile("`+")
_EMPTY_ITEM = re.compile(rb"[ \t>]*(?:[-+*]|\d{1,9}[.)])[ \t]*")
_SHORTCODES_ONLY = re.compile(r"\s*(?:\{\{[<%].*?[>%]\}\}\s*)+", re.DOTALL)

# Characters whose backslash escape must survive, or Discord would read them as markup.
_DISCORD_SPECIAL = frozenset("\\*_~`|<>#-[]()")
_DROPPED = "\x00"  # marks where a placeholder link was removed; tidied away later
_HTML = "\x01"  # marks where a raw HTML tag was removed
_MARKS = " \t" + _DROPPED + _HTML
_HTML_GAP = re.compile(r"[ \t]*\x01[ \t\x01]*")
_LINK_TEXT_BRACKET = re.compile(r"(?<!\\)([\[\]])")
_MARKUP_CHARS = re.compile(r"[*_~`\\]")
_WHITESPACE = re.compile(r"\s+")

_TIDY_PARENS = re.compile(r"[(\[][ \t\x00]*\x00[ \t\x00]*[)\]]")
_TIDY_JOINED = re.compile(r"\x00(?:[ \t]*(?:,|or|and|&|/)[ \t]*\x00)+", re.IGNORECASE)
_TIDY_BEFORE_PUNCT = re.compile(r"[ \t]*\x00+[ \t]*(?=[,.;:!?)\]…]|$)")
_TIDY_AT_START = re.compile(r"^[ \t]*\x00+[ \t]*[,;:]?[ \t]*")
_TIDY_BETWEEN = re.compile(r"[ \t]*\x00+[ \t]*")

# Node names of markdown-it's block rules (CommonMark); every other name is inline.
_BLOCKS: Final = frozenset(
    {
        "paragraph",
        "heading",
        "lheading",
        "bullet_list",
        "ordered_list",
        "list_item",
        "blockquote",
        "code_block",
        "fence",
        "html_block",
        "hr",
        "definition",
    }
)
_LISTS: Final = frozenset({"bullet_list", "ordered_list"})
_HEADINGS: Final = frozenset({"heading", "lheading"})
_WRAPPERS: Final = {"strong": "**", "em": "*", "strikethrough": "~~"}


def _tidy(text: str) -> str:
    """Close the gaps left by dropped placeholder links: "said [Keyword](/x/slug), an
    expert" reads "said, an expert"; "visit [Keyword](..) or [Keyword](..)." reads
    "visit."."""
    if _HTML in text:
        # "H<sub>2</sub>O" -> "H2O", but "a <!-- x --> b" -> "a b".
        text = _HTML_GAP.sub(lambda m: " " if m.group().strip(_HTML) else "", text)
    if _DROPPED not in text:
        return text
    text = _TIDY_PARENS.sub(_DROPPED, text)
    text = _TIDY_JOINED.sub(_DROPPED, text)
    text = _TIDY_BEFORE_PUNCT.sub("", text)
    text = _TIDY_AT_START.sub("", text)
    return _TIDY_BETWEEN.sub(" ", text).replace(_DROPPED, "")


def _code_span(content: str) -> str:
    longest = run = 0
    for ch in content:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if longest or not content.strip(" "):
        return f"{fence} {content} {fence}"
    return f"{fence}{content}{fence}"


def _wrap(marker: str, inner: str) -> str:
    """``inner`` between Discord markers, whitespace kept outside (``** x**`` is not
    bold in Discord); nothing at all when ``inner`` has no text left."""
    core = inner.strip(_MARKS)
    if not core:
        return _DROPPED if _DROPPED in inner else inner
    lead = inner[: len(inner) - len(inner.lstrip(_MARKS))]
    trail = inner[len(inner.rstrip(_MARKS)) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _content(node: Node) -> str:
    """The text of a ``text`` / ``text_special`` node, or of a code span."""
    if node.name == "code_inline":
        return "".join(_content(child) for child in node.children)
    content = node.meta.get("content", "")
    return content if isinstance(content, str) else ""


def _plain(nodes: Sequence[Node]) -> str:
    """The text of inline nodes with all markup dropped (image alt text included)."""
    parts: list[str] = []
    for node in nodes:
        name = node.name
        if name in ("text", "text_special", "code_inline"):
            parts.append(_content(node))
        elif name in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif name != "html_inline":
            parts.append(_plain(node.children))
    return "".join(parts)


def _link_target(href: str, site_url: str | None) -> str | None:
    url = _absolute(href, site_url)
    if url is None:
        return None
    # Discord's masked-link syntax ends at the first ')' or whitespace.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _masked_link(text: str, href: str, site_url: str | None) -> str:
    """A link or image in Discord's ``[text](url)`` form, or what is left of it."""
    plain = _MARKUP_CHARS.sub("", text).strip()
    placeholder_text = is_placeholder_text(plain)
    # Only a path naming "slug" or "example" can be a placeholder's: spare urlsplit.
    folded = href.casefold()
    if placeholder_text or (
        ("slug" in folded or "example" in folded) and is_placeholder_link(plain, href)
    ):
        # "[Keyword](/articles/slug)" carries nothing: drop it. "[Paris](/x/slug)"
        # keeps its words but not the dead link.
        return _DROPPED if placeholder_text or not plain else text
    target = _link_target(href, site_url)
    if target is None or not plain:
        return text
    label = _LINK_TEXT_BRACKET.sub(r"\\\1", text)
    return f"[{label}]({target})"


def _plain_masked_link(text: str, href: str, site_url: str | None) -> str:
    """:func:`_masked_link` of a label without markup characters or brackets."""
    plain = text.strip()
    if is_placeholder_text(plain):
        return _DROPPED
    folded = href.casefold()
    if ("slug" in folded or "example" in folded) and is_placeholder_link(plain, href):
        return text if plain else _DROPPED
    target = _link_target(href, site_url)
    if target is None or not plain:
        return text
    return f"[{text}]({target})"


def _url(node: Node) -> str:
    url = node.meta.get("url", "")
    return url if isinstance(url, str) else ""


def _render_nodes(
    nodes: Sequence[Node], site_url: str | None, out: list[str], in_link: bool
) -> None:
    for node in nodes:
        name = node.name
        if name == "text":
            out.append(node.meta.get("content", ""))
        elif name in _WRAPPERS:
            inner: list[str] = []
            _render_nodes(node.children, site_url, inner, in_link)
            out.append(_wrap(_WRAPPERS[name], "".join(inner)))
        elif name == "softbreak" or name == "hardbreak":
            out.append(" ")
        elif name == "link":
            inner = []
            _render_nodes(node.children, site_url, inner, True)
            out.append(_masked_link("".join(inner), _url(node), site_url))
        elif name == "text_special":
            # Backslash escapes and entities: "\*" must stay escaped, or Discord would
            # read the character as markup.
            meta = node.meta
            content = meta.get("content", "")
            if meta.get("markup") and content in _DISCORD_SPECIAL:
                out.append("\\" + content)
            else:
                out.append(content)
        elif name == "code_inline":
            out.append(_code_span(_content(node)))
        elif name == "autolink":
            inner = []
            _render_nodes(node.children, site_url, inner, True)
            out.append(_link_target(_url(node), None) or "".join(inner))
        elif name == "image":
            alt = " ".join(_plain(node.children).split())
            if in_link:
                out.append(alt)
            else:
                out.append(_masked_link(alt, _url(node), site_url) if alt else "")
        elif name == "html_inline":
            # Raw HTML is dropped; the text between tags is ordinary text nodes.
            content = node.meta.get("content", "")
            is_break = isinstance(content, str) and content[:3].lower() == "<br"
            out.append(" " if is_break else _HTML)


def _render_inline(nodes: Sequence[Node], site_url: str | None, *, sentinel: bool = False) -> str:
    """Inline nodes -> Discord Markdown (the rules are in the module docstring)."""
    out: list[str] = []
    _render_nodes(nodes, site_url, out, False)
    text = "".join(out)
    if sentinel:
        text = text.replace(_SENTINEL, "")
    return _tidy(text).strip()


def _is_takeaways_title(text: str) -> bool:
    text = " ".join(text.split()).casefold()
    # Tolerate decoration around the words: "🔑 Key Takeaways:", "Key Takeaways —".
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end] in _TAKEAWAY_TITLES


_HEADING_LIKE = frozenset({"text", "text_special", "softbreak", "hardbreak", "strong", "em"})


def _only_heading_like(nodes: Sequence[Node]) -> bool:
    return all(n.name in _HEADING_LIKE and _only_heading_like(n.children) for n in nodes)


def _is_takeaways_paragraph(nodes: Sequence[Node]) -> bool:
    """A paragraph standing in for a heading: "**Key Takeaways:**", "__Key
    Takeaways__", "**Key Takeaways**:" or plain "Key Takeaways:"."""
    return _only_heading_like(nodes) and _is_takeaways_title(_plain(nodes))


def _flatten(nodes: Sequence[Node], out: list[tuple[str, Node]]) -> None:
    """Inline nodes as markdown-it's flat token stream: ``(kind, node)`` pairs, with
    ``*_open`` / ``*_close`` around the children of strong, em, links ..."""
    for node in nodes:
        name = node.name
        if name in _WRAPPERS or name in ("link", "autolink"):
            kind = "link" if name == "autolink" else name
            out.append((kind + "_open", node))
            _flatten(node.children, out)
            out.append((kind + "_close", node))
        else:
            out.append((name, node))


def _is_lede_candidate(nodes: Sequence[Node]) -> bool:
    """False for paragraphs that are not prose: only images, or one bold run that
    serves as a heading ("**Introduction**")."""
    tokens: list[tuple[str, Node]] = []
    _flatten(nodes, tokens)
    meaningful = [
        (kind, node)
        for kind, node in tokens
        if kind not in ("softbreak", "hardbreak")
        and not (kind == "text" and not _content(node).strip())
    ]
    if not meaningful:
        return False
    if all(kind in ("image", "link_open", "link_close", "html_inline") for kind, _ in meaningful):
        return False
    if meaningful[0][0] == "strong_open" and meaningful[-1][0] == "strong_close":
        depth = 0
        for kind, _ in meaningful[:-1]:
            depth += 1 if kind == "strong_open" else -1 if kind == "strong_close" else 0
            if depth == 0:
                return True  # the bold run closes before the end: real prose
        return False
    return True


def _render_list(node: Node, site_url: str | None) -> list[str]:
    """One string per item of a list; nested lists become indented ``- `` lines inside
    their parent item's string."""
    items: list[str] = []
    for item in node.children:
        if item.name != "list_item":
            continue
        texts: list[str] = []
        nested: list[str] = []
        _collect_item(item, site_url, texts, nested)
        text = " ".join(texts) + "".join("\n  - " + child.replace("\n", "\n  ") for child in nested)
        if text.strip():
            items.append(text.lstrip("\n"))
    return items


def _collect_item(
    container: Node, site_url: str | None, texts: list[str], nested: list[str]
) -> None:
    """The text of every paragraph (or heading) in a list item, in order, and the items
    of every list in it, whatever blocks they sit in."""
    children = container.children
    start = 0  # the inline nodes of a tight list's (hidden) paragraph: children[start:i]
    for i, child in enumerate(children):
        name = child.name
        if name not in _BLOCKS:
            continue
        if start < i and (text := _render_inline(children[start:i], site_url)):
            texts.append(text)
        start = i + 1
        if name in _LISTS:
            nested.extend(_render_list(child, site_url))
        elif name == "paragraph" or name in _HEADINGS:
            if text := _render_inline(child.children, site_url):
                texts.append(text)
        elif name == "blockquote":
            _collect_item(child, site_url, texts, nested)
    if start < len(children) and (text := _render_inline(children[start:], site_url)):
        texts.append(text)


# --------------------------------------------------------------------------- nesting guard

# markdown-it.rs (and the Node tree handed to Python) recurse once per level of
# nesting, without a limit: a few tens of thousands of "> " or "*" crash the process
# with a stack overflow, and a worker thread's stack is smaller still. Before parsing,
# bound the depth the text could reach and refuse anything beyond a few hundred
# levels; real articles stay well under ten. The bounds over-count (markers in code,
# escaped characters ...), never under-count.
_MAX_BLOCK_DEPTH: Final = 100
_MAX_INLINE_DEPTH: Final = 200
# A line whose leading run of container-marker characters is long enough to open
# _MAX_BLOCK_DEPTH levels (each character opens at most two: a tab is four columns).
_LONG_PREFIX = re.compile(r"\n[ \t>*+\-0-9.)]{" + str(_MAX_BLOCK_DEPTH // 2) + ",}")
_PREFIX_CHARS = frozenset(" \t>*+-0123456789.)")
_PREFIX_UNIT = re.compile(r" +|\t|>|[-+*](?=[ \t\n]|$)|\d{1,9}[.)](?=[ \t\n]|$)")
# Where one inline content surely ends and the next begins: a blank line, or a line
# that starts a list item able to interrupt a paragraph, or an ATX heading (in block
# quotes too). Anything else may continue a paragraph, so it is not a split.
_INLINE_SPLIT = re.compile(
    r"\n[ \t]*\n|\n(?=(?: {0,3}> ?)*+ {0,3}(?:(?:[-+*]|1[.)])[ \t]+[^ \t\n]|#{1,6}(?:[ \t\n]|$)))"
)
# Delimiter runs that can open emphasis: followed by a non-space, and for "_" not
# preceded by a letter or digit. Whole runs only (the look-behinds): retrying inside
# a long run would be quadratic.
_OPENER_RUN = re.compile(r"(?<!\*)\*++(?=[^ \t\n])|(?<!\w)_++(?=[^ \t\n])")


def _block_depth_bound(text: str, start: int) -> float:
    """At most how many containers (block quotes, list items) the line at ``start``
    opens or continues: one per ``>`` or list marker, one per two columns of indent.
    A line that opens none is no deeper than an earlier one: 0."""
    depth = 0.0
    opens = False
    pos = start
    while (unit := _PREFIX_UNIT.match(text, pos)) is not None:
        token = unit.group()
        if token[0] == " ":
            depth += len(token) / 2
        elif token == "\t":
            depth += 2
        else:
            depth += 1
            opens = True
        pos = unit.end()
    return depth if opens else 0.0


def _inline_depth_bound(text: str, *, refined: bool) -> float:
    """At most how deep inline markup can nest in ``text``: every level of emphasis
    takes an opening and a closing ``*`` or ``_`` (strikethrough two ``~`` each),
    every link or image a ``[``. ``refined`` counts only the runs that can open."""
    links = text.count("~") / 4 + text.count("[")
    if refined:
        return links + sum(len(run) for run in _OPENER_RUN.findall(text))
    return links + (text.count("*") + text.count("_")) / 2


def _check_nesting(text: str) -> None:
    """Raise :class:`ArticleError` when ``text`` could nest too deeply to parse safely."""
    # "\n" + text: a literal first character makes the search several times faster.
    for match in _LONG_PREFIX.finditer("\n" + text if text[:1] in _PREFIX_CHARS else text):
        if _block_depth_bound(match.string, match.start() + 1) > _MAX_BLOCK_DEPTH:
            raise ArticleError("markdown nested too deeply")
    if _inline_depth_bound(text, refined=False) > _MAX_INLINE_DEPTH:
        for chunk in _INLINE_SPLIT.split(text):
            if (
                _inline_depth_bound(chunk, refined=False) > _MAX_INLINE_DEPTH
                and _inline_depth_bound(chunk, refined=True) > _MAX_INLINE_DEPTH
            ):
                raise ArticleError("markdown nested too deeply")


# --------------------------------------------------------------------------- parsing

# The same block rules without any inline rule: paragraphs and headings hold their
# raw source as a single text node. It shows where each inline content ends (see
# _guarded) and, as a last resort, stands in for a block the parser fails on.
_BLOCK_RULES: Final = ("blockquote", "code", "fence", "heading", "hr", "lheading", "list")
_BLOCK_MD: Final = MarkdownIt("zero").enable_many(
    [*_BLOCK_RULES, "paragraph", "reference", "html_block"]
)

Blocks = list[tuple[Node, bytes]]


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside markdown-it.rs, which pyo3 raises as a BaseException."""
    return type(exc).__name__ == "PanicException" and not isinstance(exc, Exception)


def _top_blocks(text: str) -> Blocks:
    """The top-level blocks of ``text``, each with the UTF-8 bytes its ``srcmap``
    indexes."""
    _check_nesting(text)
    data = text.encode()
    if "`" in text and "[" in text:
        # Only link and image labels make markdown-it.rs look ahead, and only backticks
        # can then make it panic: parse such text the safe way from the start (a panic
        # costs milliseconds, and a backtrace on stderr when RUST_BACKTRACE is set).
        skeleton = _BLOCK_MD.tree(text)
        return _guarded(text, data, skeleton) or _one_by_one(data, skeleton)
    try:
        return [(block, data) for block in _MD.tree(text).children]
    except BaseException as exc:  # pragma: no cover - no panic without "[" and "`"
        if not _is_panic(exc):
            raise
    return _one_by_one(data, _BLOCK_MD.tree(text))  # pragma: no cover


def _guarded(text: str, data: bytes, skeleton: Node) -> Blocks | None:
    """Parse text that could make markdown-it.rs panic, with the outcome it should have
    had; None when its source maps are not exact enough to do that.

    markdown-it.rs 0.6.0 (in markdown-it-pyrs 0.4) panics when its cache of backtick
    runs is asked about a run longer than any it has recorded, which happens once a
    ``[`` made it look ahead ("see [the ` key"): an index out of bounds where
    markdown-it reads "no closer", so the run is literal text. Ending every inline
    content with two backtick runs longer than any other puts every such question
    inside the cache; those runs can never close anything, so they stay literal text
    at the very end, and are cut off the text nodes again before anyone reads them.
    ``skeleton`` is ``text`` parsed by the block rules alone: one text node per inline
    content, which says where each ends.
    """
    ends: list[int] = []
    for node in skeleton.walk():
        if node.name == "text" and node.srcmap is not None:
            # Exact, unless tabs inside a container shifted it: check.
            last_line = str(node.meta.get("content")).rsplit("\n", 1)[-1].encode()
            if not data.endswith(last_line, 0, node.srcmap[1]):
                return None
            ends.append(node.srcmap[1])
    ends.sort()
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    guard = "`" * (longest + 1) + " " + "`" * (longest + 2)
    pieces: list[bytes] = []
    inserted_at: list[int] = []  # where each guard starts in the parsed text
    shifts: list[int] = []  # how much longer the parsed text is after each guard
    previous = shift = 0
    for end in ends:
        # A space keeps the guard off a backtick the content ends with, except after
        # an empty list item ("*" as the last line of a paragraph), which the space
        # and guard would turn into a list item that ends the paragraph.
        line = data.rfind(b"\n", 0, end) + 1
        raw = (b"" if _EMPTY_ITEM.fullmatch(data, line, end) else b" ") + guard.encode()
        pieces += (data[previous:end], raw)
        inserted_at.append(end + shift)
        shift += len(raw)
        shifts.append(shift)
        previous = end
    pieces.append(data[previous:])
    try:
        tree = _MD.tree(b"".join(pieces).decode())
    except BaseException as exc:  # pragma: no cover - the guards prevent it
        if not _is_panic(exc):
            raise
        return None
    if [b.name for b in tree.children] != [b.name for b in skeleton.children]:
        return None  # pragma: no cover - the guards never change the blocks
    _strip_guards(tree, guard)
    # Top-level source maps back to offsets in ``data``, for the raw-source checks.
    for block in tree.children:
        if block.srcmap is not None:
            start, end = block.srcmap
            block.srcmap = (
                _unshift(start, inserted_at, ends, shifts),
                _unshift(end, inserted_at, ends, shifts),
            )
    return [(block, data) for block in tree.children]


def _one_by_one(data: bytes, skeleton: Node) -> Blocks:
    """Parse each top-level block on its own: its lines (up to the next block) and the
    document's link reference definitions parse exactly as they do in the document. A
    block that cannot be parsed safely keeps its inline Markdown as raw text."""
    starts = [
        data.rfind(b"\n", 0, block.srcmap[0]) + 1 if block.srcmap else 0
        for block in skeleton.children
    ]
    starts.append(len(data))
    lines = [data[starts[i] : starts[i + 1]] for i in range(len(skeleton.children))]
    definitions = b"".join(
        b"\n\n" + piece
        for block, piece in zip(skeleton.children, lines, strict=False)
        if block.name == "definition"
    )
    blocks: Blocks = []
    for block, piece in zip(skeleton.children, lines, strict=False):
        if block.name == "definition":
            continue
        source = piece + definitions
        text = source.decode()
        parsed = _guarded(text, source, _BLOCK_MD.tree(text)) if "`" in text else None
        if parsed is None:
            try:
                parsed = [(node, source) for node in _MD.tree(text).children]
            except BaseException as exc:
                if not _is_panic(exc):
                    raise
                parsed = [(block, data)]  # raw inline Markdown, the best left
        blocks.extend((node, raw) for node, raw in parsed if node.name != "definition")
    return blocks


def _strip_guards(node: Node, guard: str) -> None:
    """Cut the guard runs off the text nodes that end inline contents: always text at
    the top level of an inline content, right under a paragraph, heading or list item."""
    for child in node.children:
        name = child.name
        if name == "text":
            content = child.meta.get("content")
            if isinstance(content, str) and content.endswith(guard):
                # Inline content never ends with a space of its own: that one is ours.
                content = content[: -len(guard)]
                child.meta = {
                    **child.meta,
                    "content": content[:-1] if content[-1:] == " " else content,
                }
        elif name in _BLOCKS:
            _strip_guards(child, guard)


def _unshift(
    offset: int, inserted_at: Sequence[int], ends: Sequence[int], shifts: Sequence[int]
) -> int:
    """An offset in the guarded text as an offset in the original one: guard ``k``
    was inserted at ``ends[k]`` and starts at ``inserted_at[k]`` in the guarded text;
    ``shifts[k]`` is how much longer the text is from its end on."""
    before = bisect_left(inserted_at, offset)  # guards starting before ``offset``
    if before == 0:
        return offset
    # Past that guard, or inside it (then: where it was inserted).
    return max(ends[before - 1], offset - shifts[before - 1])


# --------------------------------------------------------------------------- simple blocks

# Most of the time markdown-it-pyrs takes goes into building the Python Node tree, and
# walking that tree in Python costs as much again. Yet the regions the scan reads are
# mostly made of a few plain shapes: ATX and setext headings, paragraphs, and lists
# whose items are a line or a few of inline text, with perhaps one level of nested
# bullets. Those are read here directly, with exactly the parser's outcome (CommonMark
# leaves no choice for them), and so is inline text that holds only plain text,
# ``**strong**`` and ``*em*`` runs whose flanking leaves no doubt, one-line code spans,
# and links and images with plain labels and plain URLs. Anything else (indented or
# fenced code, block quotes, HTML, rules, tabs and unusual whitespace, escapes,
# entities, "_" and "~" markup, deeper nesting, loose lists ...) makes the reader give
# up on the whole region, which markdown-it then parses. The inline text of blocks the
# scan does not read is not looked at: CommonMark finds blocks before inlines.
# test_markdown_fuzz.py checks that both ways agree.

# Whitespace other than " " and "\n": tabs and Unicode spaces follow other block or
# flanking rules, and str.strip() is not the parser's trim for all of them.
_ODD_SPACE = re.compile(r"[^\S \n]")


def _odd_space(text: str) -> bool:
    """Whether ``text`` holds whitespace other than " " and "\n"."""
    if text.isascii():  # known without looking, and then "in" is much faster
        return any(space in text for space in "\t\r\x0b\x0c\x1c\x1d\x1e\x1f")
    return _ODD_SPACE.search(text) is not None


# The first characters of a line that can only start or continue a paragraph: not a
# heading, quote, list item, rule, fence, HTML block, setext underline or indent.
# (Digits are 0-9 only, as in CommonMark: "\d" would take "١." for a list marker.)
_PLAIN_LINE = re.compile(r"(?![ #>+\-=_<`~]|[0-9]{1,9}[.)](?: |$)|\*(?:$| |\*(?:$| |\*)))(?=.)")
_ATX_LINE_FULL = re.compile(r"#{1,6}(?: +(.*?))? *")
_SETEXT_LINE = re.compile(r"=+ *|-+ *")
_ITEM_MARKER = re.compile(r"([-+*]|[0-9]{1,9}[.)])(?: |$)")
# A list item at the start of a line, its marker followed by one space and a line
# that _PLAIN_LINE accepts.
_ITEM_LINE = re.compile(r"([-+*]|[0-9]{1,9}[.)]) " + _PLAIN_LINE.pattern)
# Text inside emphasis or a link label: no markup character, "!" or "&" at all.
_INLINE_TEXT = r"[^*_`\[\]<\\~!&]"
_EMPHASIS_INNER = r"[A-Za-z0-9](?:" + _INLINE_TEXT + r"*[A-Za-z0-9.,;:?)\"'])?"
# Links and images: a plain label, and a plain URL, absolute http(s) or without a
# scheme (so that the parser's link validation refuses none), without an entity (";")
# or a character its normalisation would percent-encode.
_PLAIN_URL = r"(?:https?://)?[A-Za-z0-9\-._~/?#@!$&'*+,=%]+"
# Every markup character of simple inline text, found in one search: each branch
# starts with a literal character, so that the search skips plain text quickly. The
# named group that matched (``lastgroup``) tells the token; none: not simple.
_INLINE_SCAN = re.compile(
    # A code span on one line, its content without a backtick or an outer space.
    r"`(?P<code>[^`\n ](?:[^`\n]*[^`\n ])?)`(?!`)"
    # Emphasis whose opener can only open and closer only close, nothing inside.
    r"|\*\*(?<![^ \n(\"']\*\*)(?P<strong>" + _EMPHASIS_INNER + r")"
    r"(?:(?<=[A-Za-z0-9])\*\*(?![^ \n.,;:!?)\"'])|\*\*(?![^ \n]))"
    r"|\*(?<![^ \n(\"']\*)(?P<em>" + _EMPHASIS_INNER + r")"
    r"(?:(?<=[A-Za-z0-9])\*(?![^ \n.,;:!?)\"'])|\*(?![^ \n]))"
    r"|!\[(?P<alt>" + _INLINE_TEXT + r"+)\]\((?P<src>" + _PLAIN_URL + r")\)"
    r"|\[(?<!!\[)(?P<label>" + _INLINE_TEXT + r"+)\]\((?P<url>" + _PLAIN_URL + r")\)"
    # Markup of any other kind.
    r"|\*|_|`|\[|\]|<|\\|~|&(?=[#A-Za-z0-9])|!(?=\[)"
)
# "%" stays as it is in a URL only as the start of a percent-encoded byte.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TAKEAWAY_ASCII = re.compile("takeaway", re.IGNORECASE | re.ASCII)

# A simple block: ("heading" | "paragraph", source lines, inline content) or
# ("list", items) with items of (paragraph lines, nested items' paragraph lines).
_SimpleItem = tuple[list[str], list[list[str]]]
_SimpleBlock = tuple[str, str, str] | tuple[str, list[_SimpleItem]]


def _simple_blocks(text: str) -> list[_SimpleBlock] | None:
    """The top-level blocks of ``text`` when it is made of simple shapes only."""
    lines = text.split("\n")
    count = len(lines)
    blocks: list[_SimpleBlock] = []
    i = 0
    while i < count:
        line = lines[i]
        if not line.strip(" "):
            i += 1
            continue
        first = line[0]
        if first == "#":
            heading = _ATX_LINE_FULL.fullmatch(line)
            if heading is None:
                return None
            content = heading.group(1) or ""
            if content.endswith("#"):
                return None  # a closing sequence, or not
            blocks.append(("heading", line, content))
            i += 1
            continue
        if _ITEM_MARKER.match(line) is not None:
            i = _simple_list(lines, i, blocks)
            if i < 0:
                return None
            continue
        if _PLAIN_LINE.match(line) is None:
            return None
        start = i
        kind = "paragraph"
        i += 1
        while i < count:
            line = lines[i]
            if not line.strip(" "):
                break
            if _SETEXT_LINE.fullmatch(line) is not None:
                kind = "heading"
                break
            first = line[0]
            if first == "#" and _ATX_LINE_FULL.fullmatch(line) is not None:
                break
            item = _ITEM_MARKER.match(line)
            if item is not None:
                marker = item.group(1)
                if line[item.end() :].strip(" ") and (marker[0] in "-+*" or marker[:-1] == "1"):
                    break  # a list item that interrupts the paragraph
                return None
            if _PLAIN_LINE.match(line.lstrip(" ") if first == " " else line) is None:
                return None
            i += 1
        content = "\n".join(line.strip(" ") for line in lines[start:i])
        if kind == "heading":
            i += 1  # the underline
        blocks.append((kind, "\n".join(lines[start:i]), content))
    return blocks


def _simple_list(lines: list[str], i: int, blocks: list[_SimpleBlock]) -> int:
    """Read the list starting at ``lines[i]`` into ``blocks``; the index of the line
    after it, or -1 when it is not simple."""
    count = len(lines)
    item = _ITEM_LINE.match(lines[i])
    if item is None:
        return -1
    kind = item.group(1)[-1]  # the bullet, or the ordered list's delimiter
    items: list[_SimpleItem] = []
    while True:
        width = item.end()
        paragraph = [lines[i][width:].rstrip(" ")]
        nested: list[list[str]] = []
        nested_prefix = ""  # the indent and bullet of the nested items
        item = None
        i += 1
        while i < count:
            line = lines[i]
            item = _ITEM_LINE.match(line)
            if item is not None:
                break  # the next item, or another list
            stripped = line.lstrip(" ")
            if not stripped:
                break
            indent = len(line) - len(stripped)
            if _ITEM_MARKER.match(stripped) is not None:
                if not indent:
                    return -1  # an empty item, or one not simple
                prefix = line[: indent + 1]
                if (
                    stripped[0] in "-+*"
                    and width <= indent <= width + 3
                    and (not nested_prefix or prefix == nested_prefix)
                    and stripped[1:2] == " "
                    and _PLAIN_LINE.match(stripped, 2) is not None
                ):
                    nested_prefix = prefix
                    nested.append([stripped[2:].rstrip(" ")])
                    i += 1
                    continue
                return -1
            if _PLAIN_LINE.match(stripped) is None:
                if indent:
                    return -1
                break  # a heading ends the list; anything else is checked below
            # A paragraph continuation line (lazy or not) of the innermost item.
            (nested[-1] if nested else paragraph).append(stripped.rstrip(" "))
            i += 1
        items.append((paragraph, nested))
        if item is not None:
            if item.group(1)[-1] != kind:
                return -1  # another list
            continue
        if i >= count:
            break
        line = lines[i]
        if not line.strip(" "):
            # The list ends, unless what comes after the blank lines continues it.
            j = i + 1
            while j < count and not lines[j].strip(" "):
                j += 1
            if j < count and (lines[j][0] == " " or _ITEM_MARKER.match(lines[j])):
                return -1
            break
        if line[0] == "#" and _ATX_LINE_FULL.fullmatch(line) is not None:
            break
        return -1
    blocks.append(("list", items))
    return i


def _simple_tokens(content: str) -> list[re.Match[str]] | None:
    """The markup of simple inline ``content``; None when it is not simple."""
    tokens = list(_INLINE_SCAN.finditer(content))
    for token in tokens:
        kind = token.lastgroup
        if kind is None:
            return None
        if kind in ("src", "url") and "%" in token[kind] and _BAD_PERCENT.search(token[kind]):
            return None
    return tokens


def _simple_render(content: str, tokens: list[re.Match[str]], site_url: str | None) -> str:
    """``_render_inline`` of simple inline ``content`` (lines joined by "\\n")."""
    flat = content.replace("\n", " ") if "\n" in content else content
    if not tokens:
        return _tidy(flat).strip()
    out: list[str] = []
    pos = 0
    for token in tokens:
        start = token.start()
        if start > pos:
            out.append(flat[pos:start])
        pos = token.end()
        kind = token.lastgroup
        if kind == "url":
            label = token["label"]
            if "\n" in label:
                label = label.replace("\n", " ")
            out.append(_plain_masked_link(label, token["url"], site_url))
        elif kind == "src":
            alt = " ".join(token["alt"].split())
            out.append(_plain_masked_link(alt, token["src"], site_url) if alt else "")
        else:
            out.append(flat[start:pos])  # code spans and emphasis stay as they are
    out.append(flat[pos:])
    return _tidy("".join(out)).strip()


_PLAIN_GROUP: Final = {"code": "code", "strong": "strong", "em": "em", "src": "alt", "url": "label"}


def _simple_plain(content: str, tokens: list[re.Match[str]]) -> str:
    """``_plain`` of simple inline ``content``."""
    out: list[str] = []
    pos = 0
    for token in tokens:
        out.append(content[pos : token.start()])
        out.append(token[_PLAIN_GROUP[token.lastgroup or ""]])
        pos = token.end()
    out.append(content[pos:])
    return "".join(out).replace("\n", " ")


def _simple_lede_candidate(content: str, tokens: list[re.Match[str]]) -> bool:
    """``_is_lede_candidate`` of simple inline ``content``."""
    if not tokens:
        return True  # text, and paragraphs are never blank
    first = tokens[0]
    if first.lastgroup == "strong" and first.start() == 0 and first.end() == len(content):
        return False  # one bold run standing as a heading
    pos = 0
    for token in tokens:
        # Images, and links whose label is blank, are no prose (their label is not
        # meaningful text; a link with words is).
        kind = token.lastgroup
        bare = kind == "src" or (kind == "url" and not token["label"].strip(" \n"))
        if not bare or content[pos : token.start()].strip(" \n"):
            return True
        pos = token.end()
    return bool(content[pos:].strip(" \n"))  # images and bare links only: no prose


def _simple_items(items: list[_SimpleItem], site_url: str | None) -> list[str] | None:
    """``_render_list`` of a simple list; None when some inline text is not simple."""
    rendered: list[str] = []
    for paragraph, nested in items:
        text = _simple_inline(
            paragraph[0] if len(paragraph) == 1 else "\n".join(paragraph), site_url
        )
        if text is None:
            return None
        for lines in nested:
            child = _simple_inline(lines[0] if len(lines) == 1 else "\n".join(lines), site_url)
            if child is None:
                return None
            if child:
                text += "\n  - " + child
        if text:  # rendered text is stripped, and a child starts with "\n  - "
            rendered.append(text.lstrip("\n"))
    return rendered


def _simple_inline(content: str, site_url: str | None) -> str | None:
    """:func:`_simple_render` of ``content`` when it is simple inline text, else None:
    :func:`_simple_tokens` and :func:`_simple_render` in one pass."""
    flat = content.replace("\n", " ") if "\n" in content else content
    out: list[str] = []
    pos = 0
    for token in _INLINE_SCAN.finditer(content):
        kind = token.lastgroup
        if kind is None:
            return None
        start = token.start()
        if start > pos:
            out.append(flat[pos:start])
        pos = token.end()
        if kind == "url" or kind == "src":
            url = token[kind]
            if "%" in url and _BAD_PERCENT.search(url) is not None:
                return None
            if kind == "url":
                label = token["label"]
                if "\n" in label:
                    label = label.replace("\n", " ")
                out.append(_plain_masked_link(label, url, site_url))
            else:
                alt = " ".join(token["alt"].split())
                out.append(_plain_masked_link(alt, url, site_url) if alt else "")
        else:
            out.append(flat[start:pos])  # code spans and emphasis stay as they are
    if not out:
        return _tidy(flat).strip()
    out.append(flat[pos:])
    return _tidy("".join(out)).strip()


# --------------------------------------------------------------------------- the scan


class _Scan:
    """Walks top-level blocks in document order, collecting the takeaways and the lede
    paragraph; ``found`` once the takeaways are known."""

    __slots__ = ("found", "lede", "need_lede", "pending", "search", "site_url", "takeaways")

    def __init__(self, *, search: bool, need_lede: bool, site_url: str | None) -> None:
        self.search = search
        self.need_lede = need_lede
        self.site_url = site_url
        self.pending = False  # the previous block was a "Key Takeaways" heading
        self.found = False
        self.takeaways: tuple[str, ...] = ()
        self.lede: str | None = None

    def feed(self, text: str, *, simple: bool = False) -> None:
        """Parse ``text`` (whole top-level blocks) and scan its blocks; ``simple`` reads
        them without markdown-it when they have simple shapes only."""
        if simple and self._feed_simple(text):
            return
        try:
            for block, data in _top_blocks(text):
                self._block(block, data)
                if self.found:
                    return
        except RecursionError:  # pragma: no cover - _check_nesting keeps trees shallow
            raise ArticleError("markdown nested too deeply") from None

    def _block(self, block: Node, data: bytes) -> None:
        name = block.name
        if name == "definition":
            return  # link reference definitions leave no trace between blocks
        if self.pending and name in _LISTS:
            self.pending = False
            items = _render_list(block, self.site_url)
            if items:
                self.takeaways = tuple(items)
                self.found = True
            return
        self.pending = False
        # A title must spell "takeaway" in its source: the fast path in _scan_body
        # only looks at the parts of the document that do.
        if name in _HEADINGS:
            if self.search and _mentions_takeaway(block, data):
                self.pending = _is_takeaways_title(_plain(block.children))
        elif name == "paragraph":
            maybe_title = self.search and _mentions_takeaway(block, data)
            if maybe_title and _is_takeaways_paragraph(block.children):
                self.pending = True
            elif self.need_lede and self.lede is None:
                inline = block.children
                if _is_lede_candidate(inline) and not _shortcodes_only(block, data):
                    self.lede = _render_inline(inline, self.site_url) or None

    def _feed_simple(self, text: str) -> bool:
        """:meth:`feed` without markdown-it; False (and nothing done) when ``text`` is
        not made of simple blocks."""
        if _has_definition_mark(text) or _odd_space(text):
            return False
        blocks = _simple_blocks(text)
        if blocks is None:
            return False
        _check_nesting(text)  # the same verdict as the parser's way
        saved = (self.pending, self.found, self.takeaways, self.lede)
        for block in blocks:
            if not self._simple_block(block):
                self.pending, self.found, self.takeaways, self.lede = saved
                return False
            if self.found:
                break
        return True

    def _simple_block(self, block: _SimpleBlock) -> bool:
        """:meth:`_block` for a simple block; False when its inline text is not simple."""
        if len(block) == 2:
            if self.pending:
                self.pending = False
                items = _simple_items(block[1], self.site_url)
                if items is None:
                    return False
                if items:
                    self.takeaways = tuple(items)
                    self.found = True
            return True
        kind, source, content = block
        self.pending = False
        maybe_title = self.search and _says_takeaway(source)
        if kind == "heading":
            if maybe_title:
                tokens = _simple_tokens(content)
                if tokens is None:
                    return False
                self.pending = _is_takeaways_title(_simple_plain(content, tokens))
            return True
        if maybe_title:
            tokens = _simple_tokens(content)
            if tokens is None:
                return False
            if all(t.lastgroup in ("strong", "em") for t in tokens) and _is_takeaways_title(
                _simple_plain(content, tokens)
            ):
                self.pending = True
                return True
        if self.need_lede and self.lede is None:
            if "{{" in source and _SHORTCODES_ONLY.fullmatch(source) is not None:
                return True
            tokens = _simple_tokens(content)
            if tokens is None:
                return False
            if _simple_lede_candidate(content, tokens):
                self.lede = _simple_render(content, tokens, self.site_url) or None
        return True


def _says_takeaway(source: str) -> bool:
    """:func:`_mentions_takeaway` of a simple block's source: "takeaway" in any ASCII
    case (as a bytes pattern reads it)."""
    if source.isascii():
        return "takeaway" in source.lower()  # much faster than the pattern
    return _TAKEAWAY_ASCII.search(source) is not None


def _mentions_takeaway(block: Node, data: bytes) -> bool:
    span = block.srcmap
    return span is not None and _TAKEAWAY_BYTES.search(data, span[0], span[1]) is not None


def _shortcodes_only(block: Node, data: bytes) -> bool:
    """A paragraph made of Hugo shortcodes only (``{{< figure ... >}}``)."""
    span = block.srcmap
    if span is None or data.find(b"{{", span[0], span[1]) < 0:
        return False
    return _SHORTCODES_ONLY.fullmatch(data[span[0] : span[1]].decode()) is not None


# --------------------------------------------------------------------------- fast path

# Parsing the whole body is most of the cost of an article, and almost all of it is
# prose nobody reads: the takeaways sit in one section, the lede is the first
# paragraph. The body is therefore cut into "regions" at lines where CommonMark is
# certain to start a fresh top-level block, and only the regions that matter are
# parsed. A region boundary is the start of a line that is
#   * a top-level ATX heading ("#" .. "######" at column 0), which ends any open
#     paragraph, list or block quote; or
#   * preceded by a blank line, at column 0, and not a list item, so that it cannot
#     continue a list item, an indented code block or a block quote.
# Three things could still carry state across such a line, and the fast path gives
# up (the whole body is parsed) whenever one of them could be involved: a fenced code
# block or a top-level raw HTML block (either may hold blank lines and "#" lines)
# opened before the end of a region it uses, and link reference definitions ("]:"),
# which reach links anywhere in the document. It also gives up after a few regions
# (an article that says "takeaway" in every paragraph): one parse is cheaper then.
# test_markdown_fuzz.py checks that both ways agree, on generated documents.
_LIST_MARKER = r"(?:[-+*]|\d{1,9}[.)])(?:[ \t\n]|$)"
# The end of the line before a blank line and a fresh one, or before an ATX heading.
_NEXT_BOUNDARY = re.compile(
    r"\n[ \t]*\n(?![ \t\n]|" + _LIST_MARKER + r")|\n(?=#{1,6}(?:[ \t\n]|$))"
)
_ATX_LINE = re.compile(r"#{1,6}(?:[ \t\n]|$)")
_FRESH_LINE = re.compile(r"(?![ \t\n]|" + _LIST_MARKER + ")")
_BLANK = re.compile(r"[ \t]*")
# Fence and HTML block openers, searched one by one: a pattern with a literal prefix
# is searched several times faster than an alternation.
_HTML_FIRST = re.compile(" {0,3}<")
# Parser calls the fast path may spend before parsing everything is cheaper.
_MAX_REGIONS: Final = 8


def _is_boundary(body: str, line: int) -> bool:
    """Whether a fresh top-level block surely starts at offset ``line`` (a line start
    after 0), unless a fence or HTML block is open there."""
    if _ATX_LINE.match(body, line) is not None:
        return True
    if _FRESH_LINE.match(body, line) is None:
        return False
    prev_end = line - 1
    prev_start = body.rfind("\n", 0, prev_end) + 1
    return _BLANK.fullmatch(body, prev_start, prev_end) is not None


def _region_start(body: str, pos: int, floor: int) -> int:
    """The last boundary at or before the line holding ``pos``, ``floor`` at least."""
    line = max(body.rfind("\n", floor, pos) + 1, floor)
    while line > floor and not _is_boundary(body, line):
        line = max(body.rfind("\n", floor, line - 1) + 1, floor)
    return line


def _region_end(body: str, pos: int) -> int:
    """The first boundary after the line holding ``pos`` (the end of the body if none)."""
    newline = body.find("\n", pos)
    if newline < 0:
        return len(body)
    match = _NEXT_BOUNDARY.search(body, newline)
    return match.end() if match is not None else len(body)


def _opens_fence_or_html(body: str, start: int, end: int) -> bool:
    """Whether ``body[start:end]`` may open a fenced code or raw HTML block."""
    if start == 0 and _HTML_FIRST.match(body) is not None:
        return True
    start = max(start - 4, 0)  # an opener across ``start`` was not seen whole
    if _has_triple(body, "`", start, end) or _has_triple(body, "~", start, end):
        return True
    # A "<" after a line break and at most three spaces (literal searches are several
    # times faster than a pattern's).
    tag = body.find("<", start, end)
    while tag >= 0:
        line = body.rfind("\n", start, tag)
        if line >= 0 and tag - line <= 4 and not body[line + 1 : tag].strip(" "):
            return True
        tag = body.find("<", tag + 1, end)
    return False


class _Takeaways:
    """Finds "takeaway" in any case in a text: a literal search in the text lower-cased
    where that keeps every offset (lower() lengthens a few characters, such as "İ").
    ASCII text is lower-cased a piece at a time, as far as the searches go."""

    __slots__ = ("folded", "lowered", "text")
    PIECE = 2048

    def __init__(self, text: str) -> None:
        self.text = text
        if text.isascii():
            self.folded = ""
            self.lowered = 0  # text[:lowered] is folded
        else:
            folded = text.lower()
            if len(folded) != len(text):
                folded = _TAKEAWAY.sub("takeaway", text)
            self.folded = folded
            self.lowered = len(text)

    def find(self, pos: int) -> int:
        """The offset of the first "takeaway" at or after ``pos``; -1 if none."""
        while (found := self.folded.find("takeaway", pos)) < 0 and self.lowered < len(self.text):
            # The last 7 characters are searched again with what follows them.
            end = self.lowered + self.PIECE
            self.folded += self.text[self.lowered : end].lower()
            self.lowered = min(end, len(self.text))
        return found


def _has_triple(body: str, char: str, start: int, end: int) -> bool:
    """Whether ``char * 3`` is in ``body[start:end]``: ``char`` is looked for, which is
    much faster than looking for the three (a search for one character is memchr)."""
    triple = char * 3
    pos = body.find(char, start, end)
    while pos >= 0:
        if body.startswith(triple, pos, end):
            return True
        pos = body.find(char, pos + 1, end)
    return False


def _has_definition_mark(text: str) -> bool:
    """Whether ``text`` holds "]:" (which a link reference definition needs), looked
    for as ":" and then "]" before it, much faster than the two together."""
    pos = text.find(":")
    while pos >= 0:
        if pos and text[pos - 1] == "]":
            return True
        pos = text.find(":", pos + 1)
    return False


def _fast_scan(body: str, takeaways: _Takeaways, scan: _Scan) -> bool:
    """Fill ``scan`` from the regions of ``body`` that matter; False when that cannot be
    done safely, or would take more parser calls than parsing everything."""
    safe = 0  # body[:safe] opens no fence or HTML block
    budget = _MAX_REGIONS
    if scan.search:
        # Every title spells "takeaway": parse the regions holding one, in order.
        titles = _Scan(search=True, need_lede=False, site_url=scan.site_url)
        pos = 0
        while (found := takeaways.find(pos)) >= 0:
            start = _region_start(body, found, pos)
            end = _region_end(body, found)
            budget -= 1
            if budget < 0 or _opens_fence_or_html(body, safe, end):
                return False
            safe = end
            if start != pos:
                titles.pending = False  # the blocks skipped hold no title
            titles.feed(body[start:end], simple=True)
            if titles.found:
                scan.takeaways, scan.found = titles.takeaways, True
                return True
            pos = end
    if scan.need_lede:
        # No takeaways: the lede is the first prose paragraph, usually in region one.
        pos = 0
        while scan.lede is None and pos < len(body):
            end = _region_end(body, pos)
            budget -= 1
            if budget < 0 or (end > safe and _opens_fence_or_html(body, safe, end)):
                return False
            safe = max(safe, end)
            scan.feed(body[pos:end], simple=True)
            pos = end
    return True


def _scan_body(body: str, *, need_lede: bool, site_url: str | None, fast: bool = True) -> _Scan:
    if "\0" in body:  # as CommonMark wants; done here so that byte offsets match
        body = body.replace("\0", "\ufffd")
    takeaways = _Takeaways(body)
    search = takeaways.find(0) >= 0
    scan = _Scan(search=search, need_lede=need_lede, site_url=site_url)
    if not search and not need_lede:
        return scan
    if fast and not _has_definition_mark(body) and _fast_scan(body, takeaways, scan):
        return scan
    scan = _Scan(search=search, need_lede=need_lede, site_url=site_url)
    scan.feed(body)
    return scan


# A whitespace character (for emphasis rules) that is neither a space nor a tab (for
# block rules) and that real text hardly ever holds; see _render_text_field.
_SENTINEL: Final = "\u205f"


def _render_text_field(text: str, site_url: str | None, *, simple: bool = True) -> str:
    """A front matter ``summary`` / ``description`` as Discord Markdown (inline only);
    ``simple`` reads one simple paragraph without markdown-it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    if simple and "]:" not in text and not _odd_space(text):
        read = _simple_blocks(text)
        block = read[0] if read is not None and len(read) == 1 else None
        if block is not None and len(block) == 3 and block[0] == "paragraph":
            _check_nesting(text)  # the same verdict as the parser's way
            content = block[2]
            tokens = _simple_tokens(content)
            if tokens is not None:
                return _WHITESPACE.sub(" ", _simple_render(content, tokens, site_url)).strip()
    blocks = _top_blocks(text)
    sentinel = not (len(blocks) == 1 and blocks[0][0].name == "paragraph")
    if sentinel:
        # The text reads as more than one paragraph ("2024. A year ...", "- a\n- b",
        # "# 1"): start every line with a character that cannot begin a block, so it
        # all stays one paragraph of inline markup, and drop it again afterwards.
        blocks = _top_blocks(_SENTINEL + text.replace("\n", "\n" + _SENTINEL))
    if not blocks:
        return ""
    rendered = _render_inline(blocks[0][0].children, site_url, sentinel=sentinel)
    return _WHITESPACE.sub(" ", rendered).strip()


# --------------------------------------------------------------------------- entry points


def parse_markdown(
    text: str, *, rel_path: str, site_url: str | None = None, tz: tzinfo = UTC
) -> Article:
    """Parse one article: front matter + Markdown body.

    ``rel_path`` is the file's POSIX path relative to the content folder (it gives the
    article's id, its Hugo permalink path); ``site_url`` makes that and every relative
    link and image absolute; naive dates are read in ``tz``. Raises
    :class:`ArticleError` (and nothing else) for anything it cannot accept.
    """
    raw, body = _split_front_matter(text)
    fm: dict[str, Any] = {}
    if all(type(key) is str for key in raw):
        fm = {key.lower(): value for key, value in raw.items()}
    if len(fm) != len(raw):  # keys that are not text, or that differ by case only
        fm = {}
        for key, value in raw.items():
            if isinstance(key, str):
                fm.setdefault(key.lower(), value)

    title = _text_field(fm, "title")
    if title is None:
        raise ArticleError("missing title")
    title = " ".join(title.split())

    date = parse_date(_lookup(fm, ("date",))[1], field="date", tz=tz)
    publish_date = parse_date(_lookup(fm, _PUBLISH_KEYS)[1], field="publishDate", tz=tz)
    expiry_date = parse_date(_lookup(fm, _EXPIRY_KEYS)[1], field="expiryDate", tz=tz)
    lastmod = parse_date(_lookup(fm, _LASTMOD_KEYS)[1], field="lastmod", tz=tz)

    description = _text_field(fm, "description")
    summary = _text_field(fm, "summary")
    slug = _text_field(fm, "slug")
    path, is_absolute = _permalink(rel_path, slug, _text_field(fm, "url"))
    if is_absolute:
        url: str | None = path
    else:
        url = _absolute("./" + path.lstrip("/"), site_url) if site_url else None

    lede_source = summary if summary is not None else description
    scan = _scan_body(body, need_lede=lede_source is None, site_url=site_url)
    lede: str | None = None
    if not scan.takeaways:
        if lede_source is not None:
            lede = _render_text_field(lede_source, site_url) or None
        else:
            lede = scan.lede
        if lede is not None:
            lede = first_sentences(lede, LEDE_LIMIT)

    return Article(
        id=path,
        title=title,
        url=url,
        date=date,
        publish_date=publish_date,
        expiry_date=expiry_date,
        lastmod=lastmod,
        draft=_draft(fm.get("draft")),
        tags=_terms(fm.get("tags"), "tags"),
        categories=_terms(fm.get("categories"), "categories"),
        authors=_authors(fm),
        description=description,
        summary=summary,
        image=_image(fm, site_url),
        takeaways=scan.takeaways,
        lede=lede,
    )


def read_markdown(
    data: bytes,
    *,
    rel_path: str,
    site_url: str | None = None,
    tz: tzinfo = UTC,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Article:
    """Decode an article file's bytes (see :func:`decode_text`) and parse it."""
    return parse_markdown(
        decode_text(data, max_bytes=max_bytes), rel_path=rel_path, site_url=site_url, tz=tz
    )
