"""Request-body validation: Discord's OpenAPI document plus the documented limits it omits.

Every JSON body the bot sends is checked against the request schema the OpenAPI
document gives for that exact route and method (JSON Schema Draft 2020-12), then
against the limits Discord documents in prose (content 2,000 characters, 6,000
characters of embed text per message, command naming rules, ...). Failures are
reported the way Discord reports them: HTTP 400, code 50035 "Invalid Form Body",
with an `errors` tree keyed by the offending field's path.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import referencing
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing.jsonschema import DRAFT202012

OPENAPI_PATH = Path(__file__).with_name("discord-openapi.json")
_DOC_URI = "urn:discord-openapi"

# (path inside the body, Discord error code, human message)
FieldError = tuple[tuple[str | int, ...], str, str]


def _check_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc)


def _check_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uri")(_check_uri)
_FORMATS.checks("date-time")(_check_datetime)


@functools.cache
def _document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as fh:
        doc: dict[str, Any] = json.load(fh)
    # The document types snowflakes as digit strings, but Discord's parser also takes
    # JSON integers (discord.py sends attachment ids and allowed_mentions ids as ints).
    snowflake = doc["components"]["schemas"]["SnowflakeType"]
    doc["components"]["schemas"]["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0, "maximum": (1 << 64) - 1}]
    }
    return doc


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource = referencing.Resource.from_contents(_document(), default_specification=DRAFT202012)
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(_DOC_URI, resource)
    return registry


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.cache
def request_validator(method: str, template: str) -> Draft202012Validator | None:
    """The validator for `method template`'s JSON request body, or None if it takes none."""
    operation = _document()["paths"].get(template, {}).get(method.lower(), {})
    body = operation.get("requestBody")
    if not body or "application/json" not in body["content"]:
        return None
    ref = "#/" + _pointer(
        "paths", template, method.lower(), "requestBody", "content", "application/json", "schema"
    )
    return Draft202012Validator(
        {"$ref": _DOC_URI + ref}, registry=_registry(), format_checker=_FORMATS
    )


@functools.cache
def schema_validator(name: str) -> Draft202012Validator:
    """A validator for `components.schemas[name]` (used to check the fake's own answers)."""
    ref = f"{_DOC_URI}#/components/schemas/{name}"
    return Draft202012Validator({"$ref": ref}, registry=_registry(), format_checker=_FORMATS)


def is_documented(method: str, path: str) -> bool:
    """Whether Discord's document has `method` for a concrete `path` like /guilds/123."""
    for template, operations in _document()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if method.lower() in operations and re.match(pattern, path):
            return True
    return False


# -- turning jsonschema errors into Discord's error tree ----------------------------


def _discriminator_failed(errors: list[ValidationError]) -> bool:
    """A union branch whose `type` tag (or JSON type) does not match is the wrong branch."""
    for error in errors:
        if error.validator == "type" and not error.relative_path:
            return True
        if error.validator in ("enum", "const") and list(error.relative_path) == ["type"]:
            return True
    return False


def _leaves(error: ValidationError) -> list[ValidationError]:
    """For a failed anyOf/oneOf, the errors of the branch the body was meant to match:
    branches whose type tag does not match are skipped, then the one with fewest errors wins."""
    if not (error.context and error.validator in ("anyOf", "oneOf")):
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    candidates = [
        [leaf for sub in b for leaf in _leaves(sub)]
        for b in branches.values()
        if not _discriminator_failed(b)
    ]
    return min(candidates, key=len) if candidates else [error]


def _describe(error: ValidationError) -> Iterator[FieldError]:
    path = tuple(error.absolute_path)
    limit = error.validator_value
    match error.validator:
        case "required":
            missing = [k for k in limit if k not in error.instance]
            for key in missing:
                yield (*path, key), "BASE_TYPE_REQUIRED", "This field is required"
        case "maxLength" | "maxItems":
            yield path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
        case "minLength" | "minItems":
            yield path, "BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."
        case "maximum":
            yield path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {limit}."
        case "minimum":
            yield path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {limit}."
        case "enum" | "const":
            yield path, "BASE_TYPE_CHOICES", f"Value must be one of {limit!r}."
        case "format" if limit == "uri":
            yield path, "URL_TYPE_INVALID_URL", "Not a well formed URL."
        case "format":
            yield path, "DATE_TYPE_PARSE", f"Could not parse {error.instance!r}. Should be ISO8601."
        case "pattern":
            yield path, "NUMBER_TYPE_COERCE", f"Value {error.instance!r} is not snowflake."
        case "type":
            yield path, "BASE_TYPE_INVALID", f"Value {error.instance!r} is not of type {limit}."
        case _:
            yield path, "BASE_TYPE_INVALID", error.message


