"""Interactions a user triggers: slash commands, autocomplete, button/select clicks,
modal submissions.

`build_command_data` turns a test's `invoke(..., "news latest", options={...})` into the
`data` Discord would send, checked against the commands the bot actually registered
(a user cannot run a command that was never synced, skip a required option or pick a
value outside the declared choices). `FakeInteraction` records what the bot answered.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .models import FakeChannel, FakeMember, FakeRole, FakeUser

if TYPE_CHECKING:
    from .validation import FieldError

if TYPE_CHECKING:
    from .server import FakeDiscord

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Option types (https://discord.com/developers/docs/interactions/application-commands)
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


class InvalidInvocation(Exception):
    """The test asked for something a Discord user could not do."""


@dataclass(eq=False)
class FakeInteraction:
    """One interaction the fake dispatched, and everything the bot answered to it."""

    server: FakeDiscord
    type: int
    guild_id: int
    channel: FakeChannel
    member: FakeMember
    data: dict[str, Any]
    message: dict[str, Any] | None = None  # the message a clicked component is on
    trigger: FakeInteraction | None = None  # a modal submission's: what showed the modal
    id: int = 0
    token: str = field(default_factory=lambda: "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48))
    created_at: float = 0.0
    callback: dict[str, Any] | None = None  # the body of the accepted callback
    callback_delay: float | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def callback_type(self) -> int | None:
        return self.callback["type"] if self.callback else None

    @property
    def ephemeral(self) -> bool:
        original = self.original
        return bool(original and original["flags"] & EPHEMERAL)

    @property
    def original(self) -> dict[str, Any] | None:
        """The @original message as it is now (edits applied), if any."""
        if self.original_id is None:
            return None
        return self.server._find_message(self.original_id)

    @property
    def followup_messages(self) -> list[dict[str, Any]]:
        found = (self.server._find_message(mid) for mid in self.followup_ids)
        return [m for m in found if m is not None]

    async def response(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the interaction callback; returns its body ({"type": 4, "data": {...}})."""
        await self.server.wait_for(lambda: self.callback is not None, timeout=timeout)
        assert self.callback is not None
        return self.callback

    async def original_message(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until @original exists and is no longer "thinking"; returns it."""

        def loaded() -> dict[str, Any] | None:
            original = self.original
            return original if original and not original["flags"] & LOADING else None

        result: dict[str, Any] = await self.server.wait_for(loaded, timeout=timeout)
        return result

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until at least `count` follow-up messages exist; returns them all."""
        await self.server.wait_for(lambda: len(self.followup_ids) >= count, timeout=timeout)
        return self.followup_messages


def find_command(
    server: FakeDiscord, guild_id: int, name: str, ctype: int = 1
) -> dict[str, Any] | None:
    """Guild-registered commands shadow global ones, as in Discord's client."""
    for scope in (guild_id, None):
        for cmd in server.commands.get(scope, []):
            if cmd["name"] == name and cmd.get("type", 1) == ctype:
                return cmd
    return None


def may_use(server: FakeDiscord, member: FakeMember, cmd: dict[str, Any]) -> bool:
    """Whether Discord lets ``member`` use ``cmd``: the server's overrides for the
    command (Server Settings > Integrations) decide when one names the member, else
    one of their roles (@everyone's id is the guild's; an allowing role wins over a
    denying one); without any, ``default_member_permissions`` does."""
    overrides = server.command_permissions.get((member.guild.id, cmd["name"]), {})
    if member.id in overrides:
        return overrides[member.id]
    by_role = [
        overrides[r] for r in (member.guild.id, *(r.id for r in member.roles)) if r in overrides
    ]
    if by_role:
        return any(by_role)
    required = cmd.get("default_member_permissions")
    return required is None or member.base_permissions() & int(required) == int(required)


def _option_value(
    spec: dict[str, Any],
    value: Any,
    resolved: dict[str, dict[str, Any]],
    member: FakeMember,
    *,
    forged: bool = False,
) -> Any:
    kind = spec["type"]
    name = spec["name"]
    if forged and kind not in (USER, CHANNEL, ROLE, MENTIONABLE):
        # A hostile client's value, sent as given: Discord's own client would have
        # refused it, but the bot must not rely on that.
        return value
    if kind in (USER, CHANNEL, ROLE, MENTIONABLE):
        target = value
        guild = member.guild
        if isinstance(value, (int, str)):
            key = int(value)
            target = guild.channels.get(key) or guild.roles.get(key) or guild.members.get(key)
        if isinstance(target, FakeChannel) and kind == CHANNEL:
            types = spec.get("channel_types")
            if types and int(target.type) not in types:
                raise InvalidInvocation(
                    f"option {name!r} does not accept channel type {target.type!r}"
                )
            data = target.payload() | {"permissions": str(member.permissions_in(target))}
            resolved.setdefault("channels", {})[str(target.id)] = data
        elif isinstance(target, FakeRole) and kind in (ROLE, MENTIONABLE):
            resolved.setdefault("roles", {})[str(target.id)] = target.payload()
        elif isinstance(target, FakeMember) and kind in (USER, MENTIONABLE):
            resolved.setdefault("users", {})[str(target.id)] = target.user.payload()
            resolved.setdefault("members", {})[str(target.id)] = target.payload(with_user=False) | {
                "permissions": str(target.base_permissions())
            }
        else:
            raise InvalidInvocation(f"option {name!r} cannot take {value!r}")
        return str(target.id)
    expected: dict[int, type | tuple[type, ...]] = {
        STRING: str,
        INTEGER: int,
        BOOLEAN: bool,
        NUMBER: (int, float),
    }
    if kind in expected and (
        not isinstance(value, expected[kind]) or (kind != BOOLEAN and isinstance(value, bool))
    ):
        raise InvalidInvocation(f"option {name!r} needs a {expected[kind]}, got {value!r}")
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise InvalidInvocation(f"option {name!r}: {value!r} is not one of the declared choices")
    if kind == STRING and not spec.get("min_length", 0) <= len(value) <= spec.get(
        "max_length", 6000
    ):
        raise InvalidInvocation(f"option {name!r}: length outside min/max_length")
    too_low = "min_value" in spec and value < spec["min_value"]
    too_high = "max_value" in spec and value > spec["max_value"]
    if kind in (INTEGER, NUMBER) and (too_low or too_high):
        raise InvalidInvocation(f"option {name!r}: value outside min/max_value")
    return value


def build_command_data(
    server: FakeDiscord,
    member: FakeMember,
    channel: FakeChannel,
    path: list[str],
    options: dict[str, Any],
    *,
    focused: str | None = None,
    forged: bool = False,
) -> dict[str, Any]:
    """The `data` of a CHAT_INPUT interaction, validated against the registered command
    (``forged``: option values are sent as given, without type, choice or range checks)."""
    guild = member.guild
    cmd = find_command(server, guild.id, path[0])
    if cmd is None:
        raise InvalidInvocation(f"no command {path[0]!r} is registered (did the bot sync?)")
    if not may_use(server, member, cmd):
        raise InvalidInvocation(
            f"{member.user.username} cannot see /{path[0]} (default_member_permissions)"
        )
    contexts = cmd.get("contexts")
    if contexts is not None and 0 not in contexts:
        raise InvalidInvocation(f"/{path[0]} is not available in guilds")

    node = cmd
    chain: list[dict[str, Any]] = []
    for part in path[1:]:
        sub = next((o for o in node.get("options", []) if o["name"] == part), None)
        if sub is None or sub["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
            raise InvalidInvocation(f"/{' '.join(path)}: no sub-command {part!r}")
        chain.append(sub)
        node = sub
    specs = {o["name"]: o for o in node.get("options", [])}
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in specs.values()):
        raise InvalidInvocation(f"/{' '.join(path)} needs a sub-command")

    resolved: dict[str, dict[str, Any]] = {}
    leaf_options: list[dict[str, Any]] = []
    for name, value in options.items():
        spec = specs.get(name)
        if spec is None:
            raise InvalidInvocation(f"/{' '.join(path)} has no option {name!r}")
        if name == focused:
            if not spec.get("autocomplete"):
                raise InvalidInvocation(f"option {name!r} has no autocomplete")
            leaf_options.append(
                {"name": name, "type": spec["type"], "value": str(value), "focused": True}
            )
            continue
        leaf_options.append(
            {
                "name": name,
                "type": spec["type"],
                "value": _option_value(spec, value, resolved, member, forged=forged),
            }
        )
    if focused is None:
        missing = [n for n, s in specs.items() if s.get("required") and n not in options]
        if missing:
            raise InvalidInvocation(f"/{' '.join(path)}: required option(s) missing: {missing}")

    opts: list[dict[str, Any]] = leaf_options
    for sub in reversed(chain):
        opts = [{"name": sub["name"], "type": sub["type"], "options": opts}]
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": opts}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def find_component(message: dict[str, Any], custom_id: str) -> dict[str, Any] | None:
    def walk(components: list[dict[str, Any]]) -> dict[str, Any] | None:
        for comp in components:
            if comp.get("custom_id") == custom_id:
                return comp
            found = walk(comp.get("components") or [])
            if found is not None:
                return found
        return None

    return walk(message.get("components") or [])


def user_of(target: FakeMember | FakeUser) -> FakeUser:
    return target.user if isinstance(target, FakeMember) else target


# -- modals (https://discord.com/developers/docs/components/reference#text-input) ----

TEXT_INPUT, LABEL, ACTION_ROW = 4, 18, 1
MAX_TEXT_INPUT = 4000


def _text_inputs(
    components: list[dict[str, Any]],
) -> list[tuple[tuple[str | int, ...], dict[str, Any], bool]]:
    """A modal's text inputs: (path in ``components``, the input, whether a Label holds it)."""
    found = []
    for i, comp in enumerate(components):
        if comp.get("type") == ACTION_ROW:
            for j, child in enumerate(comp.get("components") or []):
                found.append(((i, "components", j), child, False))
        elif comp.get("type") == LABEL:
            found.append(((i, "component"), comp.get("component") or {}, True))
    return [f for f in found if f[1].get("type") == TEXT_INPUT]


def modal_errors(data: dict[str, Any]) -> list[FieldError]:
    """What Discord's prose says of a modal and the schema cannot: at most five
    top-level components, unique custom ids, a label on every text input (its own in an
    action row, the Label's otherwise), ``min_length <= max_length`` and a prefilled
    ``value`` within them."""
    errors: list[FieldError] = []
    components = data.get("components") or []
    if len(components) > 5:
        errors.append((("components",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."))
    seen: set[str] = set()
    for path, text_input, labelled in _text_inputs(components):
        where = ("components", *path)
        custom_id = text_input.get("custom_id")
        if custom_id in seen:
            errors.append(((*where, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Duplicate"))
        seen.add(custom_id)
        if labelled == bool(text_input.get("label")):
            errors.append(
                ((*where, "label"), "COMPONENT_LABEL_INVALID", "A label is required here once")
            )
        low = text_input.get("min_length") or 0
        high = text_input.get("max_length") or MAX_TEXT_INPUT
        value = text_input.get("value") or ""
        if low > high or (value and not low <= len(value) <= high):
            errors.append(
                ((*where, "value"), "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high}")
            )
    return errors


def modal_submit_data(modal: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The ``data`` of the MODAL_SUBMIT Discord sends when a user submits ``modal`` (a
    type 9 callback's data) having typed ``values`` by custom id; inputs not typed in
    keep their prefilled value. Raises :class:`InvalidInvocation` for what Discord's
    client would not let a user submit (an unknown input, a required one left empty, a
    value outside its length limits)."""
    inputs = {i["custom_id"]: i for _, i, _ in _text_inputs(modal["components"])}
    unknown = set(values) - set(inputs)
    if unknown:
        raise InvalidInvocation(f"the modal has no text input {sorted(unknown)}")
    submitted: dict[str, dict[str, Any]] = {}
    for custom_id, text_input in inputs.items():
        value = values.get(custom_id, text_input.get("value") or "")
        low = text_input.get("min_length") or 0
        high = text_input.get("max_length") or MAX_TEXT_INPUT
        if text_input.get("required", True) and not value:
            raise InvalidInvocation(f"text input {custom_id!r} is required")
        if value and not low <= len(value) <= high:
            raise InvalidInvocation(f"text input {custom_id!r}: length outside {low}..{high}")
        submitted[custom_id] = {"type": TEXT_INPUT, "custom_id": custom_id, "value": value}
    components: list[dict[str, Any]] = []
    for comp in modal["components"]:
        if comp.get("type") == ACTION_ROW:
            row = [
                submitted[c["custom_id"]] for c in comp["components"] if c["custom_id"] in submitted
            ]
            components.append({"type": ACTION_ROW, "components": row})
        elif comp.get("type") == LABEL and comp["component"].get("custom_id") in submitted:
            components.append(
                {"type": LABEL, "component": submitted[comp["component"]["custom_id"]]}
            )
    return {"custom_id": modal["custom_id"], "components": components}
