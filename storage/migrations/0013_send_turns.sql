-- When the next message may go to each chat, and to Telegram at all (chat '*'), for
-- several processes sending for one bot (PostgreSQL deployments, storage/turns.py). A
-- single process on SQLite keeps its pace in memory and leaves this table empty.
CREATE TABLE send_turns (
    chat    TEXT NOT NULL PRIMARY KEY,
    next_at REAL NOT NULL,          -- unix seconds, the database server's clock
    span    REAL NOT NULL           -- seconds the latest reservation took
);
