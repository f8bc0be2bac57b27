-- 0005: the channel a server chose for the bot's notices to its moderators
-- (/newsadmin settings notices_channel:). NULL: the system channel, else the first
-- text channel the bot can post in.

ALTER TABLE guild_settings ADD COLUMN notices_channel_id INTEGER;
