"""``newsbot run --dry-run`` as a real subprocess, with its output read as it comes.

Two reader threads collect stdout and stderr line by line with the time each line
arrived, so a test can wait (with a deadline) for a post or a log line and measure how
long it took, without ever blocking on a pipe.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from tests.waiting import wait_until_sync

POST = re.compile(r"^=== (NEW POST|EDIT \(article updated\)): (.+)$")


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any bot setting, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_") and k != "DISCORD_TOKEN"
    }
    env.update(extra)
    return env


class DryRun:
    """One ``python -m bot run --dry-run`` process."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--dry-run"],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.out: list[tuple[float, str]] = []
        self.err: list[tuple[float, str]] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], into: list[tuple[float, str]]) -> None:
        for line in stream:
            into.append((time.monotonic(), line.rstrip("\n")))

    # -- what it said ------------------------------------------------------------------

    def posts(self, kind: str = "NEW POST") -> list[str]:
        """The article keys of the posts printed so far, in order."""
        return [m[2] for _, line in list(self.out) if (m := POST.match(line)) and m[1] == kind]

    def post_times(self) -> dict[str, float]:
        """When each article's first post line arrived."""
        seen: dict[str, float] = {}
        for at, line in list(self.out):
            m = POST.match(line)
            if m and m[2] not in seen:
                seen[m[2]] = at
        return seen

    def stderr(self) -> str:
        return "\n".join(line for _, line in list(self.err))

    def err_lines(self) -> list[str]:
        return [line for _, line in list(self.err)]

    def stdout(self) -> str:
        return "\n".join(line for _, line in list(self.out))

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and not any(text in line for _, line in self.err):
                raise AssertionError(f"the dry run exited early:\n{self.stderr()}")
            return any(text in line for _, line in list(self.err))

        wait_until_sync(seen, f"log line {text!r}", timeout=timeout)

    # -- ending it ---------------------------------------------------------------------

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for the exit; the exit code."""
        self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """``kill -9``: no chance to clean up."""
        self.proc.kill()
        self.wait()

    def close(self) -> None:
        """Make sure the process is gone (for ``finally`` blocks)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
