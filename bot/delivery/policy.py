"""The pure rules of delivery: nonces, retry timing, what an error means, forum posts.

No discord.py, no store: plain values in, plain values out, so each rule is tested on
its own (``tests/delivery/test_policy.py``).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.articles.model import normalise_tag
from bot.articles.text import clip
from bot.permissions import listed

#: Discord's limit on a message nonce.
MAX_NONCE = 25
#: Discord's limit on a thread (forum post) name.
MAX_THREAD_NAME = 100
#: Discord's limit on the tags of one forum post.
MAX_APPLIED_TAGS = 5

#: A post still undelivered this long after it was queued is dropped as stale: a
#: channel paused for days does not get a week of old news when it is resumed.
MAX_DELIVERY_AGE = timedelta(hours=24)

#: Retry timing after a server error or a network failure. discord.py has already
#: retried 500/502/504 answers five times (sleeping 1+3+5+7+9 s) before it gives up,
#: so the first retry of our own waits a little and the next ones back off fast.
RETRY_BASE = 2.0
RETRY_CAP = 300.0
RETRY_JITTER = 0.2


def delivery_nonce(subscription_id: int, article_id: int) -> str:
    """The nonce of the post of ``article_id`` in the channel of ``subscription_id``.

    Every send of that post, first or repeated after a crash, carries the same nonce
    with ``enforce_nonce``, so Discord returns the message it already created instead
    of posting twice. Readable (hex ids) when short enough, else a hash; at most
    :data:`MAX_NONCE` characters either way.
    """
    if subscription_id < 0 or article_id < 0:
        raise ValueError("ids are non-negative")
    readable = f"{subscription_id:x}-{article_id:x}"
    if len(readable) <= MAX_NONCE:
        return readable
    # 24 hex digits and a marker: never equal to a readable nonce (those hold a "-").
    return hashlib.blake2b(readable.encode(), digest_size=12).hexdigest() + "h"


def backoff_delay(
    attempt: int,
    *,
    rand: float = 0.5,
    base: float | None = None,
    cap: float | None = None,
    jitter: float = RETRY_JITTER,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Doubling from ``base`` up to ``cap``, spread by ``±jitter`` (``rand`` in [0, 1),
    0.5 for none) so that channels failing together do not retry together.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    base = RETRY_BASE if base is None else base
    cap = RETRY_CAP if cap is None else cap
    delay = min(cap, base * 2.0 ** min(attempt - 1, 30))
    return delay * (1.0 + jitter * (2.0 * rand - 1.0))


class Verdict(enum.Enum):
    """What to do after Discord refused a delivery request."""

    PAUSE = "pause"  # the channel is gone or closed to the bot: stop sending there
    RETRY = "retry"  # a server error, a network failure or a rate limit: try later
    GONE = "gone"  # the posted message no longer exists (edits, crossposts)
    DONE = "done"  # already done (a message that was already crossposted)
    DROP = "drop"  # Discord will never accept this request: give it up, log it


# Discord JSON error codes the rules below name.
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
MAX_WEBHOOKS = 30007
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS = 50005
MISSING_PERMISSIONS = 50013
ALREADY_CROSSPOSTED = 40033
TAG_REQUIRED = 40067


def classify(status: int, code: int, *, editing: bool = False) -> Verdict:
    """The verdict for an HTTP ``status`` with Discord's JSON error ``code``.

    403 and 404 on a channel pause it (Discord bans bots that keep sending refused
    requests); a 404 *Unknown Message* while editing or crossposting only means a
    moderator deleted the post (or, *Unknown Webhook*, the webhook that posted it). A
    channel full of webhooks (15) pauses too. 5xx, 429 (discord.py already waited and retried) and
    401 are transient. Other 4xx are our mistake or a channel setting: drop.
    """
    if status == 404:
        if code in (UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK) and editing:
            return Verdict.GONE
        return Verdict.PAUSE
    if status == 400 and code == MAX_WEBHOOKS:
        return Verdict.PAUSE
    if status == 403:
        if code == CANNOT_EDIT_OTHERS:
            return Verdict.DROP
        return Verdict.PAUSE
    if status == 400 and code == ALREADY_CROSSPOSTED:
        return Verdict.DONE
    if status >= 500 or status in (401, 408, 429) or status == 0:
        return Verdict.RETRY
    return Verdict.DROP


_REASONS = {
    UNKNOWN_CHANNEL: "the channel no longer exists (Unknown Channel)",
    UNKNOWN_GUILD: "the server is no longer reachable (Unknown Guild)",
    MISSING_ACCESS: "I can't see the channel (Missing Access)",
    MISSING_PERMISSIONS: "I'm missing a permission there (Missing Permissions)",
    MAX_WEBHOOKS: "the channel has 15 webhooks, Discord's maximum, so I can't make mine",
}

#: The pause reason when the webhook made again after a deletion is deleted too.
WEBHOOK_DELETED_AGAIN = (
    "the webhook I post through was deleted again, after I made it once more "
    "(`/newsadmin subscribe identity:bot` posts as the bot instead)"
)


def pause_reason(status: int, code: int, message: str = "") -> str:
    """The reason shown to moderators for a pause caused by a refused request."""
    known = _REASONS.get(code)
    if known is not None:
        return known
    text = " ".join(message.split()) or ("Forbidden" if status == 403 else "Not Found")
    return f"Discord refused the post: {text} ({status})"


def missing_permissions_reason(missing: Sequence[str]) -> str:
    """The pause reason when the bot's own permission check fails before any request."""
    plural = "s" if len(missing) > 1 else ""
    return f"I'm missing the {listed(list(missing))} permission{plural} there"


