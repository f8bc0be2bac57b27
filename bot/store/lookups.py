"""What readers look up: the latest articles, search, tags, titles for autocomplete.

Lookups answer on every keystroke of an autocomplete, so each statement below reads
an index in the order it is stored and stops at the page asked for; the tests check
their query plans (``tests/store/test_fast_lookups.py``). The indexes are described
in ``migrations/0002_fast_lookups.sql``: several are partial on
``status = 'published'``, which is why the statements spell that value out (SQLite
uses a partial index only when the query names the same literal).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from bot.articles.model import CATEGORY_KEY, category_key, normalise_tag
from bot.store.codec import clean_text
from bot.store.columns import tag_token
from bot.store.database import (
    Connection,
    Engine,
    Row,
    fetch_all,
    fetch_one,
    fetch_value,
    values_by_name,
)
from bot.store.models import StoredArticle
from bot.store.search import search_expressions, search_words

log = logging.getLogger(__name__)

#: A search ranks (bm25, about 3 us an article) at most this many matching articles,
#: the most recently stored ones: exact for every query matching no more, and bounded
#: work for one matching half the archive. A news search favouring recent articles
#: among very many matches is what readers expect anyway.
SEARCH_WINDOW = 300

#: A tag on more than this share of the published articles filters a search by a
#: lookup per match (most pass); a rarer one is a term of the MATCH expression, which
#: costs a read of all of the tag's index entries (bm25 counts them).
JOIN_TAG_SHARE = 1 / 5

#: The headline autocomplete offers titles containing the text (not starting with it)
#: from this many of the newest published articles; titles starting with it come from
#: all of them, through an index.
FIND_SCAN = 2000

#: Titles starting with the text are sorted newest first when there are at most this
#: many; a text more titles start with is matched walking the newest articles.
FIND_PREFIX_CAP = 1000

#: The columns of table ``a`` (articles) a :class:`StoredArticle` is read from, named
#: as its fields.
STORED_ARTICLE = """
    a.id, a.source_id, a.key, a.title, a.url, a.status,
    a.published_at AS published_us, a.expires_at AS expires_us, a.lastmod AS lastmod_us,
    a.tags AS tags_json, a.categories AS categories_json, a.takeaways AS takeaways_json,
    a.description,
    a.authors AS authors_json, a.image, a.message_json,
    a.first_seen_at AS first_seen_us, a.announced_at AS announced_us,
    a.withdrawn_at AS withdrawn_us, a.changed_at AS changed_us,
    a.version, a.article_json
"""
_STORED_FIELDS = tuple(f.name for f in fields(StoredArticle))


def stored_articles(rows: Sequence[Row]) -> list[StoredArticle]:
    """The articles of rows selected with :data:`STORED_ARTICLE` (and maybe more)."""
    return [StoredArticle(*values) for values in values_by_name(rows, _STORED_FIELDS)]


# Published articles, newest first (the index articles_latest, read in order).
_LATEST = f"""
    SELECT {STORED_ARTICLE}
    FROM articles a
    WHERE a.status = 'published'
    ORDER BY a.sort_at DESC, a.id DESC
    LIMIT :limit OFFSET :offset
"""

# The same with a tag (or a category): the index article_tags_latest, read in order.
_LATEST_TAG = f"""
    SELECT {STORED_ARTICLE}
    FROM article_tags t JOIN articles a ON a.id = t.article_id
    WHERE t.tag_key = :tag_key AND t.published_sort IS NOT NULL
    ORDER BY t.published_sort DESC, t.article_id DESC
    LIMIT :limit OFFSET :offset
"""

# With a tag and a category: the category's entries read in order, each looked up
# in the tag's.
_LATEST_BOTH = f"""
    SELECT {STORED_ARTICLE}
    FROM article_tags t JOIN articles a ON a.id = t.article_id
    WHERE t.tag_key = :tag_key AND t.published_sort IS NOT NULL
        AND EXISTS (
            SELECT 1 FROM article_tags o
            WHERE o.article_id = t.article_id AND o.tag_key = :other_key
        )
    ORDER BY t.published_sort DESC, t.article_id DESC
    LIMIT :limit OFFSET :offset
