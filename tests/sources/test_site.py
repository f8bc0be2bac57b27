"""Reading a Hugo site's configuration files, and the bot running with them."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.articles.site import SiteConfigError
from bot.config import Settings
from bot.sources.site import load_site, read_site_config
from tests.sources.dryrun import DryRun, clean_env
from tests.waiting import wait_until_sync


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_hugo_files_come_before_config_files_and_toml_before_yaml(tmp_path: Path) -> None:
    write(tmp_path / "config.toml", 'title = "old name"\n')
    write(tmp_path / "hugo.yaml", "title: from yaml\n")
    write(tmp_path / "hugo.json", '{"title": "from json"}')
    config = read_site_config(tmp_path)
    assert (config.title, config.files) == ("from yaml", ("hugo.yaml",))
    write(tmp_path / "hugo.toml", 'title = "from toml"\n')
    assert read_site_config(tmp_path).title == "from toml"


def test_the_default_config_folder_merges_on_top_key_by_key(tmp_path: Path) -> None:
    write(tmp_path / "hugo.toml", 'baseURL = "https://root.example"\ntitle = "Root"\n')
    folder = tmp_path / "config" / "_default"
    write(folder / "hugo.toml", 'title = "Folder"\ntimeZone = "Europe/Oslo"\n')
    write(folder / "permalinks.yaml", "page:\n  posts: /:year/:slug/\n")
    write(folder / "nested" / "languages.toml", '[fr]\ncontentDir = "content/fr"\n[en]\n')
    write(folder / "permalinks.fr.toml", '[permalinks]\n[permalinks.page]\nposts = "/fr-:slug/"\n')
    write(folder / "README.md", "not configuration")
    config = read_site_config(tmp_path)
    assert config.base_url == "https://root.example"
    assert (config.title, config.time_zone) == ("Folder", "Europe/Oslo")
    assert [(r.kind, r.section, r.pattern) for r in config.permalinks] == [
        ("page", "posts", "/:year/:slug/")
    ]
    fr = config.language("fr")
    assert fr is not None and fr.content_dir == "content/fr"
    assert fr.permalinks is not None and fr.permalinks[0].pattern == "/fr-:slug/"
    assert config.origins["title"] == "config/_default/hugo.toml"
    assert config.origins["permalinks"] == "config/_default/permalinks.yaml"


def test_a_site_without_configuration_has_hugos_defaults(tmp_path: Path) -> None:
    config = read_site_config(tmp_path)
    assert (config.files, config.content_dir, config.default_language) == ((), "content", "en")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("hugo.toml", "title = = 1", "hugo.toml: cannot read it"),
        ("hugo.yaml", "title: [unclosed", "hugo.yaml: cannot read it"),
        ("hugo.json", "{", "hugo.json: cannot read it"),
        ("hugo.yaml", "- a list", "hugo.yaml: expected a map"),
        ("config/_default/hugo.toml", 'baseURL = "ftp://x"', "baseURL: expected an absolute"),
    ],
)
def test_unreadable_configuration_names_its_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    write(tmp_path / name, text)
    with pytest.raises(SiteConfigError, match=re.escape(message)):
        read_site_config(tmp_path)


def test_not_utf8_and_too_large_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "hugo.toml").write_bytes(b'title = "\xff"\n')
    with pytest.raises(SiteConfigError, match=re.escape("hugo.toml: cannot read it")):
        read_site_config(tmp_path)
    (tmp_path / "hugo.toml").write_bytes(b"#" * 1_000_001)
    with pytest.raises(SiteConfigError, match="larger than"):
        read_site_config(tmp_path)


def test_the_environment_wins_and_the_log_says_which_file_gave_what(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(
        tmp_path / "hugo.toml",
        'baseURL = "https://config.example/"\ntitle = "The Daily"\ntimeZone = "Asia/Tokyo"\n'
        '[languages.de]\ncontentDir = "content/de"\n[languages.fr]\ncontentDir = "elsewhere/fr"\n',
    )
    content = tmp_path / "content"
    (content / "de").mkdir(parents=True)
    caplog.set_level(logging.INFO, logger="bot.sources.site")
    given = settings(content_dir=content, site_url="https://env.example")
    site, effective = load_site(given, tmp_path, content)
    assert effective.site_url == "https://env.example"  # NEWSBOT_SITE_URL wins
    assert effective.timezone == "Asia/Tokyo"  # not set in the environment: the site's
    assert (site.site_url, site.name, site.language_dirs) == (
        "https://env.example",
        "The Daily",
        (("de", "de"),),
    )
    log = caplog.text
    assert "baseurl from hugo.toml ignored: NEWSBOT_SITE_URL wins" in log
    assert "timezone = Asia/Tokyo (from hugo.toml)" in log
    assert "title = The Daily (from hugo.toml)" in log
    assert "language fr" in log and "is outside" in log

    caplog.clear()
    _, effective = load_site(settings(content_dir=content, timezone="UTC"), tmp_path, content)
    assert (effective.site_url, effective.timezone) == ("https://config.example", "UTC")
    assert "timezone from hugo.toml ignored: NEWSBOT_TIMEZONE wins" in caplog.text


def test_an_unknown_time_zone_in_the_config_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "hugo.toml", 'timeZone = "Mars/Olympus"\n')
    with pytest.raises(SiteConfigError, match=re.escape("hugo.toml: timeZone: unknown time zone")):
        load_site(settings(), tmp_path, tmp_path / "content")


SITE_CONFIG = """\
baseURL = "https://news.example.org/"
title = "The Example Times"
timeZone = "Europe/Paris"
defaultContentLanguage = "en"
[languages.en]
[languages.fr]
title = "Le Temps Exemplaire"
[permalinks.page]
posts = "/:year/:month/:day/:slug/"
"""


def test_the_running_bot_posts_with_the_sites_urls_time_zone_and_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "hugo.toml", SITE_CONFIG)
    content = site / "content"
    write(content / "posts" / "old.md", "---\ntitle: Old\ndate: 2026-01-01\n---\n\nOld.\n")
    env = clean_env(NEWSBOT_CONTENT_DIR=str(content), NEWSBOT_DATABASE=str(tmp_path / "db"))
    run = DryRun(tmp_path, env)
    try:
        run.wait_for_log(f"content {content}: 1 file ")
        # Naive: read in Europe/Paris (the site's timeZone), 23:30 there = 21:30 UTC.
        body = "---\ntitle: Late News\ndate: 2026-07-14T23:30:00\n---\n\n## Key Takeaways\n- One.\n"
        write(content / "posts" / "late.md", body)
        write(content / "posts" / "late.fr.md", body.replace("Late News", "Nouvelles"))
        want = {"/2026/07/14/late-news/", "/fr/2026/07/14/nouvelles/"}
        wait_until_sync(lambda: want <= set(run.posts()), "both posts", timeout=15)
        assert run.stop() == 0
    finally:
        run.close()
    out = run.stdout()
    assert "https://news.example.org/2026/07/14/late-news/" in out
    assert "https://news.example.org/fr/2026/07/14/nouvelles/" in out
    assert "The Example Times • 2026-07-14T21:30:00+00:00" in out
    assert "The Example Times" in out and "Le Temps Exemplaire" in out
    err = run.stderr()
    assert "site config: baseurl = https://news.example.org (from hugo.toml)" in err
    assert "site config: permalinks = 1 patterns (from hugo.toml)" in err


def test_a_bad_site_config_stops_the_start_with_one_line(tmp_path: Path) -> None:
    write(tmp_path / "site" / "hugo.toml", '[permalinks]\nposts = "/:nonsense/"\n')
    (tmp_path / "site" / "content").mkdir()
    env = clean_env(
        NEWSBOT_CONTENT_DIR=str(tmp_path / "site" / "content"),
        NEWSBOT_DATABASE=str(tmp_path / "db"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--dry-run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "newsbot: site configuration: hugo.toml: permalinks: unknown permalink token :nonsense"
    )
    assert "Traceback" not in done.stderr
