-- PostgreSQL translation of storage/migrations/0011_reader_menus.sql.

-- The command menu last set in the chat of a reader who chose a language: a fingerprint
-- of its commands and descriptions. A release that changes the menu sets it again at the
-- reader's next message. NULL: not set, or set by an older version.
ALTER TABLE reader_languages ADD COLUMN menu TEXT;
