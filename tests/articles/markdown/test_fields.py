"""Front matter fields -> article values: fields, dates and status, permalinks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.articles.model import Status
from tests.articles.markdown.helpers import SITE, parse, yaml_doc

# --------------------------------------------------------------------------- fields


def test_comma_separated_tags_trimmed_and_deduplicated() -> None:
    article = parse(yaml_doc('title: T\ntags: " Paris , France,paris, ,Europe"\ncategories: World'))
    assert article.tags == ("Paris", "France", "Europe")
    assert article.categories == ("World",)


def test_tag_list_deduplicated_case_insensitively_order_kept() -> None:
    article = parse(yaml_doc("title: T\ntags: [B, a, b, A, 2024]"))
    assert article.tags == ("B", "a", "2024")


def test_authors_from_author_and_authors() -> None:
    article = parse(yaml_doc("title: T\nauthor: Ann\nauthors: [Bob, ann, Cy]"))
    assert article.authors == ("Ann", "Bob", "Cy")
    assert parse(yaml_doc("title: T\nauthors: Solo")).authors == ("Solo",)
    assert parse(yaml_doc("title: T\nauthor: [A, B]")).authors == ("A", "B")
    assert parse(yaml_doc("title: T\nauthor: {name: Dee, email: d@x}")).authors == ("Dee",)


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("featured_image: /img/a.jpg", "https://example.org/img/a.jpg"),
        ("image: img/b.jpg", "https://example.org/img/b.jpg"),
        ("images: [/img/c.jpg, /img/d.jpg]", "https://example.org/img/c.jpg"),
        ("images: /img/e.jpg", "https://example.org/img/e.jpg"),
        ("featured_image: https://cdn.example.net/f.jpg", "https://cdn.example.net/f.jpg"),
        ("featured_image: /img/first.jpg\nimages: [/img/second.jpg]", SITE + "/img/first.jpg"),
        ("featured_image: javascript:alert(1)", None),
        ("images: []", None),
    ],
)
def test_featured_image(front: str, expected: str | None) -> None:
    assert parse(yaml_doc(f"title: T\n{front}"), site_url=SITE).image == expected


def test_relative_image_without_site_url_is_none() -> None:
    assert parse(yaml_doc("title: T\nfeatured_image: /img/a.jpg")).image is None
    absolute = parse(yaml_doc("title: T\nimage: https://cdn.example.net/a.jpg"))
    assert absolute.image == "https://cdn.example.net/a.jpg"


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ('"True"', True), ('"false"', False)]
)
def test_draft_values(value: str, expected: bool) -> None:
    assert parse(yaml_doc(f"title: T\ndraft: {value}")).draft is expected


def test_description_and_summary_stored_as_written() -> None:
    article = parse(yaml_doc("title: T\ndescription: 'A *desc*'\nsummary: 'A [sum](/x)'"))
    assert article.description == "A *desc*"
    assert article.summary == "A [sum](/x)"


def test_title_whitespace_collapsed_and_numbers_accepted() -> None:
    assert parse(yaml_doc("title: >\n  Folded\n  title")).title == "Folded title"
    assert parse(yaml_doc("title: 1984")).title == "1984"


# --------------------------------------------------------------------------- dates and status


def test_date_only() -> None:
    assert parse(yaml_doc("title: T\ndate: 2026-02-03")).date == datetime(2026, 2, 3, tzinfo=UTC)


def test_naive_date_is_read_in_the_given_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    winter = parse(yaml_doc("title: T\ndate: 2026-01-15T09:30:00"), tz=new_york)
    summer = parse(yaml_doc("title: T\ndate: '2026-07-15 09:30'"), tz=new_york)
    date_only = parse(yaml_doc("title: T\ndate: 2026-01-15"), tz=new_york)
    assert winter.date == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    assert summer.date == datetime(2026, 7, 15, 13, 30, tzinfo=UTC)
    assert date_only.date == datetime(2026, 1, 15, 5, 0, tzinfo=UTC)


def test_offset_date_ignores_tz() -> None:
    article = parse(
        yaml_doc("title: T\ndate: 2026-02-03T19:00:14+01:00"), tz=ZoneInfo("America/New_York")
    )
    assert article.date == datetime(2026, 2, 3, 18, 0, 14, tzinfo=UTC)


def test_quoted_rfc3339_and_zulu_dates() -> None:
    assert parse(yaml_doc("title: T\ndate: '2026-02-03T19:00:14Z'")).date == datetime(
        2026, 2, 3, 19, 0, 14, tzinfo=UTC
    )
    json_doc = '{"title": "T", "date": "2026-02-03T19:00:14-05:00"}\n'
    assert parse(json_doc).date == datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("front", "status"),
    [
        ("date: 2026-05-01", Status.PUBLISHED),
        ("date: 2026-05-01\ndraft: true", Status.DRAFT),
        ("date: 2026-07-01", Status.SCHEDULED),
        ("date: 2026-05-01\npublishDate: 2026-06-02", Status.SCHEDULED),
        ("date: 2026-05-01\nexpiryDate: 2026-05-31", Status.EXPIRED),
        ("date: 2026-05-01\nexpiryDate: 2026-07-01", Status.PUBLISHED),
        ("date: 2026-07-01\ndraft: 'true'", Status.DRAFT),
        ("", Status.PUBLISHED),
    ],
)
def test_publish_status(front: str, status: Status) -> None:
    assert parse(yaml_doc(f"title: T\n{front}")).status(NOW) is status


def test_zero_date_means_unset() -> None:
    assert parse(yaml_doc("title: T\ndate: 0001-01-01T00:00:00Z")).date is None


# --------------------------------------------------------------------------- permalinks


@pytest.mark.parametrize(
    ("rel_path", "front", "expected"),
    [
        ("posts/my-post.md", "", "/posts/my-post/"),
        ("posts/my-post/index.md", "", "/posts/my-post/"),
        ("posts/_index.md", "", "/posts/"),
        ("_index.md", "", "/"),
        ("about.md", "", "/about/"),
        ("./posts//x.markdown", "", "/posts/x/"),
        ("posts\\win\\x.md", "", "/posts/win/x/"),
        ("Posts/My Post  Here.md", "", "/posts/my-post-here/"),
        ("posts/what? (really).md", "", "/posts/what-really/"),
        ("posts/my-post.md", "slug: better-name", "/posts/better-name/"),
        ("posts/my-post/index.md", "slug: Bundle Slug", "/posts/bundle-slug/"),
        ("posts/_index.md", "slug: ignored", "/posts/"),
        ("posts/my-post.md", "url: /custom/Path/", "/custom/Path/"),
        ("posts/my-post.md", "url: custom/path", "/custom/path"),
        ("posts/my-post.md", "slug: s\nurl: /wins/", "/wins/"),
        ("posts/my-post.md", "url: https://other.example/x/", "https://other.example/x/"),
        ("posts/my-post.md", "slug: '???'", "/posts/my-post/"),
        ("posts/my-post.md", "url: 'https://bad.exa[mple/'", "/https://bad.exa[mple/"),
    ],
)
def test_permalink(rel_path: str, front: str, expected: str) -> None:
    assert parse(yaml_doc(f"title: T\n{front}"), rel_path=rel_path).id == expected


def test_url_joins_site_url_with_its_path() -> None:
    article = parse(yaml_doc("title: T"), rel_path="posts/x.md", site_url="https://e.org/blog")
    assert article.url == "https://e.org/blog/posts/x/"
    home = parse(yaml_doc("title: T"), rel_path="_index.md", site_url="https://e.org/blog/")
    assert home.url == "https://e.org/blog/"
    assert parse(yaml_doc("title: T")).url is None


def test_absolute_front_matter_url_used_as_is() -> None:
    article = parse(yaml_doc("title: T\nurl: https://other.example/x/"), site_url=SITE)
    assert article.url == "https://other.example/x/"
