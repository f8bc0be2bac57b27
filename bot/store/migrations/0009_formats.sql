-- 0009: a channel's subscription may have its own message format (bot/formats.py):
-- the moderators' templates and switches as JSON, NULL for the default post. It belongs
-- to the channel's subscription, not to a filter: the channel gets one post per article.

ALTER TABLE subscriptions ADD COLUMN format TEXT CHECK (format IS NULL OR json_valid(format));
