"""Credentials kept out of every message: logs, errors, settings errors."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

#: The ``user:password@`` part of a URL.
USERINFO = re.compile(r"(?<=://)[^/\s]*@")


def redact(text: str, url: str | None = None) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``, and with
    ``url``'s own password (or, for http(s), a token given as the user name) wherever
    it appears on its own."""
    text = USERINFO.sub("***@", text)
    if url:
        parts = urlsplit(url)
        secret = parts.password
        if secret is None and parts.scheme in ("http", "https"):
            secret = parts.username
        if secret:
            for form in {secret, unquote(secret)}:
                text = text.replace(form, "***")
    return text
