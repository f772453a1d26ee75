-- PostgreSQL translation of storage/migrations/0007_unreadable_updates.sql.

-- Updates the bot could not read (a field missing or of a type this version does not
-- know, as a newer Bot API may send). Each is logged with its id and kept here, as the
-- Bot API's JSON, for an operator to look at: the bot goes on with the rest.
CREATE TABLE unreadable_updates (
    update_id BIGINT PRIMARY KEY,
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
