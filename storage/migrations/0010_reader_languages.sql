-- The language each reader chose with /language. A reader without a row is spoken to in
-- the language of their Telegram app.
CREATE TABLE reader_languages (
    user_id    INTEGER PRIMARY KEY,
    lang       TEXT NOT NULL,
    chosen_at  INTEGER NOT NULL
);
