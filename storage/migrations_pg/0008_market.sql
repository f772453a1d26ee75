-- PostgreSQL translation of storage/migrations/0008_market.sql.

-- What exchange offices pay and ask (kurs.kz), one row per fetch, city and currency: the
-- medians over the offices used and the best office each way, so that a failing source
-- still leaves the last numbers with their time, and /rates chart can draw the market.
-- Numbers are kept as decimal text, as in `rates`.
CREATE TABLE market_rates (
    city              TEXT NOT NULL,        -- a slug of MARKET_CITIES: almaty
    code              TEXT NOT NULL,        -- ISO 4217, upper case
    fetched_at        BIGINT NOT NULL,      -- unix seconds, UTC: when the page was read
    source            TEXT NOT NULL,        -- kurs.kz
    buy               TEXT NOT NULL,        -- median tenge offices pay for one unit
    sell              TEXT NOT NULL,        -- median tenge offices ask for one unit
    offices           BIGINT NOT NULL CHECK (offices > 0),
    newest_at         BIGINT NOT NULL,      -- unix seconds of the newest quote used
    best_buy          TEXT NOT NULL,        -- the office that pays the most
    best_buy_name     TEXT NOT NULL,
    best_buy_address  TEXT NOT NULL,
    best_buy_at       BIGINT NOT NULL,
    best_sell         TEXT NOT NULL,        -- the office that asks the least
    best_sell_name    TEXT NOT NULL,
    best_sell_address TEXT NOT NULL,
    best_sell_at      BIGINT NOT NULL,
    PRIMARY KEY (city, code, fetched_at)
);
CREATE INDEX market_rates_latest ON market_rates (city, fetched_at);

-- The city whose exchange offices a reader sees (/rates Астана, or a button): a reader
-- not listed has MARKET_CITIES' first.
CREATE TABLE reader_cities (
    chat_id    BIGINT PRIMARY KEY,
    city       TEXT NOT NULL,
    updated_at BIGINT NOT NULL              -- unix seconds, UTC
);
