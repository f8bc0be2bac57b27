"""Settings from the environment and ``.env``: one :class:`Settings` object, built in main."""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.articles.text import Headings

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_TAKEAWAYS_HEADINGS = ("Key Takeaways",)
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
    # None: the site's Hugo timeZone, else UTC.
    timezone: str | None = None
    max_file_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    feed_interval: float = Field(default=300.0, ge=30.0)
    feed_timeout: float = Field(default=20.0, gt=0)
    feed_max_bytes: int = Field(default=5_000_000, gt=0)
    log_level: str = "INFO"
    # Issue 12: announce a new article once its page answers (seconds; 0 = at once),
    # and the titles that open an article's takeaways.
    wait_live: float = Field(default=0.0, ge=0.0)
    takeaways_headings: Annotated[tuple[str, ...], NoDecode] = DEFAULT_TAKEAWAYS_HEADINGS

    @field_validator("discord_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("content_dir", "site_url", "dev_guild_id", "timezone", mode="before")
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
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
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
