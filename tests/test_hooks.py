"""The webhook routes on the real listener: what each request is answered, and whether
it asked the git source (real, not running) or the other sources to look now."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_settings
from bot.forges import Forge
from bot.hooks import FETCH, REFRESH, Ask, Asked, hook_routes
from bot.service import Pipeline
from bot.store import Store
from bot.web import MAX_BODY_BYTES, HttpListener
from tests.test_forges import signed

SECRET = "hook-s3cret"


@dataclass
class Hooked:
    base: str
    pipeline: Pipeline
    session: aiohttp.ClientSession
    deliveries: int = 0

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        async with self.session.post(self.base + path, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def push(
        self, forge: Forge, ref: str = "refs/heads/main", event: str = "push"
    ) -> tuple[int, str]:
        body = json.dumps({"ref": ref}).encode()
        self.deliveries += 1
        headers = signed(forge, body, event=event, secret=SECRET, delivery=str(self.deliveries))
        return await self.post("/hooks/push", body, headers)

    @property
    def fetching(self) -> bool:
        assert self.pipeline.git is not None
        return self.pipeline.git.fetch_wanted


async def listening(
    tmp_path: Path, store: Store, ask: Ask | None = None, **settings: str
) -> AsyncIterator[Hooked]:
    config = load_settings(
        _env_file=None,
        database=str(tmp_path / "news.sqlite3"),
        http_addr="127.0.0.1:0",
        webhook_secret=SECRET,
        **settings,
    )
    pipeline = Pipeline(config, store)  # not started: the requests' effects stay visible
    routes = hook_routes(config, pipeline.git, pipeline.looks, ask or pipeline.look_here)
    listener = HttpListener("127.0.0.1:0", routes)
    await listener.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Hooked(f"http://127.0.0.1:{listener.port}", pipeline, session)
    finally:
        await listener.close()


@pytest.fixture
async def hooked(tmp_path: Path, store: Store, no_bot_env: None) -> AsyncIterator[Hooked]:
    async for hooked in listening(
        tmp_path, store, git_url=str(tmp_path / "site.git"), git_branch="main"
    ):
        yield hooked


@pytest.mark.parametrize("forge", list(Forge))
async def test_a_push_to_the_watched_branch_fetches(hooked: Hooked, forge: Forge) -> None:
    assert not hooked.fetching
    assert await hooked.push(forge) == (200, "fetching\n")
    assert hooked.fetching


@pytest.mark.parametrize("forge", list(Forge))
async def test_a_push_to_another_branch_is_202_and_nothing(hooked: Hooked, forge: Forge) -> None:
    status, text = await hooked.push(forge, ref="refs/heads/preview")
    assert (status, text) == (202, "ignored: refs/heads/preview is not the watched branch main\n")
    status, _ = await hooked.push(forge, ref="refs/tags/v1.0")
    assert status == 202
    assert not hooked.fetching


async def test_ping_other_events_and_redeliveries(hooked: Hooked) -> None:
    assert await hooked.push(Forge.GITHUB, event="ping") == (200, "pong\n")
    status, text = await hooked.push(Forge.GITHUB, event="issues")
    assert status == 202 and "'issues' is not a push" in text
    assert not hooked.fetching
    # The same delivery again (a forge's redelivery): already handled.
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    headers = signed(Forge.GITHUB, body, secret=SECRET, delivery="again")
    assert await hooked.post("/hooks/push", body, headers) == (200, "fetching\n")
    assert hooked.pipeline.git is not None
    hooked.pipeline.git._wanted.clear()  # as the fetch loop does when the fetch starts
    status, text = await hooked.post("/hooks/push", body, headers)
    assert status == 200 and "already received" in text
    assert not hooked.fetching
    assert await hooked.push(Forge.GITLAB) == (200, "fetching\n")
    assert hooked.fetching


@pytest.mark.parametrize("forge", list(Forge))
async def test_unsigned_or_forged_pushes_are_401_and_fetch_nothing(
    hooked: Hooked, forge: Forge
) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    forged = signed(forge, body, secret="guessed")
    assert (await hooked.post("/hooks/push", body, forged))[0] == 401
    unsigned = {k: v for k, v in signed(forge, body, secret=SECRET).items() if "Event" in k}
    assert (await hooked.post("/hooks/push", body, unsigned))[0] == 401
    assert (await hooked.post("/hooks/push", body))[0] == 401
    # A signature for another body (replayed onto this one).
    other = signed(forge, b'{"ref": "refs/heads/x"}', secret=SECRET)
    if forge is not Forge.GITLAB:
        assert (await hooked.post("/hooks/push", body, other))[0] == 401
    assert not hooked.fetching


async def test_bad_requests(hooked: Hooked) -> None:
    big = b"{" + b" " * MAX_BODY_BYTES + b"}"
    status, _ = await hooked.post("/hooks/push", big, signed(Forge.GITHUB, big, secret=SECRET))
    assert status == 413
    body = b"not json"
    status, text = await hooked.post("/hooks/push", body, signed(Forge.GITEA, body, secret=SECRET))
    assert (status, text) == (400, "the push event is not JSON\n")
    async with hooked.session.get(hooked.base + "/hooks/push") as response:
        assert response.status == 405
    assert not hooked.fetching


async def test_before_the_default_branch_is_known_any_push_fetches(
    tmp_path: Path, store: Store, no_bot_env: None
) -> None:
    async for hooked in listening(tmp_path, store, git_url=str(tmp_path / "site.git")):
        assert await hooked.push(Forge.GITHUB, ref="refs/heads/trunk") == (200, "fetching\n")


async def test_publish_needs_the_bearer_secret_and_asks_every_source(
    tmp_path: Path, store: Store, no_bot_env: None
) -> None:
    (tmp_path / "content").mkdir()
    async for hooked in listening(
        tmp_path,
        store,
        content_dir=str(tmp_path / "content"),
        git_url=str(tmp_path / "site.git"),
        feeds="https://a.example/feed.xml https://b.example/feed.xml",
    ):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET}):
            async with hooked.session.post(
                hooked.base + "/hooks/publish", headers=headers
            ) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert not hooked.fetching
        status, text = await hooked.post(
            "/hooks/publish", b"", {"Authorization": f"Bearer {SECRET}"}
        )
        assert (status, text) == (
            202,
            "looking now at: content folder, git repository, 2 feeds\n",
        )
        assert hooked.fetching


async def test_without_a_repository_there_is_no_push_route(
    tmp_path: Path, store: Store, no_bot_env: None
) -> None:
    (tmp_path / "content").mkdir()
    async for hooked in listening(tmp_path, store, content_dir=str(tmp_path / "content")):
        status, _ = await hooked.post("/hooks/push", b"{}")
        assert status == 404
        status, text = await hooked.post(
            "/hooks/publish", b"", {"authorization": f"bearer {SECRET}"}
        )
        assert (status, text) == (202, "looking now at: content folder\n")


@pytest.mark.parametrize(
    ("asked", "push", "publish"),
    [
        (
            Asked.LEADER,
            (200, "fetching: passed to the leading process\n"),
            (202, "looking now at: git repository, 1 feed: passed to the leading process\n"),
        ),
        (
            Asked.NO_LEADER,
            (200, "fetching" + Asked.NO_LEADER.value + "\n"),
            (202, "looking now at: git repository, 1 feed" + Asked.NO_LEADER.value + "\n"),
        ),
        (
            Asked.UNREACHABLE,
            (503, Asked.UNREACHABLE.value + "; deliver it again later\n"),
            (503, Asked.UNREACHABLE.value + "; deliver it again later\n"),
        ),
    ],
)
async def test_a_process_that_does_not_run_the_sources_passes_the_work_on(
    tmp_path: Path,
    store: Store,
    no_bot_env: None,
    asked: Asked,
    push: tuple[int, str],
    publish: tuple[int, str],
) -> None:
    passed: list[str] = []

    async def ask(what: str) -> Asked:
        passed.append(what)
        return asked

    async for hooked in listening(
        tmp_path,
        store,
        ask,
        git_url=str(tmp_path / "site.git"),
        feeds="https://a.example/feed.xml",
    ):
        # Checked as ever before anything is passed on.
        assert (await hooked.push(Forge.GITEA, event="issues"))[0] == 202
        assert await hooked.push(Forge.GITLAB) == push
        auth = {"Authorization": f"Bearer {SECRET}"}
        assert await hooked.post("/hooks/publish", b"", auth) == publish
        assert passed == [FETCH, REFRESH]
        assert not hooked.fetching  # nothing asked of this process's own sources
        # The forge's redelivery of the same push: handled again after a 503, as the
        # 503 asks; otherwise taken as already received.
        hooked.deliveries -= 1
        again = await hooked.push(Forge.GITLAB)
        if asked is Asked.UNREACHABLE:
            assert again == push and passed == [FETCH, REFRESH, FETCH]
        else:
            assert again == (200, f"delivery {hooked.deliveries} was already received\n")
            assert passed == [FETCH, REFRESH]
