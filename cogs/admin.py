"""``/newsadmin``: moderators choose which channels get which articles.

Manage Server is required twice: as the commands' default permission (Discord hides
them from everyone else) and again when a command runs, because a server's admins can
loosen the default in Server Settings > Integrations. Every change is answered
privately and logged with who made it. The cog also forgets subscriptions whose
channel, thread or server is gone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.articles.model import normalise_tag
from bot.articles.text import clip
from bot.interactions import Answer, UserFacingError, reply
from bot.lookups import EMBED_COLOR, MAX_CHOICE_NAME, rank_choices
from bot.permissions import display_name, listed, missing_to_post, place_of
from bot.store.subscriptions import (
    GuildSettings,
    Subscription,
    SubscriptionError,
    split_tags,
)

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

#: Autocomplete answers hold at most 25 choices of at most 100 characters.
MAX_CHOICES = 25
MAX_CHOICE_VALUE = 100
#: ``/newsadmin list``: subscriptions per page, and a page's text budget (Discord allows
#: 6,000 characters of text per embed; the rest is headroom for title and footer).
LIST_PAGE_SIZE = 10
LIST_PAGE_BUDGET = 5000
FIELD_VALUE_LIMIT = 1024

_HEX_COLOR = re.compile(r"^(?:#|0x)?([0-9a-f]{6}|[0-9a-f]{3})$", re.IGNORECASE)
_NO_COLOR = frozenset({"none", "default", "reset"})
_CHANNEL_REF = re.compile(r"^(?:<#(\d+)>|(\d+))$")

# Where articles can be posted: text and announcement channels, forum channels (each
# article a post of its own) and threads. Not media channels, which are made for image
# and video posts (nor does Discord's OpenAPI document list them for channel options).
Postable = discord.TextChannel | discord.ForumChannel | discord.Thread
POSTABLE_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
]
PickedChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class PostableChannel(app_commands.Transformer):
    """A channel option offering exactly :data:`POSTABLE_TYPES` in Discord's picker.

    The value stays the interaction's raw channel: the command looks it up in its own
    server's cache, so a channel of another server is never resolved.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(POSTABLE_TYPES)

    async def transform(self, interaction: discord.Interaction, value: object, /) -> PickedChannel:
        if not isinstance(value, PickedChannel):
            raise app_commands.TransformerError(value, self.type, self)
        return value


class Deliverer(Protocol):
    """What ``/newsadmin`` needs from the delivery service (``bot.deliverer``)."""

    def backfill(self, subscription: Subscription, count: int) -> Awaitable[int]:
        """Queue the newest ``count`` matching published articles; returns how many."""
        ...

    def send_test(self, subscription: Subscription) -> Awaitable[str]:
        """Post the latest matching article marked as a test; returns a result line."""
        ...

    def wake(self) -> None:
        """Look for work now (after a resume)."""
        ...


mod_only = app_commands.checks.has_permissions(manage_guild=True)


def missing_permissions(
    channel: Postable, me: discord.Member, mention: discord.Role | None
) -> list[str]:
    """Which permissions the bot lacks to post in ``channel`` (see ``bot.permissions``)."""
    unmentionable = mention is not None and not mention.mentionable
    return missing_to_post(channel, channel.permissions_for(me), unmentionable_role=unmentionable)


def permission_names(channel: Postable, missing: Sequence[str]) -> str:
    """``**Embed Links**`` or ``**Send Messages** and **Embed Links**``, as Discord names them."""
    place = place_of(channel)
    return listed([f"**{display_name(perm, place)}**" for perm in missing])


def parse_color(text: str) -> int | None:
    """``#1e90ff``, ``1e90ff``, ``0x1E90FF`` or ``#abc`` as 0xRRGGBB; ``none`` is None.

    Raises :class:`UserFacingError` for anything else.
    """
    value = text.strip()
    if value.casefold() in _NO_COLOR:
        return None
    match = _HEX_COLOR.match(value)
    if match is None:
        raise UserFacingError(
            f"“{clip(value, 40)}” is not a colour. Use a hex code like `#1e90ff`, "
            "or `none` for the default."
        )
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits, 16)


def color_text(color: int | None) -> str:
    """A colour as moderators type it."""
    return "the default" if color is None else f"`#{color:06X}`"


def _names(tags: Sequence[str]) -> str:
    return ", ".join(f"**{discord.utils.escape_markdown(clip(t, 60))}**" for t in tags)


