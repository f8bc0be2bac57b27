"""RSS/Atom documents -> ParsedFeed: formats, ids, links, dates, takeaways, rejects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles.feed import EntryError, ParsedFeed, parse_feed
from bot.articles.model import ArticleError, Status

FEED_URL = "https://news.example.com/feed.xml"

RSS2_CONTENT = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Example News</title>
  <link>https://news.example.com/</link>
  <description>All the news</description>
  <ttl>45</ttl>
  <item>
    <title>France Raids X Offices Over Child Abuse Images &amp; Deepfakes</title>
    <link>/articles/france-raids-x/</link>
    <guid isPermaLink="false">post-1234</guid>
    <pubDate>Tue, 03 Feb 2026 19:00:14 -0500</pubDate>
    <dc:creator>US News Desk</dc:creator>
    <category>World</category>
    <category>X offices raided</category>
    <category>world</category>
    <media:content url="/images/default-news.jpg" medium="image"/>
    <description>X offices &lt;b&gt;raided&lt;/b&gt; in France</description>
    <content:encoded><![CDATA[
<h2>Key Takeaways</h2>
<ul>
  <li>Multiple offices of <strong>X</strong> have been raided in
      <a href="/tags/france/">France</a>.</li>
  <li><strong>Elon Musk</strong> has been summoned
    <ul><li>by the <em>Paris</em> prosecutor</li><li>for questioning</li></ul>
  </li>
  <li>Rating: 5 * 5 <script>track()</script><style>li{}</style></li>
</ul>
<h2>Introduction</h2>
<p>In a significant development, said <a href="/articles/slug">Keyword</a>, an expert.</p>
]]></content:encoded>
  </item>
</channel>
</rss>
"""

RSS2_DESCRIPTION_ONLY = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Desc only</title><link>https://news.example.com/</link>
<item>
  <title>Only a description</title>
  <guid>https://news.example.com/articles/desc-only/</guid>
  <pubDate>Wed, 04 Feb 2026 08:30:00 GMT</pubDate>
  <description>&lt;p&gt;First &lt;b&gt;para&lt;/b&gt;. Second sentence.&lt;/p&gt;
    &lt;p&gt;Other.&lt;/p&gt;</description>
  <enclosure url="https://cdn.example.com/desc.jpg" type="image/jpeg" length="100"/>
</item>
<item>
  <title>Takeaways in the description</title>
  <link>https://news.example.com/articles/in-desc/</link>
  <description><![CDATA[<p><strong>Key Takeaways:</strong></p>
    <ol><li>One</li><li>Two</li></ol>]]></description>
</item>
</channel></rss>
"""

RSS091 = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel>
<title>Old School</title><link>http://old.example.com/</link><description>d</description>
<language>en-us</language>
<item><title>Plain item</title><link>http://old.example.com/plain.html</link>
<description>Nothing fancy here. Really.</description></item>
</channel></rss>
"""

RSS10_RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example.com/">
  <title>RDF News</title><link>https://rdf.example.com/</link><description>d</description>
</channel>
<item rdf:about="https://rdf.example.com/story/1">
  <title>RDF story</title>
  <link>https://rdf.example.com/story/1</link>
  <dc:date>2026-02-03T10:15:00+01:00</dc:date>
  <dc:subject>Science</dc:subject>
  <dc:creator>Ada</dc:creator>
  <description>A story about &lt;em&gt;science&lt;/em&gt;.</description>
