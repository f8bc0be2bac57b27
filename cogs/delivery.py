"""Delivery as an extension: creates the deliverer, runs it while loaded.

The deliverer is attached as ``bot.deliverer`` (the admin commands call its
``backfill``, ``test_post`` and ``wake``, in every process) and runs its dispatcher
while the process leads (:mod:`bot.leader`) and becomes the announcer's hook
(``bot.deliver``), so new articles are fanned out to subscribed channels.

On PostgreSQL (many processes) it also publishes the facts of this process's servers
for the leader (:mod:`bot.delivery.facts`) whenever the gateway says they may have
changed: a server becoming available or joined, its channels, threads, roles, the
bot's own member, the server itself (within :data:`~bot.delivery.facts.DELAY`), and
its moderators' ``/newsadmin`` commands (at once).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery import Deliverer
from bot.delivery.facts import ServerFacts
from bot.service import Deliver

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)


class Delivery(commands.Cog):
    """Posts new articles in subscribed channels (no commands of its own)."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.deliverer = Deliverer(
            bot,
            bot.store,
            post_name=bot.settings.post_name,
            post_avatar_url=bot.settings.post_avatar_url,
        )
        self._previous: Deliver | None = None
        self.facts: ServerFacts | None = None

    async def cog_load(self) -> None:
        """Attach the deliverer; the client starts it while this process leads."""
        self._previous = self.bot.deliver
        self.bot.deliverer = self.deliverer
        self.bot.deliver = self.deliverer.announce
        if self.bot.store.engine == "postgresql":
            self.facts = self.deliverer.facts = ServerFacts(self.bot, self.bot.store)

    async def cog_unload(self) -> None:
        """Stop delivering; pending posts stay in the outbox for the next start."""
        await self.deliverer.close()
        if self.facts is not None:
            await self.facts.close()
        if self.bot.deliver == self.deliverer.announce and self._previous is not None:
            self.bot.deliver = self._previous
        if getattr(self.bot, "deliverer", None) is self.deliverer:
            del self.bot.deliverer

    # -- what may change a server's facts ------------------------------------------------

    def _touch(self, guild_id: int) -> None:
        if self.facts is not None:
            self.facts.touch([guild_id])

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """A server loaded (a shard's READY) or came back from an outage."""
        self._touch(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """The bot joined a server."""
        self._touch(guild.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left a server (the admin commands forget its facts with its setup)."""
        if self.facts is not None:
            self.facts.forget(guild.id)

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        """The server changed (its system channel, say)."""
        self._touch(after.id)

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        """A channel was made (a notice may go there)."""
        self._touch(channel.guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        """A channel changed: its kind, permissions, forum tags, position."""
        self._touch(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A channel was deleted."""
        self._touch(channel.guild.id)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        """A thread changed (archived, locked)."""
        self._touch(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_create(self, role: discord.Role) -> None:
        """A role was made."""
        self._touch(role.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        """A role changed: its permissions, whether it may be mentioned."""
        self._touch(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        """A role was deleted."""
        self._touch(role.guild.id)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """The bot's own roles changed (the only member the bot hears of)."""
        if self.bot.user is not None and after.id == self.bot.user.id:
            self._touch(after.guild.id)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self,
        interaction: discord.Interaction,
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """A moderator's command: subscriptions, their roles or the settings may have
        changed; published at once (an article may follow within the second)."""
        if (
            self.facts is not None
            and interaction.guild_id is not None
            and command.qualified_name.startswith("newsadmin ")
        ):
            try:
                await self.facts.publish(interaction.guild_id)
            except Exception as exc:
                log.warning(
                    "could not publish the facts of guild %d now (%r); trying again shortly",
                    interaction.guild_id,
                    exc,
                )
                self.facts.touch([interaction.guild_id])


async def setup(bot: NewsBot) -> None:
    """Load the delivery extension."""
    await bot.add_cog(Delivery(bot))
