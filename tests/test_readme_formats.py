"""The README's three example formats: each post's JSON and text are what the bot makes
of the sample article in that format."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest

from bot.articles.decode import DEFAULT_MAX_BYTES
from bot.formats import Format, parse_format, render_formatted
from bot.preview import iter_items
from bot.summary import render_text
from tests.samples import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = SAMPLES / "articles" / "heatwave-power-grid.md"
ROLE = 123456789012345678

#: (name, content, title, description, footer, switches), as the README shows them.
EXAMPLES = [
    (
        "One line, no embed",
        "{{mention}} **{{title}}** · {{date:R}}\n{{url}}",
        "{{title}}",
        "{{takeaways}}",
        "",
        "embed: off",
    ),
    (
        "Brief",
        "{{mention}}",
        "{{title}}",
        "{{takeaways:2}}\n\n[Read the full story on {{site}}]({{url}})",
        "{{site}}",
        "image: off",
    ),
    (
        "Magazine",
        "{{mention}} New on {{site}}",
        "📰 {{title}}",
        "{{takeaways}}\n\nBy {{author}} · {{date:F}}",
        "{{categories}} · Tags: {{tags}}",
        "embed: on, image: on, footer: on",
    ),
]


def example_format(example: tuple[str, ...]) -> Format:
    _, content, title, description, footer, switches = example
    return parse_format(content, title, description, footer, switches)


def example_post(example: tuple[str, ...]) -> dict[str, object]:
    [item] = iter_items(
        [str(SAMPLE)], site_url="https://news.example.org", tz=UTC, max_bytes=DEFAULT_MAX_BYTES
    )
    assert item.article is not None
    return render_formatted(item.article, example_format(example), mention_role_ids=(ROLE,))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_readme_shows_what_each_example_format_makes(example: tuple[str, ...]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    post = example_post(example)
    assert "```json\n" + json.dumps(post, indent=2, ensure_ascii=False) + "\n```" in readme
    assert "```\n" + render_text(post) + "\n```" in readme
    for text in example[1:]:
        for line in text.split("\n"):
            assert f"`{line}`" in readme or not line, line
