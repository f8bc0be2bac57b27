"""Settings: defaults, parsing, one clear line per invalid setting, .env.example complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import SAMPLE_CONTENT_DIR, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent

# No stray environment or .env of the developer leaks into these tests.
pytestmark = pytest.mark.usefixtures("no_bot_env")


def test_defaults_use_the_bundled_samples() -> None:
    settings = load_settings()
    assert settings.discord_token is None
    assert settings.uses_samples
    assert settings.effective_content_dir == SAMPLE_CONTENT_DIR
    assert SAMPLE_CONTENT_DIR.is_dir()
    assert settings.database == Path("newsbot.sqlite3")
    assert settings.discord_api_url == "https://discord.com/api/v10"


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def")
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", str(tmp_path))
    monkeypatch.setenv(
        "NEWSBOT_FEEDS", "https://a.example/feed.xml, https://b.example/rss\nhttp://c.example/atom"
    )
    monkeypatch.setenv("NEWSBOT_SITE_URL", "https://news.example.org/")
    monkeypatch.setenv("NEWSBOT_DEV_GUILD_ID", "123456789012345678")
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "America/New_York")
    settings = load_settings()
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "abc.def"
    assert "abc.def" not in repr(settings)
    assert settings.feeds == (
        "https://a.example/feed.xml",
        "https://b.example/rss",
        "http://c.example/atom",
    )
    assert settings.site_url == "https://news.example.org"
    assert settings.dev_guild_id == 123456789012345678
    assert str(settings.tz) == "America/New_York"
    assert not settings.uses_samples
    assert settings.effective_content_dir == tmp_path


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NEWSBOT_LOG_LEVEL=debug\nNEWSBOT_FEEDS=\n", encoding="utf-8")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.feeds == ()


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("NEWSBOT_SITE_URL", "example.org", "NEWSBOT_SITE_URL: the site URL must be an absolute"),
        ("NEWSBOT_FEEDS", "ftp://x.example/feed", "NEWSBOT_FEEDS: each feed must be"),
        ("NEWSBOT_TIMEZONE", "Mars/Olympus", "NEWSBOT_TIMEZONE: unknown time zone"),
        ("NEWSBOT_DEV_GUILD_ID", "abc", "NEWSBOT_DEV_GUILD_ID:"),
        ("NEWSBOT_FEED_INTERVAL", "5", "NEWSBOT_FEED_INTERVAL:"),
        ("NEWSBOT_DISCORD_GATEWAY_URL", "https://x", "NEWSBOT_DISCORD_GATEWAY_URL:"),
        ("NEWSBOT_LOG_LEVEL", "loud", "NEWSBOT_LOG_LEVEL:"),
        ("NEWSBOT_MAX_FILE_BYTES", "0", "NEWSBOT_MAX_FILE_BYTES:"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert fragment in str(info.value)


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", text, re.M))
    expected = {"DISCORD_TOKEN"} | {
        f"NEWSBOT_{name.upper()}" for name in Settings.model_fields if name != "discord_token"
    }
    assert documented == expected
    # Each setting has a comment right above it (or above its group).
    for line_no, line in enumerate(text.splitlines()):
        if re.match(r"^[A-Z_]+=", line):
            above = text.splitlines()[:line_no]
            assert any(previous.startswith("#") for previous in above[-3:]), line


def test_env_example_loads_cleanly(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"))
    settings = load_settings()
    assert settings.uses_samples
