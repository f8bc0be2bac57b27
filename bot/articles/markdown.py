"""Markdown article files (Hugo-style front matter + CommonMark body) -> :class:`Article`.

Pure: text in, an :class:`Article` or an :class:`ArticleError` out, nothing else.

Front matter may be YAML (``---``), TOML (``+++``) or JSON (a ``{...}`` object at
the start of the file), as Hugo reads it. The body is parsed with markdown-it-py
(CommonMark + strikethrough). Only the block structure is parsed up front, and only
as far as needed: the parse stops once the "Key Takeaways" list (or, for the
fallback lede, the first real paragraph) has been seen, and the inline parser only
runs on the few blocks that are actually used.

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

import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from bot.articles.dates import parse_date
from bot.articles.decode import DEFAULT_MAX_BYTES, decode_text
from bot.articles.model import Article, ArticleError, normalise_tag
from bot.articles.text import absolute_url, first_sentences, is_placeholder_link

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


class _YAML(YAMLHandler):
    """python-frontmatter's YAML handler (``---`` fences), on the loader above."""

    name = "YAML"

    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=_YAMLLoader)


class _TOML(BaseHandler):
    """``+++`` fenced TOML on the standard library's ``tomllib``."""

    name = "TOML"
    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def load(self, fm: str, **kwargs: object) -> Any:
        return tomllib.loads(fm)


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
        key = normalise_tag(value)
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
        return _unique([_scalar_text(v, field) for v in value if v is not None])
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
    key, value = _lookup(fm, (*_IMAGE_KEYS, "images"))
    if isinstance(value, list):
        value = next((v for v in value if v is not None and v != ""), None)
    if value is None:
        return None
    return absolute_url(_scalar_text(value, key), site_url)


# --------------------------------------------------------------------------- permalink

_PATH_PUNCTUATION = frozenset("._-~+#@%")


def _sanitise_segment(segment: str) -> str:
    """One path segment the way Hugo's ``MakePath`` writes it (lower-cased)."""
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
    cleaned = [c for c in (_sanitise_segment(s) for s in segments) if c]
    return ("/" + "/".join(cleaned) + "/") if cleaned else "/", False


# --------------------------------------------------------------------------- markdown

_MD: Final = MarkdownIt("commonmark", {"maxNesting": 20}).enable("strikethrough")
# Block structure only: inline content is parsed on demand for the few blocks used.
# text_join is off too, so backslash escapes reach the renderer as `text_special`.
_MD.core.ruler.disable(["inline", "text_join"])


def _normalize(state: StateCore) -> None:
    """markdown-it's own normalize rule, with str.replace instead of a regex per line
    ending (several times faster on a typical article)."""
    src = state.src
    if "\r" in src:
        src = src.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in src:
        src = src.replace("\0", "\ufffd")
    state.src = src


_MD.core.ruler.at("normalize", _normalize)

_SCAN_ENV_KEY: Final = "newsbot_scan"
_TAKEAWAY = re.compile("takeaway", re.IGNORECASE)
_TAKEAWAY_TITLES = frozenset({"key takeaways", "key takeaway"})
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


