"""A deterministic generator of realistic article files, for the benchmarks.

``generate(n, seed=...)`` returns ``n`` articles shaped like the ones the bot carries
(see ``tests/articles/fixtures/example-article.md``), each time the same for the same
seed; ``write(folder, articles)`` puts them in a Hugo ``content/`` layout, as
``articles/<slug>.md`` or as page bundles ``articles/<slug>/index.md``.

What varies, in roughly the proportions a real site has:

* front matter: YAML (about 70 %, with quoted, plain and block or flow list styles),
  TOML (about 25 %) and JSON (about 5 %); dates with and without a time or an offset;
  optional description, summary, slug, lastmod, featured image, several authors;
  drafts (about 4 %) and articles scheduled in the future (about 4 %);
* the "Key Takeaways" list: 0 to 8 items (none in about 20 % of the articles), with
  bold, italic, site-relative and absolute links, template leftovers such as
  ``[Keyword](/articles/slug)`` and some nested items, under headings of several
  styles, usually first in the body, sometimes after an introduction or at the end;
* the body: 2 to 8 sections of one or two paragraphs of 300 to 900 characters, some
  hard-wrapped, with bold names, links, quotes, the odd image, Hugo shortcode or
  code span, and a "Sources" line with a long news link at the end; a few files use
  CRLF line endings.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["NOW", "GeneratedArticle", "generate", "write"]

# Articles dated before NOW are published, after it scheduled.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _split(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_PLACES = _split(
    "France Germany Spain Italy Poland Kenya Brazil Canada Japan India Mexico Chile Norway "
    "Egypt Ghana Vietnam Peru Greece Ireland Portugal Texas Ohio Ontario Bavaria Lagos "
    "Paris Berlin Madrid Nairobi Toronto Osaka Lima Oslo Athens Dublin Lisbon Denver"
)
_ACTORS = _split(
    "regulators lawmakers investors farmers nurses teachers engineers researchers "
    "prosecutors residents officials economists analysts voters unions startups "
    "carmakers airlines utilities insurers retailers hospitals universities courts"
)
_NOUNS = _split(
    "budget grid plan deal probe ban tariff strike vote merger reform ruling report "
    "election harvest rollout shortage surge outage recall lawsuit subsidy pipeline "
    "satellite vaccine heatwave flood drought wildfire festival referendum"
)
_VERBS = _split(
    "approve reject delay expand review challenge unveil cut raise probe back block "
    "announce suspend extend launch"
)
_ORGS = _split(
    "X OpenAI Siemens Airbus Toyota Petrobras Safaricom Shopify Nintendo Infosys "
    "Pemex Equinor Maersk Nokia Ryanair Vale Tata Baidu Ericsson Volvo"
)
_PEOPLE = _split(
    "Elon Musk|Ursula von der Leyen|Olaf Scholz|Ana Brnabic|William Ruto|Lula da Silva|"
    "Justin Trudeau|Fumio Kishida|Narendra Modi|Claudia Sheinbaum|Gabriel Boric|"
    "Jonas Gahr Store|Kyriakos Mitsotakis|Simon Harris|Luis Montenegro",
    "|",
)
_WORDS = _split(
    "the a of to in and for on with as by at from that this which while after before "
    "new local national global economic political public private major minor recent "
    "growing ongoing significant broader stronger weaker higher lower early late "
    "government company market industry community policy investigation agency minister "
    "council committee court police board report data figures prices costs jobs workers "
    "families businesses officials experts critics supporters observers sources "
    "said says added noted warned argued expected planned agreed rejected confirmed "
    "week month year quarter decade region country city state border coast capital "
    "measures rules standards safety security health energy climate water housing "
    "transport trade growth inflation rates demand supply risk impact response concern"
)
_SECTIONS = _split(
    "Introduction|Background & Context|What Happened|Analysis|Why It Matters|"
    "Quotes & Reactions|What Comes Next|Outlook|The Numbers|Reactions",
    "|",
)
_CATEGORIES = _split("World Business Politics Technology Science Health Sports Culture Climate")
_TAG_SUFFIXES = "raided|probe|election|markets|strike|heatwave|budget|merger|ruling|launch"
_TAKEAWAY_HEADINGS = (
    ("## Key Takeaways", 50),
    ("### Key Takeaways", 10),
    ("## Key takeaways:", 6),
    ("**Key Takeaways:**", 10),
    ("**Key Takeaways**", 6),
    ("## 🔑 Key Takeaways", 6),
    ("Key Takeaways\n-------------", 4),
    ("# KEY TAKEAWAYS", 4),
    ("## Key Takeaway", 4),
)
# str.format() templates: "{{" and "}}" stand for the shortcode's own braces.
_SHORTCODES = (
    '{{{{< figure src="/images/{slug}.jpg" caption="File photo" >}}}}',
    '{{{{< tweet user="newsdesk" id="17{num}" >}}}}',
    '{{{{< youtube id="dQw{num}" >}}}}',
)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class GeneratedArticle:
    """One generated file: where it goes under the content folder, and its text."""

    rel_path: str
    text: str
    fmt: str  # "yaml", "toml" or "json"
    takeaways: int  # items in its Key Takeaways list (0: none)
    status: str  # "published", "draft" or "scheduled" at NOW


class _Writer:
    """The prose side: sentences, paragraphs, takeaways."""

    def __init__(self, rng: random.Random, subject: str, org: str, person: str) -> None:
        self.rng = rng
        self.subject = subject
        self.org = org
        self.person = person

    def words(self, n: int) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(n))

    def emphasis(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return f"**{rng.choice((self.org, self.person, self.subject))}**"
        if roll < 0.6:
            return f"*{self.words(rng.randint(1, 3))}*"
        if roll < 0.8:
            slug = _slugify(f"{rng.choice(_NOUNS)} {rng.choice(_PLACES)}")
            return f"[{self.words(rng.randint(1, 3))}](/articles/{slug}/)"
        if roll < 0.9:
            site = f"https://www.{rng.choice(_ORGS).lower()}.com"
            return f"[{rng.choice(_ORGS)} statement]({site}/news/{rng.randint(1000, 99999)})"
        if roll < 0.97:
            return "[Keyword](/articles/slug)"
        return f"`{rng.choice(_NOUNS)}_{rng.choice(_NOUNS)}`"

    def sentence(self, marked: bool) -> str:
        rng = self.rng
        parts = [self.words(rng.randint(3, 9))]
        if marked:
            parts.append(self.emphasis())
        parts.append(self.words(rng.randint(3, 12)))
        if rng.random() < 0.15:
            parts.append(f'"{self.words(rng.randint(4, 10)).capitalize()}," said {self.person}')
        text = " ".join(parts)
        return text[0].upper() + text[1:] + rng.choice((".", ".", ".", ".", "!", "?"))

    def paragraph(self, low: int = 300, high: int = 900) -> str:
        target = self.rng.randint(low, high)
        sentences: list[str] = []
        length = 0
        while length < target:
            sentence = self.sentence(marked=self.rng.random() < 0.5)
            sentences.append(sentence)
            length += len(sentence) + 1
        return " ".join(sentences)

    def takeaway(self) -> str:
        rng = self.rng
        text = self.sentence(marked=rng.random() < 0.7)
        if rng.random() < 0.3:
            text = f"**{self.subject}** " + text[0].lower() + text[1:]
        return text


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _takeaways_block(rng: random.Random, writer: _Writer, count: int) -> str:
    heading = _pick(rng, _TAKEAWAY_HEADINGS)
    marker = rng.choice(("*", "*", "-", "-", "+", "1."))
    lines = [heading, ""] if rng.random() < 0.6 else [heading]
    for i in range(count):
        bullet = f"{i + 1}." if marker == "1." else marker
        lines.append(f"{bullet} {writer.takeaway()}")
        if rng.random() < 0.1:
            for _ in range(rng.randint(1, 2)):
                lines.append(f"   - {writer.sentence(marked=rng.random() < 0.5)}")
    return "\n".join(lines)


def _front_matter(fields: dict[str, object], fmt: str, rng: random.Random) -> str:
    if fmt == "json":
        return json.dumps(fields, ensure_ascii=False, indent=2) + "\n"
    if fmt == "toml":
        lines = ["+++"]
        for key, value in fields.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(json.dumps(v) for v in value)}]")
            elif isinstance(value, str) and key in ("date", "publishDate", "lastmod"):
                lines.append(f"{key} = {value}")  # a TOML datetime, not a string
            else:
                lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines.append("+++")
        return "\n".join(lines) + "\n"
    quoted = rng.random() < 0.7
    block_lists = rng.random() < 0.4
    lines = ["---"]
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, list):
            if block_lists:
                lines.append(f"{key}:")
                lines.extend(f"  - {json.dumps(v, ensure_ascii=False)}" for v in value)
            else:
                lines.append(
                    f"{key}: [{', '.join(json.dumps(v, ensure_ascii=False) for v in value)}]"
                )
        elif isinstance(value, str) and key in ("date", "publishDate", "lastmod"):
            lines.append(f"{key}: {value}")
        elif isinstance(value, str) and (quoted or ": " in value or value[:1] in "[{*&!|>'\"%@`#"):
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        else:
            lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _date_text(when: datetime, rng: random.Random, fmt: str) -> str:
    roll = rng.random()
    if roll < 0.6:
        offset = rng.choice((-5, -4, 0, 1, 2, 9))
        local = when.astimezone(UTC) + timedelta(hours=offset)
        sign = "+" if offset >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(offset):02d}:00"
    if roll < 0.8:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "toml":
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d")


def _article(rng: random.Random, index: int, used: set[str]) -> GeneratedArticle:
    place = rng.choice(_PLACES)
    org = rng.choice(_ORGS)
    person = rng.choice(_PEOPLE)
    noun = rng.choice(_NOUNS)
    subject = rng.choice((org, place, person))
    title = (
        f"{place} {rng.choice(_ACTORS).capitalize()} {rng.choice(_VERBS).capitalize()} "
        f"{org} {noun.capitalize()} Amid {rng.choice(_NOUNS).capitalize()} Concerns"
    )
    slug = _slugify(f"{place} {org} {noun}")
    while slug in used:
        slug = f"{slug}-{index}"
    used.add(slug)
    writer = _Writer(rng, subject, org, person)

    fmt = _pick(rng, (("yaml", 70), ("toml", 25), ("json", 5)))
    published = NOW - timedelta(minutes=rng.randint(10, 60 * 24 * 400))
    fields: dict[str, object] = {"title": title}
    fields["date"] = _date_text(published, rng, fmt)
    status = "published"
    roll = rng.random()
    if roll < 0.04:
        fields["draft"] = True
        status = "draft"
    elif roll < 0.08:
        fields["publishDate"] = _date_text(NOW + timedelta(hours=rng.randint(1, 500)), rng, fmt)
        status = "scheduled"
    elif rng.random() < 0.5:
        fields["draft"] = False
    if rng.random() < 0.85:
        authors = [f"{rng.choice(('US', 'EU', 'World', 'Markets', 'Climate'))} News Desk"]
        if rng.random() < 0.2:
            authors.append(rng.choice(_PEOPLE))
        fields["author" if len(authors) == 1 and rng.random() < 0.7 else "authors"] = (
            authors[0] if len(authors) == 1 and rng.random() < 0.7 else authors
        )
    fields["categories"] = rng.sample(_CATEGORIES, rng.randint(1, 2))
    fields["tags"] = [
        f"{subject} {t}" for t in rng.sample(_TAG_SUFFIXES.split("|"), rng.randint(1, 4))
    ]
    if rng.random() < 0.8:
        fields["featured_image"] = rng.choice(
            (
                "/images/default-news.jpg",
                f"/images/{slug}.jpg",
                f"https://cdn.example.net/{slug}.webp",
            )
        )
    if rng.random() < 0.7:
        fields["description"] = f"{subject} {noun} {rng.choice(_VERBS)}ed in {place}"
    if rng.random() < 0.1:
        fields["summary"] = writer.paragraph(120, 400)
    if rng.random() < 0.2:
        fields["slug"] = slug
    if rng.random() < 0.3:
        fields["lastmod"] = _date_text(published + timedelta(hours=rng.randint(1, 48)), rng, fmt)

    takeaways = 0 if rng.random() < 0.2 else rng.randint(1, 8)
    sections: list[str] = []
    for name in rng.sample(_SECTIONS, rng.randint(2, 8)):
        paragraphs = [writer.paragraph() for _ in range(rng.choice((1, 1, 2)))]
        if rng.random() < 0.2:
            paragraphs = [_wrap(p, rng.choice((72, 80, 100))) for p in paragraphs]
        roll = rng.random()
        if roll < 0.05:
            paragraphs.insert(0, f"![{writer.words(3)}](/images/{slug}-{len(sections)}.jpg)")
        elif roll < 0.08:
            code = rng.choice(_SHORTCODES).format(slug=slug, num=rng.randint(1000, 9999))
            paragraphs.insert(0, code)
        heading = f"## {name}" if rng.random() < 0.9 else f"**{name}**"
        sections.append(
            heading + ("\n" if rng.random() < 0.7 else "\n\n") + "\n\n".join(paragraphs)
        )
    if takeaways == 0 and rng.random() < 0.1:
        # Prose that says "takeaway" without a takeaways list.
        sections[-1] += f"\n\nThe main takeaway for {rng.choice(_ACTORS)} is {writer.words(8)}."
    sources = (
        "---\n*Sources: Analysis based on reports from AP, Reuters, and [Original Story]"
        "(https://news.google.com/rss/articles/CBMi"
        + "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            for _ in range(180)
        )
        + "?oc=5).*"
    )
    blocks: list[str] = []
    if takeaways:
        block = _takeaways_block(rng, writer, takeaways)
        where = rng.random()
        if where < 0.7:
            blocks = [block, *sections]
        elif where < 0.9:
            blocks = [writer.paragraph(200, 500), block, *sections]
        else:
            blocks = [*sections, block]
    else:
        blocks = list(sections)
        if rng.random() < 0.5:
            blocks.insert(0, writer.paragraph(200, 600))
    body = "\n\n".join([*blocks, sources]) + "\n"
    text = _front_matter(fields, fmt, rng) + ("\n" if rng.random() < 0.9 else "") + body
    if rng.random() < 0.02:
        text = text.replace("\n", "\r\n")
    bundle = rng.random() < 0.2
    rel_path = f"articles/{slug}/index.md" if bundle else f"articles/{slug}.md"
    return GeneratedArticle(rel_path, text, fmt, takeaways, status)


def generate(count: int, *, seed: int = 20260301) -> list[GeneratedArticle]:
    """``count`` articles, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    used: set[str] = set()
    return [_article(rng, i, used) for i in range(count)]


def write(folder: Path, articles: Iterable[GeneratedArticle]) -> list[Path]:
    """Write ``articles`` under ``folder`` (the content folder); their paths, in order."""
    paths: list[Path] = []
    for article in articles:
        path = folder / article.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(article.text.encode("utf-8"))
        paths.append(path)
    return paths
