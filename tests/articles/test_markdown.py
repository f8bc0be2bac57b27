"""Markdown article parsing: front matter, fields, permalinks, takeaways, lede."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.articles.markdown import parse_markdown, read_markdown
from bot.articles.markdown.front_matter import FrontMatterLoader
from bot.articles.model import Article, ArticleError, Status

FIXTURES = Path(__file__).parent / "fixtures"
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


# --------------------------------------------------------------------------- front matter formats


def test_yaml_front_matter() -> None:
    article = parse("---\ntitle: Hello\ntags: [a, b]\n---\n\nBody text.\n")
    assert article.title == "Hello"
    assert article.tags == ("a", "b")
    assert article.lede == "Body text."


def test_toml_front_matter() -> None:
    text = (
        "+++\n"
        'title = "Hello TOML"\n'
        "date = 2026-02-03T19:00:14-05:00\n"
        'tags = ["one", "two"]\n'
        "draft = true\n"
        "[params]\n"
        "x = 1\n"
        "+++\n"
        "Body.\n"
    )
    article = parse(text)
    assert article.title == "Hello TOML"
    assert article.date == datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)
    assert article.tags == ("one", "two")
    assert article.draft is True


def test_toml_local_datetime_uses_tz() -> None:
    text = '+++\ntitle = "T"\ndate = 2026-07-01T12:00:00\n+++\n'
    article = parse(text, tz=ZoneInfo("America/New_York"))
    assert article.date == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)


def test_json_front_matter_pretty() -> None:
    text = (
        '{\n  "title": "Hello JSON",\n  "params": {\n    "a": 1\n  },\n  "tags": ["x"]\n}\nBody.\n'
    )
    article = parse(text)
    assert article.title == "Hello JSON"
    assert article.tags == ("x",)
    assert article.lede == "Body."


def test_json_front_matter_on_one_line_with_braces_in_strings() -> None:
    text = '{"title": "A } brace", "description": "{not the end}"}\n\nBody.\n'
    article = parse(text)
    assert article.title == "A } brace"
    assert article.description == "{not the end}"


def test_leading_blank_lines_and_crlf() -> None:
    text = "\r\n\r\n---\r\ntitle: CRLF\r\n---\r\n## Key Takeaways\r\n- one\r\n- two\r\n"
    article = parse(text)
    assert article.title == "CRLF"
    assert article.takeaways == ("one", "two")


def test_cr_line_endings() -> None:
    text = "---\rtitle: CR\r---\r## Key Takeaways\r- one\r  wrapped\r- two\r"
    assert parse(text).takeaways == ("one wrapped", "two")


def test_yaml_error_line_counts_crlf_and_leading_blank_lines() -> None:
    with pytest.raises(ArticleError, match="YAML error at line 5"):
        parse("\r\n\r\n---\r\ntitle: T\r\nbad: a: b\r\n---\r\n")


def test_keys_are_case_insensitive() -> None:
    article = parse(
        yaml_doc(
            "Title: Cased\nPublishDate: 2026-01-02\nExpiryDate: 2027-01-01\nLastMod: 2026-01-03\n"
            "Tags: [a]\nDRAFT: false"
        )
    )
    assert article.title == "Cased"
    assert article.publish_date == datetime(2026, 1, 2, tzinfo=UTC)
    assert article.expiry_date == datetime(2027, 1, 1, tzinfo=UTC)
    assert article.lastmod == datetime(2026, 1, 3, tzinfo=UTC)
    assert article.tags == ("a",)


@pytest.mark.parametrize("key", ["publishdate", "publishDate", "publish_date", "pubdate"])
def test_publish_date_aliases(key: str) -> None:
    article = parse(yaml_doc(f"title: T\n{key}: 2026-05-06"))
    assert article.publish_date == datetime(2026, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize("key", ["expiryDate", "expirydate", "expiry_date", "unpublishdate"])
def test_expiry_date_aliases(key: str) -> None:
    article = parse(yaml_doc(f"title: T\n{key}: 2026-05-06"))
    assert article.expiry_date == datetime(2026, 5, 6, tzinfo=UTC)


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


# ---------------------------------------------------------------------- takeaways: finding them


@pytest.mark.parametrize(
    "heading",
    [
        "# Key Takeaways",
        "## Key Takeaways",
        "###### key takeaways",
        "### KEY TAKEAWAYS:",
        "## Key takeaways:",
        "## Key Takeaways ##",
        "## **Key Takeaways**",
        "## 🔑 Key Takeaways",
        "Key Takeaways\n=============",
        "Key Takeaways:\n---",
        "**Key Takeaways**",
        "**Key Takeaways:**",
        "**Key Takeaways**:",
        "__Key Takeaways__",
        "Key Takeaways:",
        "## Key Takeaway",
    ],
)
def test_heading_variants(heading: str) -> None:
    assert takeaways(f"Intro paragraph.\n\n{heading}\n\n- one\n- two\n") == ("one", "two")


def test_list_may_follow_the_heading_without_blank_line() -> None:
    assert takeaways("## Key Takeaways\n* one\n* two\n") == ("one", "two")
    assert takeaways("**Key Takeaways**\n- one\n- two\n") == ("one", "two")


def test_blank_lines_between_heading_and_list() -> None:
    assert takeaways("## Key Takeaways\n\n\n\n+ one\n+ two\n") == ("one", "two")


@pytest.mark.parametrize("marker", ["*", "-", "+", "1.", "1)"])
def test_list_markers(marker: str) -> None:
    markdown = f"## Key Takeaways\n{marker} one\n{marker} two\n"
    if marker[0].isdigit():
        markdown = f"## Key Takeaways\n1{marker[1:]} one\n2{marker[1:]} two\n"
    assert takeaways(markdown) == ("one", "two")


def test_numbered_list_starting_elsewhere() -> None:
    assert takeaways("## Key Takeaways\n\n3. three\n4. four\n") == ("three", "four")


def test_wrapped_items_are_joined_with_spaces() -> None:
    markdown = (
        "## Key Takeaways\n"
        "- first line\n"
        "  continues here\n"
        "lazily continued\n"
        "- hard break  \n"
        "  after\n"
    )
    assert takeaways(markdown) == ("first line continues here lazily continued", "hard break after")


def test_loose_list_with_paragraphs() -> None:
    markdown = "## Key Takeaways\n\n- one\n\n  still one\n\n- two\n"
    assert takeaways(markdown) == ("one still one", "two")


def test_nested_items_stay_with_their_parent() -> None:
    markdown = (
        "## Key Takeaways\n"
        "- parent one\n"
        "  - child a\n"
        "  - child **b**\n"
        "    1. grandchild\n"
        "- parent two\n"
    )
    assert takeaways(markdown) == (
        "parent one\n  - child a\n  - child **b**\n    - grandchild",
        "parent two",
    )


def test_list_elsewhere_is_not_taken() -> None:
    markdown = "Intro.\n\n- not\n- these\n\n## Other\n\n- nor\n- these\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Intro."


def test_heading_without_list() -> None:
    markdown = "## Key Takeaways\n\nJust a paragraph.\n\n- a list after a paragraph\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Just a paragraph."


def test_heading_at_the_end_of_the_file() -> None:
    article = body("First words.\n\n## Key Takeaways\n")
    assert article.takeaways == ()
    assert article.lede == "First words."


def test_second_heading_with_a_list_is_used() -> None:
    markdown = "## Key Takeaways\n\nComing soon.\n\n## Key Takeaways\n\n- real\n"
    assert takeaways(markdown) == ("real",)


def test_key_takeaways_in_code_is_not_a_heading() -> None:
    markdown = "```\n## Key Takeaways\n- fake\n```\n\n    ## Key Takeaways\n    - fake\n\nProse.\n"
    article = body(markdown)
    assert article.takeaways == ()
    assert article.lede == "Prose."


def test_other_headings_mentioning_takeaways_do_not_count() -> None:
    markdown = "## Takeaways from the key meeting\n\n- no\n\n## My Key Takeaways\n\n- no\n"
    assert takeaways(markdown) == ()


def test_bold_line_inside_prose_is_not_a_heading() -> None:
    markdown = "The **Key Takeaways** are below.\n- no\n"
    assert takeaways(markdown) == ()


def test_empty_items_are_skipped() -> None:
    assert takeaways("## Key Takeaways\n-\n- one\n- [Keyword](/articles/slug)\n") == ("one",)


def test_heading_inside_a_block_quote_is_not_looked_at() -> None:
    assert takeaways("> ## Key Takeaways\n> - quoted\n") == ()


def test_list_in_blockquote_after_heading_is_not_taken() -> None:
    assert takeaways("## Key Takeaways\n\n> - quoted\n") == ()


def test_reference_links_defined_later_resolve() -> None:
    markdown = "## Key Takeaways\n- see [the docs][docs]\n\n## More\n\n[docs]: /docs/\n"
    assert takeaways(markdown, site_url=SITE) == ("see [the docs](https://example.org/docs/)",)


# --------------------------------------------------------------------------- inline -> Discord


def one(item: str, site_url: str | None = None) -> str:
    (result,) = takeaways(f"## Key Takeaways\n- {item}\n", site_url=site_url)
    return result


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold**", "**bold**"),
        ("__bold__", "**bold**"),
        ("*em*", "*em*"),
        ("_em_", "*em*"),
        ("***both***", "***both***"),
        ("~~gone~~", "~~gone~~"),
        ("`code`", "`code`"),
        ("`` a`b ``", "`` a`b ``"),
        ("snake_case_word", "snake_case_word"),
        (r"not \*em\* or \_em\_", r"not \*em\* or \_em\_"),
        (r"a \# b \. c", r"a \# b . c"),
        ("fish &amp; chips &#42;", r"fish & chips \*"),
        ("x <span>inside</span> y", "x inside y"),
        ("a<br>b<br/>c", "a b c"),
        ("before <!-- note --> after", "before after"),
        ("H<sub>2</sub>O <b>bold</b>.", "H2O bold."),
        ("a  \nb", "a b"),
    ],
)
def test_inline_rendering(source: str, expected: str) -> None:
    assert one(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[docs](https://docs.example.net/a)", "[docs](https://docs.example.net/a)"),
        ("[rel](/path/page/)", "[rel](https://example.org/path/page/)"),
        ("[rel](page/)", "[rel](https://example.org/page/)"),
        ("[**bold** link](/x/)", "[**bold** link](https://example.org/x/)"),
        ("[js](javascript:alert(1))", "[js](javascript:alert(1))"),
        ("[mail](mailto:a@b.c)", "mail"),
        ("<https://auto.example/x>", "https://auto.example/x"),
        ("[paren](/a_(b))", "[paren](https://example.org/a_%28b%29)"),
        ("![alt text](/img/a.png)", "[alt text](https://example.org/img/a.png)"),
        ("![](/img/a.png) rest", "rest"),
        ("[![logo](/l.png)](/home/)", "[logo](https://example.org/home/)"),
        ("[Paris](/articles/slug) burns", "Paris burns"),
        ("see [Keyword](/articles/slug), an expert", "see, an expert"),
        ("[Keyword](https://news.example/real) leads", "leads"),
        ("see [Keyword](/articles/slug)", "see"),
        ("(see [Keyword](/articles/slug)) now", "(see) now"),
        ("now ([Keyword](/articles/slug))", "now"),
        ("visit [Keyword](/articles/slug) or [Keyword](/articles/slug).", "visit."),
        ("**[Keyword](/articles/slug)** stays", "stays"),
        ("[bad](https://[bad/x) text", "[bad](https://%5Bbad/x) text"),
        ("a **[Keyword](/articles/slug) word** b", "a **word** b"),
    ],
)
def test_links_with_site_url(source: str, expected: str) -> None:
    assert one(source, site_url=SITE) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[rel](/path/page/) text", "rel text"),
        ("[abs](https://a.example/) text", "[abs](https://a.example/) text"),
        ("![pic](/img/a.png) text", "pic text"),
        ("![pic](https://cdn.example/a.png)", "[pic](https://cdn.example/a.png)"),
    ],
)
def test_links_without_site_url(source: str, expected: str) -> None:
    assert one(source) == expected


# --------------------------------------------------------------------------- lede fallback


def test_lede_prefers_summary_then_description_then_paragraph() -> None:
    both = parse(
        yaml_doc("title: T\nsummary: The summary.\ndescription: The description.", "Body.")
    )
    assert both.lede == "The summary."
    desc = parse(yaml_doc("title: T\ndescription: The description.", "Body."))
    assert desc.lede == "The description."
    para = parse(yaml_doc("title: T", "Body."))
    assert para.lede == "Body."


def test_lede_is_none_when_takeaways_exist() -> None:
    article = parse(yaml_doc("title: T\nsummary: S.", "## Key Takeaways\n- k\n"))
    assert article.takeaways == ("k",)
    assert article.lede is None
    assert article.summary == "S."


def test_lede_skips_headings_images_and_bold_lines() -> None:
    markdown = (
        "# Title\n\n"
        "![banner](/b.png)\n\n"
        "**Introduction**\n\n"
        "{{< figure src=x.png >}}\n\n"
        "> quoted\n\n"
        "The *first* real paragraph, with [a link](/x/).\n\n"
        "Second.\n"
    )
    assert body(markdown, site_url=SITE).lede == (
        "The *first* real paragraph, with [a link](https://example.org/x/)."
    )


def test_lede_bold_start_but_more_text_is_prose() -> None:
    assert body("**Paris** was quiet today.\n").lede == "**Paris** was quiet today."


def test_lede_cut_at_sentence_boundary() -> None:
    sentence = "This sentence is exactly fifty characters long ok. "
    article = body(sentence * 20)
    assert article.lede is not None
    assert len(article.lede) <= 600
    assert article.lede.endswith("ok.")
    assert article.lede == (sentence * 11).strip()


def test_lede_from_summary_is_rendered_and_cut() -> None:
    summary = "A __bold__ [Keyword](/articles/slug) claim. " + "More words here. " * 60
    article = parse(yaml_doc(f"title: T\nsummary: '{summary}'"))
    assert article.lede is not None
    assert article.lede.startswith("A **bold** claim. More words here.")
    assert len(article.lede) <= 600
    assert article.summary == summary.strip()


def test_placeholder_only_description_gives_no_lede() -> None:
    article = parse(yaml_doc("title: T\ndescription: '[Keyword](/articles/slug)'", "Body."))
    assert article.description == "[Keyword](/articles/slug)"
    assert article.lede is None


def test_no_body_no_lede() -> None:
    assert body("").lede is None
    assert body("## Only a heading\n").lede is None


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


# --------------------------------------------------------------------------- parsing less


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # The shortcut parses the section around each "takeaway" only: an earlier
        # mention in prose, a title at the very end, no blank line around the title.
        (
            "The key takeaway is simple.\n\n## Background\n\nText.\n\n## Key Takeaways\n\n- a\n",
            ("a",),
        ),
        (
            "Intro.\n\n## Body\n\nText **x**.\n\n**Key Takeaways:**\n\n1. one\n2. two\n",
            ("one", "two"),
        ),
        ("Intro line\n## Key Takeaways\n* one\n* two\n## Next\ntext\n", ("one", "two")),
        # ... and is not fooled by what could hold or continue it.
        ("Intro.\n\n```\n## Key Takeaways\n\n- fake\n```\n\n## Key Takeaways\n- real\n", ("real",)),
        ("<!--\n\n## Key Takeaways\n- fake\n\n-->\n\nText.\n", ()),
        ("<div>\n## Key Takeaways\n- fake\n</div>\n\nText.\n", ()),
        ("- a\n- b takeaway\n\n  **Key Takeaways**\n\n- not these\n", ()),
        ("- a\n\n    x takeaway\n\n  **Key Takeaways**\n\n- not these\n", ()),
    ],
)
def test_takeaways_found_by_the_shortcut(markdown: str, expected: tuple[str, ...]) -> None:
    assert takeaways(markdown) == expected


def test_lede_skips_a_commented_out_section() -> None:
    assert body("<!--\n\n## Key Takeaways\n- fake\n\n-->\n\nReal lede.\n").lede == "Real lede."


# --------------------------------------------------------------------------- parser quirks


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        # markdown-it.rs 0.6.0 panics on these (an unmatched backtick after a "["): the
        # parser is steered around it, with the result markdown-it gives.
        (
            "- see [the ` key\n- `code` and [link](/x)\n",
            ("see [the ` key", "`code` and [link](https://example.org/x)"),
        ),
        ("- [`a`b `c\n- two [`] three\n", ("[`a`b `c", "two [`] three")),
        ("- item\n\n\tcontinued [`\n", ("item continued [`",)),
    ],
)
def test_backticks_after_a_bracket(items: str, expected: tuple[str, ...]) -> None:
    assert takeaways("## Key Takeaways\n" + items, site_url=SITE) == expected


def test_long_lists_and_busy_paragraphs_are_not_too_deep() -> None:
    item = "- **Bold** words, a [link](/x/) and *more* of_the snake_case words\n"
    markdown = "## Key Takeaways\n" + item * 300 + "\n" + "a **b** c_d [e](/f) " * 300 + "\n"
    assert len(takeaways(markdown)) == 300


@pytest.mark.parametrize(
    "markdown",
    [
        "> " * 150 + "x\n",
        "- " * 150 + "x\n",
        "*" * 500 + "x" + "*" * 500,
        "![" * 300 + "x" + "](/y)" * 300,
    ],
)
def test_too_deep_nesting_is_refused(markdown: str) -> None:
    # markdown-it.rs would overflow the stack long before a file reached its size limit.
    with pytest.raises(ArticleError, match="markdown nested too deeply"):
        body(markdown)


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        # Front matter summaries are inline Markdown: no lists, headings or quotes.
        ("summary: '2024. A big year.'", "2024. A big year."),
        ("summary: |\n  Highlights:\n  - one\n  - two", "Highlights: - one - two"),
        ("summary: '# 1 fan'", "# 1 fan"),
        ("description: '> quoted [Keyword](/articles/slug) words'", "> quoted words"),
        ('summary: "[x]: /y\\n\\nsee [it][x]"', "[x]: /y see [it][x]"),
    ],
)
def test_summary_is_read_as_inline_markdown(front: str, expected: str) -> None:
    assert parse(yaml_doc(f"title: T\n{front}", "Body.")).lede == expected


# -- what a review found the shortcuts getting wrong (each now as the parsers read it)


def test_a_link_with_a_blank_label_is_no_prose_for_the_lede() -> None:
    text = yaml_doc(
        "title: T", "![Chart](/img/chart.png) [ ](/gallery/)\n\nReal first paragraph.\n"
    )
    assert parse(text).lede == "Real first paragraph."


def test_only_ascii_digits_make_an_ordered_list_item() -> None:
    assert takeaways("## Key Takeaways\n\n1. First point\n٢. Second point") == (
        "First point ٢. Second point",
    )
    assert takeaways("## Key Takeaways\n\n١. Not an item") == ()


@pytest.mark.parametrize(
    "value", ["٢٠٢٦-٠٢-٠٣", "２０２６-02-03", "2026-02-03T19:00:14.٣Z", "2026-02-03T19:00:14+00:60"]
)
def test_toml_dates_the_toml_parser_refuses_are_refused(value: str) -> None:
    with pytest.raises(ArticleError, match="front matter: TOML error"):
        parse(f'+++\ntitle = "T"\ndate = {value}\n+++\nBody.\n')
