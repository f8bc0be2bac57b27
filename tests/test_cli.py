"""``newsbot preview``: output formats, exit codes, bad input next to good input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.discord_schema import validate_message_create
from tests.samples import EXAMPLES

FIXTURE = Path(__file__).parent / "articles" / "fixtures" / "example-article.md"
ROOT = Path(__file__).resolve().parent.parent

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Desk</title><link>https://news.example.org/</link>
<item><title>Bridge reopens</title><link>https://news.example.org/bridge</link>
<guid>bridge-1</guid><pubDate>Tue, 03 Feb 2026 10:00:00 +0000</pubDate>
<category>Transport</category>
<description><![CDATA[<h2>Key Takeaways</h2>
<ul><li>The <strong>bridge</strong> is open.</li></ul>]]></description>
</item>
<item><title>No link here</title><guid isPermaLink="false">x-2</guid></item>
</channel></rss>"""

# No stray environment or .env of the developer leaks into these tests.
pytestmark = pytest.mark.usefixtures("no_bot_env")


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_example_article_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", "--json", "--site-url", "https://example.org", str(FIXTURE)])
    out = capsys.readouterr().out
    assert code == 0
    [record] = lines(out)
    assert record["source"] == str(FIXTURE)
    article = record["article"]
    assert isinstance(article, dict)
    for key in ("id", "title", "url", "status", "published_at", "tags", "categories", "takeaways"):
        assert key in article
    assert article["status"] == "published"
    takeaways = article["takeaways"]
    assert isinstance(takeaways, list) and len(takeaways) == 5
    assert "**X**" in takeaways[0] and "**Elon Musk**" in takeaways[2]
    message = record["message"]
    assert isinstance(message, dict)
    validate_message_create(message)
    embed = message["embeds"][0]
    assert embed["url"] == "https://example.org/example-article/"
    assert embed["image"]["url"] == "https://example.org/images/default-news.jpg"
    assert "Keyword" not in json.dumps(record)


def test_human_output_and_rejected_file_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "content" / "posts"
    folder.mkdir(parents=True)
    (folder / "good.md").write_bytes(FIXTURE.read_bytes())
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (folder / "binary.md").write_bytes(b"\x00\x01\x02")
    (folder / "notes.txt").write_text("ignored: not a Markdown file")
    code = main(["preview", str(folder)])
    captured = capsys.readouterr()
    assert code == 1
    assert "France Raids X Offices" in captured.out
    assert "broken.md: error: front matter" in captured.err
    assert "binary.md: error: binary file" in captured.err
    assert "notes.txt" not in captured.out + captured.err


def test_json_errors_are_records_and_others_still_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS)
    missing = tmp_path / "nope.md"
    code = main(["preview", "--json", str(FIXTURE), str(feed), str(missing)])
    records = lines(capsys.readouterr().out)
    assert code == 1
    titles = [r["article"]["title"] for r in records if "article" in r]  # type: ignore[index]
    assert titles == [
        "France Raids X Offices Over Child Abuse Images and Deepfakes",
        "Bridge reopens",
    ]
    errors = {r["source"]: r["error"] for r in records if "error" in r}
    assert errors[str(missing)] == "no such file or folder"
    assert "no link" in str(errors[str(feed)])
    bridge = next(
        r for r in records if "article" in r and r["article"]["title"] == "Bridge reopens"
    )  # type: ignore[index]
    assert bridge["article"]["takeaways"] == ["The **bridge** is open."]  # type: ignore[index]
    assert bridge["article"]["tags"] == ["Transport"]  # type: ignore[index]


def test_not_a_feed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.xml"
    page.write_text("<html><body>hello</body></html>")
    assert main(["preview", "--json", str(page)]) == 1
    [record] = lines(capsys.readouterr().out)
    assert record["source"] == str(page) and "error" in record


def test_oversized_file_is_rejected_without_loading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_MAX_FILE_BYTES", "1000")
    big = tmp_path / "big.md"
    big.write_text("---\ntitle: Big\n---\n" + "word " * 10_000)
    assert main(["preview", "--json", str(big)]) == 1
    [record] = lines(capsys.readouterr().out)
    assert "too large" in str(record["error"])


def test_the_configured_takeaways_headings_apply_to_files_and_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_TAKEAWAYS_HEADINGS", "Key Points, At a glance")
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n\n## At a Glance\n\n- seen\n")
    (tmp_path / "feed.xml").write_bytes(RSS.replace(b"Key Takeaways", b"Key Points"))
    assert main(["preview", "--json", str(tmp_path / "a.md"), str(tmp_path / "feed.xml")]) == 1
    records = lines(capsys.readouterr().out)
    assert records[0]["article"]["takeaways"] == ["seen"]  # type: ignore[index]
    assert records[1]["article"]["takeaways"] == ["The **bridge** is open."]  # type: ignore[index]


