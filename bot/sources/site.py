"""Reading a Hugo site's configuration files, and the site the bot reads articles in.

Hugo's order: the first of ``hugo.toml``, ``hugo.yaml``, ``hugo.yml``, ``hugo.json``,
``config.toml``, ``config.yaml``, ``config.yml``, ``config.json`` in the site root;
then the files of ``config/_default/`` (searched recursively, by name), merged on top:
``hugo.*`` / ``config.*`` there hold top-level keys, any other file holds the key it
is named after (``permalinks.toml`` is ``permalinks``; ``languages.yaml`` is
``languages``), and ``<key>.<lang>.<ext>`` a key of that language (``params.fr.toml``).
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.articles.site import Site, SiteConfig, SiteConfigError, site_config
from bot.config import Settings

log = logging.getLogger(__name__)

__all__ = ["load_site", "read_site_config", "site_of", "time_zone"]

_NAMES = ("hugo", "config")
_SUFFIXES = (".toml", ".yaml", ".yml", ".json")
# A configuration file larger than this is not a configuration file.
MAX_CONFIG_BYTES = 1_000_000


def _parse(path: Path, root: Path) -> Any:
    name = path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
        if len(data) > MAX_CONFIG_BYTES:
            raise SiteConfigError(f"{name}: larger than {MAX_CONFIG_BYTES:,} bytes")
        text = data.decode("utf-8-sig")
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text) or {}
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        if isinstance(exc, SiteConfigError):
            raise
        raise SiteConfigError(f"{name}: cannot read it: {exc}") from None


def _documents(root: Path) -> list[tuple[str, Mapping[str, Any]]]:
    documents: list[tuple[str, Mapping[str, Any]]] = []
    main = next(
        (root / f"{n}{s}" for n in _NAMES for s in _SUFFIXES if (root / f"{n}{s}").is_file()),
        None,
    )
    if main is not None:
        documents.append((main.name, _parse(main, root)))
    folder = root / "config" / "_default"
    if folder.is_dir():
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
        # The root files first, so that a key's own file wins over them.
        for path in sorted(files, key=lambda p: p.stem.split(".")[0] not in _NAMES):
            value = _parse(path, root)
            name = path.relative_to(root).as_posix()
            key, _, language = path.stem.partition(".")
            key = key.lower()
            if key in _NAMES:
                documents.append((name, value))
                continue
            if isinstance(value, Mapping) and list(value) == [key]:
                value = value[key]  # "permalinks.toml" may hold [permalinks] itself
            if language:
                documents.append((name, {"languages": {language: {key: value}}}))
            else:
                documents.append((name, {key: value}))
    return documents


def read_site_config(root: Path) -> SiteConfig:
    """The Hugo configuration of the site at ``root`` (Hugo's defaults when it has no
    configuration files). Raises :class:`SiteConfigError` naming the file and key of
    a value that cannot be read or used."""
    return site_config(_documents(root))


def time_zone(config: SiteConfig) -> str | None:
    """The site's ``timeZone``, checked; raises :class:`SiteConfigError` naming its file
    for a zone that does not exist."""
    if config.time_zone is None:
        return None
    try:
        ZoneInfo(config.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        origin = config.origins.get("timezone", "?")
        raise SiteConfigError(
            f"{origin}: timeZone: unknown time zone {config.time_zone!r}"
        ) from None
    return config.time_zone


def site_of(config: SiteConfig, root: Path, content_dir: Path, site_url: str | None) -> Site:
    """The site whose configuration (read at ``root``) is ``config``, as the files of
    ``content_dir`` are read in it; a language whose own content folder lies outside
    ``content_dir`` is logged, and its files are not read."""
    language_dirs: list[tuple[str, str]] = []
    watched = content_dir.resolve()
    for language in config.languages:
        if language.content_dir is None:
            continue
        folder = (root / language.content_dir).resolve()
        if folder == watched or watched in folder.parents:
            inside = "" if folder == watched else folder.relative_to(watched).as_posix()
            language_dirs.append((inside, language.code))
        else:
            log.warning(
                "site config: the content of language %s (%s) is outside %s and is not read",
                language.code,
                language.content_dir,
                watched,
            )
    return Site(
        config=config, site_url=site_url, name=config.title, language_dirs=tuple(language_dirs)
    )


def load_site(settings: Settings, root: Path, content_dir: Path) -> tuple[Site, Settings]:
    """The site the articles of ``content_dir`` are read in, and the settings with the
    site's ``baseURL`` and ``timeZone`` filled in where the environment sets none.

    ``root`` is the site root (holding the configuration); logs which file gave which
    setting, and which the environment overrode. Raises :class:`SiteConfigError`.
    """
    config = read_site_config(root)
    if not config.files:
        return Site(site_url=settings.site_url), settings
    updates: dict[str, Any] = {}
    for key, setting, env, value in (
        ("baseurl", "site_url", "NEWSBOT_SITE_URL", config.base_url),
        ("timezone", "timezone", "NEWSBOT_TIMEZONE", time_zone(config)),
    ):
        if value is None:
            continue
        origin = config.origins.get(key, "?")
        if getattr(settings, setting) is not None:
            log.info("site config: %s from %s ignored: %s wins", key, origin, env)
            continue
        updates[setting] = value
        log.info("site config: %s = %s (from %s)", key, value, origin)
    for key, shown in (
        ("title", config.title),
        ("contentdir", config.content_dir),
        ("defaultcontentlanguage", config.default_language),
        ("permalinks", f"{len(config.permalinks)} patterns"),
    ):
        if key in config.origins:
            log.info("site config: %s = %s (from %s)", key, shown, config.origins[key])
    for language in config.languages:
        log.info(
            "site config: language %s%s (from %s)",
            language.code,
            f", content in {language.content_dir}" if language.content_dir else "",
            config.origins.get(f"languages.{language.code}", "?"),
        )
    if updates:
        settings = settings.model_copy(update=updates)
    return site_of(config, root, content_dir, settings.site_url), settings
