"""``/newsadmin``: moderators choose which channels get which articles.

Who may use them is Discord's to decide: the group's default permission is Manage
Server, which a server's admins can change in Server Settings > Integrations (to let a
role or a member use the commands without it), and Discord enforces it before an
interaction reaches the bot. The bot checks nothing more, so such a delegation works.
Every change is answered privately and logged with who made it. The cog also forgets
subscriptions whose channel, thread or server is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import admin_render as render
from bot.articles.model import normalise_tag
from bot.articles.text import clip
from bot.format_views import FormatModal, SaveOrCancel
from bot.formats import DEFAULT_FORMAT, Format, format_texts, format_to_json
from bot.interactions import (
    Answer,
    Choices,
    UserFacingError,
    embed_pages,
    quiet_autocomplete,
    reply,
)
from bot.permissions import missing_to_post, place_of
from bot.store import Filter, Identity, Store, Subscription, SubscriptionError
from bot.store.subscriptions import MAX_FILTERS, split_tags

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

# Where articles can be posted: text and announcement channels, forum channels (each
# article a post of its own) and threads. Not media channels, which are made for image
# and video posts (nor does Discord's OpenAPI document list them for channel options).
Subscribable = discord.TextChannel | discord.ForumChannel | discord.Thread
SUBSCRIBABLE_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
]
PickedChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class SubscribableChannel(app_commands.Transformer):
    """A channel option offering exactly :data:`SUBSCRIBABLE_TYPES` in Discord's picker.

    The value stays the interaction's raw channel: the command looks it up in its own
    server's cache, so a channel of another server is never resolved.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(SUBSCRIBABLE_TYPES)

    async def transform(self, interaction: discord.Interaction, value: object, /) -> PickedChannel:
        if not isinstance(value, PickedChannel):
            raise app_commands.TransformerError(value, self.type, self)
        return value


class Deliverer(Protocol):
    """What ``/newsadmin`` needs from the delivery service (``bot.deliverer``)."""

    def backfill(self, subscription: Subscription, count: int) -> Awaitable[int]:
        """Queue the newest ``count`` matching published articles; returns how many."""
        ...

    def test_post(self, subscription: Subscription) -> Awaitable[str]:
        """Post the latest matching article marked as a test (through the process that
        sends); returns a result line."""
        ...

    def preview(
        self, subscription: Subscription, fmt: Format | None = None, *, test: bool = True
    ) -> Awaitable[dict[str, Any] | str]:
        """The test post's message body (in ``fmt``), or why there is none."""
        ...

    def wake(self) -> None:
        """Look for work now (after a resume)."""
        ...


def _store_of(interaction: discord.Interaction) -> Store:
    return cast("NewsBot", interaction.client).store


def _guild(interaction: discord.Interaction) -> discord.Guild:
    if interaction.guild is None:
        raise UserFacingError("This command only works in a server.")
    return interaction.guild


def _me(guild: discord.Guild) -> discord.Member:
    if guild.me is None:  # only before the server's data has arrived
        raise UserFacingError("I am still connecting to this server; try again in a moment.")
    return guild.me


#: What clears a filter option of ``subscribe`` (as ``color:none`` does in ``settings``).
CLEAR = frozenset({"none"})


def filter_option(text: str | None) -> tuple[str, ...] | None:
    """A ``tags``-like option of ``subscribe``: ``None`` when not given (keep the
    filter), no tags for ``none`` (clear it), else the tags listed."""
    if text is None:
        return None
    if text.strip().casefold() in CLEAR:
        return ()
    return split_tags(text)


def _now() -> datetime:
    return datetime.now(UTC)


def _identity_change(before: Subscription | None, after: Subscription) -> list[str]:
    """``posted by the bot → a webhook, ...`` when the identity changed."""
    if before is None or before.identity == after.identity:
        return []
    return [f"posted by {render.POSTERS[before.identity]} → {render.POSTERS[after.identity]}"]


def channel_names(guild: discord.Guild, subscriptions: Sequence[Subscription]) -> dict[int, str]:
    """The names of the subscribed channels the bot still sees, by channel id."""
    names = {}
    for sub in subscriptions:
        channel = guild.get_channel_or_thread(sub.channel_id)
        if channel is not None:
            names[sub.channel_id] = channel.name
    return names


