"""Settings from the environment and ``.env``: one :class:`Settings` object, built in main."""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.articles.text import Headings
from bot.redaction import redact
from bot.shards import check_shard_ids, parse_shard_ids
from bot.web import parse_addr

DEFAULT_API_URL = "https://discord.com/api/v10"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_TAKEAWAYS_HEADINGS = ("Key Takeaways",)
SAMPLE_CONTENT_DIR = Path(__file__).resolve().parent.parent / "examples" / "content"


# What git allows in a branch name, less what a setting has no use for (see
# git-check-ref-format): no leading "-" or "/", no spaces, control characters or ~^:?*[\\.
_BRANCH = re.compile(r"[^\s\x00-\x1f\x7f~^:?*\[\\/.-][^\s\x00-\x1f\x7f~^:?*\[\\]*")


def is_postgres_url(database: object) -> bool:
    """Whether ``database`` (a ``NEWSBOT_DATABASE`` value) names a PostgreSQL database."""
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


class SettingsError(Exception):
    """Invalid settings: one line per offending setting, each naming it (as its
    environment variable), its value and what is allowed."""

    def __init__(self, problems: dict[str, str]) -> None:
        """``problems``: the line of each bad setting, by its field name."""
        super().__init__("\n".join(problems.values()))
        self.problems = problems


def _http_url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"must be an absolute {' or '.join(schemes)} URL")
    return value


#: Discord refuses a webhook (or a webhook post's) name holding these, in any case.
FORBIDDEN_IN_POST_NAMES = ("clyde", "discord")
MAX_POST_NAME = 80


def check_post_name(value: str) -> str:
    """A name webhook posts can carry: 1-80 characters on one line, without the words
    Discord keeps for itself."""
    name = " ".join(value.split())
    if not 1 <= len(name) <= MAX_POST_NAME:
        raise ValueError(f"must be 1 to {MAX_POST_NAME} characters")
    found = [word for word in FORBIDDEN_IN_POST_NAMES if word in name.casefold()]
    if found:
        raise ValueError(f"Discord refuses names containing {found[0]!r}")
    return name


class Settings(BaseSettings):
    """Every setting of the bot. Environment variables win over ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN")
    )
    content_dir: Path | None = None
    feeds: Annotated[tuple[str, ...], NoDecode] = ()
    site_url: str | None = None
    # A SQLite file, or a postgresql:// URL (kept as text).
    database: Path | str = Path("newsbot.sqlite3")
    discord_api_url: str = DEFAULT_API_URL
    discord_gateway_url: str = DEFAULT_GATEWAY_URL
    dev_guild_id: int | None = Field(default=None, gt=0)
    # None: the site's Hugo timeZone, else UTC.
    timezone: str | None = None
    # A number's unit (in json_schema_extra) is named in its error: "at least 30 seconds".
    max_file_bytes: int = Field(default=2 * 1024 * 1024, gt=0, json_schema_extra={"unit": "bytes"})
    feed_interval: float = Field(default=300.0, ge=30.0, json_schema_extra={"unit": "seconds"})
    feed_timeout: float = Field(default=20.0, gt=0, json_schema_extra={"unit": "seconds"})
    feed_max_bytes: int = Field(default=5_000_000, gt=0, json_schema_extra={"unit": "bytes"})
    log_level: str = "INFO"
    log_format: str = "text"
    git_url: str | None = None
    git_branch: str | None = None
    git_interval: float = Field(default=60.0, ge=1.0, json_schema_extra={"unit": "seconds"})
    http_addr: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    # None: Discord's recommendation (GET /gateway/bot). Declared before shard_ids,
    # whose check reads it.
    shard_count: int | None = Field(default=None, gt=0)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    # identity:webhook posts: the name and avatar shown. None: the bot's own.
    post_name: str | None = None
    post_avatar_url: str | None = None
    # Issue 12: announce a new article once its page answers (0 = at once), and the
    # titles that open an article's takeaways.
    wait_live: float = Field(default=0.0, ge=0.0, json_schema_extra={"unit": "seconds"})
    takeaways_headings: Annotated[tuple[str, ...], NoDecode] = DEFAULT_TAKEAWAYS_HEADINGS

    @field_validator("discord_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "content_dir",
        "site_url",
        "dev_guild_id",
        "timezone",
        "http_addr",
        "git_url",
        "git_branch",
        "shard_count",
        "post_name",
        "post_avatar_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database", mode="before")
    @classmethod
    def _database_file_or_url(cls, value: Any) -> Any:
        if isinstance(value, str) and "://" in value:
            if not is_postgres_url(value) or not urlsplit(value).path.strip("/"):
                raise ValueError(
                    "must be a SQLite file path or a postgresql://user:password@host/database URL"
                )
            return value
        return Path(value) if isinstance(value, str) else value

    @field_validator("feeds", mode="before")
    @classmethod
    def _split_feeds(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if isinstance(value, list | tuple):
            bad = [str(url) for url in value if not _is_http_url(str(url))]
            if bad:
                raise ValueError(f"{bad[0]!r} is not an absolute http or https URL")
            return tuple(str(url) for url in value)
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_shard_ids(value) if value.strip() else None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _check_shard_ids(
        cls, value: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        # A shard count that failed its own check is reported under its own name.
        if value is not None and "shard_count" in info.data:
            check_shard_ids(value, info.data["shard_count"])
        return value

    @field_validator("takeaways_headings", mode="before")
    @classmethod
    def _split_headings(cls, value: Any) -> Any:
        if isinstance(value, str):
            # Empty: the default.
            value = [
                part.strip() for part in value.split(",") if part.strip()
            ] or DEFAULT_TAKEAWAYS_HEADINGS
        if isinstance(value, list | tuple):
            Headings.of(str(name) for name in value)  # at least one usable heading
            return tuple(str(name) for name in value)
        return value

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value.strip()).rstrip("/")

    @field_validator("post_name")
    @classmethod
    def _check_post_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_post_name(value)

    @field_validator("post_avatar_url")
    @classmethod
    def _check_post_avatar_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value.strip())

    @field_validator("discord_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return _http_url(value.strip()).rstrip("/")

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        return _http_url(value.strip(), ("ws", "wss"))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone (use an IANA name like Europe/Paris)") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("git_url")
    @classmethod
    def _check_git_url(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip()
            # git would read a leading "-" as one of its options (--upload-pack=...).
            if value.startswith("-") or any(c.isspace() or ord(c) < 32 for c in value):
                raise ValueError(
                    "must be a URL or path git clone accepts (no leading '-', no spaces)"
                )
        return value

    @field_validator("git_branch")
    @classmethod
    def _check_git_branch(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().removeprefix("refs/heads/")
            if (
                not _BRANCH.fullmatch(value)
                or ".." in value
                or "@{" in value
                or value.endswith((".lock", "/"))
            ):
                raise ValueError(f"{value!r} is not a branch name")
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        shape = value.strip().lower()
        if shape not in {"text", "json"}:
            raise ValueError("must be text (readable lines) or json (one JSON object a line)")
        return shape

    @field_validator("http_addr")
    @classmethod
    def _check_http_addr(cls, value: str | None) -> str | None:
        if value is not None:
            parse_addr(value)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _listener_needs_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None and info.data.get("http_addr") is not None:
            raise ValueError("must be set when NEWSBOT_HTTP_ADDR is set (it signs the webhooks)")
        return value

    @property
    def database_shown(self) -> str:
        """The database as logs and errors show it: a URL without its password."""
        return redact(str(self.database))

    @property
    def local_data(self) -> Path:
        """What the bot's local files (its git clone) are named after: the SQLite file,
        or on PostgreSQL ``newsbot`` in the working directory."""
        return self.database if isinstance(self.database, Path) else Path("newsbot")

    @property
    def tz(self) -> tzinfo:
        """The zone naive front matter dates are read in."""
        return ZoneInfo(self.timezone or "UTC")

    @property
    def headings(self) -> Headings:
        """The takeaways' titles, as the readers match them."""
        return Headings.of(self.takeaways_headings)

    @property
    def uses_samples(self) -> bool:
        """True when no source is configured: the bundled sample articles are watched."""
        return self.content_dir is None and not self.feeds and self.git_url is None

    @property
    def effective_content_dir(self) -> Path | None:
        """The content folder to watch: the configured one, else the bundled samples."""
        return SAMPLE_CONTENT_DIR if self.uses_samples else self.content_dir


