"""A local Discord-compatible server (REST v10 + gateway) for end-to-end tests.

See README.md in this folder; fixtures live in `tests.fakediscord.plugin`.
"""

from .clock import FakeClock
from .interactions import FakeInteraction, InvalidInvocation
from .models import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Permission,
    overwrite,
)
from .server import FakeDiscord, RecordedRequest, Stats, Violation

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "ChannelType",
    "FakeChannel",
    "FakeClock",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "InvalidInvocation",
    "Permission",
    "RecordedRequest",
    "Stats",
    "Violation",
    "overwrite",
]