def _plain(tokens: Sequence[Token]) -> str:
    """The text of inline tokens with all markup dropped (image alt text included)."""
    parts: list[str] = []
    for tok in tokens:
        if tok.type in ("text", "text_special", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image" and tok.children:
            parts.append(_plain(tok.children))
    return "".join(parts)


def _link_target(href: str, site_url: str | None) -> str | None:
    url = absolute_url(href, site_url)
    if url is None:
        return None
    # Discord's masked-link syntax ends at the first ')' or whitespace.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _masked_link(text: str, href: str, site_url: str | None) -> str:
    """A link or image in Discord's ``[text](url)`` form, or what is left of it."""
    plain = _MARKUP_CHARS.sub("", text).strip()
    if is_placeholder_link(plain, href):
        # "[Keyword](/articles/slug)" carries nothing: drop it. "[Paris](/x/slug)"
        # keeps its words but not the dead link.
        return _DROPPED if is_placeholder_link(plain, "") or not plain else text
    target = _link_target(href, site_url)
    if target is None or not plain:
        return text
    label = _LINK_TEXT_BRACKET.sub(r"\\\1", text)
    return f"[{label}]({target})"


def _render_inline(tokens: Sequence[Token], site_url: str | None) -> str:
    """Inline tokens -> Discord Markdown (the rules are in the module docstring)."""
    out: list[str] = []
    stack: list[tuple[Token, list[str]]] = []
    in_link = 0
    for tok in tokens:
        kind = tok.type
        if kind == "text":
            out.append(tok.content)
        elif kind == "text_special":
            content = tok.content
            if tok.markup and content in _DISCORD_SPECIAL:
                out.append("\\" + content)
            else:
                out.append(content)
        elif kind in ("softbreak", "hardbreak"):
            out.append(" ")
        elif kind == "code_inline":
            out.append(_code_span(tok.content))
        elif kind in ("strong_open", "em_open", "s_open", "link_open"):
            stack.append((tok, out))
            out = []
            if kind == "link_open":
                in_link += 1
        elif kind in ("strong_close", "em_close", "s_close", "link_close") and stack:
            opener, parent = stack.pop()
            inner = "".join(out)
            out = parent
            if opener.type == "strong_open":
                out.append(_wrap("**", inner))
            elif opener.type == "em_open":
                out.append(_wrap("*", inner))
            elif opener.type == "s_open":
                out.append(_wrap("~~", inner))
            else:
                in_link -= 1
                href = str(opener.attrs.get("href", ""))
                if opener.markup == "autolink":
                    out.append(_link_target(href, None) or inner)
                else:
                    out.append(_masked_link(inner, href, site_url))
        elif kind == "image":
            alt = " ".join(_plain(tok.children or ()).split())
            if in_link:
                out.append(alt)
            else:
                src = str(tok.attrs.get("src", ""))
                out.append(_masked_link(alt, src, site_url) if alt else "")
        elif kind == "html_inline":
            # Raw HTML is dropped; the text between tags is ordinary text tokens.
            out.append(" " if tok.content[:3].lower() == "<br" else _HTML)
    while stack:  # unbalanced input cannot happen with markdown-it, but stay total
        _, parent = stack.pop()
        out = [*parent, *out]
    return _tidy("".join(out)).strip()


# Characters that can start an inline construct (CommonMark + strikethrough): text
# without any of them is a single text token, and the inline parser is skipped.
_INLINE_MARKUP = re.compile(r"[\n!&*<\[\\\]_`~]")


def _inline_tokens(content: str, env: dict[str, Any]) -> list[Token]:
    if _INLINE_MARKUP.search(content) is None:
        return [Token("text", "", 0, content=content)]
    tokens: list[Token] = []
    _MD.inline.parse(content, _MD, env, tokens)
    return tokens


def _is_takeaways_title(text: str) -> bool:
    text = " ".join(text.split()).casefold()
    # Tolerate decoration around the words: "🔑 Key Takeaways:", "Key Takeaways —".
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end] in _TAKEAWAY_TITLES


_HEADING_LIKE = frozenset(
    {"text", "text_special", "softbreak", "hardbreak"}
    | {"strong_open", "strong_close", "em_open", "em_close"}
)


def _is_takeaways_paragraph(tokens: Sequence[Token]) -> bool:
    """A paragraph standing in for a heading: "**Key Takeaways:**", "__Key
    Takeaways__", "**Key Takeaways**:" or plain "Key Takeaways:"."""
    return all(t.type in _HEADING_LIKE for t in tokens) and _is_takeaways_title(_plain(tokens))


def _is_lede_candidate(tokens: Sequence[Token]) -> bool:
    """False for paragraphs that are not prose: only images, or one bold run that
    serves as a heading ("**Introduction**")."""
    meaningful = [t for t in tokens if not (t.type == "text" and not t.content.strip())]
    meaningful = [t for t in meaningful if t.type not in ("softbreak", "hardbreak")]
    if not meaningful:
        return False
    if all(t.type in ("image", "link_open", "link_close", "html_inline") for t in meaningful):
        return False
    first, last = meaningful[0], meaningful[-1]
    if first.type == "strong_open" and last.type == "strong_close":
        depth = 0
        for tok in meaningful[:-1]:
            depth += tok.nesting if tok.type in ("strong_open", "strong_close") else 0
            if depth == 0:
                return True  # the bold run closes before the end: real prose
        return False
    return True


def _block_end(tokens: Sequence[Token], start: int) -> int:
    """Index just past the top-level block that starts at ``start``."""
    if tokens[start].nesting != 1:
        return start + 1
    level = tokens[start].level
    for i in range(start + 1, len(tokens)):
        if tokens[i].level == level and tokens[i].nesting == -1:
            return i + 1
    return len(tokens)


