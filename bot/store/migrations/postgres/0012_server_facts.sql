-- PostgreSQL twin of 0012_server_facts.sql: what the process serving a server's
-- gateway publishes for the leader, whose cache lacks that server: per subscribed
-- channel the facts resolve() computed (JSON), per server the notice channels.

CREATE TABLE channel_facts (
    channel_id  BIGINT PRIMARY KEY,
    guild_id    BIGINT NOT NULL,
    facts       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE INDEX channel_facts_guild ON channel_facts (guild_id);

CREATE TABLE guild_facts (
    guild_id         BIGINT PRIMARY KEY,
    notice_channels  TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);
