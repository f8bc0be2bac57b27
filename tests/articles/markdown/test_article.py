"""Whole articles: the real one, bad input, bytes in."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest
import yaml

from bot.articles.markdown import read_markdown
from bot.articles.markdown.front_matter import FrontMatterLoader
from bot.articles.model import Article, ArticleError, Status
from tests.articles.markdown.helpers import FIXTURES, SITE, parse, yaml_doc

# --------------------------------------------------------------------------- the real article


@pytest.fixture(scope="module")
def example() -> Article:
    data = (FIXTURES / "example-article.md").read_bytes()
    return read_markdown(data, rel_path="posts/france-raids-x-offices.md", site_url=SITE)


def test_example_takeaways(example: Article) -> None:
    assert example.takeaways == (
        "Multiple offices of **X** have been raided in France as part of an investigation"
        " into child abuse images and deepfakes.",
        "The raids were conducted by the Paris cybercrime unit and are part of a broader"
        " probe into the company's handling of illicit content.",
        "**Elon Musk**, the owner of **X**, has been summoned by the Paris Prosecutor's"
        " office for questioning.",
        "The investigation is ongoing, and no charges have been filed yet.",
        "The raids highlight the growing concern over the spread of child abuse images and"
        " deepfakes on social media platforms.",
    )
    assert example.lede is None


def test_example_fields(example: Article) -> None:
    assert example.title == "France Raids X Offices Over Child Abuse Images and Deepfakes"
    assert example.tags == ("X offices raided",)
    assert example.categories == ("World",)
    assert example.authors == ("US News Desk",)
    assert example.description == "X offices raided in France"
    assert example.summary is None
    assert example.draft is False
    assert example.date == datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)
    assert example.date.isoformat() == "2026-02-04T00:00:14+00:00"
    assert example.published_at == example.date
    assert example.image == "https://example.org/images/default-news.jpg"
    assert example.id == "/posts/france-raids-x-offices/"
    assert example.url == "https://example.org/posts/france-raids-x-offices/"
    assert example.status(datetime(2026, 3, 1, tzinfo=UTC)) is Status.PUBLISHED


def test_example_has_no_placeholder_link_anywhere(example: Article) -> None:
    dumped = repr(example.to_json(datetime(2026, 3, 1, tzinfo=UTC)))
    assert "Keyword" not in dumped
    assert "/articles/slug" not in dumped


def test_example_without_takeaways_uses_description() -> None:
    text = (FIXTURES / "example-article.md").read_text("utf-8")
    text = text.replace("## Key Takeaways", "## Highlights")
    article = parse(text, site_url=SITE)
    assert article.takeaways == ()
    assert article.lede == "X offices raided in France"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\n", "front matter: YAML error at line"),
        ("---\ntitle: x\n  bad: : y\n---\n", "front matter: YAML error at line 3"),
        ("+++\ntitle = \n+++\n", "front matter: TOML error at line 2"),
        ('+++\ntitle = "x"\ntitle = "y"\n+++\n', "front matter: TOML error at line 3"),
        ('{"title": "x",}\n', "front matter: JSON error at line 1"),
        ('{"title": "x"\n', "front matter: JSON error"),
        ("---\n- a\n- b\n---\n", "front matter must be a mapping of fields, not a list"),
        ("---\njust text\n---\n", "front matter must be a mapping of fields, not text"),
        ("+++\n+++\n", "front matter is empty"),
        ("{}\nbody", "front matter is empty"),
        ("---\n---\nbody\n", "front matter is empty"),
        ("# No front matter\n\nText.\n", "no front matter"),
        ("---\ntitle: no end\n", "no closing '---'"),
        ("+++\ntitle = 'no end'\n", "no closing '+++'"),
        ("---\ndate: 2026-01-01\n---\n", "missing title"),
        ("---\ntitle: '  '\n---\n", "missing title"),
        ("---\ntitle: [a, b]\n---\n", "title: expected text, got a list"),
        ("---\ntitle: {a: 1}\n---\n", "title: expected text, got a dict"),
        ("---\ntitle: true\n---\n", "title: expected text, got a boolean"),
        ("---\ntitle: T\ndate: 2026-13-45\n---\n", "date: not a date: '2026-13-45'"),
        ("---\ntitle: T\ndate: yesterday\n---\n", "date: not a date: 'yesterday'"),
        ("---\ntitle: T\npublishDate: soon\n---\n", "publishDate: not a date"),
        ("---\ntitle: T\nexpirydate: 42\n---\n", "expiryDate: expected a date, got int"),
        ("---\ntitle: T\ndraft: maybe\n---\n", "draft: expected true or false"),
        ("---\ntitle: T\ndraft: 1\n---\n", "draft: expected true or false"),
        ("---\ntitle: T\ntags: {a: 1}\n---\n", "tags: expected text, got a dict"),
        ("---\ntitle: T\ntags: [[a]]\n---\n", "tags: expected text, got a list"),
        ("---\ntitle: T\ncategories: true\n---\n", "categories: expected text"),
        ("---\ntitle: T\nauthor: [[x]]\n---\n", "author: expected text"),
        ("---\ntitle: T\ndescription: [x]\n---\n", "description: expected text"),
        ("---\ntitle: T\nslug: {a: b}\n---\n", "slug: expected text"),
        ("---\ntitle: T\nimages: [{src: x}]\n---\n", "images: expected text"),
        ("---\ntitle: T\nx: !!python/object:os.system x\n---\n", "front matter: YAML error"),
        ("---\ntitle: T\nx: !!int abc\n---\n", "front matter: YAML error"),
        ("---\n" + "[" * 2000 + "\n---\n", "front matter: YAML error"),
        ('{"title": ' + "[" * 100000 + "\n", "front matter: JSON nested too deeply"),
    ],
)
def test_rejected(text: str, reason: str) -> None:
    with pytest.raises(ArticleError) as info:
        parse(text)
    assert reason in str(info.value)


def test_toml_time_is_not_a_date() -> None:
    with pytest.raises(ArticleError, match="date: expected a date, got time"):
        parse('+++\ntitle = "T"\ndate = 07:32:00\n+++\n')


# --------------------------------------------------------------------------- bytes in


def test_read_markdown_accepts_utf8_bom() -> None:
    data = codecs.BOM_UTF8 + yaml_doc("title: Bom", "Text.").encode()
    assert read_markdown(data, rel_path="a.md").title == "Bom"


def test_read_markdown_accepts_utf16_bom() -> None:
    data = yaml_doc("title: Wide ünïcode", "## Key Takeaways\n- one\n").encode("utf-16")
    article = read_markdown(data, rel_path="a.md")
    assert article.title == "Wide ünïcode"
    assert article.takeaways == ("one",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"---\ntitle: x\x00\n---\n", "binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"---\ntitle: caf\xe9\n---\n", "not valid UTF-8: byte 0xe9 at offset 14"),
        (b"x" * 101, "file too large: 101 bytes (limit 100)"),
    ],
)
def test_read_markdown_rejects(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError) as info:
        read_markdown(data, rel_path="a.md", max_bytes=100)
    assert reason in str(info.value)


def test_str_input_with_bom_and_nul_in_body() -> None:
    article = parse("\ufeff" + yaml_doc("title: T", "Body\x00 text."))
    assert article.lede == "Body\ufffd text."


def test_yaml_goes_through_the_c_loader() -> None:
    if not yaml.__with_libyaml__:  # pragma: no cover - depends on the PyYAML build
        pytest.skip("PyYAML built without libyaml")
    assert issubclass(FrontMatterLoader, yaml.CSafeLoader)