"""

# bm25 weights of the FTS columns: title, takeaways, description; the tag tokens only
# filter (migration 0002).
_BM25 = "bm25(articles_fts, 4.0, 2.0, 1.0, 0.0)"

# What a search's words are matched against: not the tag tokens.
_TEXT_COLUMNS = "{title takeaways_text description}"

# A search filtered by a common tag: a lookup per match (see JOIN_TAG_SHARE).
_TAG_JOIN = "JOIN article_tags t ON t.article_id = f.rowid AND t.tag_key = :tag_key"


def _search_sql(join: str) -> str:
    """The newest :data:`SEARCH_WINDOW` matches (the index streams them, newest
    stored first, and stops there), ranked; only the page asked for is read from the
    articles table."""
    return f"""
        SELECT {STORED_ARTICLE}
        FROM (
            SELECT id, score FROM (
                SELECT f.rowid AS id, {_BM25} AS score
                FROM articles_fts f {join}
                WHERE articles_fts MATCH :expression
                ORDER BY f.rowid DESC
                LIMIT :window
            )
            ORDER BY score, id DESC
            LIMIT :limit OFFSET :offset
        ) s
        JOIN articles a ON a.id = s.id
        ORDER BY s.score, s.id DESC
    """


def _matches_sql(join: str) -> str:
    """Whether a search matches more than ``:most`` articles: no ranking, so no bm25
    statistics to read."""
    return f"""
        SELECT count(*) FROM (
            SELECT f.rowid FROM articles_fts f {join}
            WHERE articles_fts MATCH :expression
            LIMIT :most
        )
    """


_SEARCH = _search_sql("")
_SEARCH_JOIN = _search_sql(_TAG_JOIN)
_MATCHES = _matches_sql("")
_MATCHES_JOIN = _matches_sql(_TAG_JOIN)

# PostgreSQL (migrations/postgres/0008_schema.sql, 0014): the same window of the
# newest matches, ranked by ts_rank with the same weights (title 4, takeaways 2,
# description 1; higher is better there), tags matched as tokens in the index too. The
# rank is of the words alone: ts_rank weighs the query's terms in pairs, and a tag
# token would make every pair with it, so a single word's whole score, zero. Each match
# is ranked as it is found: carrying its vector (about 1 KB) into the sort for the
# window cost more than ranking every match read. The first column, ``matching``,
# counts the window: whether a last word's extensions add a match is read from it
# (see LookupQueries.search).
_PG_SEARCH = f"""
    SELECT s.matching, {STORED_ARTICLE}
    FROM (
        SELECT id, score, count(*) OVER () AS matching
        FROM (
            SELECT f.article_id AS id,
                   ts_rank('{{0, 0.25, 0.5, 1}}', f.search,
                           newsbot_query(:words, :prefix, '{{}}')) AS score
            FROM article_search f
            WHERE f.search @@ newsbot_query(:words, :prefix, :tag_tokens)
            ORDER BY f.article_id DESC
            LIMIT :window
        ) w
        ORDER BY score DESC, id DESC
        LIMIT :limit OFFSET :offset
    ) s
    JOIN articles a ON a.id = s.id
    ORDER BY s.score DESC, s.id DESC
"""

# A search's statements are planned for the words at hand: a rare word is found
# through the GIN index, a common one walking the newest articles until the window is
# full; one plan for every query would do one of them badly (the estimates of how many
# articles a word matches come from the column's statistics, migration 0014). And
# planned for a table and index read from memory, as they are where shared_buffers
# hold them (README, PostgreSQL settings; random_page_cost as for SSDs, 1.1; the
# default 4 prices a disk seek): at 4, a word on 1-2 % of 100,000 articles walked
# 20,000 of them (5 ms cached) rather than read its 1,500 matches through the index
# (1.5 ms). A row walked costs more than the default cpu_tuple_cost (0.01) says, too:
# each one's vector (about 1 KB) is tested. At 0.01 a word on 2 % of the articles
# walked some 15,000 of them (5.5-8 ms) rather than read its 2,000 matches through
# the index (4.8-5.4 ms); at 0.05 the index is read up to about 3,000 matches, and a
# word on 4 % or more still walks (its window fills within 7,500 rows). On the
# benchmark's 1,200 statements, timed in shuffled order (README, Benchmarks): p99
# 5.0-5.3 ms instead of 6.2-6.6, the median the same.
_PG_SEARCH_SETTINGS = (
    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL random_page_cost = 1.1;"
    " SET LOCAL cpu_tuple_cost = 0.05"
)

# One row per tag: its most common spelling and its published article count.
_TAGS = """
    SELECT tag_key, tag, total FROM (
        SELECT tag_key, tag,
               sum(n) OVER (PARTITION BY tag_key) AS total,
               row_number() OVER (PARTITION BY tag_key ORDER BY n DESC, tag) AS rank
        FROM tag_counts
    )
    WHERE rank = 1
    ORDER BY total DESC, tag_key, tag
