"""Check request bodies against Discord's own OpenAPI document.

``validate_message_create(body)`` raises :class:`jsonschema.ValidationError` when a
Create Message body breaks ``components.schemas.MessageCreateRequest`` (with the
``RichEmbed``... schemas it references) or one of the limits Discord documents but
the schema does not carry (2,000 characters of content for bots, 6,000 characters
of text per embed, no empty message). The 1.1 MB document is read once per
process and each validator is built once.

``closed=True`` additionally rejects keys the schema does not define (Discord
silently ignores them, so a misspelt key would otherwise pass unnoticed).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parent / "fakediscord" / "discord-openapi.json"
_BASE_URI = "https://discord.com/api/v10/openapi.json"

# Documented limits the schema leaves out or states more loosely (its content
# maxLength of 4,000 is the Nitro user limit; bots get 2,000).
MAX_CONTENT = 2000
MAX_EMBED_TOTAL = 6000
MAX_EMBEDS = 10

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    """RFC 3986 absolute URI: ASCII only, a scheme, nothing a URI may not hold."""
    if not isinstance(value, str):
        return True
    if not value.isascii() or re.search(r"[\s\"<>\\^`{|}\x00-\x1f\x7f]", value):
        return False
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value):
        return False
    parts = urlsplit(value)  # raises ValueError on e.g. a broken IPv6 host
    return parts.scheme.lower() not in ("http", "https") or bool(parts.netloc)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z")


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("z", "Z"))  # rejects e.g. month 13
    return True


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@functools.cache
def _document() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


@functools.cache
def _closed_document() -> dict[str, Any]:
    """The document with ``additionalProperties: false`` on every plain object schema.

    Schemas pulled into an ``allOf`` are left open: closing them would reject the
    properties their siblings add.
    """
    document = copy.deepcopy(_document())
    in_all_of: set[int] = set()

    def mark(node: Any) -> None:
        if isinstance(node, dict):
            for part in node.get("allOf", ()):
                ref = part.get("$ref", "") if isinstance(part, dict) else ""
                if ref.startswith("#/components/schemas/"):
                    target = document["components"]["schemas"].get(ref.rsplit("/", 1)[1])
                    if target is not None:
                        in_all_of.add(id(target))
                if isinstance(part, dict):
                    in_all_of.add(id(part))
            for child in node.values():
                mark(child)
        elif isinstance(node, list):
            for child in node:
                mark(child)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "allOf" not in node
                and "additionalProperties" not in node
                and "patternProperties" not in node
                and id(node) not in in_all_of
            ):
                node["additionalProperties"] = False
            for child in node.values():
                close(child)
        elif isinstance(node, list):
            for child in node:
                close(child)

    schemas = document["components"]["schemas"]
    mark(schemas)
    close(schemas)
    return document


@functools.cache
def request_validator(schema_name: str, *, closed: bool = False) -> Draft202012Validator:
    """A cached Draft 2020-12 validator for ``components.schemas[schema_name]``."""
    document = _closed_document() if closed else _document()
    if schema_name not in document["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name!r} in {SPEC_PATH.name}")
    registry: Registry[Any] = Registry().with_resource(
        _BASE_URI, DRAFT202012.create_resource(document)
    )
    schema = {"$ref": f"{_BASE_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)


def validate_request(schema_name: str, body: Any, *, closed: bool = False) -> None:
    """Raise the most relevant :class:`ValidationError` of ``body`` against a schema."""
    error = best_match(request_validator(schema_name, closed=closed).iter_errors(body))
    if error is not None:
        raise error


def validate_message_create(body: dict[str, Any], *, closed: bool = False) -> None:
    """Raise :class:`ValidationError` unless Discord would accept ``body`` for
    ``POST /channels/{id}/messages`` (schema plus documented limits)."""
    validate_request("MessageCreateRequest", body, closed=closed)
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        raise ValidationError(f"content is {len(content)} characters, over {MAX_CONTENT}")
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise ValidationError(f"{len(embeds)} embeds, over {MAX_EMBEDS}")
    for index, embed in enumerate(embeds):
        total = embed_text_length(embed)
        if total > MAX_EMBED_TOTAL:
            raise ValidationError(
                f"embed {index} holds {total} characters of text, over {MAX_EMBED_TOTAL}"
            )
    parts = ("content", "embeds", "sticker_ids", "components", "poll", "attachments")
    if not any(body.get(key) for key in parts):
        raise ValidationError("empty message: no content, embeds, stickers, components or files")


def embed_text_length(embed: dict[str, Any]) -> int:
    """Characters of ``embed`` that count towards Discord's 6,000 total."""
    texts: list[Any] = [
        embed.get("title"),
        embed.get("description"),
        (embed.get("footer") or {}).get("text"),
        (embed.get("author") or {}).get("name"),
    ]
    for field in embed.get("fields") or []:
        texts += [field.get("name"), field.get("value")]
    return sum(len(text) for text in texts if isinstance(text, str))
