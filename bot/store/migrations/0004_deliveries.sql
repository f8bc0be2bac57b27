-- 0004: the delivery outbox: one row per (subscription, article) post, and the notices
-- that tell a server's moderators that delivery to one of their channels stopped.
--
-- A row is written by the fan-out of a 'published' announcement, in the same
-- transaction that completes the announcement (or by a moderator's backfill), and is
-- then worked through by the sender:
--
--   pending --(Discord confirms the post)--> sent --(article changed)--> sent (edited)
--      |                                       \--> crosspost due/done (announcement channels)
--      +--(article withdrawn / too old)--> skipped
--      +--(Discord will never take it)--> failed
--
-- `due_at` says when the row has work to do (a post, a retry, an edit, a crosspost);
-- NULL means none. Within one subscription, pending rows' `due_at` never decreases
-- with `id`, so posts go out in order even when one of them is waiting for a retry.
-- Rows go with their subscription (ON DELETE CASCADE): leaving a server or deleting a
-- channel removes its subscription, and with it what was still to be sent there.

CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY,
    subscription_id    INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    article_id         INTEGER NOT NULL REFERENCES articles (id),
    guild_id           INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,
    -- Sent with every attempt (enforce_nonce): Discord absorbs a resend after a crash.
    nonce              TEXT    NOT NULL,
    state              TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'skipped', 'failed')),
    due_at             INTEGER,
    created_at         INTEGER NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- When the last request for this row started (forum posts carry no nonce: a
    -- thread the bot created just before a crash is recognised by it).
    attempted_at       INTEGER,
    last_error         TEXT,
    message_id         INTEGER,
    -- Where the message lives: the channel itself, or the thread of a forum post.
    message_channel_id INTEGER,
    sent_at            INTEGER,
    sent_version       INTEGER,  -- the article version the message shows
    edit_version       INTEGER,  -- the version it should show (an edit is due when higher)
    crosspost          TEXT CHECK (crosspost IN ('due', 'done', 'failed')),
    UNIQUE (subscription_id, article_id),
    CHECK ((state = 'sent') = (message_id IS NOT NULL))
);

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_open ON deliveries (subscription_id, id) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_article ON deliveries (article_id);

CREATE TABLE delivery_notices (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,  -- the channel delivery stopped in
    reason          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    due_at          INTEGER,           -- NULL once told (or given up)
    posted_in       INTEGER,           -- the channel the notice went to
    done_at         INTEGER
);

CREATE INDEX delivery_notices_due ON delivery_notices (due_at) WHERE due_at IS NOT NULL;
