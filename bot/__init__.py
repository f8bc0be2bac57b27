"""newsbot: a Discord bot that posts a publication's new articles to subscribed channels."""

__version__ = "0.1.0"
