"""Answering slash commands, the same way in every cog.

:func:`reply` answers with what a command's work returns, deferring first when the work
is slow; :class:`Pager` turns the pages of a long answer with ◀ ▶ buttons;
:func:`send_private` answers privately whatever happened before (the tree's error
handler uses it); a :class:`UserFacingError` carries an answer for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.lookups import LazyPages

log = logging.getLogger(__name__)

# Answer directly when the work is this quick; otherwise defer ("thinking...") first so
# Discord's 3-second window is never missed.
DEFER_AFTER = 1.5
# Discord's window counts from the interaction's creation, and checks and transformers
# (which may read the store) run before a command's work starts: defer by this many
# seconds after the creation at the latest.
DEFER_BY = 2.5
# Seconds after the last page turn that a list's buttons stay live. Kept under the
# 15 minutes an interaction token lives, so greying the buttons out can still edit.
PAGER_TIMEOUT = 600.0

APOLOGY = "Something went wrong on our side. It has been logged; please try again."
# `interaction.extras` key: set while a public "thinking..." message (a non-ephemeral
# defer) waits for its first follow-up.
PUBLIC_THINKING = "newsbot.public_thinking"


class UserFacingError(app_commands.AppCommandError):
    """An expected problem whose message is shown to the user as is.

    An ``AppCommandError``, so discord.py hands it to the tree's error handler unwrapped,
    whether a command or a transformer raised it.
    """


async def drop_public_thinking(interaction: discord.Interaction) -> None:
    """Delete a public "thinking..." message still waiting for its first follow-up.

    That follow-up would fill it and keep the defer's visibility, so a private answer
    after a public defer needs it gone first.
    """
    if interaction.extras.pop(PUBLIC_THINKING, False):
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()


async def send_private(interaction: discord.Interaction, message: str) -> None:
    """Answer ephemerally, whether or not the interaction was already answered."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        await drop_public_thinking(interaction)
        await interaction.followup.send(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver a private answer to an interaction", exc_info=True)


Page = Sequence[discord.Embed]
# What work may also return instead of an Answer: one embed per page, and a text.
EmbedsAndText = tuple[Sequence[discord.Embed], str | None]
# Edits the message a Pager is on (its buttons, its page).
Editor = Callable[..., Awaitable[Any]]


_NUMBERS = (discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number)


def check_options(interaction: discord.Interaction) -> None:
    """Refuse an option value outside what its command declares (``Range``, the type).

    Discord's own client enforces the declared ranges, but discord.py passes whatever
    arrives, and a forged interaction can carry ``count=0`` or ``2**63``: refused here,
    once for every command, with an answer naming the option and what it takes.
    """
    command = interaction.command
    if interaction.type is not discord.InteractionType.application_command or not isinstance(
        command, app_commands.Command
    ):
        return
    given = interaction.namespace
    for param in command.parameters:
        name = param.display_name
        if name not in given:
            continue
        value = given[name]
        low, high = param.min_value, param.max_value
        if param.type is discord.AppCommandOptionType.string:
            if not (isinstance(value, str) and _within(len(value), low, high)):
                raise UserFacingError(f"**{name}** must be text of {_span(low, high)} characters.")
        elif param.type in _NUMBERS:
            whole = param.type is discord.AppCommandOptionType.integer
            number = isinstance(value, int if whole else int | float)
            if not (number and not isinstance(value, bool) and _within(value, low, high)):
                kind = "a whole number" if whole else "a number"
                raise UserFacingError(f"**{name}** must be {kind}, {_span(low, high)}.")


def _within(value: float, low: float | None, high: float | None) -> bool:
    """Whether ``value`` lies between the bounds that are set."""
    return (low is None or value >= low) and (high is None or value <= high)


def _span(low: float | None, high: float | None) -> str:
    """``1 to 25``, ``at least 1``, ``at most 25`` or ``any number of``."""
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return "any number of"


@dataclass(frozen=True)
class Answer:
    """What a command shows: ``pages`` of embeds (buttons turn them, from page index
    ``start``) and/or a ``text``; ``private`` ones only the asker sees. ``view``: the
    buttons of a one-page answer."""

    pages: Sequence[Page] = ()
    text: str | None = None
    private: bool = False
    start: int = 0
    view: discord.ui.View | None = None


class Expiring(discord.ui.View):
    """Buttons that grey out when they time out, so an old answer does not look
    clickable; :func:`reply` sets ``editor``, which edits their message."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        # Interaction tokens live 15 minutes and each click restarts the timeout, so
        # after a click this is the click's own interaction (whose @original is the
        # message with the buttons).
        self.editor: Editor | None = None

    async def on_timeout(self) -> None:
        """Grey the buttons out."""
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.editor is not None:
            # The message may be gone meanwhile: then there is nothing to tidy.
            with contextlib.suppress(discord.HTTPException):
                await self.editor(view=self)


class Pager(Expiring):
    """Prev/next buttons over pre-rendered pages, showing page index ``start`` first;
    only the person who asked can turn them."""

    def __init__(self, pages: Sequence[Page], owner_id: int, start: int = 0) -> None:
        super().__init__(PAGER_TIMEOUT)
        self.pages = pages  # rendered as they are turned to (see bot.lookups.LazyPages)
        self.owner_id = owner_id
        self.index = start
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.position.label = f"{self.index + 1} / {len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself to browse.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embeds=list(self.pages[self.index]), view=self)
        self.editor = interaction.edit_original_response

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary, custom_id="pager:prev")
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(
        label="1 / 1", style=discord.ButtonStyle.secondary, custom_id="pager:at", disabled=True
    )
    async def position(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await interaction.response.defer()  # a label, never clickable

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary, custom_id="pager:next")
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.index + 1)

    async def on_error(
        self,
        interaction: discord.Interaction,
        error: Exception,
        item: discord.ui.Item[Any],
    ) -> None:
        """A failed page turn: log it and tell the clicker, like a failed command."""
        log.error("turning a page failed", exc_info=error)
        await send_private(interaction, APOLOGY)


async def reply(
    interaction: discord.Interaction,
    work: Awaitable[Answer | EmbedsAndText],
    *,
    ephemeral: bool = False,
) -> None:
    """Show what ``work`` returns, deferring first if it takes more than DEFER_AFTER
    (or would end past DEFER_BY after the interaction was created).

    ``work`` returns an :class:`Answer` or ``(embeds, text)`` (one embed per page).
    Several pages get a :class:`Pager`. ``ephemeral`` makes the answer (and any
    "thinking...") private; an ``Answer(private=True)`` is private whatever came before.
    Exceptions propagate to the tree's error handler.
    """
    task = asyncio.ensure_future(work)
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    try:
        done, _ = await asyncio.wait({task}, timeout=max(0.0, min(DEFER_AFTER, DEFER_BY - age)))
        if not done:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            if not ephemeral:
                interaction.extras[PUBLIC_THINKING] = True
        result = await task
    finally:
        task.cancel()  # only does something when deferring failed or we were cancelled
    if isinstance(result, Answer):
        answer = result
    else:
        embeds, text = result
        answer = Answer([[embed] for embed in embeds], text)
    private = ephemeral or answer.private
    if not answer.pages and answer.view is not None:
        editor = await _send(interaction, private=private, content=answer.text, view=answer.view)
        if isinstance(answer.view, Expiring):
            answer.view.editor = editor
        return
    if not answer.pages:
        if private:
            await send_private(interaction, answer.text or "Nothing to show.")
        else:
            await _send(interaction, private=False, content=answer.text or "Nothing to show.")
        return
    start = max(0, min(answer.start, len(answer.pages) - 1))
    kwargs: dict[str, Any] = {"embeds": list(answer.pages[start])}
    if answer.text:
        kwargs["content"] = answer.text
    view = Pager(answer.pages, interaction.user.id, start) if len(answer.pages) > 1 else answer.view
    if view is not None:
        kwargs["view"] = view
    editor = await _send(interaction, private=private, **kwargs)
    if isinstance(view, Expiring):
        view.editor = editor


async def _send(interaction: discord.Interaction, *, private: bool, **kwargs: Any) -> Editor:
    """Send the answer (the first response, or a follow-up after a defer); returns what
    edits the message it became."""
    if not interaction.response.is_done():
        callback = await interaction.response.send_message(ephemeral=private, **kwargs)
        if isinstance(callback.resource, discord.InteractionMessage):
            return callback.resource.edit
        return interaction.edit_original_response
    if private:
        await drop_public_thinking(interaction)
    message = await interaction.followup.send(wait=True, ephemeral=private, **kwargs)
    interaction.extras.pop(PUBLIC_THINKING, None)
    return message.edit


def embed_pages(dicts: Sequence[dict[str, Any]]) -> LazyPages[Page]:
    """Embed dicts (one per page, as rendered by ``bot.lookups``) to discord.py pages,
    each converted when it is first shown."""
    return LazyPages(len(dicts), lambda index: [discord.Embed.from_dict(dicts[index])])


OwnerT = TypeVar("OwnerT")  # a cog, or a transformer
Choices = list[app_commands.Choice[str]]


def quiet_autocomplete(
    func: Callable[[OwnerT, discord.Interaction, str], Coroutine[Any, Any, Choices]],
) -> Callable[[OwnerT, discord.Interaction, str], Coroutine[Any, Any, Choices]]:
    """Offer no choices, rather than no answer, when building them fails.

    discord.py logs and drops an autocomplete error without answering Discord, so the
    user's client shows "Loading options failed"; an empty list is the polite answer.
    """

    @functools.wraps(func)
    async def wrapper(self: OwnerT, interaction: discord.Interaction, current: str) -> Choices:
        try:
            return await func(self, interaction, current)
        except Exception:
            log.exception("autocomplete for %r failed", current)
            return []

    return wrapper
