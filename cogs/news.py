"""``/news``: article lookups for everyone."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles.text import clip
from bot.client import (
    APOLOGY,
    PUBLIC_THINKING,
    UserFacingError,
    drop_public_thinking,
    send_private,
)
from bot.lookups import (
    MAX_CHOICE_NAME,
    MAX_CHOICES,
    LazyPages,
    nothing_found,
    rank_choices,
    result_pages,
    tag_as_written,
    tag_pages,
)

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

# Answer directly when the work is this quick; otherwise defer ("thinking...") first so
# Discord's 3-second window is never missed.
DEFER_AFTER = 1.5
# Seconds after the last page turn that a list's buttons stay live. Kept under the
# 15 minutes an interaction token lives, so greying the buttons out can still edit.
PAGER_TIMEOUT = 600.0
SEARCH_LIMIT = 50
# Article ids are SQLite integers: a longer number can only be a headline.
_MAX_ID_DIGITS = 18

Page = Sequence[discord.Embed]
# What work may also return (other cogs do): one embed per page, and a text shown with them.
EmbedsAndText = tuple[Sequence[discord.Embed], str | None]
# Edits the message a Pager is on (its buttons, its page).
Editor = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Answer:
    """What a command shows: ``pages`` of embeds (buttons turn them) and/or a ``text``;
    ``private`` ones only the asker sees."""

    pages: Sequence[Page] = ()
    text: str | None = None
    private: bool = False


class Pager(discord.ui.View):
    """Prev/next buttons over pre-rendered pages; only the person who asked can turn them."""

    def __init__(self, pages: Sequence[Page], owner_id: int) -> None:
        super().__init__(timeout=PAGER_TIMEOUT)
        self.pages = pages  # rendered as they are turned to (see bot.lookups.LazyPages)
        self.owner_id = owner_id
        self.index = 0
        # Edits the paged message when the buttons time out. Interaction tokens live 15
        # minutes and each page turn restarts the timeout, so after a turn this is the
        # turn's own interaction (whose @original is the paged message).
        self.editor: Editor | None = None
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

    async def on_timeout(self) -> None:
        """Grey the buttons out so an old list does not look clickable."""
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.editor is not None:
            # The message may be gone meanwhile: then there is nothing to tidy.
            with contextlib.suppress(discord.HTTPException):
                await self.editor(view=self)

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
    """Show what ``work`` returns, deferring first if it takes more than DEFER_AFTER.

    ``work`` returns an :class:`Answer` or ``(embeds, text)`` (one embed per page).
    Several pages get a :class:`Pager`. ``ephemeral`` makes the answer (and any
    "thinking...") private; an ``Answer(private=True)`` is private whatever came before.
    Exceptions propagate to the tree's error handler.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
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
    if not answer.pages:
        if private:
            await send_private(interaction, answer.text or "Nothing to show.")
        else:
            await _send(interaction, private=False, content=answer.text or "Nothing to show.")
        return
    kwargs: dict[str, Any] = {"embeds": list(answer.pages[0])}
    if answer.text:
        kwargs["content"] = answer.text
    view = Pager(answer.pages, interaction.user.id) if len(answer.pages) > 1 else None
    if view is not None:
        kwargs["view"] = view
    editor = await _send(interaction, private=private, **kwargs)
    if view is not None:
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


CogT = TypeVar("CogT", bound=commands.Cog)
Choices = list[app_commands.Choice[str]]


def quiet_autocomplete(
    func: Callable[[CogT, discord.Interaction, str], Coroutine[Any, Any, Choices]],
) -> Callable[[CogT, discord.Interaction, str], Coroutine[Any, Any, Choices]]:
    """Offer no choices, rather than no answer, when building them fails.

    discord.py logs and drops an autocomplete error without answering Discord, so the
    user's client shows "Loading options failed"; an empty list is the polite answer.
    """

    @functools.wraps(func)
    async def wrapper(self: CogT, interaction: discord.Interaction, current: str) -> Choices:
        try:
            return await func(self, interaction, current)
        except Exception:
            log.exception("autocomplete for %r failed", current)
            return []

    return wrapper


