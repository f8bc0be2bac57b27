"""Pure article logic: parsing, publish rules, feed entries. No I/O, no discord, no store."""

from bot.articles.model import Article, ArticleError, Status, normalise_tag

__all__ = ["Article", "ArticleError", "Status", "normalise_tag"]