_FIELD_TO_ENV = {"discord_token": "DISCORD_TOKEN"}
# Values are shown in errors (never a secret's), and never more than this much of one.
_MAX_SHOWN = 200


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return _FIELD_TO_ENV.get(field, f"NEWSBOT_{field.upper()}")


def _is_http_url(value: str) -> bool:
    try:
        _http_url(value)
    except ValueError:
        return False
    return True


def _field_of(name: str) -> str:
    """The field pydantic means by ``name``: a field name, or an alias of one."""
    if name in Settings.model_fields:
        return name
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and name in alias.choices:
            return field
    raise ValueError(f"no setting {name!r}")


def _allowed(field: str, error: Any) -> str:
    """What ``field`` allows, in words, for one pydantic error."""
    extra = Settings.model_fields[field].json_schema_extra
    unit = f" {extra['unit']}" if isinstance(extra, dict) and "unit" in extra else ""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']:g}{unit}"
    if kind == "greater_than":
        return f"must be more than {ctx['gt']:g}{unit}"
    if kind in ("int_parsing", "int_from_float"):
        return f"must be a whole number{unit and ' of' + unit}"
    if kind == "float_parsing":
        return f"must be a number{unit and ' of' + unit}"
    return str(error["msg"]).removeprefix("Value error, ")


def _shown(field: str, value: Any) -> str:
    annotation = Settings.model_fields[field].annotation
    if annotation is SecretStr or SecretStr in get_args(annotation):
        return "(hidden)"
    text = shlex.quote(redact(str(value)))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def load_settings(*, lenient: Collection[str] = (), **overrides: Any) -> Settings:
    """Build the settings; each invalid one becomes one line of :class:`SettingsError`:
    ``NEWSBOT_FEED_INTERVAL=10: must be at least 30 seconds``.

    Invalid settings outside ``lenient`` (field names) raise; when only lenient ones
    are invalid, they take their defaults (a command that does not use them runs).
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            field = _field_of(str(error["loc"][0]) if error["loc"] else "")
            if field in problems:
                continue
            given = error["input"]
            setting = (
                env_name(field) if given is None else f"{env_name(field)}={_shown(field, given)}"
            )
            problems[field] = f"{setting}: {_allowed(field, error)}"
    if problems.keys() <= set(lenient):
        defaults = {field: Settings.model_fields[field].default for field in problems}
        return Settings(**{**overrides, **defaults})
    raise SettingsError(problems)


def check_content_dir(settings: Settings) -> None:
    """Raise :class:`SettingsError` when ``NEWSBOT_CONTENT_DIR`` names no folder: said
    once at start, rather than a watch retrying forever. (A folder that goes away while
    the bot runs, say an unmounted share, is waited for.)"""
    folder = settings.content_dir
    if folder is None or folder.is_dir():
        return
    reason = "not a folder" if folder.exists() else "no such folder"
    raise SettingsError(
        {"content_dir": f"{env_name('content_dir')}={_shown('content_dir', folder)}: {reason}"}
    )
