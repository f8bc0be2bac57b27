"""Settings: defaults, parsing, one clear line per invalid setting, .env.example complete."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.config import (
    SAMPLE_CONTENT_DIR,
    Settings,
    SettingsError,
    check_content_dir,
    load_settings,
)

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
    ("env", "value", "line"),
    [
        ("NEWSBOT_SITE_URL", "example.org", "must be an absolute http or https URL"),
        (
            "NEWSBOT_FEEDS",
            "https://a.example/feed ftp://x.example/feed",
            "'ftp://x.example/feed' is not an absolute http or https URL",
        ),
        (
            "NEWSBOT_TIMEZONE",
            "Mars/Olympus",
            "unknown time zone (use an IANA name like Europe/Paris)",
        ),
        ("NEWSBOT_DEV_GUILD_ID", "abc", "must be a whole number"),
        ("NEWSBOT_DEV_GUILD_ID", "-5", "must be more than 0"),
        ("NEWSBOT_FEED_INTERVAL", "10", "must be at least 30 seconds"),
        ("NEWSBOT_FEED_INTERVAL", "often", "must be a number of seconds"),
        ("NEWSBOT_FEED_TIMEOUT", "0", "must be more than 0 seconds"),
        ("NEWSBOT_FEED_MAX_BYTES", "5 MB", "must be a whole number of bytes"),
        ("NEWSBOT_DISCORD_GATEWAY_URL", "https://x", "must be an absolute ws or wss URL"),
        ("NEWSBOT_DISCORD_API_URL", "discord.com", "must be an absolute http or https URL"),
        ("NEWSBOT_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("NEWSBOT_MAX_FILE_BYTES", "0", "must be more than 0 bytes"),
        ("NEWSBOT_SHARD_COUNT", "0", "must be more than 0"),
        ("NEWSBOT_SHARD_COUNT", "four", "must be a whole number"),
        ("NEWSBOT_SHARD_IDS", "0-3", "needs NEWSBOT_SHARD_COUNT (the total number of shards)"),
        *(
            (
                "NEWSBOT_DATABASE",
                url,
                "must be a SQLite file path or a postgresql://user:password@host/database URL",
            )
            for url in ("mysql://db/news", "postgresql://localhost", "postgresql://host/")
        ),
        ("NEWSBOT_POST_NAME", "x" * 81, "must be 1 to 80 characters"),
        ("NEWSBOT_POST_NAME", "Discord Daily", "Discord refuses names containing 'discord'"),
        ("NEWSBOT_POST_AVATAR_URL", "logo.png", "must be an absolute http or https URL"),
        ("NEWSBOT_WAIT_LIVE", "-1", "must be at least 0 seconds"),
        ("NEWSBOT_WAIT_LIVE", "soon", "must be a number of seconds"),
    ],
)
def test_invalid_value_is_one_line_with_setting_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, line: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == f"{env}={shlex.quote(value)}: {line}"


@pytest.mark.parametrize(
    "url", ["postgresql://newsbot:s3cret@db.example.org:5432/news", "postgres://db/news"]
)
def test_database_is_a_file_or_a_postgresql_url(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE", url)
    settings = load_settings()
    assert settings.database == url
    assert "s3cret" not in settings.database_shown
    assert settings.local_data == Path("newsbot")
    monkeypatch.setenv("NEWSBOT_DATABASE", "data/news.sqlite3")
    settings = load_settings()
    assert settings.database == settings.local_data == Path("data/news.sqlite3")


def test_each_invalid_setting_has_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEED_INTERVAL", "10")
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert sorted(str(info.value).splitlines()) == [
        "NEWSBOT_FEED_INTERVAL=10: must be at least 30 seconds",
        "NEWSBOT_LOG_LEVEL=loud: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ]


def test_a_long_value_is_cut_and_the_token_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "x" * 5000)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert len(str(info.value)) < 300
    monkeypatch.delenv("NEWSBOT_TIMEZONE")
    with pytest.raises(SettingsError) as info:
        load_settings(discord_token=12345)  # not a string: pydantic refuses it
    assert str(info.value).startswith("DISCORD_TOKEN=(hidden): ")
    assert "12345" not in str(info.value)


def test_lenient_settings_fall_back_to_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEED_INTERVAL", "10")
    monkeypatch.setenv("NEWSBOT_SITE_URL", "https://news.example.org")
    settings = load_settings(lenient={"feed_interval"})
    assert settings.feed_interval == 300.0
    assert settings.site_url == "https://news.example.org"
    monkeypatch.setenv("NEWSBOT_SITE_URL", "news.example.org")
    with pytest.raises(SettingsError) as info:  # a bad one outside the lenient set
        load_settings(lenient={"feed_interval"})
    assert set(info.value.problems) == {"feed_interval", "site_url"}


def test_content_dir_must_be_a_folder(tmp_path: Path) -> None:
    check_content_dir(load_settings(content_dir=str(tmp_path)))
    check_content_dir(load_settings())  # the bundled samples
    with pytest.raises(SettingsError) as info:
        check_content_dir(load_settings(content_dir=str(tmp_path / "missing")))
    assert str(info.value) == f"NEWSBOT_CONTENT_DIR={tmp_path / 'missing'}: no such folder"
    (tmp_path / "file.md").write_text("x")
    with pytest.raises(SettingsError) as info:
        check_content_dir(load_settings(content_dir=str(tmp_path / "file.md")))
    assert str(info.value).endswith(": not a folder")


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


@pytest.mark.parametrize(
    ("ids", "fragment"),
    [
        ("0-4", "shard 4 does not exist with 4 shards"),
        ("3-1", "the range 3-1 runs backwards"),
        ("0,,2", "'' is not a shard number or range"),
        ("a-b", "'a-b' is not a shard number or range"),
        ("-1", "'-1' is not a shard number or range"),
        ("0-999999", "implausibly large"),
    ],
)
def test_invalid_shard_ids_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, ids: str, fragment: str
) -> None:
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", "4")
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", ids)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(f"NEWSBOT_SHARD_IDS={shlex.quote(ids)}: ")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_shard_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_settings().shard_count, load_settings().shard_ids) == (None, None)
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", "16")
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", " 8, 0-3 ,2 ")
    settings = load_settings()
    assert settings.shard_count == 16
    assert settings.shard_ids == (0, 1, 2, 3, 8)


def test_a_bad_shard_count_is_not_blamed_on_the_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", "-2")
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", "0-1")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == "NEWSBOT_SHARD_COUNT=-2: must be more than 0"


def test_post_name_and_avatar(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_settings().post_name, load_settings().post_avatar_url) == (None, None)
    monkeypatch.setenv("NEWSBOT_POST_NAME", "  The   Daily Planet ")
    monkeypatch.setenv("NEWSBOT_POST_AVATAR_URL", "https://news.example.org/logo.png")
    settings = load_settings()
    assert settings.post_name == "The Daily Planet"
    assert settings.post_avatar_url == "https://news.example.org/logo.png"
    monkeypatch.setenv("NEWSBOT_POST_NAME", " ")
    assert load_settings().post_name is None
