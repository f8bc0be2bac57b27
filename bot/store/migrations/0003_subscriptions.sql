-- 0003: which channel gets which articles (subscriptions), and per-server settings.
--
-- Written by moderators through /newsadmin; read by delivery. Every row carries the
-- guild id and every moderator-facing query filters on it. Discord ids (snowflakes)
-- fit SQLite's signed 64-bit INTEGER. *_at columns are UTC microseconds, as in 0001.

CREATE TABLE subscriptions (
    -- Stable for the life of the subscription: re-subscribing updates the row in place
    -- (never REPLACE), so rows referencing it (deliveries, ON DELETE CASCADE) survive
    -- an edit of the filters and go only when the subscription itself is removed.
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    -- A text or announcement channel, a forum/media channel, or a thread. Channel ids
    -- are unique across Discord: one subscription per channel.
    channel_id      INTEGER NOT NULL UNIQUE,
    -- JSON lists of tags as the moderator wrote them; matched with normalise_tag().
    -- An empty tags list means every article.
    tags            TEXT    NOT NULL DEFAULT '[]',
    exclude_tags    TEXT    NOT NULL DEFAULT '[]',
    mention_role_id INTEGER,
    -- Set while paused (by a moderator, or by delivery when Discord refuses a post).
    paused_reason   TEXT,
    paused_at       INTEGER,
    created_by      INTEGER NOT NULL,  -- the Discord user id of the moderator
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((paused_reason IS NULL) = (paused_at IS NULL)),
    CHECK (json_valid(tags) AND json_valid(exclude_tags))
);

CREATE INDEX subscriptions_guild ON subscriptions (guild_id, channel_id);

-- One row per server that changed a setting; a server without a row has the defaults.
CREATE TABLE guild_settings (
    guild_id       INTEGER PRIMARY KEY,
    -- Edit the posted messages when an article changes after it was announced.
    edit_on_update INTEGER NOT NULL DEFAULT 1 CHECK (edit_on_update IN (0, 1)),
    -- The embed colour of posts (0xRRGGBB); NULL: the bot's default.
    color          INTEGER CHECK (color IS NULL OR color BETWEEN 0 AND 16777215)
);
