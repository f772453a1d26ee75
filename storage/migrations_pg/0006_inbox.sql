-- PostgreSQL translation of storage/migrations/0006_inbox.sql.

-- Updates taken from Telegram and confirmed to it, not yet handled. Kept so that the
-- bot can confirm a batch at once and fetch the next while slow chats are still being
-- answered: whatever is here at start is handled before anything new.
CREATE TABLE inbox (
    update_id BIGINT PRIMARY KEY,
    -- The update as the Bot API's JSON, ASCII-escaped (text may hold lone surrogates).
    payload TEXT NOT NULL
);