# Lookups are for the members of servers the bot is in, not for DMs with the bot.
@app_commands.allowed_installs(guilds=True, users=False)
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
class News(commands.GroupCog, group_name="news", group_description="Look up articles"):
    """Lookups anyone can use."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        super().__init__()

    async def _known_tags(self) -> list[str]:
        return [tag for tag, _ in await self.bot.store.tags()]

    @app_commands.command(name="latest", description="The newest articles, optionally with a tag")
    @app_commands.describe(tag="Only articles with this tag", count="How many (1-25, default 5)")
    async def latest(
        self,
        interaction: discord.Interaction,
        tag: str | None = None,
        count: app_commands.Range[int, 1, 25] = 5,
    ) -> None:
        """The newest published articles, optionally only those with a tag."""

        async def work() -> Answer:
            found = await self.bot.store.latest(tag, count)
            if not found:
                known = await self._known_tags()
                return Answer(
                    text=nothing_found(query=None, tag=tag, known_tags=known), private=True
                )
            title = "Latest articles"
            if tag:
                title += f" tagged {tag_as_written(tag, found)}"
            return Answer(embed_pages(result_pages(title, found)))

        await reply(interaction, work())

    @app_commands.command(name="search", description="Search titles, takeaways and descriptions")
    @app_commands.describe(query="Words to look for", tag="Only articles with this tag")
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 200],
        tag: str | None = None,
    ) -> None:
        """Full-text search over published articles, best matches first."""

        async def work() -> Answer:
            found = await self.bot.store.search(query, tag, SEARCH_LIMIT)
            if not found:
                known = await self._known_tags()
                return Answer(
                    text=nothing_found(query=query, tag=tag, known_tags=known), private=True
                )
            title = f"Results for “{clip(' '.join(query.split()), 200)}”"
            if tag:
                title += f" tagged {tag_as_written(tag, found)}"
            return Answer(embed_pages(result_pages(title, found)))

        await reply(interaction, work())

    @app_commands.command(name="tags", description="The tags in use, with article counts")
    async def tags(self, interaction: discord.Interaction) -> None:
        """Every tag on a published article, most used first."""

        async def work() -> Answer:
            found = await self.bot.store.tags()
            if not found:
                return Answer(text="No published article carries a tag yet.", private=True)
            return Answer(embed_pages(tag_pages(found)))

        await reply(interaction, work())

    @app_commands.command(name="show", description="One article as its full summary post")
    @app_commands.describe(article="Start typing a headline")
    async def show(self, interaction: discord.Interaction, article: str) -> None:
        """Show one article's summary post."""

        async def work() -> Answer:
            found = None
            if article.isdigit() and len(article) <= _MAX_ID_DIGITS:
                found = await self.bot.store.get(int(article))
            if found is None or found.status != "published":
                matches = await self.bot.store.find_articles(article, 1)
                found = matches[0] if matches else None
            if found is None:
                raise UserFacingError(
                    "No published article matches that. Pick one from the list while typing."
                )
            post = [discord.Embed.from_dict(d) for d in found.message.get("embeds", [])]
            return Answer([post])

        await reply(interaction, work())

    @latest.autocomplete("tag")
    @search.autocomplete("tag")
    @quiet_autocomplete
    async def tag_autocomplete(self, interaction: discord.Interaction, current: str) -> Choices:
        """Tags in use: prefix matches first, then substring matches."""
        names = [name for name in await self._known_tags() if name.strip()]
        return [
            app_commands.Choice(name=clip(name, MAX_CHOICE_NAME), value=name[:MAX_CHOICE_NAME])
            for name in rank_choices(current, names)
        ]

    @show.autocomplete("article")
    @quiet_autocomplete
    async def article_autocomplete(self, interaction: discord.Interaction, current: str) -> Choices:
        """Published headlines: prefix matches first, then substring matches."""
        found = await self.bot.store.find_articles(current, MAX_CHOICES)
        return [
            app_commands.Choice(
                name=clip(a.title, MAX_CHOICE_NAME) or "(untitled)", value=str(a.id)
            )
            for a in found
        ]


async def setup(bot: NewsBot) -> None:
    """Load the ``/news`` commands."""
    await bot.add_cog(News(bot))