def test_preview_reads_the_sites_own_config_like_the_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    (site / "content" / "posts").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "https://news.example.org/"\ntitle = "The Times"\n'
        'timeZone = "Europe/Paris"\n[permalinks.page]\nposts = "/:year/:slug/"\n'
    )
    post = site / "content" / "posts" / "late.md"
    post.write_text("---\ntitle: Late News\ndate: 2026-07-14T23:30:00\n---\n\nBody.\n")
    assert main(["preview", "--json", str(post)]) == 0
    [record] = lines(capsys.readouterr().out)
    article = record["article"]
    assert article["url"] == "https://news.example.org/2026/late-news/"  # type: ignore[index]
    assert article["published_at"] == "2026-07-14T21:30:00+00:00"  # type: ignore[index]
    assert record["message"]["embeds"][0]["footer"]["text"] == "The Times"  # type: ignore[index]
    # --site-url still wins over the config's baseURL.
    assert main(["preview", "--json", "--site-url", "https://x.org", str(post)]) == 0
    assert lines(capsys.readouterr().out)[0]["article"]["url"].startswith("https://x.org/")  # type: ignore[index]

    (site / "hugo.toml").write_text('timeZone = "Nowhere/Atlantis"\n')
    assert main(["preview", "--json", str(post)]) == 1
    [record] = lines(capsys.readouterr().out)
    assert record["error"] == (
        "site configuration: hugo.toml: timeZone: unknown time zone 'Nowhere/Atlantis'"
    )


def test_takeaways_headings_need_a_word(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_TAKEAWAYS_HEADINGS", " , ;")
    assert main(["preview", "x.md"]) == 2
    assert capsys.readouterr().err == (
        "newsbot: NEWSBOT_TAKEAWAYS_HEADINGS=' , ;': "
        "at least one heading with a letter or digit is needed\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["preview"], ["preview", "--site-url", "example.org", "x.md"], ["frobnicate"], []],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_invalid_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "Nowhere/Atlantis")
    assert main(["preview", str(FIXTURE)]) == 2
    assert "NEWSBOT_TIMEZONE" in capsys.readouterr().err


def test_console_script_and_module_agree(tmp_path: Path) -> None:
    """`python -m bot` is the same program as the `newsbot` console script."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", "--json", str(FIXTURE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["article"]["title"].startswith("France Raids")
    script = Path(sys.executable).parent / "newsbot"
    if script.exists():
        other = subprocess.run(
            [str(script), "preview", "--json", str(FIXTURE)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
            check=False,
        )
        assert other.stdout == result.stdout


def test_run_help_states_the_token_rule_and_every_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "or no DISCORD_TOKEN" not in text  # it never printed posts without a token
    assert "Needs DISCORD_TOKEN" in text and "with --dry-run it needs no token" in text
    assert "0 stopped on request: Ctrl-C (SIGINT) or SIGTERM, at any moment" in text
    assert "2 an invalid setting, no DISCORD_TOKEN without --dry-run" in text


@pytest.mark.parametrize(("argv", "code"), [(["run", "--dry-run"], 0), (["preview", "x.md"], 130)])
def test_ctrl_c_exit_status_per_command(
    argv: list[str], code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The interrupt arrives inside the command (the real run is tested end to end in
    # tests/e2e/test_run_cli.py); only the status it maps to is checked here.
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    import bot.preview
    import bot.service

    monkeypatch.setattr(bot.service, "run_dry", interrupted)
    monkeypatch.setattr(bot.preview, "run_preview", interrupted)
    assert main(argv) == code
    assert capsys.readouterr().err == "newsbot: interrupted; stopped\n"


def test_a_bad_setting_preview_does_not_use_does_not_stop_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_FEED_INTERVAL", "10")
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", "/no/such/folder")
    assert main(["preview", str(FIXTURE)]) == 0
    assert "France Raids X Offices" in capsys.readouterr().out
    # One it uses does, with its one line.
    monkeypatch.setenv("NEWSBOT_TIMEZONE", "Mars/Olympus")
    assert main(["preview", str(FIXTURE)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "newsbot: NEWSBOT_TIMEZONE=Mars/Olympus: unknown time zone" in err[0]
    assert "newsbot: NEWSBOT_FEED_INTERVAL=10: must be at least 30 seconds" in err


@pytest.mark.parametrize("dry_run", [True, False])
def test_run_stops_at_once_on_a_missing_content_folder(
    dry_run: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEWSBOT_CONTENT_DIR", str(tmp_path / "content"))
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    assert main(["run", "--dry-run"] if dry_run else ["run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"newsbot: NEWSBOT_CONTENT_DIR={tmp_path / 'content'}: no such folder\n"
    assert not (tmp_path / "newsbot.sqlite3").exists()  # stopped before anything started


def test_the_sample_feed_previews_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    # The README suggests previewing the sample feed; here its frozen copy.
    assert main(["preview", "--json", str(EXAMPLES / "feed.xml")]) == 0
    records = lines(capsys.readouterr().out)
    assert [r["article"]["title"] for r in records] == [  # type: ignore[index]
        "Harbour Ferry Adds Night Crossings",
        "Museum Reopens After Roof Repairs",
    ]
    first = records[0]["article"]
    assert isinstance(first, dict) and len(first["takeaways"]) == 3
    for record in records:
        assert isinstance(record["message"], dict)
        validate_message_create(record["message"])
