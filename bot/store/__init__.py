"""The article store: SQLite through one aiosqlite connection; all SQL lives here."""

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

__all__ = [
    "MOVE_WINDOW",
    "Announcement",
    "Change",
    "FileItem",
    "FileRow",
    "IngestResult",
    "SourceRow",
    "Store",
    "StoreError",
    "StoredArticle",
]
