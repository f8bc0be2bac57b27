"""Settings from the environment and ``.env``: one :class:`Settings` object, built in main."""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any
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

from bot.web import parse_addr

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
SAMPLE_CONTENT_DIR = Path(__file__).resolve().parent.parent / "examples" / "content"


class SettingsError(Exception):
    """Invalid settings; the message names each offending setting."""


def _http_url(value: str, name: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"{name} must be an absolute {'/'.join(schemes)} URL, got {value!r}")
    return value


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
    database: Path = Path("newsbot.sqlite3")
    discord_api_url: str = DEFAULT_API_URL
    discord_gateway_url: str = DEFAULT_GATEWAY_URL
    dev_guild_id: int | None = Field(default=None, gt=0)
    timezone: str = "UTC"
    max_file_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    feed_interval: float = Field(default=300.0, ge=30.0)
    feed_timeout: float = Field(default=20.0, gt=0)
    feed_max_bytes: int = Field(default=5_000_000, gt=0)
    log_level: str = "INFO"
    log_format: str = "text"
    http_addr: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator("discord_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("content_dir", "site_url", "dev_guild_id", "http_addr", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("feeds", mode="before")
    @classmethod
    def _split_feeds(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if isinstance(value, list | tuple):
            return tuple(_http_url(str(url), "each feed") for url in value)
        return value

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value.strip(), "the site URL").rstrip("/")

    @field_validator("discord_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return _http_url(value.strip(), "the API URL").rstrip("/")

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        return _http_url(value.strip(), "the gateway URL", ("ws", "wss"))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Paris)"
            ) from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

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
    def tz(self) -> tzinfo:
        """The zone naive front matter dates are read in."""
        return ZoneInfo(self.timezone)

    @property
    def uses_samples(self) -> bool:
        """True when no source is configured: the bundled sample articles are watched."""
        return self.content_dir is None and not self.feeds

    @property
    def effective_content_dir(self) -> Path | None:
        """The content folder to watch: the configured one, else the bundled samples."""
        return SAMPLE_CONTENT_DIR if self.uses_samples else self.content_dir


_FIELD_TO_ENV = {"discord_token": "DISCORD_TOKEN"}


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            env = _FIELD_TO_ENV.get(field, f"NEWSBOT_{field.upper()}")
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{env}: {message}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
