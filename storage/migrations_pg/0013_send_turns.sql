-- PostgreSQL translation of storage/migrations/0013_send_turns.sql.
-- When the next message may go to each chat, and to Telegram at all (chat '*'), for
-- several processes sending for one bot (storage/turns.py). Unlogged: a pace is worth
-- nothing after a crash, and its writes (one per message sent) skip the WAL.
CREATE UNLOGGED TABLE send_turns (
    chat    TEXT PRIMARY KEY,
    next_at DOUBLE PRECISION NOT NULL,  -- unix seconds, the database server's clock
    span    DOUBLE PRECISION NOT NULL   -- seconds the latest reservation took
);
