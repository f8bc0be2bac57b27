-- PostgreSQL twin of 0010_webhook_identity.sql: who posts for a subscription (the
-- bot, or a webhook the bot made in its channel), the channel's webhook (its token
-- is a secret, never shown or logged), and the webhooks the channel lost since the
-- subscription was last resumed; for a delivery, the webhook that posted its message
-- and the digest of what its last webhook send said.

ALTER TABLE subscriptions ADD COLUMN identity TEXT NOT NULL DEFAULT 'bot'
    CHECK (identity IN ('bot', 'webhook'));
ALTER TABLE subscriptions ADD COLUMN webhook_id BIGINT;
ALTER TABLE subscriptions ADD COLUMN webhook_token TEXT;
ALTER TABLE subscriptions ADD COLUMN webhooks_lost BIGINT NOT NULL DEFAULT 0;

ALTER TABLE deliveries ADD COLUMN webhook_id BIGINT;
ALTER TABLE deliveries ADD COLUMN attempt_fingerprint TEXT;
