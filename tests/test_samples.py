"""The frozen examples the tests read are the bundled ones as committed, and no test
reads the live ``examples/`` folder (which the user is invited to change)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.samples import EXAMPLES, ROOT

LIVE = "examples"


def _git(*args: str) -> bytes:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the committed samples cannot be read")
    return subprocess.run([git, *args], cwd=ROOT, check=True, capture_output=True).stdout


def test_frozen_examples_are_the_committed_examples() -> None:
    # HEAD, not the working tree: articles the user adds or edits do not count.
    listed = _git("ls-tree", "-r", "--name-only", "HEAD", "--", LIVE).decode().splitlines()
    committed = {name.removeprefix(LIVE + "/"): name for name in listed}
    frozen = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()}
    assert frozen == set(committed), "tests/data/examples must hold the committed examples/"
    for rel, name in committed.items():
        assert (EXAMPLES / rel).read_bytes() == _git("show", f"HEAD:{name}"), rel


def test_no_test_reads_the_live_samples() -> None:
    # The folder named as a path ("examples/...", or built from its parts). The one
    # test of the bundled default reaches it as bot.config.SAMPLE_CONTENT_DIR and holds
    # whatever it finds there.
    live = re.compile(r"""["']examples["']|(?<![\w/.])examples/""")
    allowed = {Path(__file__), ROOT / "tests" / "samples.py"}
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*.py")
        if path not in allowed and live.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_example_the_readme_names_is_shipped() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.])examples/([\w./-]*\w)", readme))
    assert "feed.xml" in named and "content" in named
    for rel in sorted(named):
        assert (EXAMPLES / rel).exists(), f"the README names examples/{rel}"
