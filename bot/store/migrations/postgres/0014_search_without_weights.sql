-- /news search on PostgreSQL: words are matched without weight restrictions, so the
-- full-text index answers exactly and no matching row is read again to check it.
--
-- Until now an article's tag tokens were lexemes of weight D ('t' and hex digits),
-- and a search restricted every word to weights A, B and C (title, takeaways,
-- description) lest a typed "t6e6577" match a tag. GIN cannot check a weight: every
-- row it found was re-read and its vector tested again (the bitmap heap scan's
-- recheck), at 100,000 articles 9 ms of a three-letter prefix's 4,000 matches. Tag
-- tokens are now the lexemes '#t…': the parser splits words at '#', so no typed word,
-- whole or as a prefix, can equal or start one, and the words need no weights to stay
-- out of the tags. The weights stay on the vectors for ts_rank (title 4, takeaways 2,
-- description 1), which ranks the same.

-- The vector of an article: as in 0008, the tag tokens (bot/store/columns.py
-- tag_token) each a lexeme '#' || token.
CREATE OR REPLACE FUNCTION article_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'published' THEN
        INSERT INTO article_search (article_id, search)
        VALUES (NEW.id,
                setweight(to_tsvector('newsbot', NEW.title), 'A')
                || setweight(to_tsvector('newsbot', NEW.takeaways_text), 'B')
                || setweight(to_tsvector('newsbot', coalesce(NEW.description, '')), 'C')
                || array_to_tsvector(ARRAY(
                    SELECT '#' || t FROM unnest(string_to_array(NEW.tag_tokens, ' ')) AS t
                    WHERE t <> '')))
        ON CONFLICT (article_id) DO UPDATE SET search = excluded.search;
    ELSE
        DELETE FROM article_search WHERE article_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- A search as a query: every word must match (anywhere but the tags: no word is a
-- '#' lexeme); with `prefix` the last one also as a prefix; and every tag token in
-- `tags`. Empty, matching nothing, when no word is searchable.
CREATE OR REPLACE FUNCTION newsbot_query(words text, prefix boolean, tags text[])
    RETURNS tsquery LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE WHEN numnode(q) = 0 THEN q ELSE (
            CASE WHEN prefix THEN regexp_replace(q::text, '''$', ''':*') ELSE q::text END
            || coalesce((SELECT string_agg(' & ''#' || t || '''', '') FROM unnest(tags) t), '')
        )::tsquery END
        FROM plainto_tsquery('newsbot', words) AS q
    $$;

-- Every stored vector, rewritten in place of the old: its words as they were (weights
-- A, B, C), its weight-D lexemes (the tag tokens) as '#' lexemes. Into an emptied table
-- and a freshly built index, so that neither keeps the old rows' space.
CREATE TEMPORARY TABLE article_search_before ON COMMIT DROP AS SELECT * FROM article_search;
DROP INDEX article_search_words;
TRUNCATE article_search;
INSERT INTO article_search (article_id, search)
SELECT article_id,
       ts_filter(search, '{a,b,c}')
       || array_to_tsvector(ARRAY(SELECT '#' || lexeme FROM unnest(ts_filter(search, '{d}'))))
FROM article_search_before
ORDER BY article_id;
CREATE INDEX article_search_words ON article_search USING gin (search)
    WITH (fastupdate = off);

-- How many articles a word or a prefix matches, as the planner estimates it, comes
-- from the commonest lexemes ANALYZE keeps: about ten per unit of the column's
-- statistics target. With the default (100) a three-letter prefix that matched none
-- of them was guessed at 1,200 articles of 100,000 for 4,065, and read through the
-- index (5.0 ms) rather than found walking the newest articles (2.3 ms). A search
-- chooses between the two by this estimate (bot/store/lookups.py). 300 keeps 3,000
-- lexemes; 1,000 estimated no better here and cost 0.2 ms more to plan every
-- statement, reading its 10,000.
ALTER TABLE article_search ALTER COLUMN search SET STATISTICS 300;
ANALYZE article_search;