def _roles(guild: discord.Guild, role_ids: Iterable[int | None]) -> list[discord.Role]:
    """The roles of these ids that still exist, each once."""
    found = (guild.get_role(r) for r in dict.fromkeys(role_ids) if r is not None)
    return [role for role in found if role is not None]


def _roles_of(guild: discord.Guild, subscription: Subscription) -> list[discord.Role]:
    """The roles a subscription's filters ping, while they exist."""
    return _roles(guild, (f.mention_role_id for f in subscription.filters))


def _label(guild: discord.Guild, channel_id: int) -> str:
    channel = guild.get_channel_or_thread(channel_id)
    return render.channel_label(channel_id, channel.name if channel is not None else None)


class SubscribedChannel(app_commands.Transformer):
    """A channel option naming one of this server's subscriptions; the command gets the
    subscription.

    Autocomplete offers the subscribed channels the command applies to (see
    :meth:`offered`; the value is the channel id); a channel mention, id or name typed
    by hand works too. Another server's channel is never found: only the asking
    server's subscriptions are looked at.

    Not Discord's channel picker, as ``subscribe`` has: the picker offers every channel,
    subscribed or not, paused or not, and never a channel the bot no longer sees (one
    deleted while it was offline), which can still be unsubscribed here.
    """

    @staticmethod
    def offered(subscription: Subscription) -> bool:
        """Whether autocomplete offers this subscription (every one)."""
        return True

    async def transform(self, interaction: discord.Interaction, value: str, /) -> Subscription:
        guild = _guild(interaction)
        subscriptions = await _store_of(interaction).subscriptions(guild.id)
        found = render.find_subscription(value, subscriptions, channel_names(guild, subscriptions))
        if found is None:
            raise UserFacingError(
                "This server has no subscription for that channel. "
                "`/newsadmin list` shows the subscribed channels."
            )
        return found

    # A string option: discord.py hands the autocomplete what was typed, always a str.
    @quiet_autocomplete
    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction, value: str, /
    ) -> Choices:
        """This server's subscribed channels, by name."""
        if interaction.guild is None:
            return []
        guild = interaction.guild
        subscriptions = await _store_of(interaction).subscriptions(guild.id)
        offered = [s for s in subscriptions if self.offered(s)]
        return [
            app_commands.Choice(name=name, value=channel_id)
            for name, channel_id in render.subscription_choices(
                value, offered, channel_names(guild, offered)
            )
        ]


class ActiveChannel(SubscribedChannel):
    """A subscribed channel; autocomplete offers the active ones (``pause``)."""

    @staticmethod
    def offered(subscription: Subscription) -> bool:
        """Only active subscriptions."""
        return subscription.active


class PausedChannel(SubscribedChannel):
    """A subscribed channel; autocomplete offers the paused ones (``resume``)."""

    @staticmethod
    def offered(subscription: Subscription) -> bool:
        """Only paused subscriptions."""
        return not subscription.active


