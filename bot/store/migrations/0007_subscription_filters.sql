-- 0007: a channel's subscription holds one or more filters, each with its own tags,
-- categories and role to ping (say Politics pinging @politics and Energy pinging
-- @energy in one channel). The subscription stays one per channel: its deliveries,
-- pause and notices are the channel's, so an article matching several filters is
-- posted there once (pinging each matching filter's role), with its one nonce.

CREATE TABLE subscription_filters (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- The moderators' handle on it (/newsadmin subscribe ... filter:2); stable.
    number          INTEGER NOT NULL CHECK (number BETWEEN 1 AND 10),
    -- JSON lists as the moderator wrote them, matched like 0003's. An article matches
    -- with any of the tags or any of the categories (every article when both are
    -- empty) and none of the excluded tags.
    tags            TEXT    NOT NULL DEFAULT '[]',
    exclude_tags    TEXT    NOT NULL DEFAULT '[]',
    categories      TEXT    NOT NULL DEFAULT '[]',
    mention_role_id INTEGER,
    PRIMARY KEY (subscription_id, number),
    CHECK (json_valid(tags) AND json_valid(exclude_tags) AND json_valid(categories))
) WITHOUT ROWID;

INSERT INTO subscription_filters (subscription_id, number, tags, exclude_tags, mention_role_id)
SELECT id, 1, tags, exclude_tags, mention_role_id FROM subscriptions;

-- subscriptions.tags, exclude_tags and mention_role_id are no longer read or written
-- (left in place: SQLite cannot drop a column a table CHECK names, and rebuilding the
-- table would cascade-delete its deliveries).
