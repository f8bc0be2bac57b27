"""What forges send to a push webhook: who sent it, whether it is signed with the
shared secret, and what it says. Pure: headers and the raw body in, an event out.

- GitHub: ``X-GitHub-Event`` (``push``, ``ping``, ...), ``X-GitHub-Delivery``, and
  ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.
- GitLab: ``X-Gitlab-Event: Push Hook``, ``X-Gitlab-Token`` carrying the secret
  itself, ``Idempotency-Key`` (kept when GitLab retries) or ``X-Gitlab-Event-UUID``.
- Gitea / Forgejo: ``X-Gitea-Event`` / ``X-Forgejo-Event``, ``X-Gitea-Delivery`` /
  ``X-Forgejo-Delivery``, and ``X-Gitea-Signature`` / ``X-Forgejo-Signature``: the bare
  hex HMAC-SHA256 of the body (Gitea also sends GitHub's header).

Secrets and signatures are compared in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass


class Forge(enum.StrEnum):
    GITHUB = "GitHub"
    GITLAB = "GitLab"
    GITEA = "Gitea"
    FORGEJO = "Forgejo"


class EventKind(enum.StrEnum):
    PUSH = "push"
    PING = "ping"
    OTHER = "other"


class Unauthorized(Exception):
    """No signature or token, or a wrong one: answered 401, nothing done."""


class BadEvent(Exception):
    """Signed, but not an event this can read (a push without its ``ref``)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One authenticated webhook delivery."""

    forge: Forge
    kind: EventKind
    name: str  # the forge's own name for the event ("push", "Push Hook", "issues", ...)
    delivery: str | None  # the same on a redelivery
    ref: str | None = None  # for a push: "refs/heads/<branch>" (or a tag's ref)


# Each forge: the header naming the event, the delivery id headers (first present wins).
_EVENT = {
    Forge.FORGEJO: ("x-forgejo-event", ("x-forgejo-delivery", "x-gitea-delivery")),
    Forge.GITEA: ("x-gitea-event", ("x-gitea-delivery",)),
    Forge.GITLAB: ("x-gitlab-event", ("idempotency-key", "x-gitlab-event-uuid")),
    Forge.GITHUB: ("x-github-event", ("x-github-delivery",)),
}
_PUSH = {"push", "push hook"}
# The HMAC signature headers each forge sends (any one of them must be right).
_SIGNATURES = {
    Forge.FORGEJO: ("x-forgejo-signature", "x-gitea-signature", "x-hub-signature-256"),
    Forge.GITEA: ("x-gitea-signature", "x-hub-signature-256"),
    Forge.GITHUB: ("x-hub-signature-256",),
}


def signature(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``, as GitHub, Gitea and Forgejo sign."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def same_secret(given: str, secret: str) -> bool:
    """Whether ``given`` is ``secret``, in constant time."""
    return hmac.compare_digest(given.encode(), secret.encode())


def read_event(headers: Mapping[str, str], body: bytes, secret: str) -> Event:
    """The event in a webhook request, once its signature (or token) is checked.

    ``headers`` are looked up in lower case. Raises :class:`Unauthorized` when no forge
    is recognised or the request is not signed with ``secret``, :class:`BadEvent` for
    a signed push that cannot be read.
    """
    lower = {key.lower(): value for key, value in headers.items()}
    forge = next((f for f, (header, _) in _EVENT.items() if header in lower), None)
    if forge is None:
        raise Unauthorized("no forge event header (X-GitHub-Event, X-Gitlab-Event, ...)")
    if forge is Forge.GITLAB:
        token = lower.get("x-gitlab-token")
        if token is None:
            raise Unauthorized("no X-Gitlab-Token")
        if not same_secret(token, secret):
            raise Unauthorized("wrong X-Gitlab-Token")
    else:
        wanted = signature(body, secret)
        given = [lower[header] for header in _SIGNATURES[forge] if header in lower]
        if not given:
            raise Unauthorized("no signature header")
        # GitHub's header reads "sha256=<hex>"; Gitea's and Forgejo's are the bare hex.
        if not any(
            same_secret(value.strip().lower().removeprefix("sha256="), wanted) for value in given
        ):
            raise Unauthorized("wrong signature")
    header, delivery_headers = _EVENT[forge]
    name = lower[header].strip()
    delivery = next((lower[h] for h in delivery_headers if lower.get(h)), None)
    if name.lower() == "ping":
        return Event(forge, EventKind.PING, name, delivery)
    if name.lower() not in _PUSH:
        return Event(forge, EventKind.OTHER, name, delivery)
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadEvent("the push event is not JSON") from None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(ref, str):
        raise BadEvent("the push event has no ref")
    return Event(forge, EventKind.PUSH, name, delivery, ref)
