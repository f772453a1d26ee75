-- PostgreSQL translation of storage/migrations/0010_reader_languages.sql.

-- The language each reader chose with /language. A reader without a row is spoken to in
-- the language of their Telegram app.
CREATE TABLE reader_languages (
    user_id    BIGINT PRIMARY KEY,
    lang       TEXT NOT NULL,
    chosen_at  BIGINT NOT NULL
);
