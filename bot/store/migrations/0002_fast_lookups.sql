-- 0002: lookups that stay fast with 100,000 articles.
--
-- /news latest, /news search and the autocompletes run on every command and keystroke.
-- Each now reads an index in the order it answers in and stops at its limit; none
-- reads the articles table, a whole tag or a whole match set to answer.

-- 1. "Latest with a tag": the tag rows carry the article's place in "newest first"
--    (articles.sort_at) while it is published, NULL otherwise, so the answer is a walk
--    down one index. The store's writer sets it on the rows it inserts; the trigger
--    below follows status and date changes of the article, whatever writes them.
ALTER TABLE article_tags ADD COLUMN published_sort INTEGER;

UPDATE article_tags SET published_sort = (
    SELECT a.sort_at FROM articles a
    WHERE a.id = article_tags.article_id AND a.status = 'published'
);

CREATE INDEX article_tags_latest
    ON article_tags (tag_key, published_sort DESC, article_id DESC)
    WHERE published_sort IS NOT NULL;

-- Only the old tags() query read it; tags() now reads tag_counts.
DROP INDEX article_tags_by_key;

CREATE TRIGGER article_tags_follow AFTER UPDATE OF status, sort_at ON articles
WHEN (old.status = 'published') <> (new.status = 'published')
    OR (new.status = 'published' AND old.sort_at IS NOT new.sort_at)
BEGIN
    UPDATE article_tags
    SET published_sort = CASE WHEN new.status = 'published' THEN new.sort_at END
    WHERE article_id = new.id;
END;

-- 2. "/news tags" and the tag autocomplete: published articles per spelling of each
--    tag, counted as tag rows come and go and articles enter and leave publication.
CREATE TABLE tag_counts (
    tag_key TEXT    NOT NULL,
    tag     TEXT    NOT NULL,  -- one spelling of the tag
    n       INTEGER NOT NULL CHECK (n > 0),  -- published articles spelling it so
    PRIMARY KEY (tag_key, tag)
) WITHOUT ROWID;

INSERT INTO tag_counts (tag_key, tag, n)
SELECT tag_key, tag, count(*) FROM article_tags
WHERE published_sort IS NOT NULL
GROUP BY tag_key, tag;

CREATE TRIGGER tag_counts_insert AFTER INSERT ON article_tags
WHEN new.published_sort IS NOT NULL
BEGIN
    INSERT INTO tag_counts (tag_key, tag, n) VALUES (new.tag_key, new.tag, 1)
    ON CONFLICT (tag_key, tag) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tag_counts_delete AFTER DELETE ON article_tags
WHEN old.published_sort IS NOT NULL
BEGIN
    DELETE FROM tag_counts WHERE tag_key = old.tag_key AND tag = old.tag AND n = 1;
    UPDATE tag_counts SET n = n - 1 WHERE tag_key = old.tag_key AND tag = old.tag;
END;

CREATE TRIGGER tag_counts_update AFTER UPDATE OF tag_key, tag, published_sort ON article_tags
WHEN (old.published_sort IS NULL) <> (new.published_sort IS NULL)
    OR (new.published_sort IS NOT NULL AND (old.tag_key <> new.tag_key OR old.tag <> new.tag))
BEGIN
    DELETE FROM tag_counts
    WHERE old.published_sort IS NOT NULL AND tag_key = old.tag_key AND tag = old.tag AND n = 1;
    UPDATE tag_counts SET n = n - 1
    WHERE old.published_sort IS NOT NULL AND tag_key = old.tag_key AND tag = old.tag;
    INSERT INTO tag_counts (tag_key, tag, n)
    SELECT new.tag_key, new.tag, 1 WHERE new.published_sort IS NOT NULL
    ON CONFLICT (tag_key, tag) DO UPDATE SET n = n + 1;
END;

-- 3. Full-text search holds published articles only (no status check per match), and
--    their tags as one token each in a fourth column (weight 0 in bm25), so that "search
--    with a tag" is an intersection inside the index rather than a probe per match.
--    The token of a tag is 't' and the hex of its normalised key's UTF-8 bytes
--    (bot/store/ingest.py: tag_token); tag_tokens holds them space-separated.
ALTER TABLE articles ADD COLUMN tag_tokens TEXT NOT NULL DEFAULT '';

UPDATE articles SET tag_tokens = coalesce((
    SELECT group_concat(token, ' ') FROM (
        SELECT 't' || lower(hex(t.tag_key)) AS token FROM article_tags t
        WHERE t.article_id = articles.id ORDER BY t.tag_key
    )
), '');

DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
DROP TABLE articles_fts;

-- The external content of the index: what it holds, so 'rebuild' and 'integrity-check'
-- agree with it.
CREATE VIEW articles_fts_content AS
SELECT id, title, takeaways_text, description, tag_tokens FROM articles
WHERE status = 'published';

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title,
    takeaways_text,
    description,
    tag_tokens,
    content = 'articles_fts_content',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');

-- New rows are indexed by the store's writer in one INSERT ... SELECT per batch, as
-- before; these keep the index in step with every later change of a row.
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles
WHEN old.status = 'published'
BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, takeaways_text, description, tag_tokens)
    VALUES ('delete', old.id, old.title, old.takeaways_text, old.description, old.tag_tokens);
END;

CREATE TRIGGER articles_fts_update
AFTER UPDATE OF status, title, takeaways_text, description, tag_tokens ON articles
WHEN (old.status = 'published' OR new.status = 'published')
    AND (old.status IS NOT new.status
        OR old.title IS NOT new.title
        OR old.takeaways_text IS NOT new.takeaways_text
        OR old.description IS NOT new.description
        OR old.tag_tokens IS NOT new.tag_tokens)
BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, takeaways_text, description, tag_tokens)
    SELECT 'delete', old.id, old.title, old.takeaways_text, old.description, old.tag_tokens
    WHERE old.status = 'published';
    INSERT INTO articles_fts (rowid, title, takeaways_text, description, tag_tokens)
    SELECT new.id, new.title, new.takeaways_text, new.description, new.tag_tokens
    WHERE new.status = 'published';
END;

-- 4. Newest published articles, with their folded titles: "latest" without a tag reads
--    it in order, and the headline autocomplete scans its head for titles containing
--    the text without touching the table. The prefix part of the autocomplete seeks the
--    second one. Both end in status, though it is always 'published': SQLite (3.40)
--    counts an index as covering only if it holds every column the query names, the
--    one of the index's own WHERE included.
DROP INDEX articles_latest;

CREATE INDEX articles_latest ON articles (sort_at DESC, id DESC, title_fold, status)
    WHERE status = 'published';

CREATE INDEX articles_title_prefix ON articles (title_fold, sort_at, id, status)
    WHERE status = 'published';
