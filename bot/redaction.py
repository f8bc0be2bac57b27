"""Credentials kept out of every message: logs, errors, settings errors, and the
names ``newsbot status`` and the metrics give sources.

:class:`RedactingFilter` applies :func:`redact` to every log line (discord.py logs
the URLs of its requests at DEBUG, webhook tokens included)."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

#: The ``user:password@`` part of a URL.
USERINFO = re.compile(r"(?<=://)[^/\s]*@")
#: The token of a webhook URL or route (``/webhooks/{id}/{token}``): whoever has it
#: can post in the channel, or answer an interaction.
WEBHOOK_TOKEN = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_.\-]+")
#: A credential in a URL's query (``?token=…``, ``&api_key=…``): private feeds are
#: often given one. Matched by the parameter's name; other parameters stay as given.
QUERY_SECRET = re.compile(
    r"([?&;](?:[\w.-]*[_.-])?"
    r"(?:token|key|apikey|secret|password|passwd|pass|pwd|auth|sig|signature|code)"
    r"=)[^&#;:,)>\s'\"]+",
    re.IGNORECASE,
)
#: A ``token`` in a JSON or Python dict printed whole (discord.py logs the bodies of
#: its answers at DEBUG: a new webhook's holds its token).
TOKEN_FIELD = re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+""")


def redact(text: str, url: str | None = None) -> str:
    """``text`` with the credentials of every URL in it (its ``user:password@``, a
    secret-named query parameter's value) replaced by ``***``, and with
    ``url``'s own password (or, for http(s), a token given as the user name) wherever
    it appears on its own.

    Names a source wherever the operator sees it (``newsbot status``, the ``source``
    label of the metrics, log lines): a feed ``https://user:pw@host/feed`` is
    ``https://***@host/feed`` and ``https://host/feed?token=abc`` is
    ``https://host/feed?token=***`` everywhere, the rest of its locator as configured. It
    depends on the text alone, so a metric's label stays the same across restarts."""
    text = USERINFO.sub("***@", text)
    text = QUERY_SECRET.sub(r"\1***", text)
    text = WEBHOOK_TOKEN.sub(r"\1***", text)
    text = TOKEN_FIELD.sub(r"\1***", text)
    if url:
        parts = urlsplit(url)
        secret = parts.password
        if secret is None and parts.scheme in ("http", "https"):
            secret = parts.username
        if secret:
            for form in {secret, unquote(secret)}:
                text = text.replace(form, "***")
    return text


class RedactingFilter(logging.Filter):
    """Redacts each record's message and exception text (set on the log handler)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's text by its redacted form; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
