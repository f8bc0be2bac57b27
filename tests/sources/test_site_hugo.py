"""Hugo itself as the oracle: the same site built by ``hugo`` (Debian's 0.111 where
installed) gives every content file the URL the bot gives it. Skipped without Hugo;
``tests/articles/test_site.py`` compares with Hugo's documented examples anyway."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.articles.markdown import read_markdown
from bot.config import Settings
from bot.sources.site import load_site

pytestmark = pytest.mark.skipif(shutil.which("hugo") is None, reason="hugo is not installed")

TEMPLATE = "{{ with .File }}{{ .Path }}{{ end }}"
COMMON = 'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'

SITES = {
    "tokens, time zone and two languages by file name": (
        'baseURL = "https://example.org/"\ntimeZone = "Europe/Oslo"\n'
        'defaultContentLanguage = "de"\n[languages.de]\nweight = 1\n[languages.en]\nweight = 2\n'
        "[permalinks]\n"
        'posts = "/:year/:month/:day/:slug/"\n'
        'blue = "/:year/:month/:monthname/:day/:weekday/:weekdayname/:yearday/:section/:title/'
        ':slug/:filename/"\n'
        'notes = "/:sections/:06-:Jan-:2/:slugorfilename/"\n',
        {
            "posts/night.md": 'title: "Night Owl"\ndate: 2026-07-14T01:30:00+02:00',
            "posts/naive.md": 'title: "Naive Date"\ndate: 2026-07-14T23:30:00',
            "posts/night.en.md": 'title: "Owl"\ndate: 2026-07-14T01:30:00+02:00\nslug: "My Slug"',
            "posts/deep/er/page.md": 'title: "Deep Page"\ndate: 2012-04-06T03:01:02Z',
            "posts/_index.md": 'title: "Posts"',
            "blue/test-page.md": 'title: "Spf13 Vim 3.0 Release and new website"\n'
            'date: 2012-04-06T03:01:02Z\nslug: "The Slug"',
            "notes/a/b/bundle/index.md": 'title: "Bundled"\ndate: 2026-01-31T12:00:00Z',
            "notes/plain.md": 'title: "Plain Note"\ndate: 2025-12-31T23:30:00-05:00',
            "about.md": 'title: "About Us"',
            "about.en.md": 'title: "About"\nurl: /custom/en-about/',
            "Mixed Case/File Name.md": 'title: "Mixed"',
        },
    ),
    "per-language content folders in a subdir": (
        'baseURL = "https://example.org/"\ndefaultContentLanguage = "en"\n'
        "defaultContentLanguageInSubdir = true\n"
        '[languages.en]\ncontentDir = "content/en"\nweight = 1\n'
        '[languages.fr]\ncontentDir = "content/fr"\nweight = 2\n'
        '[languages.fr.permalinks]\nposts = "/articles/:slug/"\n'
        '[permalinks]\nposts = "/:year/:slug/"\n',
        {
            "en/posts/hello.md": 'title: "Hello World"\ndate: 2026-03-01',
            "fr/posts/bonjour.md": 'title: "Bonjour le monde"\ndate: 2026-03-01',
            "fr/about.md": 'title: "A propos"',
        },
    ),
    "one host per language": (
        'baseURL = "https://example.org/"\ndefaultContentLanguage = "en"\n'
        '[languages.en]\nbaseURL = "https://en.example.org/"\n'
        '[languages.fr]\nbaseURL = "https://fr.example.org/"\n'
        '[permalinks]\nposts = "/:sections[1:]/:slugorfilename/"\n',
        {
            "posts/a/b/one.md": 'title: "One"',
            "posts/two.fr.md": 'title: "Two"',
        },
    ),
}


@pytest.mark.parametrize("name", SITES)
def test_every_file_gets_the_url_hugo_gives_it(tmp_path: Path, name: str) -> None:
    config, files = SITES[name]
    site = tmp_path / "site"
    (site / "layouts" / "_default").mkdir(parents=True)
    for layout in ("single.html", "list.html"):
        (site / "layouts" / "_default" / layout).write_text(TEMPLATE)
    (site / "hugo.toml").write_text(COMMON + config)
    content = site / "content"
    for rel, front in files.items():
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text(f"---\n{front}\n---\n\nText.\n")
    public = tmp_path / "public"
    subprocess.run(
        ["hugo", "--quiet", "-s", str(site), "-d", str(public)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    by_hugo: dict[str, str] = {}
    for page in public.rglob("index.html"):
        source = page.read_text().strip()
        if source and "<" not in source:  # not a language's redirect page
            url = "/" + page.parent.relative_to(public).as_posix() + "/"
            by_hugo[source.replace("\\", "/")] = url.replace("//", "/")

    settings = Settings(_env_file=None, content_dir=content)  # type: ignore[call-arg]
    loaded, effective = load_site(settings, site, content)
    ours = {}
    for rel in files:
        article = read_markdown(
            (content / rel).read_bytes(), rel_path=rel, site=loaded, tz=effective.tz
        )
        ours[_hugo_path(rel, site)] = article.url
    expected = {}
    for source, path in by_hugo.items():
        if source in ours:
            assert ours[source] is not None
            host = "/".join(ours[source].split("/")[:3])  # type: ignore[union-attr]
            expected[source] = host + _unprefixed(path, host)
    assert {k: v for k, v in ours.items() if k in expected} == expected
    assert set(expected) == set(ours), "Hugo built every file"


def _hugo_path(rel: str, site: Path) -> str:
    """How Hugo names the file in ``.File.Path``: relative to its language's folder."""
    for language in ("en/", "fr/"):
        if (
            rel.startswith(language)
            and (site / "content" / language).is_dir()
            and (f'contentDir = "content/{language[:-1]}"' in (site / "hugo.toml").read_text())
        ):
            return rel[len(language) :]
    return rel


def _unprefixed(path: str, host: str) -> str:
    """Hugo writes a multihost language's pages under ``public/<code>/``; its URLs have
    no such prefix."""
    for code in ("en", "fr"):
        if host.startswith(f"https://{code}.") and path.startswith(f"/{code}/"):
            return path[len(code) + 1 :]
    return path
