-- PostgreSQL translation of storage/migrations/0004_digest.sql.

-- Readers subscribed to the morning digest, each at a local time of their choice.
CREATE TABLE subscribers (
    chat_id         BIGINT PRIMARY KEY,
    lang            TEXT NOT NULL DEFAULT 'ru',
    send_time       TEXT NOT NULL,               -- HH:MM in TIMEZONE
    first_day       TEXT NOT NULL,               -- YYYY-MM-DD: no digest before this day
    active          BIGINT NOT NULL DEFAULT 1,
    inactive_reason TEXT,                        -- unsubscribed, blocked, chat not found
    subscribed_at   BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX subscribers_active ON subscribers (active);

-- The delivery ledger: one row per (digest day, chat), written before and after each
-- send, so that after a crash nobody gets a day's digest twice. 'sending' found at start
-- means the process died with that message in flight: it becomes 'unknown' and is not
-- sent again.
CREATE TABLE deliveries (
    day        TEXT NOT NULL,                    -- the digest's local date, YYYY-MM-DD
    chat_id    BIGINT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN
                   ('pending', 'sending', 'sent', 'failed', 'blocked', 'unknown', 'missed')),
    attempts   BIGINT NOT NULL DEFAULT 0,
    error      TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (day, chat_id)
);
CREATE INDEX deliveries_status ON deliveries (status, day);
