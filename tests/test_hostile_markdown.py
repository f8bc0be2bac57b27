"""Articles built to make the parser work hard: the running bot refuses them with a
reason, stays small, and keeps posting the others."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bot.articles.decode import DEFAULT_MAX_BYTES
from tests.sources.dryrun import DryRun, clean_env
from tests.sources.helpers import article_md
from tests.waiting import wait_until_sync

# Each repeated in one takeaway until the file is just under the size limit.
UNITS = {
    "code-spans": "`a` ",
    "autolinks": "<http://a.b> ",
    "backtick-runs": "` ",
    "underscores": "__a ",
    "entities": "&amp; ",
    "emphasis": "*a* ",
}
PEAK_MB = 300


def hostile(unit: str) -> str:
    head = "---\ntitle: Hostile\ndate: 2024-01-02\n---\n\n## Key Takeaways\n\n- "
    room = DEFAULT_MAX_BYTES - len(head.encode()) - 100
    return head + unit * (room // len(unit.encode())) + "\n"


def put(root: Path, name: str, text: str) -> None:
    """Write an article whole (written beside the folder, then moved in)."""
    staging = root.parent / name
    staging.write_text(text, encoding="utf-8")
    staging.replace(root / "articles" / name)


def peak_rss_mb(pid: int) -> float:
    """The process's own high-water mark of resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")  # pragma: no cover


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_hostile_articles_are_refused_and_the_bot_stays_small(root: Path, tmp_path: Path) -> None:
    env = clean_env(NEWSBOT_CONTENT_DIR=str(root), NEWSBOT_DATABASE=str(tmp_path / "db.sqlite3"))
    run = DryRun(tmp_path, env)
    try:
        run.wait_for_log(f"content {root}: 0 files")
        for name, unit in UNITS.items():
            put(root, f"{name}.md", hostile(unit))
        put(root, "fine.md", article_md("Still Flowing"))
        wait_until_sync(
            lambda: "/articles/fine/" in run.posts(), "the good article's post", timeout=60
        )
        for name in UNITS:
            run.wait_for_log(f"{name}.md", timeout=60)
        peak = peak_rss_mb(run.proc.pid)
        assert run.stop(signal.SIGINT) == 0
    finally:
        run.close()
    assert run.posts() == ["/articles/fine/"]
    err = run.stderr()
    for name in UNITS:
        [line] = [line for line in err.splitlines() if f"{name}.md" in line]
        assert "too much Markdown markup" in line or "nested too deeply" in line, line
    assert peak < PEAK_MB, f"peak RSS {peak:.0f} MB"
    print(f"peak RSS {peak:.0f} MB")