#: The reasons of notices that say a channel's saved format can't be read start with
#: this (:func:`unreadable_format_reason`); the others say why delivery stopped.
_UNREADABLE_FORMAT = "unreadable format: "


def unreadable_format_reason(error: str) -> str:
    """The reason of the notice that a channel's saved format can't be read (``error``
    says why, :func:`bot.formats.read_format`): its posts go on in the default format."""
    return _UNREADABLE_FORMAT + error


def notice_text(channel_id: int, reason: str) -> str:
    """What moderators are told, once: that delivery to a channel stops, or (for an
    :func:`unreadable_format_reason`) that its posts use the default format."""
    if reason.startswith(_UNREADABLE_FORMAT):
        return (
            f"\N{WARNING SIGN}\N{VARIATION SELECTOR-16} I can't read the saved post format "
            f"of <#{channel_id}> ({reason.removeprefix(_UNREADABLE_FORMAT)}), so I post "
            f"there in the default format. Save one again with `/newsadmin format` for "
            f"<#{channel_id}> (or run the version of me that saved it)."
        )
    return (
        f"\N{WARNING SIGN}\N{VARIATION SELECTOR-16} I stopped posting news in <#{channel_id}>: "
        f"{reason}. Fix that (channel permissions, or subscribe another channel), "
        f"then run `/newsadmin resume` for <#{channel_id}> to start again."
    )


def thread_name(title: str) -> str:
    """A forum post's name: the headline on one line, at most 100 characters."""
    one_line = " ".join(title.split())
    return clip(one_line, MAX_THREAD_NAME) or "News"


@dataclass(frozen=True, slots=True)
class ForumTag:
    """A tag a forum channel offers."""

    id: int
    name: str
    moderated: bool = False


def forum_tags(
    available: Iterable[ForumTag], article_tags: Iterable[str], *, can_moderate: bool
) -> list[int]:
    """Ids of the forum's tags named like the article's tags, at most five.

    Names match case-insensitively (as subscriptions do); the article's tag order
    decides which five win. Moderated tags need Manage Threads: without it they are
    left out (Discord would refuse the whole post).
    """
    by_key: dict[str, ForumTag] = {}
    for tag in available:
        if tag.moderated and not can_moderate:
            continue
        by_key.setdefault(normalise_tag(tag.name), tag)
    chosen: list[int] = []
    for name in article_tags:
        found = by_key.get(normalise_tag(name))
        if found is not None and found.id not in chosen:
            chosen.append(found.id)
            if len(chosen) == MAX_APPLIED_TAGS:
                break
    return chosen


def post_fingerprint(message: Mapping[str, Any]) -> str:
    """A digest of what a post says, the same for the body the bot sends and for the
    message Discord keeps of it (read back from the channel's history): the letters
    and digits of its content and of its embeds' texts (title, description, author,
    footer, fields), in order. Links, times and whitespace are left out, as Discord
    may rewrite them. It depends on neither the format's parts nor the article's
    link: any format's post has one, even with ``embed: off``."""
    texts: list[object] = [message.get("content")]
    for embed in message.get("embeds") or ():
        author, footer = embed.get("author") or {}, embed.get("footer") or {}
        texts += [embed.get("title"), embed.get("description"), author.get("name")]
        texts.append(footer.get("text"))
        for item in embed.get("fields") or ():
            texts += [item.get("name"), item.get("value")]
    kept = "\x1f".join("".join(c for c in str(t or "") if c.isalnum()) for t in texts)
    return hashlib.sha256(kept.encode("utf-8")).hexdigest()


def is_webhook_post(message: Mapping[str, Any], webhook_id: int, fingerprint: str) -> bool:
    """Whether ``message`` (Discord's message object) was made by the webhook
    ``webhook_id`` and says what the post of ``fingerprint`` says
    (:func:`post_fingerprint`). A test post of the same article says more (its test
    marker), so it is not taken for the post."""
    return str(message.get("webhook_id")) == str(webhook_id) and (
        post_fingerprint(message) == fingerprint
    )
