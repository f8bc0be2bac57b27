"""Front matter: the YAML, TOML or JSON block at the start of an article file.

Hugo accepts three kinds, told apart by the file's first characters: YAML between
``---`` lines, TOML between ``+++`` lines, and a JSON object (``{ ... }``) ended by
its own closing brace. python-frontmatter's handlers find the fences; PyYAML (its C
loader where the installed build has libyaml), ``tomllib`` and ``json`` read what is
between them. Every error becomes an :class:`ArticleError` with the line of the file
it is on, where the parser says.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any, Final

import yaml
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler

from bot.articles.model import ArticleError

__all__ = ["FrontMatterLoader", "split_front_matter"]

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class FrontMatterLoader(_SafeLoader):
    """PyYAML's safe loader (in C where available) with one change: a timestamp that
    cannot exist, such as ``2026-13-45``, is handed on as text, so that the date
    reader rejects it naming its field, instead of PyYAML failing with a bare
    ``ValueError``."""

    def construct_yaml_timestamp(self, node: Any) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)


FrontMatterLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", FrontMatterLoader.construct_yaml_timestamp
)


class _YAML(YAMLHandler):
    """``---`` fenced YAML, read by :class:`FrontMatterLoader`."""

    name = "YAML"

    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=FrontMatterLoader)


class _TOML(BaseHandler):
    """``+++`` fenced TOML, read by the standard library's ``tomllib``."""

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


_Handler = _YAML | _TOML | _JSON
_HANDLERS: Final[tuple[_Handler, ...]] = (_YAML(), _TOML(), _JSON())
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def split_front_matter(text: str) -> tuple[dict[Any, Any], str]:
    """The front matter of an article file as a mapping, and the body after it.

    Line endings are normalised to ``\\n`` first. Raises :class:`ArticleError` when
    there is no front matter, when it does not parse, or when it is not a non-empty
    mapping of fields.
    """
    if "\r" in text:  # CRLF and old-Mac CR line endings, for the fences and the body
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.lstrip("\ufeff").lstrip()
    skipped = len(text) - len(stripped)
    for handler in _HANDLERS:
        if handler.detect(stripped):
            break
    else:
        raise ArticleError("no front matter (the file must start with '---', '+++' or '{')")
    # The file line on which the front matter text starts, for error messages.
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
    data = _load(handler, fm, base_line)
    if data is None or data == {}:
        raise ArticleError("front matter is empty")
    if not isinstance(data, dict):
        raise ArticleError(f"front matter must be a mapping of fields, not {kind_of(data)}")
    return data, body


def _load(handler: _Handler, fm: str, base_line: int) -> Any:
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
    except RecursionError:
        raise ArticleError(f"front matter: {handler.name} nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # Constructors of exotic YAML tags (!!binary, !!float ...) raise plain errors.
        raise ArticleError(f"front matter: {handler.name} error: {exc}") from None


def kind_of(value: object) -> str:
    """What ``value`` is, in words for an error message: "a list", "text" ..."""
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
