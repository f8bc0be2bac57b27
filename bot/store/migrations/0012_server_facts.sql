-- Issues 13/14, many processes: the leader posts in servers whose gateway another
-- process serves, so its own cache knows nothing of their channels. The process that
-- serves a server publishes here what the leader needs before posting there: per
-- subscribed channel, the facts bot.delivery.channels.resolve() computed from its
-- cache (how to post, the permission missing, the roles that may be pinged, forum
-- tags; JSON, see bot.delivery.channels.ChannelFacts), and per server the channels
-- where notices to its moderators would go (a JSON array of ids, best first).
-- SQLite has one process serving every server: these tables stay empty there.

CREATE TABLE channel_facts (
    channel_id  INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    facts       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX channel_facts_guild ON channel_facts (guild_id);

CREATE TABLE guild_facts (
    guild_id         INTEGER PRIMARY KEY,
    notice_channels  TEXT NOT NULL,
    updated_at       INTEGER NOT NULL
);