Subscribed = app_commands.Transform[Subscription, SubscribedChannel]
Active = app_commands.Transform[Subscription, ActiveChannel]
Paused = app_commands.Transform[Subscription, PausedChannel]


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

    def _check_can_post(
        self,
        guild: discord.Guild,
        channel: Subscribable,
        mentions: Sequence[discord.Role],
        identity: Identity = Identity.BOT,
    ) -> None:
        unmentionable = [r for r in mentions if not r.mentionable]
        have = channel.permissions_for(_me(guild))
        webhook = identity is Identity.WEBHOOK
        if webhook and isinstance(channel, discord.Thread):
            raise UserFacingError(
                f"{channel.mention} is a thread, and webhooks belong to channels: posts in a "
                "thread come from the bot (`identity:bot`)."
            )
        missing = missing_to_post(
            channel, have, unmentionable_role=bool(unmentionable), webhook=webhook
        )
        if missing:
            role = unmentionable[0].mention if unmentionable else None
            text = render.cannot_post(channel.mention, place_of(channel), missing, role)
            raise UserFacingError(text)

    def _subscribable(self, guild: discord.Guild, sub: Subscription) -> Subscribable:
        channel = guild.get_channel_or_thread(sub.channel_id)
        if not isinstance(channel, Subscribable):
            raise UserFacingError(
                f"I can't find <#{sub.channel_id}> any more: "
                "`/newsadmin unsubscribe` it, or subscribe another channel."
            )
        return channel

    # -- commands ----------------------------------------------------------------

    @app_commands.command(
        name="subscribe",
        description="Post new articles in a channel; run again to change only the options given",
    )
    @app_commands.describe(
        channel="The channel, forum or thread to post in",
        tags="Only articles with any of these tags, comma-separated; none: every article",
        exclude_tags="Never articles with any of these tags, comma-separated; none: no exclusions",
        categories="Also articles in any of these categories, comma-separated; none: no categories",
        filter="Which of the channel's filters to change or add (1-10, default 1)",
        mention="A role to ping with each post",
        no_mention="Stop pinging the role this channel pings",
        backfill="Also post this many recent articles the filter matches now (0-25, default 0)",
        identity="Post as the bot, or through a webhook with the publication's name and avatar",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[PickedChannel, SubscribableChannel],
        tags: app_commands.Range[str, 1, 1000] | None = None,
        exclude_tags: app_commands.Range[str, 1, 1000] | None = None,
        categories: app_commands.Range[str, 1, 1000] | None = None,
        mention: discord.Role | None = None,
        no_mention: bool = False,
        backfill: app_commands.Range[int, 0, 25] = 0,
        filter: app_commands.Range[int, 1, MAX_FILTERS] = 1,
        identity: Literal["bot", "webhook"] | None = None,
    ) -> None:
        """Post new articles in a channel; run again to change only the options given."""
        guild = _guild(interaction)
        user = interaction.user

        async def work() -> Answer:
            target = guild.get_channel_or_thread(channel.id)
            if not isinstance(target, Subscribable):
                # Discord only offers this server's channels; a forged id or a channel
                # the bot cannot see ends here.
                raise UserFacingError(
                    f"I can't see {channel.mention} in this server: check that I may "
                    "view it (a private thread needs me added to it)."
                )
            if mention is not None and no_mention:
                raise UserFacingError("Give `mention` or `no_mention`, not both.")
            if mention is not None and guild.get_role(mention.id) is None:
                raise UserFacingError("That role is not in this server.")
            if mention is not None and mention.is_default():
                raise UserFacingError(
                    "Pick a role to ping: @everyone can't be pinged by news posts."
                )
            current = await self.bot.store.get_subscription(guild.id, target.id)
            old = current.filter(filter) if current is not None else None
            role_id = mention.id if mention is not None else None
            if role_id is None and not no_mention and old is not None:
                role_id = old.mention_role_id
            others = [f.mention_role_id for f in current.filters] if current else []
            if old is not None:
                others.remove(old.mention_role_id)
            new_identity = Identity(identity) if identity is not None else None
            posting_as = new_identity or (current.identity if current else Identity.BOT)
            self._check_can_post(guild, target, _roles(guild, [*others, role_id]), posting_as)
            try:
                sub, before = await self.bot.store.subscribe(
                    guild.id,
                    target.id,
                    tags=filter_option(tags),
                    exclude_tags=filter_option(exclude_tags),
                    categories=filter_option(categories),
                    mention_role_id=mention.id if mention else None,
                    clear_mention=no_mention,
                    by_user_id=user.id,
                    now=_now(),
                    number=filter,
                    identity=new_identity,
                )
            except SubscriptionError as exc:
                raise UserFacingError(str(exc)) from exc
            now = sub.filter(filter)
            assert now is not None
            was = before.filter(filter) if before is not None else None
            log.info(
                "guild %s: %s (%s) %s #%s (%s) filter %d: tags=%s exclude=%s categories=%s "
                "mention=%s backfill=%d identity=%s",
                guild.id,
                user,
                user.id,
                "subscribed" if before is None else "updated the subscription of",
                target.name,
                target.id,
                filter,
                list(now.tags),
                list(now.exclude_tags),
                list(now.categories),
                now.mention_role_id,
                backfill,
                sub.identity,
            )
            which = f"filter {filter} of " if len(sub.filters) > 1 else ""
            if before is None:
                lines = [f"Subscribed {target.mention}."]
            elif was is None:
                lines = [f"Added filter {filter} to the subscription of {target.mention}."]
            elif changes := render.changes(was, now) + _identity_change(before, sub):
                lines = [f"Updated {which}the subscription of {target.mention}: "]
                lines[0] += "; ".join(changes) + "."
            else:
                lines = [f"Nothing changed in {which}the subscription of {target.mention}."]
            lines += render.describe(sub)
            if not sub.active:
                lines.append("It stays paused: `/newsadmin resume` resumes it.")
            lines += await self._unknown_labels(now)
            if backfill:
                # The newest articles the filter just set wants (each posted once).
                lines.append(await self._backfill(replace(sub, filters=(now,)), backfill))
            return Answer(text="\n".join(lines))

        await reply(interaction, work(), ephemeral=True)

    async def _unknown_labels(self, sub: Filter) -> list[str]:
        """Notes on a filter's tags and categories no published article carries yet
        (worth a word, not an error), naming the category a tag was probably meant
        to be."""
        tags = {normalise_tag(t) for t, _ in await self.bot.store.tags()}
        categories = {normalise_tag(c) for c, _ in await self.bot.store.categories()}
        notes = []
        unknown = [t for t in (*sub.tags, *sub.exclude_tags) if normalise_tag(t) not in tags]
        if unknown:
            notes.append(
                f"Note: no published article is tagged {render.tag_list(unknown)} yet "
                "(tags match in any case)."
            )
        meant = [t for t in unknown if normalise_tag(t) in categories]
        if meant:
            notes.append(
                f"{render.tag_list(meant)} is a category, not a tag: "
                "use `categories:` to get the articles in it."
            )
        missing = [c for c in sub.categories if normalise_tag(c) not in categories]
        if missing:
            notes.append(
                f"Note: no published article is in the categories {render.tag_list(missing)} yet."
            )
        return notes

    async def _backfill(self, subscription: Subscription, count: int) -> str:
        deliverer = self.deliverer
        if deliverer is None:
            return "Recent articles can't be posted now: delivery is not running."
        queued = await deliverer.backfill(subscription, count)
        if queued == 0:
            return "No published article matches yet, so nothing earlier will be posted."
        return f"Posting the {queued} most recent matching article{'s' if queued != 1 else ''}."

    @app_commands.command(
        name="unsubscribe", description="Stop posting articles in a channel and forget its filters"
    )
    @app_commands.rename(subscription="channel")
    @app_commands.describe(
        subscription="A subscribed channel (pick from the list)",
        filter="Remove only this filter of the channel (default: the whole subscription)",
    )
    async def unsubscribe(
        self,
        interaction: discord.Interaction,
        subscription: Subscribed,
        filter: app_commands.Range[int, 1, MAX_FILTERS] | None = None,
    ) -> None:
        """Stop posting articles in a channel and forget its filters, or remove one."""
        guild = _guild(interaction)
        channel = f"<#{subscription.channel_id}>"

        async def work() -> Answer:
            last = [f.number for f in subscription.filters] == [filter]
            number = None if last else filter
            if number is not None and subscription.filter(number) is None:
                raise UserFacingError(f"{channel} has no filter {number}.")
            if not await self.bot.store.unsubscribe(guild.id, subscription.channel_id, number):
                raise UserFacingError("That subscription was already removed.")
            log.info(
                "guild %s: %s (%s) unsubscribed %s (%s)%s",
                guild.id,
                interaction.user,
                interaction.user.id,
                _label(guild, subscription.channel_id),
                subscription.channel_id,
                f", filter {number}" if number is not None else "",
            )
            if number is not None:
                return Answer(text=f"Removed filter {number} of {channel}; its others stay.")
            return Answer(text=f"Unsubscribed {channel}: no more articles will be posted there.")

        await reply(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="list", description="This server's subscribed channels, their filters and state"
    )
    async def list_(self, interaction: discord.Interaction) -> None:
        """This server's subscribed channels, their filters, and whether they are paused."""
        guild = _guild(interaction)

        async def work() -> Answer:
            subs = await self.bot.store.subscriptions(guild.id)
            if not subs:
                return Answer(text="No channel here gets articles yet: use `/newsadmin subscribe`.")
            return Answer(
                embed_pages(render.list_pages(guild.name, subs, channel_names(guild, subs)))
            )

        await reply(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="pause", description="Stop posting in a channel for now, keeping its filters"
    )
    @app_commands.rename(subscription="channel")
    @app_commands.describe(
        subscription="A subscribed channel (pick from the list)",
        reason="Why, for the other moderators (shown in /newsadmin list)",
    )
    async def pause(
        self,
        interaction: discord.Interaction,
        subscription: Active,
        reason: app_commands.Range[str, 1, 150] | None = None,
    ) -> None:
        """Stop posting in a channel for now, keeping its filters; resume it later."""
        guild = _guild(interaction)
        user = interaction.user

        async def work() -> Answer:
            channel_id = subscription.channel_id
            why = f"paused by {user.name}" + (f": {reason}" if reason else "")
            if not await self.bot.store.pause_subscription(guild.id, channel_id, why, _now()):
                raise UserFacingError(
                    f"<#{channel_id}> is already paused ({subscription.paused_reason})."
                )
            log.info(
                "guild %s: %s (%s) paused %s (%s): %s",
                guild.id,
                user,
                user.id,
                _label(guild, subscription.channel_id),
                subscription.channel_id,
                reason,
            )
            return Answer(
                text=f"Paused <#{subscription.channel_id}>: nothing is posted there until "
                "`/newsadmin resume`."
            )

        await reply(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="resume", description="Post in a paused channel again (after checking I still may)"
    )
    @app_commands.rename(subscription="channel")
    @app_commands.describe(subscription="A paused channel (pick from the list)")
    async def resume(self, interaction: discord.Interaction, subscription: Paused) -> None:
        """Post in a paused channel again (after checking I still may)."""
        guild = _guild(interaction)

        async def work() -> Answer:
            if subscription.active:
                raise UserFacingError(f"<#{subscription.channel_id}> is not paused.")
            target = self._subscribable(guild, subscription)
            roles = _roles_of(guild, subscription)
            self._check_can_post(guild, target, roles, subscription.identity)
            resumed = await self.bot.store.resume_subscription(
                guild.id, subscription.channel_id, _now()
            )
            if not resumed:
                raise UserFacingError(f"<#{subscription.channel_id}> is not paused.")
            log.info(
                "guild %s: %s (%s) resumed #%s (%s), paused before: %s",
                guild.id,
                interaction.user,
                interaction.user.id,
                target.name,
                target.id,
                subscription.paused_reason,
            )
            deliverer = self.deliverer
            if deliverer is not None:
                deliverer.wake()
            text = f"Resumed {target.mention}: new articles will be posted there again."
            wanted = {f.mention_role_id for f in subscription.filters} - {None}
            if len(roles) < len(wanted):
                text += " A role it pinged no longer exists; subscribe again to choose another."
            return Answer(text=text)

        await reply(interaction, work(), ephemeral=True)

    @app_commands.command(
        name="test", description="Show the latest matching article as a channel would get it"
    )
    @app_commands.rename(subscription="channel")
    @app_commands.describe(
        subscription="A subscribed channel (pick from the list)",
        private="Show the post only to you instead of posting it in the channel (default: off)",
    )
    async def test(
        self, interaction: discord.Interaction, subscription: Subscribed, private: bool = False
    ) -> None:
        """Post the latest matching article in a channel, marked as a test, or show it
        only to you."""
        guild = _guild(interaction)

        async def work() -> Answer:
            deliverer = self.deliverer
            if deliverer is None:
                raise UserFacingError("Test posts are not possible now: delivery is not running.")
            if private:
                preview = await deliverer.preview(subscription)
                if isinstance(preview, str):
                    raise UserFacingError(preview)
                head = preview.get("content") or ""
                line = (
                    f"Only you see this: the post <#{subscription.channel_id}> would get "
                    f"(format: {render.format_name(subscription.format)}), "
                    f"from {render.POSTERS[subscription.identity]}."
                )
                embeds = [discord.Embed.from_dict(e) for e in preview.get("embeds", [])]
                return Answer([embeds], text=f"{line}\n{head}".rstrip())
            target = self._subscribable(guild, subscription)
            self._check_can_post(
                guild, target, _roles_of(guild, subscription), subscription.identity
            )
            # Waits for the leader when another process sends: reply() defers first.
            result = await deliverer.test_post(subscription)
            result += f" Format: {render.format_name(subscription.format)}."
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

    @app_commands.command(
        name="format", description="Shape a channel's posts: a form with its format, then a preview"
    )
    @app_commands.rename(subscription="channel")
    @app_commands.describe(
        subscription="A subscribed channel (pick from the list)",
        reset="Go back to the default post, without a form (default: off)",
    )
    async def format_(
        self, interaction: discord.Interaction, subscription: Subscribed, reset: bool = False
    ) -> None:
        """Change how a channel's posts look: a form with its format, a preview, then
        Save or Cancel. Placeholders like {{title}} and {{takeaways:3}} are filled in."""
        guild = _guild(interaction)
        channel = f"<#{subscription.channel_id}>"
        if reset:

            async def work() -> Answer:
                await self._save_format(interaction, subscription, DEFAULT_FORMAT)
                return Answer(text=f"{channel} is back to the default format.")

            await reply(interaction, work(), ephemeral=True)
            return

        async def show(submitted: discord.Interaction, fmt: Format) -> None:
            async def preview() -> Answer:
                return await self._format_preview(submitted, subscription, fmt)

            await reply(submitted, preview(), ephemeral=True)

        name = _label(guild, subscription.channel_id).removeprefix("#")
        modal = FormatModal(name, format_texts(subscription.format), show)
        await interaction.response.send_modal(modal)

    async def _format_preview(
        self, interaction: discord.Interaction, subscription: Subscription, fmt: Format
    ) -> Answer:
        channel = f"<#{subscription.channel_id}>"
        deliverer = self.deliverer
        body = (
            await deliverer.preview(subscription, fmt, test=False)
            if deliverer is not None
            else "There is no preview now: delivery is not running."
        )
        kind = "default" if fmt.is_default else "new"
        head = f"Preview of the {kind} format for {channel}: nothing changes until you press Save."

        async def save() -> str:
            if not await self._save_format(interaction, subscription, fmt):
                return f"Not saved: {channel} is no longer subscribed."
            return (
                f"Saved: {channel} now uses {'the default' if fmt.is_default else 'this'} format."
            )

        view = SaveOrCancel(
            interaction.user.id, save, f"Cancelled: the format of {channel} is unchanged."
        )
        if isinstance(body, str):
            return Answer(text=f"{head}\n{body}", view=view)
        text = clip(f"{head}\n{body.get('content') or ''}".rstrip(), 2000)
        embeds = [discord.Embed.from_dict(e) for e in body.get("embeds", [])]
        return Answer([embeds] if embeds else (), text=text, view=view)

    async def _save_format(
        self, interaction: discord.Interaction, subscription: Subscription, fmt: Format
    ) -> bool:
        guild = _guild(interaction)
        saved = await self.bot.store.set_format(guild.id, subscription.channel_id, fmt, _now())
        if saved:
            log.info(
                "guild %s: %s (%s) set the format of %s (%s): %s",
                guild.id,
                interaction.user,
                interaction.user.id,
                _label(guild, subscription.channel_id),
                subscription.channel_id,
                format_to_json(fmt) or "default",
            )
        return saved

    @app_commands.command(
        name="settings", description="Show this server's news settings, or change them"
    )
    @app_commands.describe(
        edit_on_update="Edit posted messages when their article changes (default: on)",
        color="Color of the posts, a hex code like #1e90ff, or none for the default",
        notices_channel="Where I tell moderators that I stopped posting somewhere, and why",
        no_notices_channel="Send my notices to the system channel again (else the first I can use)",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        edit_on_update: bool | None = None,
        color: app_commands.Range[str, 1, 20] | None = None,
        notices_channel: discord.TextChannel | None = None,
        no_notices_channel: bool = False,
    ) -> None:
        """Show this server's news settings, or change them."""
        guild = _guild(interaction)
        store = self.bot.store

        async def work() -> Answer:
            unchanged = notices_channel is None and not no_notices_channel
            if edit_on_update is None and color is None and unchanged:
                current = await store.guild_settings(guild.id)
                return Answer(text="News settings here:\n" + render.settings_text(current))
            if notices_channel is not None and no_notices_channel:
                raise UserFacingError("Give `notices_channel` or `no_notices_channel`, not both.")
            try:
                value = render.parse_color(color) if color is not None else None
            except ValueError as exc:
                raise UserFacingError(str(exc)) from exc
            if notices_channel is not None:
                self._check_can_notify(guild, notices_channel.id)
            new = await store.set_guild_settings(
                guild.id,
                edit_on_update=edit_on_update,
                color=value,
                clear_color=color is not None and value is None,
                notices_channel_id=notices_channel.id if notices_channel else None,
                clear_notices_channel=no_notices_channel,
            )
            log.info(
                "guild %s: %s (%s) changed settings: edit_on_update=%s color=%s notices=%s",
                guild.id,
                interaction.user,
                interaction.user.id,
                new.edit_on_update,
                None if new.color is None else f"#{new.color:06X}",
                new.notices_channel_id,
            )
            return Answer(text="Saved. News settings here:\n" + render.settings_text(new))

        await reply(interaction, work(), ephemeral=True)

    def _check_can_notify(self, guild: discord.Guild, channel_id: int) -> None:
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise UserFacingError(f"I can't see <#{channel_id}> in this server.")
        have = channel.permissions_for(_me(guild))
        missing = [p for p in ("view_channel", "send_messages") if not getattr(have, p)]
        if missing:
            raise UserFacingError(
                render.cannot_post(channel.mention, place_of(channel), missing, None)
            )

    @app_commands.command(
        name="status", description="The sources I watch, the last article, paused channels"
    )
    async def status(self, interaction: discord.Interaction) -> None:
        """The sources the bot watches and their health, the last article, and this
        server's paused subscriptions."""
        guild = _guild(interaction)
        store = self.bot.store

        async def work() -> Answer:
            watched = self.bot.pipeline.watched()
            sources = [s for s in await store.sources() if (s.kind, s.locator) in watched]
            last = await store.latest(None, 1)
            subs = await store.subscriptions(guild.id)
            embed = render.status_embed(guild.name, sources, last[0] if last else None, subs)
            return Answer([[discord.Embed.from_dict(embed)]])

        await reply(interaction, work(), ephemeral=True)

    # -- autocomplete ----------------------------------------------------------------

    @subscribe.autocomplete("tags")
    @subscribe.autocomplete("exclude_tags")
    @quiet_autocomplete
    async def tags_autocomplete(self, interaction: discord.Interaction, current: str) -> Choices:
        """Tags in use, completing the last item of a comma-separated list."""
        return _list_choices(current, [tag for tag, _ in await self.bot.store.tags()])

    @subscribe.autocomplete("categories")
    @quiet_autocomplete
    async def categories_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> Choices:
        """Categories in use (apart from tags), completing the last item of a list."""
        return _list_choices(current, [c for c, _ in await self.bot.store.categories()])

    # -- gateway events --------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (or it was deleted): forget its setup."""
        removed = await self.bot.store.remove_guild(guild.id)
        log.info(
            "guild %s (%s) removed the bot: %d subscriptions dropped", guild.id, guild.name, removed
        )
        deliverer = self.deliverer
        if removed and deliverer is not None:
            deliverer.wake()  # the sender (maybe another process) drops its work there

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


def _list_choices(current: str, known: Sequence[str]) -> Choices:
    """Completions of the last item of a comma-separated list from ``known``."""
    head, _, last = current.rpartition(",")
    return [
        app_commands.Choice(name=value, value=value)
        for value in render.complete_tags(split_tags(head), last, known)
    ]


async def setup(bot: NewsBot) -> None:
    """Load the ``/newsadmin`` commands."""
    await bot.add_cog(Admin(bot))
