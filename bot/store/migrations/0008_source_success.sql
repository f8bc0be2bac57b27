-- 0005: when each source last succeeded (a feed poll answered, a content folder's
-- files recorded), for `newsbot status` and the metrics' source ages. A feed polled
-- without error so far succeeded at its last poll.

ALTER TABLE sources ADD COLUMN last_success_at INTEGER;

UPDATE sources SET last_success_at = last_polled_at WHERE kind = 'feed' AND failures = 0;
