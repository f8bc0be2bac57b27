"""The article store: all of the project's SQL, behind one :class:`Store`."""

from bot.store.deliveries import (
    Crosspost,
    Delivery,
    DeliveryQueries,
    DeliveryState,
    Notice,
    WorkItem,
)
from bot.store.ingest import MOVE_WINDOW
from bot.store.models import (
    Announcement,
    AnnouncementKind,
    ArticleStatus,
    Change,
    DatabaseLost,
    FileItem,
    FileRow,
    IngestResult,
    SourceKind,
    SourceRow,
    StoredArticle,
    StoreError,
)
from bot.store.requests import TestRequest
from bot.store.store import Store
from bot.store.subscriptions import (
    Filter,
    GuildSettings,
    Identity,
    Subscription,
    SubscriptionError,
    Webhook,
)

__all__ = [
    "MOVE_WINDOW",
    "Announcement",
    "AnnouncementKind",
    "ArticleStatus",
    "Change",
    "Crosspost",
    "DatabaseLost",
    "Delivery",
    "DeliveryQueries",
    "DeliveryState",
    "FileItem",
    "FileRow",
    "Filter",
    "GuildSettings",
    "Identity",
    "IngestResult",
    "Notice",
    "SourceKind",
    "SourceRow",
    "Store",
    "StoreError",
    "StoredArticle",
    "Subscription",
    "SubscriptionError",
    "TestRequest",
    "Webhook",
    "WorkItem",
]
