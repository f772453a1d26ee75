-- Topics readers follow (/follow), and the ledger of alerts sent for them.

-- A reader who follows topics: the language alerts are written in, and whether quiet
-- hours hold their alerts back to the morning. Inactive after Telegram refused a send
-- (blocked, deactivated): their topics are gone then.
CREATE TABLE topic_readers (
    chat_id         INTEGER PRIMARY KEY,
    lang            TEXT NOT NULL DEFAULT 'ru',
    quiet           INTEGER NOT NULL DEFAULT 1,
    active          INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,
    updated_at      INTEGER NOT NULL
);

-- One topic of one reader. `stems` (distinct Snowball stems, sorted, space-separated) is
-- the topic's identity: "тарифы" and "тарифов" are one topic, and so is a change of order.
CREATE TABLE topics (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL REFERENCES topic_readers (chat_id) ON DELETE CASCADE,
    text       TEXT NOT NULL,                -- as the reader typed it, shown in alerts
    stems      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (chat_id, stems)
);
CREATE INDEX topics_stems ON topics (stems);

-- The alert ledger: one row per (post, reader), however many of the reader's topics the
-- post matches, so nobody is alerted twice about one post. 'sending' is written before
-- the request and the outcome after it; 'sending' found at start means the process died
-- with the alert in flight: it becomes 'unknown' and is not sent again. A row matched in
-- the reader's quiet hours is `night`: it waits until `due_at` (07:00 local) and goes
-- out with the night's other matches as one message.
CREATE TABLE topic_alerts (
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    chat_id    INTEGER NOT NULL,
    topics     TEXT NOT NULL,                -- JSON list of the matching topics' texts
    status     TEXT NOT NULL CHECK (status IN
                   ('pending', 'sending', 'sent', 'failed', 'blocked', 'unknown', 'skipped')),
    night      INTEGER NOT NULL DEFAULT 0,
    due_at     INTEGER NOT NULL,             -- unix seconds
    error      TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, chat_id)
) WITHOUT ROWID;
CREATE INDEX topic_alerts_due ON topic_alerts (status, due_at);
CREATE INDEX topic_alerts_updated ON topic_alerts (status, updated_at);

-- Posts already matched against the topics: a post delivered again by Telegram (after a
-- crash between storing it and matching it) is matched once, and only then.
CREATE TABLE topic_matched_posts (
    post_id    INTEGER PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    matched_at INTEGER NOT NULL
);
