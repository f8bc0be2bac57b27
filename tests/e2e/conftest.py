"""Shared set-up for end-to-end tests: the real NewsBot against tests/fakediscord."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.client import NewsBot
from bot.config import Settings, load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "content"


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A real content folder holding a copy of the bundled sample articles."""
    folder = tmp_path / "content"
    shutil.copytree(SAMPLES, folder)
    return folder


@pytest.fixture
def bot_settings(
    tmp_path: Path, content_dir: Path, discord_client_env: object, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings as a user would give them, pointing at the fake Discord."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "newsbot.sqlite3"))
    monkeypatch.setenv("NEWSBOT_SITE_URL", "https://news.example.org")
    monkeypatch.delenv("NEWSBOT_FEEDS", raising=False)
    monkeypatch.delenv("NEWSBOT_DEV_GUILD_ID", raising=False)
    return load_settings()


def make_bot(settings: Settings) -> NewsBot:
    """The bot exactly as ``newsbot run`` builds it, with a short guild-ready wait."""
    return NewsBot(settings, guild_ready_timeout=0.05)