"""

# The full-text index holds the published articles: its own count is the cheap one
# (PostgreSQL's too: one narrow row per published article).
_PUBLISHED_COUNT = {
    "sqlite": "SELECT count(*) FROM articles_fts_docsize",
    "postgresql": "SELECT count(*) FROM article_search",
}

# Titles starting with the text: title_fold in [:low, :high), or from :low on when the
# text has no successor.
_RANGE = "title_fold >= :low AND title_fold < :high"
_RANGE_OPEN = "title_fold >= :low"


def _find_prefix_few_sql(range_: str) -> str:
    """Titles starting with the text, newest first, from the range of the index
    articles_title_prefix: at most :data:`FIND_PREFIX_CAP` entries, sorted. The first
    column, ``matching``, counts them (up to the cap): at the cap the text is a
    common one (a letter or two, say) and :func:`_find_prefix_many_sql` walks the
    newest articles instead, where matches come soon."""
    return f"""
        SELECT (
            SELECT count(*) FROM (
                SELECT 1 FROM articles WHERE status = 'published' AND {range_} LIMIT :cap
            )
        ) AS matching, {STORED_ARTICLE}
        FROM (
            SELECT id, sort_at FROM (
                SELECT id, sort_at FROM articles
                WHERE status = 'published' AND {range_}
                LIMIT :cap
            )
            ORDER BY sort_at DESC, id DESC
            LIMIT :limit
        ) m
        JOIN articles a ON a.id = m.id
        ORDER BY a.sort_at DESC, a.id DESC
    """


def _find_prefix_many_sql(range_: str) -> str:
    """Titles starting with the text, walking the newest published articles."""
    return f"""
        SELECT {STORED_ARTICLE}
        FROM (
            SELECT id, sort_at FROM articles INDEXED BY articles_latest
            WHERE status = 'published' AND {range_}
            ORDER BY sort_at DESC, id DESC
            LIMIT :limit
        ) m
        JOIN articles a ON a.id = m.id
        ORDER BY a.sort_at DESC, a.id DESC
    """


# By whether the range has an upper bound.
_FIND_PREFIX_FEW = {True: _find_prefix_few_sql(_RANGE), False: _find_prefix_few_sql(_RANGE_OPEN)}
_FIND_PREFIX_MANY = {
    True: _find_prefix_many_sql(_RANGE),
    False: _find_prefix_many_sql(_RANGE_OPEN),
}

# Titles containing the text elsewhere, among the FIND_SCAN newest (the index
# articles_latest holds the folded titles: the scan never reads the table).
_FIND_INSIDE = f"""
    SELECT {STORED_ARTICLE}
    FROM (
        SELECT id, sort_at FROM (
            SELECT id, sort_at, title_fold FROM articles
            WHERE status = 'published'
            ORDER BY sort_at DESC, id DESC
            LIMIT :scan
        )
        WHERE instr(title_fold, :needle) > 1
        LIMIT :limit
    ) m
    JOIN articles a ON a.id = m.id
    ORDER BY a.sort_at DESC, a.id DESC
