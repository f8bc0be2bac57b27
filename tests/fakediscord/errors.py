"""Error answers handlers raise; the HTTP pipeline turns them into Discord's responses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer in Discord's shape: {"code": ..., "message": ...[, "errors": ...]}."""

    def __init__(
        self, status: int, code: int, message: str, *, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors


class RateLimitedError(Exception):
    """A sub-rate-limit a handler enforces itself (e.g. edits of published messages)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
