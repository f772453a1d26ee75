-- PostgreSQL translation of storage/migrations/0002_rates.sql.

-- Official exchange rates of the National Bank of Kazakhstan, one row per currency and
-- day. Numbers are kept as decimal text: a float would turn 517.3 into 517.29999….
CREATE TABLE rates (
    code       TEXT NOT NULL,             -- ISO 4217, upper case
    day        TEXT NOT NULL,             -- YYYY-MM-DD, the day the rate is set for
    rate       TEXT NOT NULL,             -- tenge for `quant` units
    quant      BIGINT NOT NULL CHECK (quant > 0),
    change     TEXT,                      -- as published, for `quant` units, NULL if absent
    trend      TEXT NOT NULL DEFAULT '',  -- the feed's index: UP, DOWN or ''
    fetched_at BIGINT NOT NULL,           -- unix seconds, UTC
    PRIMARY KEY (code, day)
);
CREATE INDEX rates_day ON rates (day);

-- The outcome of the latest attempt to fetch the feed (a single row), for /stats.
CREATE TABLE rates_fetch (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    attempted_at BIGINT NOT NULL,         -- unix seconds, UTC
    ok           BIGINT NOT NULL,
    error        TEXT,
    last_ok_at   BIGINT                   -- the latest attempt that succeeded
);