</item>
</rdf:RDF>
"""

ATOM_HTML = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Atom &lt;b&gt;News&lt;/b&gt;</title>
  <link href="https://atom.example.com/"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-02-05T12:00:00Z</updated>
  <entry>
    <title>Atom with html content</title>
    <link rel="alternate" href="https://atom.example.com/posts/html/"/>
    <id>tag:atom.example.com,2026:html</id>
    <published>2026-02-05T09:00:00+01:00</published>
    <updated>2026-02-05T11:00:00Z</updated>
    <author><name>Ann Writer</name><email>ann@example.com</email></author>
    <author><name>Bob</name></author>
    <category term="tech" label="Technology"/>
    <category term="Science"/>
    <category term="TECH"/>
    <summary type="text">Plain summary with a * star &amp; &lt;tag&gt;.</summary>
    <content type="html">&lt;h3&gt;Key takeaways&lt;/h3&gt;
      &lt;ul&gt;&lt;li&gt;&lt;b&gt;Bold&lt;/b&gt;
      &lt;a href="related/"&gt;relative&lt;/a&gt;&lt;/li&gt;&lt;/ul&gt;&lt;img src="pic.png"&gt;
    </content>
  </entry>
</feed>
"""

ATOM_XHTML = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://xhtml.example.com/blog/">
  <title>XHTML</title>
  <id>urn:x</id>
  <updated>2026-02-05T12:00:00Z</updated>
  <entry>
    <title>Atom with xhtml content</title>
    <link href="posts/xhtml/"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-02-05T12:00:00Z</updated>
    <content type="xhtml">
      <div xmlns="http://www.w3.org/1999/xhtml">
        <p><strong>Key Takeaways</strong></p>
        <ul><li>From <a href="other/">xhtml</a> &amp; more</li></ul>
      </div>
    </content>
  </entry>
  <entry>
    <title>No takeaways here</title>
    <link href="https://xhtml.example.com/blog/posts/plain/"/>
    <id>urn:uuid:2</id>
    <updated>2026-02-05T12:00:00Z</updated>
    <content type="xhtml">
      <div xmlns="http://www.w3.org/1999/xhtml"><h2>Intro</h2>
        <p>The <em>first</em> paragraph. It has two sentences.</p><p>Second paragraph.</p>
      </div>
    </content>
  </entry>
