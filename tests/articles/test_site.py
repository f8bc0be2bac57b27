"""A Hugo site's configuration and its permalinks, compared with Hugo's documented
examples (gohugo.io: "Configure permalinks", "Permalink tokens", "Multilingual") and
with the cases of Hugo's own ``resources/page/permalinks_test.go``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.articles.markdown import parse_markdown
from bot.articles.site import (
    Language,
    Page,
    Site,
    SiteConfig,
    SiteConfigError,
    expand_pattern,
    site_config,
)
from bot.articles.text import Headings

# Hugo's docs: content/posts/bash-in-slow-motion.md and tutorials/git-for-beginners.md.
DOCS_PERMALINKS = {
    "permalinks": {
        "page": {
            "posts": "/articles/:year/:month/:slug/",
            "tutorials": "/training/:slug/",
        },
        "section": {"posts": "/articles/", "tutorials": "/training/"},
    }
}


def article(title: str, date: str = "2023-03-30T10:00:00Z", extra: str = "") -> str:
    return f'---\ntitle: "{title}"\ndate: {date}\n{extra}---\n\nBody text.\n'


def test_the_documented_monolingual_example_gives_hugos_urls() -> None:
    site = Site(
        site_url="https://example.org", config=site_config([("hugo.toml", DOCS_PERMALINKS)])
    )
    cases = {
        "posts/bash-in-slow-motion.md": (
            "Bash in Slow Motion",
            "/articles/2023/03/bash-in-slow-motion/",
        ),
        "posts/tls-in-a-nutshell.md": ("TLS in a Nutshell", "/articles/2023/03/tls-in-a-nutshell/"),
        "tutorials/git-for-beginners.md": ("Git for Beginners", "/training/git-for-beginners/"),
        "posts/_index.md": ("Posts", "/articles/"),
        "tutorials/_index.md": ("Tutorials", "/training/"),
        "about.md": ("About", "/about/"),  # no pattern for the root: the file's path
    }
    for rel, (title, path) in cases.items():
        parsed = parse_markdown(article(title), rel_path=rel, site=site)
        assert parsed.id == path, rel
        assert parsed.url == "https://example.org" + path


HUGO_DATE = datetime(2012, 4, 6, 3, 1, 2, tzinfo=UTC)
HUGO_PAGE = Page(
    rel_path="blue/test-page.md",
    title="Spf13 Vim 3.0 Release and new website",
    slug="The Slug",
    date=HUGO_DATE,
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Hugo's permalinks_test.go (lower-cased, as Hugo writes the page's path).
        (
            "/:year/:month/:monthname/:day/:weekday/:weekdayname/:yearday/:section/:title/:slug/:filename/",
            "/2012/04/april/06/5/friday/97/blue/spf13-vim-3.0-release-and-new-website/the-slug/test-page/",
        ),
        ("/:contentbasename/", "/test-page/"),
        ("/:slugorcontentbasename/", "/the-slug/"),
        ("/:slugorfilename/", "/the-slug/"),
        ("/:06/:1/:2/:Monday", "/12/4/6/friday/"),
        ("/:2006_01_02_15_04_05/", "/2012_04_06_03_01_02/"),
        ("/:Jan/:January/", "/apr/april/"),
        ("/\\:year/:slug/", "/:year/the-slug/"),
        ("/:section/:year.html", "/blue/2012.html"),
    ],
)
def test_every_documented_token_expands_as_hugo_does(pattern: str, expected: str) -> None:
    assert expand_pattern(pattern, HUGO_PAGE) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/:sections/", "/a/b/c/"),
        ("/:sections[1:]/", "/b/c/"),
        ("/:sections[:last]/", "/a/b/"),
        ("/:sections[last]/", "/c/"),
        ("/:sections[1:2]/", "/b/"),
        ("/:sections[0]/", "/a/"),
        ("/:sections[5]/x", "/x/"),  # out of bounds: nothing, never an error
        ("/:sectionslugs[last]/:title/", "/c/hello/"),
        ("/:sectionslug/:title/", "/a/hello/"),
    ],
)
def test_section_slices_are_lenient_like_hugos(pattern: str, expected: str) -> None:
    section = Page(rel_path="a/b/c/_index.md", title="Hello", slug=None, date=None)
    assert expand_pattern(pattern, section) == expected


def test_a_pages_section_is_its_top_level_folder() -> None:
    # Hugo: deeper folders are sections only with an _index.md of their own.
    page = Page(rel_path="posts/a/b/one.md", title="One", slug=None, date=None)
    assert expand_pattern("/:sections/:sections[1:]/:slugorfilename/", page) == "/posts/one/"


def test_a_page_bundle_takes_its_folders_name_and_is_not_a_section() -> None:
    page = Page(rel_path="posts/my-bundle/index.md", title="T", slug=None, date=None)
    assert expand_pattern("/:sections/:contentbasename/", page) == "/posts/my-bundle/"


def test_a_page_without_a_date_reads_gos_zero_time() -> None:
    page = Page(rel_path="posts/x.md", title="X", slug=None, date=None)
    assert expand_pattern("/:year/:month/:day/:weekdayname/", page) == "/1/01/01/monday/"


def test_the_date_is_the_one_written_in_its_own_offset() -> None:
    config = site_config([("hugo.toml", {"permalinks": {"posts": "/:year/:month/:day/:slug/"}})])
    site = Site(config=config)
    # 01:30 in Paris on the 14th is still the 13th in UTC: Hugo's URL says the 14th.
    parsed = parse_markdown(
        article("Night", "2026-07-14T01:30:00+02:00"), rel_path="posts/n.md", site=site
    )
    assert parsed.id == "/2026/07/14/night/"
    assert parsed.published_at == datetime(2026, 7, 13, 23, 30, tzinfo=UTC)
    # A naive date is read in the site's time zone (Hugo's timeZone).
    tz = ZoneInfo("America/New_York")
    parsed = parse_markdown(
        article("Late", "2026-07-14T23:30:00"), rel_path="posts/l.md", site=site, tz=tz
    )
    assert parsed.id == "/2026/07/14/late/"
    assert parsed.published_at == datetime(2026, 7, 15, 3, 30, tzinfo=UTC)


def test_a_front_matter_url_beats_every_pattern() -> None:
    config = site_config([("hugo.toml", DOCS_PERMALINKS)])
    parsed = parse_markdown(
        article("X", extra="url: /special/place/\n"),
        rel_path="posts/x.md",
        site=Site(site_url="https://e.org", config=config),
    )
    assert (parsed.id, parsed.url) == ("/special/place/", "https://e.org/special/place/")


# Hugo's docs, "Multilingual mode": German by default, English second.
TWO_LANGUAGES = {
    "baseURL": "https://example.org/",
    "title": "Beispiel",
    "defaultContentLanguage": "de",
    "languages": {
        "de": {"weight": 1, "languageName": "Deutsch"},
        "en": {"weight": 2, "title": "Example", "languageName": "English"},
    },
    "permalinks": {"page": {"posts": "/:year/:slug/"}},
}


def test_two_languages_by_file_name_get_their_languages_urls() -> None:
    config = site_config([("hugo.toml", TWO_LANGUAGES)])
    site = Site(config=config, site_url=config.base_url, name=config.title)
    de = parse_markdown(article("Über uns"), rel_path="about.md", site=site)
    en = parse_markdown(article("About us"), rel_path="about.en.md", site=site)
    post_en = parse_markdown(article("Hello World"), rel_path="posts/hello.en.md", site=site)
    unknown = parse_markdown(article("Fr"), rel_path="about.fr.md", site=site)
    assert (de.id, de.url, de.site_name) == ("/about/", "https://example.org/about/", "Beispiel")
    assert (en.id, en.url, en.site_name) == (
        "/en/about/",
        "https://example.org/en/about/",
        "Example",
    )
    assert post_en.id == "/en/2023/hello-world/"
    # "fr" is no language of this site: part of the name, as Hugo reads it.
    assert unknown.id == "/about.fr/"


def test_per_language_content_folders_subdir_and_base_urls() -> None:
    config = site_config(
        [
            (
                "hugo.yaml",
                {
                    "defaultContentLanguage": "en",
                    "defaultContentLanguageInSubdir": True,
                    "languages": {
                        "en": {"contentDir": "content/english"},
                        "fr": {
                            "contentDir": "content/french",
                            "baseURL": "https://fr.example.org",
                            "permalinks": {"page": {"posts": "/articles/:slug/"}},
                        },
                    },
                    "permalinks": {"page": {"posts": "/posts/:year/:slug/"}},
                },
            )
        ]
    )
    site = Site(
        config=config,
        site_url="https://example.org",
        language_dirs=(("english", "en"), ("french", "fr")),
    )
    en = parse_markdown(article("Hello"), rel_path="english/posts/hello.md", site=site)
    fr = parse_markdown(article("Bonjour"), rel_path="french/posts/bonjour.md", site=site)
    assert (en.id, en.url) == ("/en/posts/2023/hello/", "https://example.org/en/posts/2023/hello/")
    # A language on a host of its own has no code prefix (Hugo's multihost mode).
    assert (fr.id, fr.url) == ("/articles/bonjour/", "https://fr.example.org/articles/bonjour/")


def test_keys_are_case_insensitive_and_later_documents_win() -> None:
    config = site_config(
        [
            ("hugo.toml", {"BaseURL": "https://a.org", "title": "A", "timezone": "UTC"}),
            ("config/_default/params.toml", {"params": {"x": 1}}),
            ("config/_default/hugo.toml", {"baseurl": "https://b.org/"}),
        ]
    )
    assert config == SiteConfig(
        base_url="https://b.org",
        title="A",
        time_zone="UTC",
        origins=config.origins,
        files=config.files,
    )
    assert config.origins["baseurl"] == "config/_default/hugo.toml"
    assert config.origins["title"] == "hugo.toml"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"baseURL": "not a url"}, "baseURL: expected an absolute http(s) URL"),
        ({"baseURL": 3}, "baseurl: expected text"),
        ({"permalinks": {"posts": "/:nonsense/"}}, "unknown permalink token :nonsense"),
        ({"permalinks": {"posts": "/:sections[1:]x/:wat[2]/"}}, "unknown permalink token :wat[2]"),
        ({"permalinks": {"page": {"posts": 4}}}, "permalinks.page.posts: expected a pattern"),
        ({"permalinks": "posts"}, "permalinks: expected a map"),
        ({"languages": ["en"]}, "languages: expected a map"),
        ({"languages": {"fr": "French"}}, "languages.fr: expected a map"),
        ({"defaultContentLanguageInSubdir": "yes"}, "expected true or false"),
    ],
)
def test_bad_configuration_is_refused_naming_the_key(
    document: dict[str, object], message: str
) -> None:
    with pytest.raises(SiteConfigError, match=re.escape(message)):
        site_config([("hugo.toml", document)])


def test_the_error_names_the_file_that_gave_the_value() -> None:
    documents = [
        ("hugo.toml", {"baseURL": "https://fine.example", "languages": {"fr": {}}}),
        ("config/_default/hugo.toml", {"baseURL": "nope"}),
        ("config/_default/languages.toml", {"languages": {"fr": {"permalinks": {"p": ":x"}}}}),
    ]
    with pytest.raises(SiteConfigError) as info:
        site_config(documents[:2])
    assert str(info.value) == (
        "config/_default/hugo.toml: baseURL: expected an absolute http(s) URL, got 'nope'"
    )
    with pytest.raises(SiteConfigError) as info:
        site_config([documents[0], documents[2]])
    assert str(info.value) == (
        "config/_default/languages.toml: languages.fr.permalinks: unknown permalink token :x"
    )


def test_a_document_that_is_not_a_map_is_refused() -> None:
    with pytest.raises(SiteConfigError, match=re.escape("hugo.yaml: expected a map")):
        site_config([("hugo.yaml", ["a"])])  # type: ignore[list-item]


def test_taxonomy_patterns_are_ignored_and_language_lookup_is_case_blind() -> None:
    config = site_config(
        [("hugo.toml", {"permalinks": {"term": {"tags": "/t/:slug/"}}, "languages": {"FR": {}}})]
    )
    assert config.permalinks == ()
    assert config.language("fr") == Language(code="fr")


def test_configured_headings_apply_to_markdown_singular_and_decorated() -> None:
    headings = Headings.of(["Key Points", "At a glance"])
    body = "---\ntitle: T\n---\n\n## 🔑 KEY POINT:\n\n- one\n- two\n"
    assert parse_markdown(body, rel_path="a.md", headings=headings).takeaways == ("one", "two")
    body = "---\ntitle: T\n---\n\nIntro.\n\n**At a glance**\n\n1. first\n"
    assert parse_markdown(body, rel_path="a.md", headings=headings).takeaways == ("first",)
    # The default heading is not one of them any more.
    body = "---\ntitle: T\n---\n\n## Key Takeaways\n\n- one\n"
    assert parse_markdown(body, rel_path="a.md", headings=headings).takeaways == ()


def test_headings_that_are_not_ascii_are_found_in_any_case() -> None:
    headings = Headings.of(["Points clés"])
    assert headings.word is None
    body = "---\ntitle: T\n---\n\nIntro.\n\n### POINTS CLÉS\n\n- un\n"
    assert parse_markdown(body, rel_path="a.md", headings=headings).takeaways == ("un",)


def test_headings_need_a_word() -> None:
    with pytest.raises(ValueError, match="at least one heading"):
        Headings.of([" ", "—"])


def test_time_layouts_are_word_characters_only_as_in_hugo() -> None:
    # Hugo reads a token as ":" and word characters: ":-0700" is not one.
    tz = timezone(timedelta(hours=5, minutes=30))
    page = Page(
        rel_path="posts/x.md", title="x", slug=None, date=datetime(2026, 1, 2, 7, 4, tzinfo=tz)
    )
    assert expand_pattern("/:15:04/:-0700/:3PM/", page) == "/0704/:-0700/7am/"
