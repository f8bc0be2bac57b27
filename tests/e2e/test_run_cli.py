"""``newsbot run`` as a real process against the fake Discord: token problems, signals,
and the token never showing up in any output (even at DEBUG)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.e2e.conftest import PUBLISHED_NEWEST_FIRST, SAMPLE_COUNT, listed_titles
from tests.fakediscord.server import FakeDiscord

SECRET = "MTQ0NjE3.secret-e2e-token.Xk9q"
WRONG = "MTQ0NjE3.wrong-e2e-token.Zz1a"
TIMEOUT = 20.0


def newsbot_command() -> list[str]:
    """The installed ``newsbot`` console script (``python -m bot`` if not installed)."""
    script = Path(sys.executable).with_name("newsbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def environment(
    fake: FakeDiscord, tmp_path: Path, content_dir: Path, **extra: str
) -> dict[str, str]:
    """The process environment: nothing inherited that could configure the bot."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSBOT_") and k not in ("DISCORD_TOKEN",)
    }
    env.update(
        NEWSBOT_DISCORD_API_URL=fake.api_url,
        NEWSBOT_DISCORD_GATEWAY_URL=fake.gateway_url,
        NEWSBOT_DATABASE=str(tmp_path / "newsbot.sqlite3"),
        NEWSBOT_CONTENT_DIR=str(content_dir),
        NEWSBOT_SITE_URL="https://news.example.org",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Process:
    """A running ``newsbot run`` whose stderr is collected line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr_lines: list[str] = []
        self.stdout = ""
        self._readers = [
            asyncio.create_task(self._read_stderr()),
            asyncio.create_task(self._read_stdout()),
        ]

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr_lines.append(line.decode(errors="replace").rstrip("\n"))

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = (await self.proc.stdout.read()).decode(errors="replace")

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    async def wait(self) -> int:
        try:
            code = await asyncio.wait_for(self.proc.wait(), TIMEOUT)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"newsbot run did not exit; stderr:\n{self.stderr}") from None
        await asyncio.gather(*self._readers)
        return code


async def start(env: dict[str, str], cwd: Path, args: Sequence[str] = ("run",)) -> Process:
    proc = await asyncio.create_subprocess_exec(
        *newsbot_command(),
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Process(proc)


async def serving(fake: FakeDiscord, process: Process) -> None:
    """Wait until the process has scanned its content folder and joined the gateway."""
    await fake.wait_for(
        lambda: (
            any("bot.sources.content" in line for line in process.stderr_lines)
            and fake.gateway.ready
        ),
        timeout=TIMEOUT,
    )


@pytest.mark.fakediscord(token=SECRET)
async def test_wrong_token_one_clear_line(
    fake_discord: FakeDiscord, tmp_path: Path, content_dir: Path
) -> None:
    env = environment(fake_discord, tmp_path, content_dir, DISCORD_TOKEN=WRONG)
    process = await start(env, tmp_path)
    code = await process.wait()
    assert code != 0
    output = process.stdout + process.stderr
    assert "Traceback" not in output
    assert WRONG not in output and SECRET not in output
    problems = [line for line in process.stderr_lines if " INFO " not in line]
    assert len(problems) == 1, process.stderr
    assert "ERROR" in problems[0] and "DISCORD_TOKEN" in problems[0]
    assert "refused the token" in problems[0]
    # One refused login, not a retry loop that would get the address banned.
    assert fake_discord.stats.by_status.get(401) == 1
    assert fake_discord.stats.gateway_connects == 0


async def test_missing_token_one_clear_line(
    fake_discord: FakeDiscord, tmp_path: Path, content_dir: Path
) -> None:
    process = await start(environment(fake_discord, tmp_path, content_dir), tmp_path)
    code = await process.wait()
    assert code == 2  # as `newsbot run --help` says
    assert process.stdout == ""
    assert len(process.stderr_lines) == 1, process.stderr
    assert process.stderr_lines[0].startswith("newsbot: DISCORD_TOKEN is not set.")
    assert "--dry-run" in process.stderr_lines[0]
    assert fake_discord.stats.requests == 0


@pytest.mark.parametrize("token", ["", "   "])
def test_blank_token_is_a_missing_token(
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The same entry point in-process (a process per case would only add start-up time).
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", token)
    monkeypatch.delenv("NEWSBOT_DISCORD_TOKEN", raising=False)
    assert main(["run"]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("newsbot: DISCORD_TOKEN is not set.")


@pytest.mark.fakediscord(token=SECRET)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_stops_cleanly(
    fake_discord: FakeDiscord, tmp_path: Path, content_dir: Path, sig: signal.Signals
) -> None:
    guild = fake_discord.add_guild("Newsroom")
    reader = guild.add_member("reader")
    channel = guild.channels[guild.system_channel_id or 0]
    # DEBUG, so discord.py's own debug logs are checked for the token too.
    env = environment(
        fake_discord, tmp_path, content_dir, DISCORD_TOKEN=SECRET, NEWSBOT_LOG_LEVEL="DEBUG"
    )
    process = await start(env, tmp_path)
    try:
        await serving(fake_discord, process)
        # It answers a user like the in-process bot does.
        interaction = await fake_discord.invoke(guild, channel, reader, "news latest")
        message = await interaction.original_message()
        assert listed_titles(message["embeds"][0]) == PUBLISHED_NEWEST_FIRST
    finally:
        if process.proc.returncode is None:
            process.proc.send_signal(sig)
    code = await process.wait()

    assert code == 0, process.stderr
    output = process.stdout + process.stderr
    assert "Traceback" not in output
    assert SECRET not in output
    assert f"{sig.name} received" in process.stderr
    assert any(line.endswith("bot.client: stopped") for line in process.stderr_lines)
    # The bot closed its gateway connection. (discord.py asks for close code 1000, but its
    # own receive loop, woken by that close, sends 4000 first: Discord then keeps the
    # session resumable for a minute or two, so the fake keeps it too.)
    await fake_discord.wait_for(lambda: not fake_discord.gateway.connections, timeout=5)
    # It closed the store: SQLite folds the write-ahead log back on the last close.
    database = tmp_path / "newsbot.sqlite3"
    assert database.exists()
    assert not database.with_name("newsbot.sqlite3-wal").exists()
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (SAMPLE_COUNT,)


def _default_sigint() -> None:
    # As in a terminal: a test run started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("after", [0.0, 0.2, 0.6])
async def test_ctrl_c_while_starting_up_stops_quietly(
    tmp_path: Path, content_dir: Path, after: float
) -> None:
    """Ctrl-C at any moment of start-up, from its first log line on (the database being
    created; an interrupt in the interpreter's own start-up is Python's to report): no
    traceback, and the database stays sound."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.pop("DISCORD_TOKEN", None)
    database = tmp_path / "newsbot.sqlite3"
    env.update(
        NEWSBOT_DATABASE=str(database),
        NEWSBOT_CONTENT_DIR=str(content_dir),
        PYTHONUNBUFFERED="1",
    )
    proc = await asyncio.create_subprocess_exec(
        *newsbot_command(),
        "run",
        "--dry-run",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    assert proc.stderr is not None
    first = await asyncio.wait_for(proc.stderr.readline(), TIMEOUT)
    await asyncio.sleep(after)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("newsbot run did not stop on Ctrl-C") from None
    output = (stdout + first + stderr).decode(errors="replace")
    assert "Traceback" not in output, output
    # A requested stop exits 0 at any moment: before the pipeline ran ("interrupted") as
    # after it (its own clean stop).
    assert proc.returncode == 0, output
    assert "newsbot: interrupted; stopped" in output or "bot.service: stopping" in output
    if database.exists():
        with contextlib.closing(sqlite3.connect(database)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.fakediscord(token=SECRET)
async def test_a_deleted_database_stops_the_bot_with_one_line(
    fake_discord: FakeDiscord, tmp_path: Path, content_dir: Path
) -> None:
    fake_discord.add_guild("Newsroom")
    env = environment(fake_discord, tmp_path, content_dir, DISCORD_TOKEN=SECRET)
    database = tmp_path / "newsbot.sqlite3"
    process = await start(env, tmp_path)
    try:
        await serving(fake_discord, process)
        database.unlink()
        code = await process.wait()
    finally:
        if process.proc.returncode is None:
            process.proc.kill()
            await process.proc.wait()
    assert code == 1, process.stderr
    said = [line for line in process.stderr_lines if "was deleted" in line]
    assert len(said) == 1, process.stderr
    assert f"the database {database} was deleted while the bot was running; stopping" in said[0]
    assert "Traceback" not in process.stderr
    await fake_discord.wait_for(lambda: not fake_discord.gateway.connections, timeout=5)
