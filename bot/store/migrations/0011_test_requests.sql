-- Issue 14: /newsadmin test handled by a process that does not send. That process
-- records the request here and waits; the leader claims it (one UPDATE ... RETURNING:
-- claimed once), posts the test as it would its own, and writes the answer the
-- moderator is shown. A request not claimed by expires_at is never posted: the
-- waiting process withdraws it (and told the moderator), and the leader's claim
-- passes it over should that process have died.

CREATE TABLE test_requests (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    claimed_at  INTEGER,           -- when the leader took it; NULL: waiting
    result      TEXT,              -- the answer for the moderator, once done
    done_at     INTEGER
);

CREATE INDEX test_requests_waiting ON test_requests (id) WHERE claimed_at IS NULL;
