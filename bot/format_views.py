"""The Discord side of ``/newsadmin format``: the form, its preview, Save and Cancel.

:class:`FormatModal` holds a subscription's format in five text inputs (Discord's most
for a modal); a submitted format is parsed by :func:`bot.formats.parse_format` and
handed to ``show`` (the cog's preview), or refused with the place and a suggestion and
an "Edit again" button that reopens the form with what was typed. :class:`SaveOrCancel`
is the preview's buttons: nothing changes until Save.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.articles.text import clip
from bot.formats import FIELDS, Format, FormatError, parse_format
from bot.interactions import APOLOGY, Expiring, send_private

log = logging.getLogger(__name__)

#: Seconds the form and the preview's buttons stay usable (under the 15 minutes an
#: interaction token lives, so the preview can still be edited when they expire).
TIMEOUT = 600.0
#: A modal's title is at most 45 characters.
_MAX_MODAL_TITLE = 45

_HINTS = {
    "content": "Above the embed, e.g. {{mention}} {{title}}. Empty: no text.",
    "title": "The embed's headline (links to the article), e.g. {{title}}",
    "description": "e.g. {{takeaways}}, {{takeaways:3}}, {{summary}}, {{author}}, {{date}}",
    "footer": "Plain text, e.g. {{site}} · {{categories}} · Tags: {{tags}}",
    "switches": "embed: on/off, image: on/off, footer: on/off",
}
_LONG = {"content", "description"}

#: What ``show`` is: answer the submit with a preview of the format.
Show = Callable[[discord.Interaction, Format], Awaitable[None]]


class FormatModal(discord.ui.Modal):
    """The format form, prefilled with ``texts`` (see :func:`bot.formats.format_texts`)."""

    def __init__(self, channel_name: str, texts: dict[str, str], show: Show) -> None:
        super().__init__(
            title=clip(f"Post format for #{channel_name}", _MAX_MODAL_TITLE), timeout=TIMEOUT
        )
        self.channel_name = channel_name
        self.show = show
        self.inputs: dict[str, discord.ui.TextInput[FormatModal]] = {}
        for key, label, longest in FIELDS:
            text_input: discord.ui.TextInput[FormatModal] = discord.ui.TextInput(
                custom_id=f"format:{key}",
                style=discord.TextStyle.paragraph if key in _LONG else discord.TextStyle.short,
                default=texts[key][:longest],
                required=False,
                max_length=longest,
            )
            self.inputs[key] = text_input
            self.add_item(
                discord.ui.Label(text=label, description=_HINTS[key], component=text_input)
            )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Parse the format: a preview when it is good, the problem when not."""
        texts = {key: text_input.value for key, text_input in self.inputs.items()}
        try:
            fmt = parse_format(**texts)
        except FormatError as error:
            retry = EditAgain(interaction.user.id, self.channel_name, texts, self.show)
            await interaction.response.send_message(
                f"Not saved. {error}", view=retry, ephemeral=True
            )
            retry.editor = interaction.edit_original_response
            return
        await self.show(interaction, fmt)

    async def on_error(  # type: ignore[override]  # discord.py types Modal.on_error so
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        """A failed preview: log it and tell the moderator."""
        log.error("showing a format preview failed", exc_info=error)
        await send_private(interaction, APOLOGY)


class _Owned(Expiring):
    """Buttons only the moderator who opened the form may press; greyed out after
    :data:`TIMEOUT`."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(TIMEOUT)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id


class EditAgain(_Owned):
    """Reopens the form with what was typed, after a refused format."""

    def __init__(self, owner_id: int, channel_name: str, texts: dict[str, str], show: Show) -> None:
        super().__init__(owner_id)
        self.channel_name = channel_name
        self.texts = texts
        self.show = show

    @discord.ui.button(
        label="Edit again", style=discord.ButtonStyle.primary, custom_id="format:again"
    )
    async def again(
        self, interaction: discord.Interaction, _: discord.ui.Button[EditAgain]
    ) -> None:
        """Open the form again."""
        await interaction.response.send_modal(FormatModal(self.channel_name, self.texts, self.show))


class SaveOrCancel(_Owned):
    """The preview's buttons: ``save`` stores the format and returns what to say."""

    def __init__(self, owner_id: int, save: Callable[[], Awaitable[str]], cancelled: str) -> None:
        super().__init__(owner_id)
        self.save_format = save
        self.cancelled = cancelled

    @discord.ui.button(label="Save", style=discord.ButtonStyle.success, custom_id="format:save")
    async def save(
        self, interaction: discord.Interaction, _: discord.ui.Button[SaveOrCancel]
    ) -> None:
        """Store the format; the preview becomes the outcome."""
        self.stop()
        text = await self.save_format()
        await interaction.response.edit_message(content=text, embeds=[], view=None)

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, custom_id="format:cancel"
    )
    async def cancel(
        self, interaction: discord.Interaction, _: discord.ui.Button[SaveOrCancel]
    ) -> None:
        """Leave the format as it was."""
        self.stop()
        await interaction.response.edit_message(content=self.cancelled, embeds=[], view=None)
