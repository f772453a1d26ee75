-- PostgreSQL translation of storage/migrations/0005_mirror.sql.

-- Copies of source posts in mirror chats. One row per (post, target chat): whether the
-- post was copied there, and whether an edit or a deletion still has to follow it.
-- 'sending' is written before the copy request and 'copied' after it, so a crash
-- between the two leaves 'sending', which start-up turns into 'unknown': such a post is
-- never copied again on its own (a copy made twice is worse than one to check by hand).
CREATE TABLE mirror_copies (
    post_id        BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    target_chat_id BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN
                       ('pending', 'sending', 'copied', 'failed', 'unknown', 'deleted')),
    -- Albums wait until no new part has arrived for a few seconds.
    ready_at       DOUBLE PRECISION NOT NULL, -- unix seconds
    attempts       BIGINT NOT NULL DEFAULT 0,
    error          TEXT,
    edit_pending   BIGINT NOT NULL DEFAULT 0,
    edit_error     TEXT,
    delete_pending BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (post_id, target_chat_id)
);
CREATE INDEX mirror_copies_work ON mirror_copies (status, ready_at);

-- Which message in the target chat is the copy of which source message.
CREATE TABLE mirror_messages (
    post_id           BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    target_chat_id    BIGINT NOT NULL,
    source_message_id BIGINT NOT NULL,
    copy_message_id   BIGINT NOT NULL,
    -- What the copy shows now, so that an edit touches only the parts that changed.
    media_unique_id   TEXT,
    content_hash      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (post_id, target_chat_id, source_message_id)
);
