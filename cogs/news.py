"""``/news``: article lookups for everyone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles.text import clip
from bot.client import UserFacingError
from bot.lookups import (
    MAX_CHOICE_NAME,
    nothing_found,
    rank_choices,
    result_pages,
    tag_pages,
)

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

# Answer directly when the work is this quick; otherwise defer ("thinking...") first so
# Discord's 3-second window is never missed.
DEFER_AFTER = 1.5
PAGER_TIMEOUT = 600.0
SEARCH_LIMIT = 50


class Pager(discord.ui.View):
    """Prev/next buttons over pre-rendered pages; only the person who asked can turn them."""

    def __init__(self, pages: Sequence[discord.Embed], owner_id: int) -> None:
        super().__init__(timeout=PAGER_TIMEOUT)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
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
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary, custom_id="pager:prev")
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="1 / 1", style=discord.ButtonStyle.secondary, disabled=True)
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
        if self.message is not None:
            # The message may be gone or the token expired: then there is nothing to tidy.
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)


async def reply(
    interaction: discord.Interaction,
    work: Awaitable[tuple[list[discord.Embed], str | None]],
    *,
    ephemeral: bool = False,
) -> None:
    """Answer with the embeds (paged when several) or a text; defer if the work is slow."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    deferred = not done
    if deferred:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    pages, text = await task
    kwargs: dict[str, Any] = {}
    view: Pager | None = None
    if pages:
        kwargs["embed"] = pages[0]
        if len(pages) > 1:
            view = Pager(pages, interaction.user.id)
            kwargs["view"] = view
    if text:
        kwargs["content"] = text
    if deferred:
        message = await interaction.followup.send(wait=True, ephemeral=ephemeral, **kwargs)
        if view is not None:
            view.message = message
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        if view is not None:
            view.message = await interaction.original_response()


def embeds(dicts: Sequence[dict[str, Any]]) -> list[discord.Embed]:
    """Embed dicts (as rendered by ``bot``) to discord.py objects."""
    return [discord.Embed.from_dict(d) for d in dicts]


@app_commands.allowed_installs(guilds=True, users=False)
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

        async def work() -> tuple[list[discord.Embed], str | None]:
            found = await self.bot.store.latest(tag, count)
            if not found:
                return [], nothing_found("yet", tag=tag, known_tags=await self._known_tags())
            title = f"Latest articles tagged {tag}" if tag else "Latest articles"
            return embeds(result_pages(title, found)), None

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

        async def work() -> tuple[list[discord.Embed], str | None]:
            found = await self.bot.store.search(query, tag, SEARCH_LIMIT)
            if not found:
                what = f"matching “{clip(query, 80)}”"
                return [], nothing_found(what, tag=tag, known_tags=await self._known_tags())
            return embeds(result_pages(f"Results for “{clip(query, 200)}”", found)), None

        await reply(interaction, work())

    @app_commands.command(name="tags", description="The tags in use, with article counts")
    async def tags(self, interaction: discord.Interaction) -> None:
        """Every tag on a published article, most used first."""

        async def work() -> tuple[list[discord.Embed], str | None]:
            found = await self.bot.store.tags()
            if not found:
                return [], "No published articles carry tags yet."
            return embeds(tag_pages(found)), None

        await reply(interaction, work())

    @app_commands.command(name="show", description="One article as its full summary post")
    @app_commands.describe(article="Start typing a headline")
    async def show(self, interaction: discord.Interaction, article: str) -> None:
        """Show one article's summary post."""

        async def work() -> tuple[list[discord.Embed], str | None]:
            found = await self.bot.store.get(int(article)) if article.isdigit() else None
            if found is None or found.status != "published":
                matches = await self.bot.store.find_articles(article, 1)
                found = matches[0] if matches else None
            if found is None:
                raise UserFacingError(
                    "No published article matches that. Pick one from the list while typing."
                )
            return embeds(found.message.get("embeds", [])), None

        await reply(interaction, work())

    @latest.autocomplete("tag")
    @search.autocomplete("tag")
    async def tag_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Tags in use: prefix matches first, then substring matches."""
        names = await self._known_tags()
        return [
            app_commands.Choice(name=clip(name, MAX_CHOICE_NAME), value=name[:100])
            for name in rank_choices(current, names)
        ]

    @show.autocomplete("article")
    async def article_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Published headlines: prefix matches first, then substring matches."""
        found = await self.bot.store.find_articles(current, 25)
        return [
            app_commands.Choice(name=clip(a.title, MAX_CHOICE_NAME), value=str(a.id)) for a in found
        ]


async def setup(bot: NewsBot) -> None:
    """Load the ``/news`` commands."""
    await bot.add_cog(News(bot))