def schema_errors(validator: Draft202012Validator, body: Any) -> list[FieldError]:
    found: list[FieldError] = []
    for error in validator.iter_errors(body):
        for leaf in _leaves(error):
            found.extend(_describe(leaf))
    return found


def error_tree(errors: Iterable[FieldError]) -> dict[str, Any]:
    """Discord's nested `errors` object: {"embeds": {"0": {"title": {"_errors": [...]}}}}."""
    tree: dict[str, Any] = {}
    for path, code, message in errors:
        node = tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return tree


# -- documented limits the schema does not encode ------------------------------------

CONTENT_MAX = 2000
EMBED_TOTAL_MAX = 6000
CHOICE_VALUE_MAX = 100
COMMAND_TOTAL_MAX = 4000
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def embed_text_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 limit."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def message_limit_errors(body: Any, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Limits on a message body (create, edit, webhook, interaction response data)."""
    if not isinstance(body, dict):
        return []
    errors: list[FieldError] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        errors.append(
            (
                (*prefix, "content"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {CONTENT_MAX} or fewer in length.",
            )
        )
    embeds = body.get("embeds") or []
    if isinstance(embeds, list):
        total = sum(embed_text_length(e) for e in embeds if isinstance(e, dict))
        if total > EMBED_TOTAL_MAX:
            errors.append(
                (
                    (*prefix, "embeds"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
                )
            )
        for i, embed in enumerate(embeds):
            if not isinstance(embed, dict):
                continue
            here = (*prefix, "embeds", i)
            for j, fld in enumerate(embed.get("fields") or []):
                for key in ("name", "value"):
                    if (
                        isinstance(fld, dict)
                        and isinstance(fld.get(key), str)
                        and not fld[key].strip()
                    ):
                        errors.append(
                            (
                                (*here, "fields", j, key),
                                "BASE_TYPE_REQUIRED",
                                "This field is required",
                            )
                        )
            for path in (("url",), ("author", "url")):
                node: Any = embed
                for key in path:
                    node = node.get(key) if isinstance(node, dict) else None
                if isinstance(node, str) and urlsplit(node).scheme not in ("http", "https"):
                    scheme = urlsplit(node).scheme
                    errors.append(
                        (
                            (*here, *path),
                            "URL_TYPE_INVALID_SCHEME",
                            f"Scheme {scheme!r} is not supported. Scheme must be one of "
                            "('http', 'https').",
                        )
                    )
    mentions = body.get("allowed_mentions")
    if isinstance(mentions, dict):
        parse = mentions.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and mentions.get(kind):
                errors.append(
                    (
                        (*prefix, "allowed_mentions"),
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                    )
                )
    errors.extend(_component_errors(body.get("components"), prefix))
    return errors


def _component_errors(rows: Any, prefix: tuple[str | int, ...]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        children = row.get("components") if isinstance(row, dict) else None
        for j, comp in enumerate(children if isinstance(children, list) else []):
            if not isinstance(comp, dict):
                continue
            here = (*prefix, "components", i, "components", j)
            custom_id = comp.get("custom_id")
            if custom_id is not None:
                if custom_id in seen:
                    errors.append(
                        (
                            (*here, "custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        )
                    )
                seen.add(custom_id)
            if comp.get("type") == 2:
                is_link = comp.get("style") == 5
                if is_link and (custom_id is not None or not comp.get("url")):
                    errors.append(
                        (
                            here,
                            "BUTTON_COMPONENT_INVALID",
                            "A link button needs a url and no custom_id",
                        )
                    )
                if not is_link and comp.get("style") != 6 and custom_id is None:
                    errors.append(
                        ((*here, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
                    )
    return errors


def autocomplete_limit_errors(body: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    choices = (body.get("data") or {}).get("choices") if isinstance(body, dict) else None
    for i, choice in enumerate(choices if isinstance(choices, list) else []):
        value = choice.get("value") if isinstance(choice, dict) else None
        if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
            errors.append(
                (
                    ("data", "choices", i, "value"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {CHOICE_VALUE_MAX} or fewer in length.",
                )
            )
    return errors


def _option_errors(options: Any, prefix: tuple[str | int, ...]) -> Iterator[FieldError]:
    if not isinstance(options, list):
        return
    names: set[str] = set()
    optional_seen = False
    kinds = {o.get("type") for o in options if isinstance(o, dict)}
    if kinds & {1, 2} and kinds - {1, 2}:
        yield (
            prefix,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all "
            "other types",
        )
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        here = (*prefix, i)
        name = option.get("name")
        if isinstance(name, str):
            if not COMMAND_NAME.match(name) or name != name.lower():
                yield (*here, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            if name in names:
                yield (
                    (*here, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    ("Option names must be unique"),
                )
            names.add(name)
        if option.get("type") not in (1, 2):
            if option.get("required"):
                if optional_seen:
                    yield (
                        (*here, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        ("Required options must be placed before non-required options"),
                    )
            else:
                optional_seen = True
        choices = option.get("choices")
        if choices and option.get("autocomplete"):
            yield (
                (*here, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                ("Autocomplete cannot be set with choices"),
            )
        for j, choice in enumerate(choices if isinstance(choices, list) else []):
            value = choice.get("value") if isinstance(choice, dict) else None
            if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
                yield (
                    (*here, "choices", j, "value"),
                    "BASE_TYPE_MAX_LENGTH",
                    (f"Must be {CHOICE_VALUE_MAX} or fewer in length."),
                )
        yield from _option_errors(option.get("options"), (*here, "options"))


def _command_text(node: Any) -> int:
    if not isinstance(node, dict):
        return 0
    total = len(node.get("name") or "") + len(node.get("description") or "")
    for choice in node.get("choices") or []:
        if isinstance(choice, dict):
            total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return total + sum(_command_text(o) for o in node.get("options") or [])


def command_limit_errors(commands: Any) -> list[FieldError]:
    """Naming and size rules for a bulk-overwrite (PUT) of application commands."""
    errors: list[FieldError] = []
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands if isinstance(commands, list) else []):
        if not isinstance(cmd, dict):
            continue
        ctype = cmd.get("type") or 1
        name = cmd.get("name")
        if ctype == 1 and isinstance(name, str):
            if not COMMAND_NAME.match(name) or name != name.lower():
                errors.append(
                    ((i, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
                )
            if not cmd.get("description"):
                errors.append(((i, "description"), "BASE_TYPE_REQUIRED", "This field is required"))
        if (ctype, name) in seen:
            errors.append(
                (
                    (i, "name"),
                    "APPLICATION_COMMAND_ALREADY_EXISTS",
                    "Application command names must be unique",
                )
            )
        seen.add((ctype, str(name)))
        if _command_text(cmd) > COMMAND_TOTAL_MAX:
            errors.append(
                (
                    (i,),
                    "APPLICATION_COMMAND_TOO_LARGE",
                    f"Command exceeds maximum size ({COMMAND_TOTAL_MAX})",
                )
            )
        errors.extend(_option_errors(cmd.get("options"), (i, "options")))
    if sum(1 for c in commands or [] if isinstance(c, dict) and (c.get("type") or 1) == 1) > 100:
        errors.append(((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer chat input commands."))
    return errors


@functools.cache
def response_validator(method: str, template: str, status: int) -> Draft202012Validator | None:
    """The validator for the documented JSON answer of `method template` with `status`."""
    operation = _document()["paths"].get(template, {}).get(method.lower(), {})
    responses = operation.get("responses", {})
    answer = responses.get(str(status))
    if not answer or "application/json" not in answer.get("content", {}):
        return None
    ref = "#/" + _pointer(
        "paths",
        template,
        method.lower(),
        "responses",
        str(status),
        "content",
        "application/json",
        "schema",
    )
    return Draft202012Validator(
        {"$ref": _DOC_URI + ref}, registry=_registry(), format_checker=_FORMATS
    )
