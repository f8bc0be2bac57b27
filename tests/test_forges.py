"""Reading forges' push webhooks: who sent it, its signature or token, what it says."""

from __future__ import annotations

import json

import pytest

from bot.forges import (
    BadEvent,
    Event,
    EventKind,
    Forge,
    Unauthorized,
    read_event,
    signature,
)

SECRET = "It's a Secret to Everybody"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()


def signed(
    forge: Forge,
    body: bytes,
    *,
    event: str = "push",
    secret: str = SECRET,
    delivery: str | None = None,
) -> dict[str, str]:
    """The headers ``forge`` sends with ``body``, as its documentation shows them
    (``delivery`` in place of the documented delivery id)."""
    headers = _headers(forge, body, event, secret)
    if delivery is not None:
        for name in (
            "X-GitHub-Delivery",
            "Idempotency-Key",
            "X-Gitea-Delivery",
            "X-Forgejo-Delivery",
        ):
            if name in headers:
                headers[name] = delivery
    return headers


def _headers(forge: Forge, body: bytes, event: str, secret: str) -> dict[str, str]:
    digest = signature(body, secret)
    if forge is Forge.GITHUB:
        return {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-Hub-Signature-256": f"sha256={digest}",
        }
    if forge is Forge.GITLAB:
        return {
            "X-Gitlab-Event": "Push Hook" if event == "push" else event,
            "X-Gitlab-Token": secret,
            "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
            "Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
        }
    if forge is Forge.GITEA:
        return {
            "X-Gitea-Event": event,
            "X-Gitea-Delivery": "9f8e7d6c",
            "X-Gitea-Signature": digest,
            # Gitea also sends GitHub's names.
            "X-GitHub-Event": event,
            "X-Hub-Signature-256": f"sha256={digest}",
        }
    return {
        "X-Forgejo-Event": event,
        "X-Forgejo-Delivery": "1a2b3c4d",
        "X-Forgejo-Signature": digest,
        "X-Gitea-Event": event,
        "X-Gitea-Signature": digest,
    }


def test_githubs_documented_test_vector() -> None:
    assert signature(b"Hello, World!", SECRET) == (
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize(
    ("forge", "delivery"),
    [
        (Forge.GITHUB, "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        (Forge.GITLAB, "f5e5f430-f57b-4e6e-9fac-d9128cd7232f"),  # kept across retries
        (Forge.GITEA, "9f8e7d6c"),
        (Forge.FORGEJO, "1a2b3c4d"),
    ],
)
def test_a_signed_push_from_each_forge(forge: Forge, delivery: str) -> None:
    event = read_event(signed(forge, PUSH), PUSH, SECRET)
    assert event.forge is forge
    assert (event.kind, event.delivery, event.ref) == (EventKind.PUSH, delivery, "refs/heads/main")


@pytest.mark.parametrize("forge", list(Forge))
def test_wrong_or_missing_signatures_are_refused(forge: Forge) -> None:
    with pytest.raises(Unauthorized):
        read_event(signed(forge, PUSH, secret="not the secret"), PUSH, SECRET)
    tampered = PUSH.replace(b"main", b"evil")
    if forge is not Forge.GITLAB:  # GitLab's token does not sign the body
        with pytest.raises(Unauthorized, match="wrong signature"):
            read_event(signed(forge, PUSH), tampered, SECRET)
    bare = {
        k: v
        for k, v in signed(forge, PUSH).items()
        if "signature" not in k.lower() and "token" not in k.lower()
    }
    with pytest.raises(Unauthorized, match="no "):
        read_event(bare, PUSH, SECRET)


def test_requests_no_forge_sends_are_refused() -> None:
    with pytest.raises(Unauthorized, match="no forge event header"):
        read_event({"X-Hub-Signature-256": "sha256=" + signature(PUSH, SECRET)}, PUSH, SECRET)
    with pytest.raises(Unauthorized):
        read_event({}, PUSH, SECRET)
    headers = signed(Forge.GITHUB, PUSH)
    for forged in ("", "sha256=", "sha1=" + "0" * 40, "sha256=" + "0" * 64, "é" * 70):
        with pytest.raises(Unauthorized):
            read_event({**headers, "X-Hub-Signature-256": forged}, PUSH, SECRET)
    with pytest.raises(Unauthorized):
        read_event({**signed(Forge.GITLAB, PUSH), "X-Gitlab-Token": SECRET + " "}, PUSH, SECRET)


def test_header_names_and_hex_case_do_not_matter() -> None:
    headers = {k.lower(): v.upper() for k, v in signed(Forge.GITHUB, PUSH).items()}
    headers["x-github-event"] = "push"
    assert read_event(headers, PUSH, SECRET).kind is EventKind.PUSH


def test_pings_and_other_events() -> None:
    ping = read_event(signed(Forge.GITHUB, b"{}", event="ping"), b"{}", SECRET)
    assert ping.kind is EventKind.PING
    issue = read_event(signed(Forge.GITHUB, b"{}", event="issues"), b"{}", SECRET)
    assert (issue.kind, issue.name) == (EventKind.OTHER, "issues")
    tag = read_event(signed(Forge.GITLAB, b"{}", event="Tag Push Hook"), b"{}", SECRET)
    assert tag.kind is EventKind.OTHER
    assert read_event(signed(Forge.GITEA, b"[]", event="release"), b"[]", SECRET) == Event(
        Forge.GITEA, EventKind.OTHER, "release", "9f8e7d6c"
    )


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"ref": 5}', b'{"after": "x"}', b"\xff\xfe"]
)
def test_a_signed_push_that_cannot_be_read(body: bytes) -> None:
    with pytest.raises(BadEvent):
        read_event(signed(Forge.GITHUB, body), body, SECRET)