class _Scan:
    """Walks the top-level blocks as the block parser produces them, collecting the
    takeaways and the lede paragraph, and says when nothing more is needed."""

    __slots__ = (
        "env",
        "found",
        "lede",
        "need_lede",
        "next_hint",
        "pending",
        "pos",
        "search",
        "site_url",
        "takeaways",
    )

    def __init__(self, *, search: bool, need_lede: bool, site_url: str | None) -> None:
        self.search = search
        self.need_lede = need_lede
        self.site_url = site_url
        self.env: dict[str, Any] = {}
        self.pos = 0
        self.pending = False  # the previous block was a "Key Takeaways" heading
        self.found = False
        self.takeaways: tuple[str, ...] = ()
        self.lede: str | None = None
        self.next_hint = -1  # offset of the next "takeaway" in the source, if known

    def feed(self, tokens: Sequence[Token]) -> None:
        i = self.pos
        while i < len(tokens) and not self.found:
            end = _block_end(tokens, i)
            self._block(tokens, i, end)
            i = end
        self.pos = i

    def _block(self, tokens: Sequence[Token], start: int, end: int) -> None:
        kind = tokens[start].type
        if self.pending and kind in ("bullet_list_open", "ordered_list_open"):
            self.pending = False
            items = _render_list(tokens, start, end, self)
            if items:
                self.takeaways = tuple(items)
                self.found = True
            return
        self.pending = False
        if end - start < 3 or tokens[start + 1].type != "inline":
            return
        content = tokens[start + 1].content
        maybe_title = self.search and _TAKEAWAY.search(content) is not None
        if kind == "heading_open":
            if maybe_title:
                self.pending = _is_takeaways_title(_plain(self.inline(content)))
        elif kind == "paragraph_open" and (maybe_title or (self.need_lede and self.lede is None)):
            inline = self.inline(content)
            if maybe_title and _is_takeaways_paragraph(inline):
                self.pending = True
            elif (
                self.need_lede
                and self.lede is None
                and _is_lede_candidate(inline)
                and not _SHORTCODES_ONLY.fullmatch(content)
            ):
                self.lede = _render_inline(inline, self.site_url) or None

    def inline(self, content: str) -> list[Token]:
        return _inline_tokens(content, self.env)

    def finished(self, src: str, offset: int) -> bool:
        if self.found:
            return True
        if self.pending or (self.need_lede and self.lede is None):
            return False
        if not self.search:
            return True
        if self.next_hint < offset:
            match = _TAKEAWAY.search(src, offset)
            self.next_hint = match.start() if match else len(src) + 1
        return self.next_hint > len(src)


def _render_list(tokens: Sequence[Token], start: int, end: int, scan: _Scan) -> list[str]:
    """One string per item of the list ``tokens[start:end]``; nested lists become
    indented ``- `` lines inside their parent item's string."""
    items: list[str] = []
    item_level = tokens[start].level + 1
    i = start + 1
    while i < end:
        tok = tokens[i]
        if tok.type != "list_item_open" or tok.level != item_level:
            i += 1
            continue
        texts: list[str] = []
        nested: list[str] = []
        i += 1
        while i < end and not (
            tokens[i].type == "list_item_close" and tokens[i].level == item_level
        ):
            inner = tokens[i]
            if inner.type in ("bullet_list_open", "ordered_list_open"):
                sub_end = _block_end(tokens, i)
                nested.extend(_render_list(tokens, i, sub_end, scan))
                i = sub_end
                continue
            if inner.type == "inline":
                text = _render_inline(scan.inline(inner.content), scan.site_url)
                if text:
                    texts.append(text)
            i += 1
        i += 1
        item = " ".join(texts) + "".join("\n  - " + child.replace("\n", "\n  ") for child in nested)
        if item.strip():
            items.append(item.lstrip("\n"))
    return items


def _stop_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """First block rule: at top level, once the scan has what it needs, swallow the
    rest of the document so the block parser stops there."""
    if state.level:
        return False
    scan = state.env.get(_SCAN_ENV_KEY)
    if not isinstance(scan, _Scan):
        return False
    scan.feed(state.tokens)
    if scan.finished(state.src, state.bMarks[start_line]):
        state.line = end_line
        return True
    return False


_MD.block.ruler.before("table", "newsbot_stop", _stop_rule)


def _scan_body(body: str, *, need_lede: bool, site_url: str | None) -> _Scan:
    search = _TAKEAWAY.search(body) is not None
    scan = _Scan(search=search, need_lede=need_lede, site_url=site_url)
    if not search and not need_lede:
        return scan
    # Link reference definitions anywhere in the document change how links parse, so
    # a document that may have one ("]:" must appear) is parsed to the end first.
    env: dict[str, Any] = {}
    early = "]:" not in body
    if early:
        env[_SCAN_ENV_KEY] = scan
    try:
        tokens = _MD.parse(body, env)
        scan.env = {k: v for k, v in env.items() if k != _SCAN_ENV_KEY}
        scan.feed(tokens)
    except RecursionError:
        raise ArticleError("markdown nested too deeply") from None
    return scan


def _render_text_field(text: str, site_url: str | None) -> str:
    """A front matter ``summary`` / ``description`` as Discord Markdown (inline only)."""
    rendered = _render_inline(_inline_tokens(text, {}), site_url)
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
    for key, value in raw.items():
        if isinstance(key, str):
            fm.setdefault(key.lower(), value)

    title = _text_field(fm, "title")
    if title is None:
        raise ArticleError("missing title")
    title = " ".join(title.split())

    def date_field(keys: Sequence[str], name: str) -> datetime | None:
        return parse_date(_lookup(fm, keys)[1], field=name, tz=tz)

    date = date_field(("date",), "date")
    publish_date = date_field(_PUBLISH_KEYS, "publishDate")
    expiry_date = date_field(_EXPIRY_KEYS, "expiryDate")
    lastmod = date_field(_LASTMOD_KEYS, "lastmod")

    description = _text_field(fm, "description")
    summary = _text_field(fm, "summary")
    slug = _text_field(fm, "slug")
    path, is_absolute = _permalink(rel_path, slug, _text_field(fm, "url"))
    if is_absolute:
        url: str | None = path
    else:
        url = absolute_url("./" + path.lstrip("/"), site_url) if site_url else None

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