def describe(subscription: Subscription, *, mention: str | None = None) -> list[str]:
    """The lines that explain a subscription to a moderator."""
    if subscription.tags:
        what = f"New articles tagged {_names(subscription.tags)}"
    else:
        what = "Every new article"
    if subscription.exclude_tags:
        what += f", except those tagged {_names(subscription.exclude_tags)}"
    lines = [what + "."]
    if subscription.mention_role_id is not None:
        lines.append(f"Pings {mention or f'<@&{subscription.mention_role_id}>'}.")
    if subscription.active:
        lines.append("State: active.")
    else:
        since = (
            f" since <t:{int(subscription.paused_at.timestamp())}:R>"
            if subscription.paused_at
            else ""
        )
        lines.append(f"State: **paused**{since}: {subscription.paused_reason}.")
    return lines


def _channel_label(guild: discord.Guild, channel_id: int) -> str:
    channel = guild.get_channel_or_thread(channel_id)
    return f"#{channel.name}" if channel is not None else f"#deleted-channel ({channel_id})"


def list_pages(guild: discord.Guild, subscriptions: Sequence[Subscription]) -> list[discord.Embed]:
    """``/newsadmin list``: one field per subscription, pages within Discord's embed limits."""
    pages: list[list[tuple[str, str]]] = [[]]
    used = 0
    for sub in subscriptions:
        name = clip(_channel_label(guild, sub.channel_id), 256)
        value = clip("\n".join([f"<#{sub.channel_id}>", *describe(sub)]), FIELD_VALUE_LIMIT)
        size = len(name) + len(value)
        if pages[-1] and (len(pages[-1]) >= LIST_PAGE_SIZE or used + size > LIST_PAGE_BUDGET):
            pages.append([])
            used = 0
        pages[-1].append((name, value))
        used += size
    paused = sum(not s.active for s in subscriptions)
    summary = f"{len(subscriptions)} subscribed channel{'s' if len(subscriptions) != 1 else ''}"
    if paused:
        summary += f", {paused} paused"
    embeds = []
    for n, fields in enumerate(pages, start=1):
        embed = discord.Embed(title=clip(f"News subscriptions in {guild.name}", 256))
        embed.colour = discord.Colour(EMBED_COLOR)
        for name, value in fields:
            embed.add_field(name=name, value=value, inline=False)
        footer = f"Page {n} of {len(pages)} · {summary}" if len(pages) > 1 else summary
        if n < len(pages):
            footer += f" · more with /newsadmin list page:{n + 1}"
        embed.set_footer(text=footer)
        embeds.append(embed)
    return embeds


def _guild(interaction: discord.Interaction) -> discord.Guild:
    if interaction.guild is None:
        raise UserFacingError("This command only works in a server.")
    return interaction.guild


def _me(guild: discord.Guild) -> discord.Member:
    if guild.me is None:  # only before the server's data has arrived
        raise UserFacingError("I am still connecting to this server; try again in a moment.")
    return guild.me


def _now() -> datetime:
    return datetime.now(UTC)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
