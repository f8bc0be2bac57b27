"""``/news``: article lookups for everyone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles.text import clip
from bot.interactions import (
    Answer,
    Choices,
    UserFacingError,
    embed_pages,
    quiet_autocomplete,
    reply,
)
from bot.lookups import (
    MAX_CHOICE_NAME,
    MAX_CHOICES,
    article_id,
    category_as_written,
    nothing_found,
    rank_choices,
    result_pages,
    tag_as_written,
    tag_pages,
)
from bot.store import ArticleStatus, StoredArticle

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

SEARCH_LIMIT = 50


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

    async def _nothing_found(
        self, query: str | None, tag: str | None, category: str | None
    ) -> Answer:
        known = await self._known_tags()
        categories = [c for c, _ in await self.bot.store.categories()] if category else []
        text = nothing_found(
            query=query, tag=tag, known_tags=known, category=category, known_categories=categories
        )
        return Answer(text=text, private=True)

    @app_commands.command(name="latest", description="The newest articles, optionally with a tag")
    @app_commands.describe(
        tag="Only articles with this tag",
        category="Only articles in this category",
        count="How many (1-25, default 5)",
    )
    async def latest(
        self,
        interaction: discord.Interaction,
        tag: str | None = None,
        category: str | None = None,
        count: app_commands.Range[int, 1, 25] = 5,
    ) -> None:
        """The newest published articles, optionally only those with a tag or category."""

        async def work() -> Answer:
            found = await self.bot.store.latest(tag, count, category=category)
            if not found:
                return await self._nothing_found(None, tag, category)
            title = "Latest articles" + _filtered(tag, category, found)
            return Answer(embed_pages(result_pages(title, found)))

        await reply(interaction, work())

    @app_commands.command(name="search", description="Search titles, takeaways and descriptions")
    @app_commands.describe(
        query="Words to look for",
        tag="Only articles with this tag",
        category="Only articles in this category",
    )
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 200],
        tag: str | None = None,
        category: str | None = None,
    ) -> None:
        """Full-text search over published articles, best matches first."""

        async def work() -> Answer:
            found = await self.bot.store.search(query, tag, SEARCH_LIMIT, category=category)
            if not found:
                return await self._nothing_found(query, tag, category)
            title = f"Results for “{clip(' '.join(query.split()), 200)}”"
            title += _filtered(tag, category, found)
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
            wanted = article_id(article)
            if wanted is not None:
                found = await self.bot.store.get(wanted)
            if found is None or found.status != ArticleStatus.PUBLISHED:
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

    @latest.autocomplete("category")
    @search.autocomplete("category")
    @quiet_autocomplete
    async def category_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> Choices:
        """Categories in use (apart from tags): prefix matches first, then substring."""
        names = [name for name, _ in await self.bot.store.categories() if name.strip()]
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


def _filtered(tag: str | None, category: str | None, found: Sequence[StoredArticle]) -> str:
    """`` tagged Energy in Politics``: what a result list's title adds for its filters."""
    text = f" tagged {tag_as_written(tag, found)}" if tag else ""
    return text + (f" in {category_as_written(category, found)}" if category else "")


async def setup(bot: NewsBot) -> None:
    """Load the ``/news`` commands."""
    await bot.add_cog(News(bot))
