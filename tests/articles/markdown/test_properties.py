"""Property-based: whatever comes in, parse_markdown/read_markdown return an Article
or raise ArticleError, never anything else; and the body scan that parses only the
regions that matter gives exactly what parsing the whole body gives."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.articles import generate
from bot.articles.markdown import LEDE_LIMIT, parse_markdown, read_markdown
from bot.articles.markdown.front_matter import split_front_matter
from bot.articles.markdown.scan import scan_body
from bot.articles.model import Article, ArticleError

FUZZ = settings(
    max_examples=int(os.environ.get("NEWSBOT_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SITES = st.sampled_from([None, "https://example.org", "https://example.org/blog/", "ftp://x"])
PATHS = st.sampled_from(
    ["a.md", "posts/x.md", "posts/b/index.md", "_index.md", "", "/", "a b/Ç.md"]
)

FIELDS = [
    "title",
    "Title",
    "date",
    "publishDate",
    "publishdate",
    "publish_date",
    "expiryDate",
    "expiry_date",
    "lastmod",
    "draft",
    "tags",
    "categories",
    "author",
    "authors",
    "description",
    "summary",
    "featured_image",
    "image",
    "images",
    "slug",
    "url",
]
DATE_TEXT = st.sampled_from(
    [
        "2026-02-03",
        "2026-02-03T19:00:14-05:00",
        "2026-13-45",
        "yesterday",
        "0001-01-01",
        "9999-12-31T23:59:59-12:00",
        "Tue, 03 Feb 2026 19:00:14 -0500",
        "",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    DATE_TEXT,
    st.sampled_from(["true", "false", "/img/a.png", "https://x.example/a", "a, b, A"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=8,
)
TEXT_LIST = st.one_of(st.text(max_size=20), st.lists(st.text(max_size=10), max_size=4))
GOOD_DATE = st.sampled_from(["2026-02-03", "2026-02-03T19:00:14-05:00", "2026-06-01 10:00", ""])
# Documents that mostly get past the front matter (to reach the body) ...
PLAUSIBLE = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=30).filter(str.strip)},
    optional={
        "date": GOOD_DATE,
        "publishDate": GOOD_DATE,
        "expiryDate": GOOD_DATE,
        "lastmod": GOOD_DATE,
        "draft": st.one_of(st.booleans(), st.sampled_from(["true", "False"])),
        "tags": TEXT_LIST,
        "categories": TEXT_LIST,
        "author": TEXT_LIST,
        "authors": TEXT_LIST,
        "description": st.text(max_size=60),
        "summary": st.text(max_size=60),
        "featured_image": st.sampled_from(["/img/a.png", "img/b.png", "https://c.example/d.png"]),
        "images": st.lists(st.sampled_from(["/i.png", "", "https://c.example/e.png"]), max_size=2),
        "slug": st.text(max_size=12),
        "url": st.sampled_from(["/x/", "y", "https://z.example/p/", "//evil.example/", ""]),
    },
)
# ... and anything at all under the usual field names.
ANYTHING = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), VALUES, max_size=8
)
FRONT = st.one_of(
    PLAUSIBLE,
    PLAUSIBLE,
    ANYTHING,
    st.tuples(PLAUSIBLE, ANYTHING).map(lambda pair: {**pair[0], **pair[1]}),
)

SNIPPETS = st.sampled_from(
    [
        "## Key Takeaways\n",
        "**Key Takeaways:**\n",
        "Key Takeaways\n---\n",
        "\n",
        "\n\n",
        "- ",
        "* ",
        "1. ",
        "  - ",
        "    ",
        "> ",
        "```\n",
        "**",
        "__",
        "*",
        "_",
        "~~",
        "`",
        "[Keyword](/articles/slug)",
        "[link](/a/b)",
        "![img](/i.png)",
        "<b>",
        "</b>",
        "<br>",
        "<!-- c -->",
        "\\*",
        "&amp;",
        "&#42;",
        "[ref]",
        "[ref]: /r\n",
        "<https://a.b>",
        "{{< x >}}",
        "word ",
        "Sentence. ",
        "\t",
        "\r\n",
        "\x00",
        "\ufeff",
    ]
)
SOUP = st.lists(
    st.one_of(SNIPPETS, st.text(alphabet="ab *_`~[]()!<>#-+=.:\\\n&;/", max_size=12)),
    max_size=40,
).map("".join)
INLINE = st.lists(
    st.one_of(
        SNIPPETS.filter(lambda s: "\n" not in s), st.text(alphabet="ab *_`~[]()!<&;/", max_size=8)
    ),
    max_size=8,
).map("".join)
ITEM = st.tuples(
    st.sampled_from(["- ", "* ", "+ ", "1. ", "2) "]),
    INLINE,
    st.sampled_from(["", "\n  continued", "\n  - nested ", "\n    1. deeper ", "\n\n  para"]),
    INLINE,
).map("".join)
HEADINGS = st.sampled_from(
    [
        "## Key Takeaways",
        "# key takeaways:",
        "**Key Takeaways**",
        "Key Takeaways\n===",
        "__Key Takeaways__:",
    ]
)
STRUCTURED = st.tuples(
    st.one_of(st.just(""), SOUP),
    HEADINGS,
    st.sampled_from(["\n", "\n\n", "\n\ntext\n\n"]),
    st.lists(ITEM, max_size=5),
    SOUP,
).map(lambda p: p[0] + "\n\n" + p[1] + p[2] + "\n".join(p[3]) + "\n" + p[4])
BODY = st.one_of(SOUP, STRUCTURED, STRUCTURED)


def toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    items = (f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def serialise(front: dict[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        return "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n"
    if fmt == "toml":
        lines = (f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in front.items())
        return "+++\n" + "\n".join(lines) + "\n+++\n"
    return json.dumps(front, ensure_ascii=False, indent=1) + "\n"


def check(article: Article) -> None:
    assert isinstance(article, Article)
    assert article.title and article.title == article.title.strip()
    assert article.id.startswith(("/", "http"))
    for text in (*article.takeaways, article.lede or ""):
        assert "\x00" not in text and "\x01" not in text
    assert all(t.strip() for t in article.takeaways)
    if article.takeaways:
        assert article.lede is None
    if article.lede is not None:
        assert article.lede.strip() and len(article.lede) <= LEDE_LIMIT
    for stamp in (article.date, article.publish_date, article.expiry_date, article.lastmod):
        assert stamp is None or stamp.utcoffset() is not None
    json.dumps(article.to_json(NOW))


def attempt(text: str, rel_path: str = "a.md", site_url: str | None = None) -> None:
    try:
        article = parse_markdown(text, rel_path=rel_path, site_url=site_url)
    except ArticleError as exc:
        assert str(exc)
    else:
        check(article)


@FUZZ
@given(st.text(max_size=300), PATHS, SITES)
def test_random_text(text: str, rel_path: str, site_url: str | None) -> None:
    attempt(text, rel_path, site_url)


@FUZZ
@given(st.text(alphabet='-+{}[]":=,\n #tile\\', max_size=120))
def test_random_delimiter_soup(text: str) -> None:
    attempt(text)


@FUZZ
@given(FRONT, st.sampled_from(["yaml", "toml", "json"]), BODY, PATHS, SITES)
def test_random_front_matter(
    front: dict[str, Any], fmt: str, body: str, rel_path: str, site_url: str | None
) -> None:
    attempt(serialise(front, fmt) + body, rel_path, site_url)


@FUZZ
@given(FRONT, st.sampled_from(["yaml", "toml", "json"]), st.data())
def test_mangled_front_matter(front: dict[str, Any], fmt: str, data: st.DataObject) -> None:
    text = serialise({"title": "T", **front}, fmt)
    position = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.text(alphabet="-+{}[]\"':=,\n #&*!|>%@`\t", max_size=5))
    attempt(text[:position] + junk + text[position:] + "Body.")


@FUZZ
@given(BODY, SITES)
def test_random_markdown_body(body: str, site_url: str | None) -> None:
    attempt("---\ntitle: T\n---\n" + body, "posts/x.md", site_url)
    attempt("---\ntitle: T\ndescription: D\n---\n" + body, "posts/x.md", site_url)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    try:
        article = read_markdown(data, rel_path="a.md", max_bytes=250)
    except ArticleError as exc:
        assert str(exc)
    else:
        check(article)


@FUZZ
@given(
    BODY.map(lambda body: ("---\ntitle: T\n---\n" + body).encode()),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]),
)
def test_random_encoded_documents(data: bytes, encoding: str) -> None:
    raw = data.decode().encode(encoding, errors="replace")
    try:
        article = read_markdown(raw, rel_path="a.md")
    except ArticleError as exc:
        assert str(exc)
    else:
        check(article)


def test_deep_nesting_is_refused_or_handled() -> None:
    for text in (
        "---\ntitle: T\n---\n" + "> " * 5000 + "x\n",
        "---\ntitle: T\n---\n" + "".join("  " * i + "- x\n" for i in range(300)),
        "---\ntitle: T\n---\n## Key Takeaways\n" + "".join("  " * i + "- x\n" for i in range(300)),
        "---\ntitle: T\n---\n" + "*" * 20000 + "x" + "*" * 20000,
        "---\ntitle: T\n---\n" + "[" * 20000 + "x" + "](/y)" * 20000,
        "+++\ntitle = 'T'\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\n",
        '{"title": "T", "x": ' + "[" * 5000 + "]" * 5000 + "}\n",
    ):
        attempt(text)


@FUZZ
@given(BODY, st.booleans())
def test_scanning_regions_matches_full_parse_on_soup(body: str, with_description: bool) -> None:
    # Only the parts of the body that matter are parsed, unless "]:" (a possible link
    # reference definition) appears, which forces a full parse. A trailing HTML
    # comment holding "]:" changes nothing else, so both must agree.
    front = "---\ntitle: T\ndescription: D\n---\n" if with_description else "---\ntitle: T\n---\n"
    try:
        early = parse_markdown(front + body, rel_path="a.md", site_url="https://e.org")
    except ArticleError:
        return
    full = parse_markdown(
        front + body + "\n\n<!-- ]: -->\n", rel_path="a.md", site_url="https://e.org"
    )
    assert (early.takeaways, early.lede) == (full.takeaways, full.lede)


# Documents built from whole blocks, including every construct that could mislead the
# region scan (fences and HTML blocks holding blank lines or headings, link reference
# definitions, lists continued across blank lines, indented code, block quotes ...).
_WORDS = st.sampled_from(
    [
        *("word", "takeaway", "Takeaways", "**bold**", "*em*", "[link](/a/b)", "`code`", "é"),
        *("[Keyword](/articles/slug)", "![img](/i.png)", "<b>x</b>", "&amp;", "\\*", "[`", "`["),
    ]
)
_TEXT = st.lists(_WORDS, min_size=1, max_size=6).map(" ".join)
_TITLES = st.sampled_from(
    [
        *("## Key Takeaways", "# key takeaways:", "**Key Takeaways**", "Key Takeaways\n---"),
        *("Key Takeaways\n===", "__Key Takeaways__:", "### 🔑 Key Takeaway", "Key Takeaways:"),
        *("## Takeaways from the meeting", "## Intro", "##"),
    ]
)
_ITEM = st.tuples(
    st.sampled_from(["- ", "* ", "+ ", "1. ", "2) ", "  - ", "    - ", "-"]),
    _TEXT,
    st.sampled_from(["", "\n  continued", "\nlazy", "\n\n  second paragraph", "\n   - nested"]),
).map("".join)
_BLOCK = st.one_of(
    _TEXT,
    _TITLES,
    st.lists(_ITEM, min_size=1, max_size=4).map("\n".join),
    st.tuples(st.sampled_from(["# ", "## ", "### "]), _TEXT).map("".join),
    st.sampled_from(
        [
            "```\n## Key Takeaways\n\n- fake\n```",
            "~~~\n\n## Key Takeaways\n- fake",
            "```",
            "<div>\n## Key Takeaways\n- fake\n</div>",
            "<!--\n\n## Key Takeaways\n- fake\n\n-->",
            "<!--",
            "<b>bold</b> text",
            "[ref]: /r",
            "[link][ref]",
            "    ## Key Takeaways\n    - fake",
            "> ## Key Takeaways\n> - quoted",
            "> quote\ncontinued",
            "---",
            "***",
            "{{< figure src=x.png >}}",
            "![only](/img.png)",
            "**Just bold**",
            "\t- tabbed [`x",
            "- item\n\n\tcontinued [`",
        ]
    ),
)
_SEPARATOR = st.sampled_from(["\n", "\n\n", "\n\n\n", "\n  \n"])
STRUCTURED_DOC = st.lists(st.tuples(_BLOCK, _SEPARATOR).map("".join), max_size=10).map("".join)


def _scan_result(body: str, need_lede: bool, regions: bool) -> object:
    try:
        scan = scan_body(body, need_lede=need_lede, site_url="https://e.org", regions=regions)
    except ArticleError as exc:
        return ("error", str(exc))
    # The lede is only wanted, and only looked for, when there are no takeaways.
    return (scan.takeaways, None if scan.takeaways else scan.lede)


@FUZZ
@given(STRUCTURED_DOC, st.booleans())
def test_scanning_regions_matches_full_parse(body: str, need_lede: bool) -> None:
    assert _scan_result(body, need_lede, regions=True) == _scan_result(
        body, need_lede, regions=False
    )


def test_scanning_regions_matches_full_parse_on_generated_articles() -> None:
    # Realistic articles (the benchmark's generator): takeaways first, after an
    # introduction or at the end, several title styles, none at all, ledes ...
    for generated in generate(300, seed=7):
        text = generated.text.replace("\r\n", "\n")
        _, body = split_front_matter(text)
        for need_lede in (False, True):
            by_regions = _scan_result(body, need_lede, regions=True)
            assert by_regions == _scan_result(body, need_lede, regions=False), generated.rel_path
        assert len(parse_markdown(text, rel_path=generated.rel_path).takeaways) == (
            generated.takeaways
        )


_NESTING_PIECES = st.sampled_from(
    ["*", "**", "_", "__", "~~", "[", "![", "](/y)", "]", "\\*", "`", "a", " ", "\n", "\n\n"]
)
_NESTING_SOUP = st.tuples(
    st.lists(st.tuples(_NESTING_PIECES, st.integers(1, 120)), max_size=8),
    st.booleans(),
).map(
    lambda p: (
        "".join(piece * n for piece, n in p[0])
        + ("\n\n## Key Takeaways\n\n- one\n" if p[1] else "")
    )
)


@FUZZ
@given(_NESTING_SOUP, st.booleans())
def test_the_nesting_verdict_is_the_same_on_every_path(body: str, need_lede: bool) -> None:
    assert _scan_result(body, need_lede, regions=True) == _scan_result(
        body, need_lede, regions=False
    )
