-- /news search on PostgreSQL: the full-text index is written directly, without GIN's
-- pending list. With fastupdate on (PostgreSQL's default), new articles' words wait in
-- an unsorted list, up to gin_pending_list_limit (4 MB), that every search reads
-- whole until vacuum merges it: measured at 100,000 articles, 420 pages and 1-2 ms on
-- every statement of a search (up to three), even for a word with no match. The bot
-- writes a few articles at a time, so the index's own cost per write is small.
ALTER INDEX article_search_words SET (fastupdate = off);
SELECT gin_clean_pending_list('article_search_words'::regclass);
