"""Delivery: matching articles to subscribed channels, the outbox, and the sender.

* :mod:`bot.delivery.policy` — pure rules: nonces, backoff, what an error means,
  forum post names and tags.
* :mod:`bot.delivery.limiter` — the global pacer: every request runs in one of its slots.
* :mod:`bot.delivery.channels` — what the gateway cache says about a channel.
* :mod:`bot.delivery.sender` — the requests, through discord.py's HTTP client.
* :mod:`bot.delivery.deliverer` — fan-out, workers, retries, pauses and notices.
"""

from bot.delivery.deliverer import Deliverer
from bot.delivery.limiter import RateLimiter

__all__ = ["Deliverer", "RateLimiter"]
