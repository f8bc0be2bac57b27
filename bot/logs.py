"""Log lines as JSON (``NEWSBOT_LOG_FORMAT=json``), one object a line, for log shippers.

Each line holds ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``, the
``exception`` when there is one, and the ids a log call names with
``extra=ids(...)``: ``article``, ``source``, ``guild``, ``channel``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

#: The ids a log line may carry, as keys of its JSON object.
ID_FIELDS = ("article", "source", "guild", "channel")


def ids(
    *,
    article: str | None = None,
    source: str | None = None,
    guild: int | None = None,
    channel: int | None = None,
) -> dict[str, str]:
    """The ``extra`` of a log call about these things (ids as strings: Discord's ids do
    not fit in a JSON reader's double)."""
    named = {"article": article, "source": source, "guild": guild, "channel": channel}
    return {key: str(value) for key, value in named.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line of JSON."""
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ID_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                line[key] = str(value)
        if record.exc_text:  # already formatted (and redacted: bot.redaction)
            line["exception"] = record.exc_text
        elif record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)