"""


@dataclass(frozen=True, slots=True)
class _TagStats:
    """Every tag on a published article: ``(tag_key, shown spelling, count)`` in
    :meth:`LookupQueries.tags` order, the count by key, and the number of published
    articles."""

    tags: list[tuple[str, str, int]]
    totals: dict[str, int]
    published: int


def tag_key(tag: str) -> str:
    """The matching key of a tag a user typed (see :func:`normalise_tag`)."""
    return normalise_tag(clean_text(tag))


def _label_keys(tag: str | None, category: str | None) -> list[str]:
    """The ``article_tags`` keys an article must have: the tag's, the category's."""
    keys = [tag_key(tag)] if tag is not None else []
    if category is not None:
        keys.append(category_key(clean_text(category)))
    return keys


def _successor(text: str) -> str | None:
    """The smallest string greater than every string starting with ``text`` (in
    SQLite's binary order, which is code point order), or ``None`` if there is none."""
    for i in range(len(text) - 1, -1, -1):
        code = ord(text[i]) + 1
        if code == 0xD800:  # surrogates cannot be stored: skip them
            code = 0xE000
        if code <= 0x10FFFF:
            return text[:i] + chr(code)
    return None


class LookupQueries:
    """Reads of published articles for ``/news`` and its autocompletes."""

    def __init__(self, database: Engine) -> None:
        """Look up articles in ``database``."""
        self._database = database
        # What tags() and search() know of the tags, and the database's count of
        # changes when it was read: kept until the articles change, in this process or
        # (PostgreSQL) another one (:attr:`Database.changes
        # <bot.store.database.Database.changes>`). search() reads them on SQLite
        # only, where this process makes every change.
        self._tag_stats: tuple[int, _TagStats] | None = None

    async def article_count(self) -> int:
        """How many articles are stored, whatever their status."""
        async with self._database.reading() as db:
            return int(await fetch_value(db, "SELECT count(*) FROM articles"))

    async def get(self, article_id: int) -> StoredArticle | None:
        """The article with this id, whatever its status (callers showing it to
        users should check ``status``)."""
        async with self._database.reading() as db:
            row = await fetch_one(
                db, f"SELECT {STORED_ARTICLE} FROM articles a WHERE a.id = :id", {"id": article_id}
            )
        return stored_articles([row])[0] if row is not None else None

    async def latest(
        self, tag: str | None, limit: int, offset: int = 0, *, category: str | None = None
    ) -> list[StoredArticle]:
        """Published articles, newest first, optionally only those with ``tag`` and
        only those in ``category`` (each matched case- and space-insensitively)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        keys = _label_keys(tag, category)
        if not keys:
            sql = _LATEST
        elif len(keys) == 1:
            sql, params["tag_key"] = _LATEST_TAG, keys[0]
        else:
            sql, params["tag_key"], params["other_key"] = _LATEST_BOTH, keys[1], keys[0]
        async with self._database.reading() as db:
            return stored_articles(await fetch_all(db, sql, params))

    async def search(
        self,
        query: str,
        tag: str | None,
        limit: int,
        offset: int = 0,
        *,
        category: str | None = None,
    ) -> list[StoredArticle]:
        """Published articles matching ``query``, optionally only those with ``tag``
        and only those in ``category``, best match first (SQLite's bm25, PostgreSQL's
        ts_rank: title matches weigh most; equal scores newest stored first). Any text
        is accepted: no syntax to get wrong.

        Every word must match. The last one also matches as a prefix
        (search-as-you-type; from three letters on), unless the words as typed already
        fill the answer: a common word needs no extensions, and as a prefix it would
        cost the most. When its extensions add no match, the answer is the one ranked
        for the words as typed.

        Only the :data:`SEARCH_WINDOW` most recently stored matches are ranked, so a
        query matching more articles than that answers from the recent ones.
        """
        matches = search_expressions(query)
        if not matches:
            return []
        postgres = self._database.engine == "postgresql"
        sql, count_sql, tag_filter = _SEARCH, _MATCHES, ""
        params: dict[str, Any] = {
            "window": max(SEARCH_WINDOW, limit + offset),
            "limit": limit,
            "offset": offset,
        }
        async with self._database.reading() as db:
            keys = _label_keys(tag, category)
            if postgres:
                sql = _PG_SEARCH
                params.update(words=search_words(query), tag_tokens=[tag_token(k) for k in keys])
                await db.execute(_PG_SEARCH_SETTINGS)
            elif keys:
                # One process writes SQLite, and its every change renews the counts:
                # a tag no published article has finds nothing. (On PostgreSQL another
                # process's change reaches this one a moment after its commit, so
                # there the counts would only be hints; they are not read at all.)
                stats = await self._load_tag_stats(db)
                if min(stats.totals.get(k, 0) for k in keys) == 0:
                    return []
                # The most common one joins, if common enough; the others are terms.
                joined = max(keys, key=lambda k: stats.totals[k])
                if stats.totals[joined] > stats.published * JOIN_TAG_SHARE:
                    sql, count_sql, params["tag_key"] = _SEARCH_JOIN, _MATCHES_JOIN, joined
                    keys.remove(joined)
                tag_filter = "".join(f' AND tag_tokens : "{tag_token(k)}"' for k in keys)
            rows: list[Row] = []
            for match in matches:
                params["expression"] = f"{_TEXT_COLUMNS} : ({match}){tag_filter}"
                params["prefix"] = match.endswith("*")
                # When the words as typed matched, too few, the answer with the
                # extensions of the last one replaces theirs only if they add a match.
                found = offset + len(rows)  # every match: fewer than the window
                try:
                    if rows and not postgres:
                        # SQLite counts first: counting costs a fraction of ranking
                        # (bm25 reads every entry of every term to weigh it), and the
                        # extensions of a whole word seldom add any.
                        matching = await fetch_value(db, count_sql, {**params, "most": found + 1})
                        if matching <= found:
                            break
                    answer = await fetch_all(db, sql, params)
                    if rows and postgres and (not answer or answer[0]["matching"] <= found):
                        # On PostgreSQL a count would read the index as the search
                        # does: the search counts its window instead.
                        break
                    rows = answer
                except aiosqlite.OperationalError as exc:
                    # fts_terms quotes everything; this is a last line of defence.
                    if not str(exc).startswith("fts5"):
                        raise
                    log.warning("search %r: %s", query, exc)
                    return []
                if len(rows) >= limit:
                    break
        return stored_articles(rows)

    async def _load_tag_stats(self, db: Connection) -> _TagStats:
        """The tag counts, read again whenever the articles may have changed since
        (call within a read)."""
        # Taken before the read: a change committed while it runs moves the count on,
        # and the next call reads again.
        changes = self._database.changes
        if self._tag_stats is None or self._tag_stats[0] != changes:
            tags = [
                (str(row["tag_key"]), str(row["tag"]), int(row["total"]))
                for row in await fetch_all(db, _TAGS)
            ]
            published = int(await fetch_value(db, _PUBLISHED_COUNT[self._database.engine]))
            totals = {key: total for key, _, total in tags}
            self._tag_stats = (changes, _TagStats(tags, totals, published))
        return self._tag_stats[1]

    async def tags(
        self, prefix: str | None = None, limit: int | None = None
    ) -> list[tuple[str, int]]:
        """``(tag, published article count)``, most used first, then alphabetically.

        Spellings of one tag are merged; the most common spelling is shown.
        ``prefix`` filters on the start of the tag (case-insensitively).

        The autocomplete asks on every keystroke: the list is kept in memory until
        the articles change, whichever process changes them (on PostgreSQL, a
        ``NOTIFY`` tells every process; see :mod:`bot.store.postgres`).
        """
        return await self._labels(tag_key(prefix) if prefix is not None else "", limit)

    async def categories(
        self, prefix: str | None = None, limit: int | None = None
    ) -> list[tuple[str, int]]:
        """``(category, published article count)``: :meth:`tags`, for categories."""
        key = category_key(clean_text(prefix)) if prefix is not None else ""
        return await self._labels(key or CATEGORY_KEY, limit)

    async def _labels(self, prefix: str, limit: int | None) -> list[tuple[str, int]]:
        """Tags (keys not starting with :data:`CATEGORY_KEY`) or, when ``prefix``
        starts with it, categories, whose key starts with ``prefix``."""
        async with self._database.reading() as db:
            stats = await self._load_tag_stats(db)
        categories = prefix.startswith(CATEGORY_KEY)
        found = [
            (tag, n)
            for stored_key, tag, n in stats.tags
            if stored_key.startswith(CATEGORY_KEY) == categories and stored_key.startswith(prefix)
        ]
        if limit is not None and limit >= 0:
            del found[limit:]
        return found

    async def find_articles(self, text: str, limit: int = 25) -> list[StoredArticle]:
        """Published articles whose title contains ``text`` (case-insensitively):
        titles starting with it first, newest first within each group. For
        autocomplete.

        Titles that contain ``text`` without starting with it are looked for among
        the :data:`FIND_SCAN` newest articles only.
        """
        needle = " ".join(clean_text(text).split()).casefold()
        if not needle:
            return await self.latest(None, limit)
        upper = _successor(needle)
        bounded = upper is not None
        params = {"low": needle, "high": upper, "cap": FIND_PREFIX_CAP, "limit": limit}
        async with self._database.reading() as db:
            rows = await fetch_all(db, _FIND_PREFIX_FEW[bounded], params)
            if rows and rows[0]["matching"] >= FIND_PREFIX_CAP:
                rows = await fetch_all(db, _FIND_PREFIX_MANY[bounded], params)
            found = stored_articles(rows)
            if len(found) < limit:
                inside = {"scan": FIND_SCAN, "needle": needle, "limit": limit - len(found)}
                found += stored_articles(await fetch_all(db, _FIND_INSIDE, inside))
        return found