@app_commands.allowed_installs(guilds=True, users=False)
class Admin(
    commands.GroupCog,
    group_name="newsadmin",
    group_description="Choose which channels get which articles (moderators)",
):
    """Moderator configuration: subscriptions and server settings."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def deliverer(self) -> Deliverer | None:
        """The delivery service, once the bot has one."""
        return cast("Deliverer | None", getattr(self.bot, "deliverer", None))

    async def _find(self, guild: discord.Guild, text: str) -> Subscription:
        """This server's subscription named by an autocomplete value, mention, id or name."""
        match = _CHANNEL_REF.match(text.strip())
        found: Subscription | None = None
        if match is not None:
            channel_id = int(match.group(1) or match.group(2))
            found = await self.bot.store.get_subscription(guild.id, channel_id)
        else:
            wanted = text.strip().lstrip("#").casefold()
            for sub in await self.bot.store.subscriptions(guild.id):
                channel = guild.get_channel_or_thread(sub.channel_id)
                if channel is not None and channel.name.casefold() == wanted:
                    found = sub
                    break
        if found is None:
            raise UserFacingError(
                "This server has no subscription for that channel. "
                "`/newsadmin list` shows the subscribed channels."
            )
        return found

    def _check_can_post(
        self, guild: discord.Guild, channel: Postable, mention: discord.Role | None
    ) -> None:
        missing = missing_permissions(channel, _me(guild), mention)
        if missing:
            why = ""
            if "mention_everyone" in missing and mention is not None:
                why = f" ({mention.mention} is not mentionable, so pinging it needs that)"
            plural = len(missing) > 1
            raise UserFacingError(
                f"I can't post in {channel.mention}: I'm missing the "
                f"{permission_names(channel, missing)} permission{'s' if plural else ''} "
                f"there{why}. Give {'them' if plural else 'it'} to me (or my role) in the "
                "channel's settings and try again."
            )

    # -- commands ----------------------------------------------------------------

    @app_commands.command(name="subscribe")
    @app_commands.describe(
        channel="The channel, forum or thread to post in",
        tags="Only articles with any of these tags, comma-separated (default: every article)",
        exclude_tags="Never articles with any of these tags, comma-separated",
        mention="A role to ping with each post",
        backfill="Also post this many recent matching articles now (0-25, default 0)",
    )
    @mod_only
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[PickedChannel, PostableChannel],
        tags: app_commands.Range[str, 1, 1000] | None = None,
        exclude_tags: app_commands.Range[str, 1, 1000] | None = None,
        mention: discord.Role | None = None,
        backfill: app_commands.Range[int, 0, 25] = 0,
    ) -> None:
        """Post new articles in a channel, optionally only some tags; run again to change it."""
        guild = _guild(interaction)
        user = interaction.user

        async def work() -> Answer:
            target = guild.get_channel_or_thread(channel.id)
            if not isinstance(target, Postable):
                # Discord only offers this server's channels; a forged id or a channel
                # the bot cannot see ends here.
                raise UserFacingError(
                    f"I can't see {channel.mention} in this server: check that I may "
                    "view it (a private thread needs me added to it)."
                )
            if mention is not None and guild.get_role(mention.id) is None:
                raise UserFacingError("That role is not in this server.")
            if mention is not None and mention.is_default():
                raise UserFacingError(
                    "Pick a role to ping: @everyone can't be pinged by news posts."
                )
            self._check_can_post(guild, target, mention)
            try:
                sub, created = await self.bot.store.subscribe(
                    guild.id,
                    target.id,
                    tags=split_tags(tags),
                    exclude_tags=split_tags(exclude_tags),
                    mention_role_id=mention.id if mention else None,
                    by_user_id=user.id,
                    now=_now(),
                )
            except SubscriptionError as exc:
                raise UserFacingError(str(exc)) from exc
            log.info(
                "guild %s: %s (%s) %s #%s (%s): tags=%s exclude=%s mention=%s backfill=%d",
                guild.id,
                user,
                user.id,
                "subscribed" if created else "updated the subscription of",
                target.name,
                target.id,
                list(sub.tags),
                list(sub.exclude_tags),
                sub.mention_role_id,
                backfill,
            )
            head = (
                f"Subscribed {target.mention}."
                if created
                else f"Updated the subscription of {target.mention}."
            )
            lines = [head, *describe(sub, mention=mention.mention if mention else None)]
            known = {normalise_tag(t) for t, _ in await self.bot.store.tags()}
            unknown = [t for t in (*sub.tags, *sub.exclude_tags) if normalise_tag(t) not in known]
            if unknown:
                lines.append(
                    f"Note: no published article is tagged {_names(unknown)} yet "
                    "(tags match in any case)."
                )
            if backfill:
                lines.append(await self._backfill(sub, backfill))
            return Answer(text="\n".join(lines))

        await reply(interaction, work(), ephemeral=True)

    async def _backfill(self, subscription: Subscription, count: int) -> str:
        deliverer = self.deliverer
        if deliverer is None:
            return "Recent articles can't be posted now: delivery is not running."
        queued = await deliverer.backfill(subscription, count)
        if queued == 0:
            return "No published article matches yet, so nothing earlier will be posted."
        return f"Posting the {queued} most recent matching article{'s' if queued != 1 else ''}."

    @app_commands.command(name="unsubscribe")
    @app_commands.describe(channel="A subscribed channel (pick from the list)")
    @mod_only
    async def unsubscribe(self, interaction: discord.Interaction, channel: str) -> None:
        """Stop posting articles in a channel and forget its filters."""
        guild = _guild(interaction)
        sub = await self._find(guild, channel)
        if not await self.bot.store.unsubscribe(guild.id, sub.channel_id):
            raise UserFacingError("That subscription was already removed.")
        label = _channel_label(guild, sub.channel_id)
        log.info(
            "guild %s: %s (%s) unsubscribed %s (%s)",
            guild.id,
            interaction.user,
            interaction.user.id,
            label,
            sub.channel_id,
        )
        await interaction.response.send_message(
            f"Unsubscribed <#{sub.channel_id}>: no more articles will be posted there.",
            ephemeral=True,
        )

    @app_commands.command(name="list")
    @app_commands.describe(page="Which page, when there are many (default 1)")
    @mod_only
    async def list_(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1
    ) -> None:
        """This server's subscribed channels, their filters, and whether they are paused."""
        guild = _guild(interaction)
        subs = await self.bot.store.subscriptions(guild.id)
        if not subs:
            await interaction.response.send_message(
                "No channel here gets articles yet: use `/newsadmin subscribe`.", ephemeral=True
            )
            return
        pages = list_pages(guild, subs)
        await interaction.response.send_message(
            embed=pages[min(page, len(pages)) - 1], ephemeral=True
        )

    @app_commands.command(name="pause")
    @app_commands.describe(
        channel="A subscribed channel (pick from the list)",
        reason="Why, for the other moderators (shown in /newsadmin list)",
    )
    @mod_only
    async def pause(
        self,
        interaction: discord.Interaction,
        channel: str,
        reason: app_commands.Range[str, 1, 150] | None = None,
    ) -> None:
        """Stop posting in a channel for now, keeping its filters; resume it later."""
        guild = _guild(interaction)
        user = interaction.user
        sub = await self._find(guild, channel)
        why = f"paused by {user.name}" + (f": {reason}" if reason else "")
        if not await self.bot.store.pause_subscription(guild.id, sub.channel_id, why, _now()):
            raise UserFacingError(f"<#{sub.channel_id}> is already paused ({sub.paused_reason}).")
        log.info(
            "guild %s: %s (%s) paused %s (%s): %s",
            guild.id,
            user,
            user.id,
            _channel_label(guild, sub.channel_id),
            sub.channel_id,
            reason,
        )
        await interaction.response.send_message(
            f"Paused <#{sub.channel_id}>: nothing is posted there until `/newsadmin resume`.",
            ephemeral=True,
        )

    @app_commands.command(name="resume")
    @app_commands.describe(channel="A paused channel (pick from the list)")
    @mod_only
    async def resume(self, interaction: discord.Interaction, channel: str) -> None:
        """Post in a paused channel again (after checking I still may)."""
        guild = _guild(interaction)
        sub = await self._find(guild, channel)
        if sub.active:
            raise UserFacingError(f"<#{sub.channel_id}> is not paused.")
        target = self._postable(guild, sub)
        role = guild.get_role(sub.mention_role_id) if sub.mention_role_id else None
        self._check_can_post(guild, target, role)
        if not await self.bot.store.resume_subscription(guild.id, sub.channel_id, _now()):
            raise UserFacingError(f"<#{sub.channel_id}> is not paused.")
        log.info(
            "guild %s: %s (%s) resumed #%s (%s), paused before: %s",
            guild.id,
            interaction.user,
            interaction.user.id,
            target.name,
            target.id,
            sub.paused_reason,
        )
        deliverer = self.deliverer
        if deliverer is not None:
            deliverer.wake()
        text = f"Resumed {target.mention}: new articles will be posted there again."
        if sub.mention_role_id is not None and role is None:
            text += " The role it pinged no longer exists; subscribe again to choose another."
        await interaction.response.send_message(text, ephemeral=True)

    def _postable(self, guild: discord.Guild, sub: Subscription) -> Postable:
        channel = guild.get_channel_or_thread(sub.channel_id)
        if not isinstance(channel, Postable):
            raise UserFacingError(
                f"I can't find <#{sub.channel_id}> any more: "
                "`/newsadmin unsubscribe` it, or subscribe another channel."
            )
        return channel

    @app_commands.command(name="test")
    @app_commands.describe(channel="A subscribed channel (pick from the list)")
    @mod_only
    async def test(self, interaction: discord.Interaction, channel: str) -> None:
        """Post the latest matching article in a channel, marked as a test, to check the setup."""
        guild = _guild(interaction)

        async def work() -> Answer:
            sub = await self._find(guild, channel)
            target = self._postable(guild, sub)
            role = guild.get_role(sub.mention_role_id) if sub.mention_role_id else None
            self._check_can_post(guild, target, role)
            deliverer = self.deliverer
            if deliverer is None:
                raise UserFacingError("Test posts are not possible now: delivery is not running.")
            result = await deliverer.send_test(sub)
            log.info(
                "guild %s: %s (%s) sent a test post to #%s (%s): %s",
                guild.id,
                interaction.user,
                interaction.user.id,
                target.name,
                target.id,
                result,
            )
            return Answer(text=result)

        await reply(interaction, work(), ephemeral=True)

    @app_commands.command(name="settings")
    @app_commands.describe(
        edit_on_update="Edit posted messages when their article changes (default: on)",
        color="Colour of the posts, a hex code like #1e90ff, or none for the default",
    )
    @mod_only
    async def settings(
        self,
        interaction: discord.Interaction,
        edit_on_update: bool | None = None,
        color: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """Show this server's news settings, or change them."""
        guild = _guild(interaction)
        store = self.bot.store
        if edit_on_update is None and color is None:
            current = await store.guild_settings(guild.id)
            await interaction.response.send_message(
                "News settings here:\n" + settings_text(current), ephemeral=True
            )
            return
        value = parse_color(color) if color is not None else None
        new = await store.set_guild_settings(
            guild.id,
            edit_on_update=edit_on_update,
            color=value,
            clear_color=color is not None and value is None,
        )
        log.info(
            "guild %s: %s (%s) changed settings: edit_on_update=%s color=%s",
            guild.id,
            interaction.user,
            interaction.user.id,
            new.edit_on_update,
            None if new.color is None else f"#{new.color:06X}",
        )
        await interaction.response.send_message(
            "Saved. News settings here:\n" + settings_text(new), ephemeral=True
        )

    # -- autocomplete ----------------------------------------------------------------

    @subscribe.autocomplete("tags")
    @subscribe.autocomplete("exclude_tags")
    @mod_only
    async def tags_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Tags in use, completing the last item of a comma-separated list."""
        head, _, last = current.rpartition(",")
        earlier = split_tags(head)
        taken = {normalise_tag(t) for t in earlier}
        names = [t for t, _ in await self.bot.store.tags() if normalise_tag(t) not in taken]
        prefix = ", ".join(earlier)
        choices = []
        for name in rank_choices(last, names, limit=len(names)):
            value = f"{prefix}, {name}" if prefix else name
            if len(value) <= MAX_CHOICE_VALUE:
                choices.append(app_commands.Choice(name=value, value=value))
            if len(choices) == MAX_CHOICES:
                break
        return choices

    @unsubscribe.autocomplete("channel")
    @pause.autocomplete("channel")
    @resume.autocomplete("channel")
    @test.autocomplete("channel")
    @mod_only
    async def subscription_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """This server's subscribed channels, by name."""
        if interaction.guild is None:
            return []
        guild = interaction.guild
        wanted = current.strip().lstrip("#").casefold()
        choices = []
        for sub in await self.bot.store.subscriptions(guild.id):
            label = _channel_label(guild, sub.channel_id)
            if wanted and wanted not in label.casefold():
                continue
            state = "" if sub.active else " (paused)"
            filters = ", ".join(sub.tags) if sub.tags else "all articles"
            name = clip(f"{label}{state} — {filters}", MAX_CHOICE_NAME)
            choices.append(app_commands.Choice(name=name, value=str(sub.channel_id)))
            if len(choices) == MAX_CHOICES:
                break
        return choices

    # -- gateway events --------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (or it was deleted): forget its setup."""
        removed = await self.bot.store.remove_guild(guild.id)
        log.info(
            "guild %s (%s) removed the bot: %d subscriptions dropped", guild.id, guild.name, removed
        )

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A subscribed channel was deleted: stop posting there."""
        if await self.bot.store.remove_channel(channel.id):
            log.info(
                "guild %s: channel #%s (%s) was deleted; its subscription is removed",
                channel.guild.id,
                channel.name,
                channel.id,
            )

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A subscribed thread was deleted: stop posting there."""
        if await self.bot.store.remove_channel(payload.thread_id):
            log.info(
                "guild %s: thread %s was deleted; its subscription is removed",
                payload.guild_id,
                payload.thread_id,
            )


def settings_text(settings: GuildSettings) -> str:
    """A server's settings as short lines."""
    edit = "on" if settings.edit_on_update else "off"
    return (
        f"- Edit posted messages when their article changes: **{edit}**\n"
        f"- Colour of the posts: {color_text(settings.color)}"
    )


async def setup(bot: NewsBot) -> None:
    """Load the ``/newsadmin`` commands."""
    await bot.add_cog(Admin(bot))
