-- PostgreSQL twin of 0009_formats.sql: a channel's subscription may have its own
-- message format (JSON; NULL for the default post).

ALTER TABLE subscriptions ADD COLUMN format TEXT CHECK (format IS NULL OR format IS JSON);
