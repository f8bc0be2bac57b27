"""pytest fixtures for end-to-end tests against FakeDiscord (registered in tests/conftest.py).

    @pytest.mark.fakediscord(per_channel=(5, 1.0))      # optional FakeDiscord(**options)
    async def test_something(fake_discord, run_bot):
        guild = fake_discord.add_guild("Newsroom")
        runner = await run_bot(make_my_bot())           # logged in, connected, on_ready fired
        ...

* `fake_discord`: a started FakeDiscord; the test fails at teardown if it recorded any
  violation (take the expected ones with `fake_discord.take_violations()`).
* `discord_client_env`: points discord.py (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
  and the NEWSBOT_DISCORD_API_URL / NEWSBOT_DISCORD_GATEWAY_URL / DISCORD_TOKEN
  environment variables at the fake; returns the server.
* `run_bot`: `await run_bot(bot)` logs `bot` in, connects it, waits for on_ready and
  returns a `BotRunner`; every bot is closed at teardown, and a bot whose connection
  died or that logged an unhandled exception fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import discord
import pytest
import pytest_asyncio
import yarl
from discord.gateway import DiscordWebSocket

from .server import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)

# Messages discord.py logs when user code raised inside an event, command, view or task.
_UNHANDLED = ("Ignoring exception", "Unhandled exception")
# The names discord.py gives the tasks that run user code for what the gateway sent:
# event listeners, application commands, component callbacks.
_HANDLER_TASKS = ("discord.py: ", "CommandTree-invoker", "discord-ui-view-dispatch-")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fakediscord(**options): keyword arguments for this test's FakeDiscord(...)"
    )


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith(_UNHANDLED):
            self.records.append(record)


class BotRunner(Generic[ClientT]):
    """A discord.py client running in-process against the fake, as a task."""

    def __init__(self, server: FakeDiscord, bot: ClientT, token: str) -> None:
        self.server = server
        self.bot = bot
        self.token = token
        self.task: asyncio.Task[None] | None = None
        self.allow_errors = False
        self._log = _ErrorLog()

    @property
    def errors(self) -> list[str]:
        """Unhandled exceptions discord.py logged (in commands, events, views, tasks)."""
        fmt = logging.Formatter()
        return [fmt.format(r) for r in self._log.records]

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        # on_ready waits guild_ready_timeout after the last GUILD_CREATE (2 s by default);
        # discord.py only takes it in the constructor, so shorten a default one here.
        state = self.bot._connection
        if state.guild_ready_timeout >= 1.0:
            state.guild_ready_timeout = 0.05
        logging.getLogger("discord").addHandler(self._log)
        try:
            await self.bot.login(self.token)  # LoginFailure and setup_hook errors surface here
        except BaseException:
            await self.close()
            raise
        self.task = asyncio.create_task(self.bot.connect(), name=f"discord-bot-{self.bot.user}")
        self.task.add_done_callback(lambda _: self.server._notify())
        self.server._watchers.append(self.raise_if_failed)
        self.server._busy.append(self.handling)
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {self.task, ready}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        if ready not in done:
            ready.cancel()
            failure = self.task.exception() if self.task in done else None
            await self.close()
            if failure is not None:
                raise failure
            raise TimeoutError(f"the bot was not ready within {timeout}s")

    def handling(self) -> bool:
        """Whether discord.py still runs user code for an event, command or click."""
        return any(
            not task.done() and task.get_name().startswith(_HANDLER_TASKS)
            for task in asyncio.all_tasks()
        )

    def raise_if_failed(self) -> None:
        """Raise if the connection task died or user code raised an unhandled exception."""
        if self.task is not None and self.task.done() and not self.task.cancelled():
            failure = self.task.exception()
            if failure is not None:
                raise AssertionError(f"the bot's connection task died: {failure!r}") from failure
        if self.errors and not self.allow_errors:
            raise AssertionError(
                "the bot logged an unhandled exception:\n" + "\n".join(self.errors)
            )

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.server._watchers.remove(self.raise_if_failed)
        with contextlib.suppress(ValueError):
            self.server._busy.remove(self.handling)
        if not self.bot.is_closed():
            await self.bot.close()
        if self.task is not None and not self.task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout=5)
            except TimeoutError:
                self.task.cancel()
        logging.getLogger("discord").removeHandler(self._log)


@pytest_asyncio.fixture
async def fake_discord(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    options: dict[str, object] = {}
    for marker in reversed(list(request.node.iter_markers("fakediscord"))):
        options.update(marker.kwargs)  # the marker closest to the test wins
    server = FakeDiscord(**options)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    if server.violations:
        listing = "\n".join(f"  {v}" for v in server.violations)
        pytest.fail(
            f"FakeDiscord recorded {len(server.violations)} violation(s) Discord would reject:\n"
            f"{listing}\n(a test that expects them must take them: fake_discord.take_violations())",
            pytrace=False,
        )


@pytest.fixture
def discord_client_env(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_url)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake_discord.gateway_url))
    monkeypatch.setenv("NEWSBOT_DISCORD_API_URL", fake_discord.api_url)
    monkeypatch.setenv("NEWSBOT_DISCORD_GATEWAY_URL", fake_discord.gateway_url)
    monkeypatch.setenv("DISCORD_TOKEN", fake_discord.token)
    return fake_discord


# The `run_bot` fixture: `await run_bot(bot, token=None, timeout=10, allow_errors=False)`.
RunBot = Callable[..., Awaitable[BotRunner[Any]]]


@pytest_asyncio.fixture
async def run_bot(discord_client_env: FakeDiscord) -> AsyncIterator[RunBot]:
    runners: list[BotRunner[Any]] = []

    async def start(
        bot: discord.Client,
        *,
        token: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
        allow_errors: bool = False,
    ) -> BotRunner[Any]:
        runner = BotRunner(discord_client_env, bot, token or discord_client_env.token)
        runner.allow_errors = allow_errors
        await runner.start(timeout)  # closes the bot itself when it fails
        runners.append(runner)
        return runner

    yield start
    problems = []
    for runner in reversed(runners):
        await runner.close()
        try:
            runner.raise_if_failed()
        except AssertionError as failure:
            problems.append(str(failure))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
