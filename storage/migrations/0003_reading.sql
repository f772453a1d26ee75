-- Who opened which post in the bot: popularity counts each reader once.
CREATE TABLE post_opens (
    post_id   INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) WITHOUT ROWID;

-- Search queries behind "next page" buttons: callback data holds only the id (64 bytes).
CREATE TABLE searches (
    id         INTEGER PRIMARY KEY,
    query      TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
