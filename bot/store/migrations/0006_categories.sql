-- 0006: categories are matched like tags: in subscriptions' filters and in lookups.
--
-- An article's categories get rows in article_tags (and so in tag_counts and the
-- full-text tag tokens) under the key CATEGORY_KEY || normalise_tag(category) (see
-- bot.articles.model.category_key): one index, and no category is taken for a tag.
-- newsbot_category_key() is that function and newsbot_spelling() the spelling stored
-- (bot.store.columns.spelling), both registered on the connection by migrate().

ALTER TABLE articles ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';  -- JSON, as written

UPDATE articles SET categories = coalesce(json_extract(article_json, '$.categories'), '[]')
WHERE json_type(article_json, '$.categories') = 'array';

-- First spelling wins (the lowest array index); a category spelled like one of the
-- article's tags is still its own row (its key differs).
INSERT INTO article_tags (article_id, tag_key, tag, published_sort)
SELECT a.id, newsbot_category_key(c.value), newsbot_spelling(c.value),
       CASE WHEN a.status = 'published' THEN a.sort_at END
FROM articles a, json_each(a.categories) c
WHERE c.type = 'text' AND newsbot_category_key(c.value) <> ''
ORDER BY a.id, c.key
ON CONFLICT (article_id, tag_key) DO NOTHING;

UPDATE articles SET tag_tokens = coalesce((
    SELECT group_concat(token, ' ') FROM (
        SELECT 't' || lower(hex(t.tag_key)) AS token FROM article_tags t
        WHERE t.article_id = articles.id ORDER BY t.tag_key
    )
), '')
WHERE categories <> '[]';