</feed>
"""


def _rss_items(*items: str, channel: str = "<title>T</title>") -> str:
    return f'<rss version="2.0"><channel>{channel}{"".join(items)}</channel></rss>'


def _one(document: str | bytes, **kwargs: object) -> ParsedFeed:
    parsed = parse_feed(document, feed_url=FEED_URL, **kwargs)  # type: ignore[arg-type]
    assert parsed.errors == ()
    assert len(parsed.articles) >= 1
    return parsed


# --- RSS 2.0 ---------------------------------------------------------------------------


def test_rss2_with_content_encoded() -> None:
    parsed = _one(RSS2_CONTENT.encode())
    assert parsed.title == "Example News"
    assert parsed.link == "https://news.example.com/"
    assert parsed.ttl_minutes == 45
    (article,) = parsed.articles
    assert article.id == "post-1234"
    assert article.title == "France Raids X Offices Over Child Abuse Images & Deepfakes"
    assert article.url == "https://news.example.com/articles/france-raids-x/"
    published = datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)
    assert article.date == article.publish_date == article.published_at == published
    assert article.lastmod is None  # no <updated>: not invented from pubDate
    assert article.draft is False
    assert article.status(published + timedelta(seconds=1)) is Status.PUBLISHED
    assert article.tags == ("World", "X offices raided")
    assert article.categories == article.tags
    assert article.authors == ("US News Desk",)
    assert article.description == "X offices raided in France"
    assert article.image == "https://news.example.com/images/default-news.jpg"
    assert article.takeaways == (
        "Multiple offices of **X** have been raided in "
        "[France](https://news.example.com/tags/france/).",
        "**Elon Musk** has been summoned\n  - by the *Paris* prosecutor\n  - for questioning",
        r"Rating: 5 \* 5",
    )
    assert article.lede is None


def test_rss2_description_only() -> None:
    parsed = _one(RSS2_DESCRIPTION_ONLY)
    first, second = parsed.articles
    # A permalink <guid> with no <link> is the link (and the id).
    assert first.id == first.url == "https://news.example.com/articles/desc-only/"
    assert first.date == datetime(2026, 2, 4, 8, 30, tzinfo=UTC)
    assert first.takeaways == ()
    assert first.lede == "First **para**. Second sentence."
    assert first.description == "First para. Second sentence. Other."
    assert first.image == "https://cdn.example.com/desc.jpg"
    # No guid: the link is the id.
    assert second.id == second.url == "https://news.example.com/articles/in-desc/"
    assert second.takeaways == ("One", "Two")
    assert second.lede is None
    assert second.date is None


def test_guid_that_is_not_a_url_is_not_a_link() -> None:
    parsed = parse_feed(
        _rss_items(
            "<item><title>Guid only</title><guid>abc-123</guid></item>",
            "<item><title>Fine</title><guid>abc-124</guid><link>/ok</link></item>",
        ),
        feed_url=FEED_URL,
    )
    assert parsed.errors == (EntryError("Guid only", "no link"),)
    (article,) = parsed.articles
    assert article.id == "abc-124"  # not resolved against the feed URL
    assert article.url == "https://news.example.com/ok"


def test_relative_links_resolve_against_the_feed_url() -> None:
    parsed = _one(
        _rss_items("<item><title>A</title><link>stories/a.html</link></item>"),
    )
    assert parsed.articles[0].url == "https://news.example.com/stories/a.html"


# --- RSS 0.91, RSS 1.0 -----------------------------------------------------------------


def test_rss091_latin1() -> None:
    parsed = _one(RSS091.encode("iso-8859-1"))
    assert parsed.title == "Old School"
    (article,) = parsed.articles
    assert article.id == article.url == "http://old.example.com/plain.html"
    assert article.lede == "Nothing fancy here. Really."
    assert article.date is None
    assert parsed.ttl_minutes is None


def test_rss10_rdf() -> None:
    parsed = _one(RSS10_RDF)
    assert parsed.title == "RDF News"
    (article,) = parsed.articles
    assert article.id == article.url == "https://rdf.example.com/story/1"
    assert article.date == datetime(2026, 2, 3, 9, 15, tzinfo=UTC)
    assert article.tags == article.categories == ("Science",)
    assert article.authors == ("Ada",)
    assert article.lede == "A story about *science*."
    assert article.description == "A story about science."


# --- Atom ------------------------------------------------------------------------------


def test_atom_html_content() -> None:
    parsed = _one(ATOM_HTML)
    assert parsed.title == "Atom News"
    assert parsed.link == "https://atom.example.com/"
    (article,) = parsed.articles
    assert article.id == "tag:atom.example.com,2026:html"
    assert article.url == "https://atom.example.com/posts/html/"
    assert article.date == datetime(2026, 2, 5, 8, 0, tzinfo=UTC)
    assert article.lastmod == datetime(2026, 2, 5, 11, 0, tzinfo=UTC)
    assert article.authors == ("Ann Writer", "Bob")
    assert article.tags == article.categories == ("tech", "Science")
    # Relative links in content resolve against the entry's own page.
    assert article.takeaways == (
        "**Bold** [relative](https://atom.example.com/posts/html/related/)",
    )
    assert article.image == "https://atom.example.com/posts/html/pic.png"
    # A text/plain summary: "<tag>" is text, not markup.
    assert article.description == "Plain summary with a * star & <tag>."


def test_atom_xhtml_content_and_xml_base() -> None:
    parsed = _one(ATOM_XHTML)
    first, second = parsed.articles
    assert first.url == "https://xhtml.example.com/blog/posts/xhtml/"
    assert first.id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    # xml:base is in effect for the content, as Atom says.
    assert first.takeaways == ("From [xhtml](https://xhtml.example.com/blog/other/) & more",)
    # Only <updated>: it is both the date and lastmod.
    assert first.date == first.lastmod == datetime(2026, 2, 5, 12, 0, tzinfo=UTC)
    assert second.takeaways == ()
    assert second.lede == "The *first* paragraph. It has two sentences."


def test_atom_entry_with_id_but_no_link() -> None:
    parsed = parse_feed(
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        "<entry><title>Id only</title><id>tag:x.org,2026:1</id></entry></feed>",
        feed_url=FEED_URL,
    )
    assert parsed.articles == ()
    assert parsed.errors == (EntryError("Id only", "no link"),)


# --- dates -----------------------------------------------------------------------------


def _dated(value: str, **kwargs: object) -> datetime | None:
    item = f"<item><title>D</title><link>/d</link><pubDate>{value}</pubDate></item>"
    return _one(_rss_items(item), **kwargs).articles[0].date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 03 Feb 2026 19:00:14 -0500", datetime(2026, 2, 4, 0, 0, 14, tzinfo=UTC)),
        ("Tue, 03 Feb 2026 19:00:14 GMT", datetime(2026, 2, 3, 19, 0, 14, tzinfo=UTC)),
        ("03 Feb 2026 19:00 EST", datetime(2026, 2, 4, 0, 0, tzinfo=UTC)),
        ("2026-02-03T19:00:14Z", datetime(2026, 2, 3, 19, 0, 14, tzinfo=UTC)),
        ("2026-02-03T19:00:14.5+02:00", datetime(2026, 2, 3, 17, 0, 14, 500000, tzinfo=UTC)),
        ("2026-02-03 10:00:00 UTC", datetime(2026, 2, 3, 10, 0, tzinfo=UTC)),
        # Only feedparser understands this one; its reading is the fallback.
        ("03 Feb 2026", datetime(2026, 2, 3, tzinfo=UTC)),
    ],
)
def test_dates(value: str, expected: datetime) -> None:
    assert _dated(value) == expected


def test_naive_dates_are_read_in_the_given_timezone() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert _dated("2026-02-03T10:00:00", tz=plus_one) == datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    assert _dated("2026-02-03T10:00:00") == datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def test_garbage_dates_are_entry_errors() -> None:
    parsed = parse_feed(
        _rss_items(
            "<item><title>Bad</title><link>/bad</link><pubDate>next Tuesday-ish</pubDate></item>",
            "<item><title>Good</title><link>/good</link><pubDate>2026-02-03</pubDate></item>",
        ),
        feed_url=FEED_URL,
    )
    assert [a.title for a in parsed.articles] == ["Good"]
    assert parsed.articles[0].date == datetime(2026, 2, 3, tzinfo=UTC)
    (error,) = parsed.errors
    assert error.entry == "Bad"
    assert "published" in error.reason
    assert "next Tuesday-ish" in error.reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # feedparser rolls these over (into 2027, a week back); they are not dates.
        ("2026-13-45T99:99:99Z", "published: not a date: '2026-13-45T99:99:99Z'"),
        ("2026-02-30", "published: not a date"),
        ("2026-02-03T10:00:00+9999", "published: not a date"),
        ("Tue, 03 Feb 2026 10:00:00 +9999", "published: not a date"),
        ("Mon, 45 Feb 2026 99:99:99 GMT", "published: not a date"),
        ("0000-00-00T00:00:00Z", "published: not a date"),
        ("9999-12-31T23:59:59-23:59", "published: date out of range"),
        # Hugo's zero date; read as 2001 before.
        ("Mon, 01 Jan 0001 00:00:00 +0000", "published: zero date"),
        ("0001-01-01T00:00:00Z", "published: zero date"),
    ],
)
def test_impossible_dates_leave_the_entry_undated_with_a_warning(value: str, reason: str) -> None:
    parsed = parse_feed(
        _rss_items(
            f"<item><title>D</title><link>/d</link><pubDate>{value}</pubDate></item>",
            "<item><title>Fine</title><link>/f</link><pubDate>2026-02-03</pubDate></item>",
        ),
        feed_url=FEED_URL,
    )
    assert parsed.errors == ()
    undated, fine = parsed.articles
    # Undated like an entry without any date: published, announced when first seen.
    assert undated.date is undated.published_at is undated.lastmod is None
    assert undated.status(datetime(2026, 1, 1, tzinfo=UTC)) is Status.PUBLISHED
    assert fine.date == datetime(2026, 2, 3, tzinfo=UTC)
    (warning,) = parsed.warnings
    assert warning.entry == "D"
    assert reason in warning.reason


def test_an_impossible_published_date_falls_back_to_updated() -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title>'
        '<link href="https://x.org/a"/><id>urn:a</id>'
        "<published>2026-13-45T99:99:99Z</published><updated>2026-02-05T12:00:00Z</updated>"
        "</entry></feed>"
    )
    parsed = parse_feed(doc, feed_url=FEED_URL)
    (article,) = parsed.articles
    assert article.date == article.lastmod == datetime(2026, 2, 5, 12, 0, tzinfo=UTC)
    assert [w.reason.split(":")[0] for w in parsed.warnings] == ["published"]


def test_future_date_is_scheduled() -> None:
    article = _one(
        _rss_items("<item><title>F</title><link>/f</link><pubDate>2099-01-01</pubDate></item>")
    ).articles[0]
    assert article.status(datetime(2026, 1, 1, tzinfo=UTC)) is Status.SCHEDULED


# --- per-entry errors ------------------------------------------------------------------


def test_bad_entries_are_reported_and_the_others_still_parse() -> None:
    parsed = parse_feed(
        _rss_items(
            "<item><title>Good one</title><link>https://x.org/1</link></item>",
            "<item><title>No link here</title><description>d</description></item>",
            "<item><link>https://x.org/untitled</link></item>",
            "<item><description>nothing at all</description></item>",
            "<item><title>Scripted</title><link>javascript:alert(1)</link></item>",
            "<item><title>Good two</title><link>https://x.org/2</link></item>",
            "<item><title>Good one again</title><link>https://x.org/1</link></item>",
        ),
        feed_url=FEED_URL,
    )
    assert [a.title for a in parsed.articles] == ["Good one", "Good two"]
    assert parsed.errors == (
        EntryError("No link here", "no link"),
        EntryError("https://x.org/untitled", "no title"),
        EntryError("entry 4", "no title and no link"),
        EntryError("Scripted", "link is not an http(s) URL: 'javascript:alert(1)'"),
        EntryError("Good one again", "duplicate id 'https://x.org/1'"),
    )


def test_empty_feed_is_a_feed() -> None:
    parsed = parse_feed(_rss_items(channel="<title>Quiet</title><ttl>0</ttl>"), feed_url=FEED_URL)
    assert parsed == ParsedFeed("Quiet", None, (), (), None)


@pytest.mark.parametrize(("ttl", "expected"), [("60", 60), (" 15 ", 15), ("-5", None), ("x", None)])
def test_ttl(ttl: str, expected: int | None) -> None:
    parsed = parse_feed(_rss_items(channel=f"<title>T</title><ttl>{ttl}</ttl>"), feed_url=FEED_URL)
    assert parsed.ttl_minutes == expected


# --- content details -------------------------------------------------------------------


def test_images_from_media_thumbnail_and_first_img() -> None:
    doc = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title>'
        "<item><title>Thumb</title><link>https://x.org/a/</link>"
        '<media:content url="https://x.org/v.mp4" type="video/mp4"/>'
        '<media:thumbnail url="thumb.jpg"/></item>'
        "<item><title>Inline</title><link>https://x.org/b/</link>"
        "<description>&lt;p&gt;Hi &lt;img src='/i.png'&gt;&lt;/p&gt;</description></item>"
        "<item><title>None</title><link>https://x.org/c/</link></item>"
        "</channel></rss>"
    )
    images = [a.image for a in _one(doc).articles]
    assert images == ["https://x.org/a/thumb.jpg", "https://x.org/i.png", None]


def test_long_description_is_clipped_and_long_lede_cut_at_a_sentence() -> None:
    sentence = "This sentence is exactly fifty characters long ok. "
    body = sentence * 30
    item = f"<item><title>Long</title><link>/l</link><description>{body}</description></item>"
    article = _one(_rss_items(item)).articles[0]
    assert article.description is not None
    assert len(article.description) <= 1000
    assert article.description.endswith("…")
    assert article.lede is not None
    assert len(article.lede) <= 600
    assert article.lede.endswith("ok.")


def test_content_without_a_summary_gives_no_description() -> None:
    doc = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>T</title><item><title>C</title><link>https://x.org/c</link>"
        "<content:encoded>&lt;p&gt;Body only.&lt;/p&gt;</content:encoded></item></channel></rss>"
    )
    article = _one(doc).articles[0]
    assert article.description is None
    assert article.lede == "Body only."


def test_no_placeholder_links_and_no_scripts() -> None:
    article = _one(RSS2_CONTENT).articles[0]
    everything = " ".join([*article.takeaways, article.lede or "", article.description or ""])
    assert "Keyword" not in everything
    assert "track()" not in everything
    assert "li{}" not in everything


def test_lede_drops_placeholder_links() -> None:
    doc = _rss_items(
        "<item><title>P</title><link>https://x.org/p/</link><description>"
        "&lt;p&gt;As &lt;a href='/articles/slug'&gt;Keyword&lt;/a&gt;, said: 2*2.&lt;/p&gt;"
        "</description></item>"
    )
    assert _one(doc).articles[0].lede == r"As, said: 2\*2."


def test_html_title_becomes_plain_text() -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry>'
        '<title type="html">A &lt;em&gt;big&lt;/em&gt;   day</title>'
        '<link href="https://x.org/e"/><id>urn:e</id></entry></feed>'
    )
    assert _one(doc).articles[0].title == "A big day"


# --- encodings and input types ---------------------------------------------------------


def test_str_input_ignores_a_stale_encoding_declaration() -> None:
    doc = RSS091.replace("Plain item", "Café au lait")
    assert _one(doc).articles[0].title == "Café au lait"


def test_bytes_input_honours_the_declared_encoding() -> None:
    doc = RSS091.replace("Plain item", "Café au lait").encode("iso-8859-1")
    assert _one(doc).articles[0].title == "Café au lait"


def test_bozo_feed_with_entries_is_still_read() -> None:
    # &nbsp; is not an XML entity: feedparser flags the document and parses it loosely.
    doc = _rss_items("<item><title>A&nbsp;B</title><link>https://x.org/a</link></item>")
    assert [a.url for a in parse_feed(doc, feed_url=FEED_URL).articles] == ["https://x.org/a"]


@pytest.mark.parametrize("bare_ampersand", [False, True])
def test_entities_are_decoded_the_same_when_feedparser_parses_loosely(
    bare_ampersand: bool,
) -> None:
    # One bare "&" in a link makes the document ill-formed: feedparser falls back to its
    # loose parser, which used to leave "&amp;" in names and categories.
    link = "https://x.org/a?b=1&c=2" if bare_ampersand else "https://x.org/a?b=1&amp;c=2"
    doc = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>'
        f"<item><title>Tom &amp; Jerry</title><link>{link}</link>"
        '<guid isPermaLink="false">q?a=1&amp;b=2</guid>'
        "<category>R&amp;D &lt;3</category><dc:subject>S&#38;T</dc:subject>"
        "<author>tj@x.org (Tom &amp; Jerry)</author><dc:creator>Ann &#x26; Bob</dc:creator>"
        "</item></channel></rss>"
    )
    (article,) = parse_feed(doc, feed_url=FEED_URL).articles
    assert article.title == "Tom & Jerry"
    assert article.url == "https://x.org/a?b=1&c=2"
    # The id stays as each parser spells it: it is the stored identity of entries seen
    # before, and respelling it would announce them again.
    assert article.id == ("q?a=1&amp;b=2" if bare_ampersand else "q?a=1&b=2")
    assert article.tags == ("R&D <3", "S&T")
    assert article.authors == ("Tom & Jerry", "Ann & Bob")


def test_loosely_parsed_atom_names_are_decoded() -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>B</title>'
        '<link href="https://x.org/b?x=1&y=2"/><id>urn:b</id>'
        '<author><name>Tom &amp; Jerry</name></author><category term="R&amp;D"/></entry></feed>'
    )
    (article,) = parse_feed(doc, feed_url=FEED_URL).articles
    assert article.authors == ("Tom & Jerry",)
    assert article.tags == ("R&D",)


def test_content_of_a_non_text_media_type_is_not_shown() -> None:
    # Atom carries other media types base64-encoded; feedparser decodes them, but
    # the bytes of a file are not the article's text.
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>Bin</title>'
        '<link href="https://x.org/bin"/><id>urn:bin</id>'
        '<summary type="text">The summary.</summary>'
        '<content type="application/octet-stream">SGVsbG8gd29ybGQ=</content></entry>'
        "<entry><title>Plain</title>"
        '<link href="https://x.org/plain"/><id>urn:plain</id>'
        '<content type="text/plain">A &lt;b&gt; text.</content></entry></feed>'
    )
    binary, plain = _one(doc).articles
    assert binary.lede == "The summary."
    assert "Hello" not in repr(binary)
    assert plain.lede == "A <b> text."


def test_link_text_is_the_link_when_its_uri_attribute_is_not_http() -> None:
    # feedparser takes a uri="" attribute for the address and drops the text.
    doc = _rss_items(
        "<item><title>Skeet</title>"
        '<link uri="at://did:plc:abc/app.bsky.feed.post/3k">https://bsky.app/post/3k</link></item>',
        '<item><title>Nowhere</title><link uri="at://did:plc:abc/x">at://did:plc:abc/x</link></item>',
    )
    parsed = parse_feed(doc, feed_url=FEED_URL)
    (article,) = parsed.articles
    assert article.url == article.id == "https://bsky.app/post/3k"
    assert parsed.errors == (
        EntryError("Nowhere", "link is not an http(s) URL: 'at://did:plc:abc/x'"),
    )


def test_categories_and_authors_holding_markup_keep_their_visible_text() -> None:
    # As in gofeed's expected results: feedparser drops these (an empty author).
    rss = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>'
        "<item><title>R</title><link>https://x.org/r</link>"
        "<category>Plain</category><category><p>Item Category 1</p></category>"
        "<category><p>Item <b>Category</b> 2</p><script>x()</script></category>"
        "<author><p>Item Author</p></author><dc:creator><span>Ann</span> Lee</dc:creator>"
        "</item></channel></rss>"
    )
    (article,) = _one(rss).articles
    assert article.tags == ("Plain", "Item Category 1", "Item Category 2")
    # feedparser kept " and D" of this one: the whole text takes its place.
    (partial,) = _one(
        _rss_items(
            "<item><title>P</title><link>https://x.org/p</link>"
            "<category><b>R</b> and D</category><category>Z</category></item>"
        )
    ).articles
    assert partial.tags == ("R and D", "Z")
    assert article.authors == ("Item Author", "Ann Lee")
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title>'
        '<link href="https://x.org/a"/><id>urn:a</id>'
        '<category term="tech"/><category><p xmlns="http://www.w3.org/1999/xhtml">Naked</p></category>'
        "<author><name><p>Ann <i>Writer</i></p></name><email>ann@x.org</email></author>"
        "<author><name>Bob</name></author></entry></feed>"
    )
    (article,) = _one(atom).articles
    assert article.tags == ("tech", "Naked")
    assert article.authors == ("Ann Writer", "Bob")


@pytest.mark.parametrize("as_bytes", [False, True])
def test_markup_text_is_decoded_like_the_rest_of_the_document(as_bytes: bool) -> None:
    doc = RSS091.replace("<description>Nothing", "<category><p>Café</p></category><description>")
    (article,) = _one(doc.encode("iso-8859-1") if as_bytes else doc).articles
    assert article.tags == ("Café",)


# --- not a feed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"", "empty document"),
        ("   \n\t", "empty document"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            "HTML page",
        ),
        ("<html><body><h1>Not found</h1></body></html>", "HTML page"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}', "JSON"),
        ("[1, 2, 3]", "JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an RSS or Atom feed"),
        (b"\xff\xfe\x00garbage\x00", "not an RSS or Atom feed"),
        ("just some words", "not an RSS or Atom feed"),
        ("<note><to>you</to></note>", "no <rss>, <rdf:RDF> or <feed>"),
        ('<rss version="2.0"><channel><item>', "not an RSS or Atom feed"),
    ],
)
def test_not_a_feed(document: bytes | str, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_feed(document, feed_url=FEED_URL)


def test_urls_and_paths_are_never_fetched_or_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[object] = []
    monkeypatch.setattr(feedparser.http, "get", lambda *args, **kwargs: fetched.append(args))
    feed_file = tmp_path / "feed.xml"
    feed_file.write_text(RSS091)
    for document in [
        "https://news.example.com/feed.xml",
        "file:///etc/hosts",
        str(feed_file),
        str(feed_file).encode(),
    ]:
        with pytest.raises(ArticleError):
            parse_feed(document, feed_url=FEED_URL)
    assert fetched == []


# --- fuzzing ---------------------------------------------------------------------------


def _check_never_raises_other_errors(document: bytes | str) -> None:
    try:
        parsed = parse_feed(document, feed_url=FEED_URL)
    except ArticleError as exc:
        assert str(exc)
        return
    for error in parsed.errors:
        assert error.entry
        assert not error.reason.startswith("internal error"), error
    for article in parsed.articles:
        assert article.id
        assert article.title
        assert article.url is not None
        assert article.url.startswith(("http://", "https://"))
        for value in (article.date, article.lastmod):
            assert value is None or value.tzinfo is UTC


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("<>&;\"'/=:# "),
    max_size=30,
)
_ELEMENT_NAMES = st.sampled_from(
    [
        "rss",
        "channel",
        "item",
        "title",
        "link",
        "guid",
        "pubDate",
        "description",
        "content:encoded",
        "category",
        "ttl",
        "feed",
        "entry",
        "id",
        "updated",
        "published",
        "summary",
        "content",
        "author",
        "name",
        "media:content",
        "enclosure",
        "rdf:RDF",
        "dc:date",
        "h2",
        "ul",
        "li",
        "p",
        "a",
        "script",
    ]
)
_ATTRS = st.sampled_from(
    [
        "",
        ' version="2.0"',
        ' xmlns="http://www.w3.org/2005/Atom"',
        ' type="html"',
        ' type="xhtml"',
        ' href="/x"',
        ' url="javascript:1" medium="image"',
        ' isPermaLink="false"',
        ' xml:base="http://[::1"',
        ' term="Key Takeaways"',
    ]
)
_PIECES = st.sampled_from(
    [
        "&amp;",
        "&lt;h2&gt;Key Takeaways&lt;/h2&gt;&lt;ul&gt;&lt;li&gt;x",
        "<![CDATA[<p>Key Takeaways</p><ul><li>*a*</ul>]]>",
        "&nbsp;",
        "&#0;",
        "&#xD800;",
        "<!-- c -->",
        "<?pi x?>",
        "<!DOCTYPE rss [<!ENTITY e 'x'>]>",
        "Tue, 03 Feb 2026 19:00:14 -0500",
        "2026-02-30T25:61:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01",
        "http://[::1",
    ]
)
_ALMOST_XML = st.recursive(
    _TEXT | _PIECES,
    lambda inner: st.builds(
        lambda name, attrs, children, close: (
            f"<{name}{attrs}>{''.join(children)}" + (f"</{name}>" if close else "")
        ),
        _ELEMENT_NAMES,
        _ATTRS,
        st.lists(inner, max_size=5),
        st.booleans(),
    ),
    max_leaves=40,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=400))
def test_random_input_never_raises_anything_but_article_error(document: bytes | str) -> None:
    _check_never_raises_other_errors(document)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_ALMOST_XML, st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>']), st.booleans())
def test_almost_xml_never_raises_anything_but_article_error(
    body: str, declaration: str, as_bytes: bool
) -> None:
    document = declaration + body
    _check_never_raises_other_errors(document.encode("utf-8") if as_bytes else document)
