"""Small builders shared by the Markdown article tests."""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path

from bot.articles.markdown import parse_markdown
from bot.articles.model import Article

FIXTURES = Path(__file__).parent.parent / "fixtures"
SITE = "https://example.org"


def yaml_doc(front: str, body: str = "") -> str:
    return f"---\n{front.strip()}\n---\n{body}"


def parse(
    text: str, rel_path: str = "posts/a.md", *, site_url: str | None = None, tz: tzinfo = UTC
) -> Article:
    return parse_markdown(text, rel_path=rel_path, site_url=site_url, tz=tz)


def body(markdown: str, *, site_url: str | None = None, tz: tzinfo = UTC) -> Article:
    """An article titled "T" with ``markdown`` as its body."""
    return parse(yaml_doc("title: T", markdown), site_url=site_url, tz=tz)


def takeaways(markdown: str, *, site_url: str | None = None) -> tuple[str, ...]:
    return body(markdown, site_url=site_url).takeaways
