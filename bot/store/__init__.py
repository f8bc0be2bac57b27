"""The article store: SQLite through one aiosqlite connection; all SQL lives here."""

from bot.store.deliveries import Delivery, DeliveryQueries, Notice, WorkItem
from bot.store.models import (
    Announcement,
    Change,
    FileItem,
    FileRow,
    IngestResult,
    SourceRow,
    StoredArticle,
    StoreError,
)
from bot.store.store import MOVE_WINDOW, Store
from bot.store.subscriptions import GuildSettings, Subscription, SubscriptionError

__all__ = [
    "MOVE_WINDOW",
    "Announcement",
    "Change",
    "Delivery",
    "DeliveryQueries",
    "FileItem",
    "FileRow",
    "GuildSettings",
    "IngestResult",
    "Notice",
    "SourceRow",
    "Store",
    "StoreError",
    "StoredArticle",
    "Subscription",
    "SubscriptionError",
    "WorkItem",
]
