"""Delivery as an extension: creates the deliverer, runs it while loaded.

The deliverer is attached as ``bot.deliverer`` (the admin commands call its
``backfill``, ``test_post`` and ``wake``, in every process) and runs its dispatcher
while the process leads (:mod:`bot.leader`) and becomes the announcer's hook
(``bot.deliver``), so new articles are fanned out to subscribed channels.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from bot.delivery import Deliverer
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

    async def cog_load(self) -> None:
        """Attach the deliverer; the client starts it while this process leads."""
        self._previous = self.bot.deliver
        self.bot.deliverer = self.deliverer
        self.bot.deliver = self.deliverer.announce

    async def cog_unload(self) -> None:
        """Stop delivering; pending posts stay in the outbox for the next start."""
        await self.deliverer.close()
        if self.bot.deliver == self.deliverer.announce and self._previous is not None:
            self.bot.deliver = self._previous
        if getattr(self.bot, "deliverer", None) is self.deliverer:
            del self.bot.deliverer


async def setup(bot: NewsBot) -> None:
    """Load the delivery extension."""
    await bot.add_cog(Delivery(bot))
