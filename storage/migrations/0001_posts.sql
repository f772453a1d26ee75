-- Posts of news channels. A post is one channel message, or one album of several
-- messages (parts) that Telegram delivers separately and readers see as one.
CREATE TABLE posts (
    id               INTEGER PRIMARY KEY,
    channel_id       INTEGER NOT NULL,
    -- The lowest message id among the post's parts: the one t.me links point to.
    message_id       INTEGER NOT NULL,
    media_group_id   TEXT,
    channel_title    TEXT NOT NULL DEFAULT '',
    channel_username TEXT,
    date             INTEGER NOT NULL,          -- unix seconds, UTC
    edit_date        INTEGER,
    text             TEXT NOT NULL DEFAULT '',  -- the caption holder's text
    entities         TEXT NOT NULL DEFAULT '[]',
    source           TEXT NOT NULL CHECK (source IN ('channel', 'forward', 'import')),
    forwarded_by     INTEGER,
    reactions        INTEGER NOT NULL DEFAULT 0,
    opens            INTEGER NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0,
    stored_at        INTEGER NOT NULL,
    UNIQUE (channel_id, message_id)
);
CREATE UNIQUE INDEX posts_album ON posts (channel_id, media_group_id)
    WHERE media_group_id IS NOT NULL;
CREATE INDEX posts_date ON posts (date DESC, id DESC) WHERE deleted = 0;

-- Every Telegram message that makes up a post, with its own text and media, so that
-- an edit of any album item lands on the right part.
CREATE TABLE post_parts (
    post_id        INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    text           TEXT NOT NULL DEFAULT '',
    entities       TEXT NOT NULL DEFAULT '[]',
    media_kind     TEXT,
    file_id        TEXT,
    file_unique_id TEXT,
    edit_date      INTEGER,
    reactions      INTEGER NOT NULL DEFAULT 0,
    -- A rowid table on purpose: WITHOUT ROWID keeps at most ~1 KB of a row in its page,
    -- and a Russian post of 500 letters would spill onto a mostly empty page of its own.
    PRIMARY KEY (channel_id, message_id)
);
CREATE INDEX post_parts_post ON post_parts (post_id, message_id);

-- Stemmed words of each live post; rowid = posts.id. Kept by storage/posts.py in the
-- same transaction as the post (stemming happens in Python, not in SQLite).
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
