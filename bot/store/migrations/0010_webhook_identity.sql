-- Issue 16, the publication's own name and face: a subscription posts as the
-- bot ('bot', the default) or through a webhook the bot created in its channel
-- ('webhook'), with the publication's name and avatar.
--
-- The webhook's id and token are kept with the subscription (one per channel). The
-- token is a secret: whoever holds it can post in the channel. It is read only by
-- delivery, never shown or logged. NULL: no webhook yet (made at the first post).

ALTER TABLE subscriptions ADD COLUMN identity TEXT NOT NULL DEFAULT 'bot'
    CHECK (identity IN ('bot', 'webhook'));
ALTER TABLE subscriptions ADD COLUMN webhook_id INTEGER;
ALTER TABLE subscriptions ADD COLUMN webhook_token TEXT;
-- Webhooks of this channel Discord said were deleted since the subscription was last
-- resumed: the first is made again, the second pauses the subscription.
ALTER TABLE subscriptions ADD COLUMN webhooks_lost INTEGER NOT NULL DEFAULT 0;

-- The webhook that posted a delivery's message (NULL: the bot posted it). Its edits
-- go through that webhook; a message of a webhook since deleted can't be edited.
ALTER TABLE deliveries ADD COLUMN webhook_id INTEGER;
-- What the post of a webhook delivery said when it was last sent (a digest:
-- bot.delivery.policy.post_fingerprint). After a crash between the send and its
-- record, the post is the webhook's message in the channel that says it and that no
-- delivery has recorded. NULL: never sent through a webhook.
ALTER TABLE deliveries ADD COLUMN attempt_fingerprint TEXT;
