"""Exchange offices' market rates by fetch, and each reader's city."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from storage.engine import Database, Row


@dataclass(frozen=True, slots=True)
class BestOffice:
    name: str
    address: str
    price: Decimal
    quoted_at: datetime


@dataclass(frozen=True, slots=True)
class MarketRate:
    """What a city's exchange offices pay for one unit of `code` and ask for it."""

    code: str
    #: The median of what offices pay for one unit (a reader selling gets this).
    buy: Decimal
    #: The median of what offices ask for one unit (a reader buying pays this).
    sell: Decimal
    #: How many offices the medians are taken over.
    offices: int
    #: Where to sell: the office that pays the most.
    best_buy: BestOffice
    #: Where to buy: the office that asks the least.
    best_sell: BestOffice
    #: The newest of the quotes used.
    newest: datetime


@dataclass(frozen=True, slots=True)
class StoredMarket:
    """The market rates of one fetch of one city."""

    city: str
    source: str
    fetched_at: datetime
    rates: dict[str, MarketRate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketPoint:
    fetched_at: datetime
    buy: Decimal
    sell: Decimal


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _rate(row: Row) -> MarketRate:
    return MarketRate(
        code=row["code"],
        buy=Decimal(row["buy"]),
        sell=Decimal(row["sell"]),
        offices=int(row["offices"]),
        best_buy=BestOffice(
            row["best_buy_name"],
            row["best_buy_address"],
            Decimal(row["best_buy"]),
            _dt(row["best_buy_at"]),
        ),
        best_sell=BestOffice(
            row["best_sell_name"],
            row["best_sell_address"],
            Decimal(row["best_sell"]),
            _dt(row["best_sell_at"]),
        ),
        newest=_dt(row["newest_at"]),
    )


class MarketRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self, city: str, source: str, rates: Iterable[MarketRate], *, fetched_at: datetime
    ) -> int:
        stamp = _stamp(fetched_at)
        rows = [
            (
                city,
                r.code,
                stamp,
                source,
                str(r.buy),
                str(r.sell),
                r.offices,
                _stamp(r.newest),
                str(r.best_buy.price),
                r.best_buy.name,
                r.best_buy.address,
                _stamp(r.best_buy.quoted_at),
                str(r.best_sell.price),
                r.best_sell.name,
                r.best_sell.address,
                _stamp(r.best_sell.quoted_at),
            )
            for r in rates
        ]
        if not rows:
            return 0
        async with self.db.transaction() as conn:
            await conn.executemany(
                f"""
                INSERT INTO market_rates
                    (city, code, fetched_at, source, buy, sell, offices, newest_at,
                     best_buy, best_buy_name, best_buy_address, best_buy_at,
                     best_sell, best_sell_name, best_sell_address, best_sell_at)
                VALUES ({",".join("?" * 16)})
                ON CONFLICT (city, code, fetched_at) DO UPDATE
                   SET source = excluded.source, buy = excluded.buy, sell = excluded.sell,
                       offices = excluded.offices, newest_at = excluded.newest_at,
                       best_buy = excluded.best_buy, best_buy_name = excluded.best_buy_name,
                       best_buy_address = excluded.best_buy_address,
                       best_buy_at = excluded.best_buy_at,
                       best_sell = excluded.best_sell, best_sell_name = excluded.best_sell_name,
                       best_sell_address = excluded.best_sell_address,
                       best_sell_at = excluded.best_sell_at
                """,
                rows,
            )
        return len(rows)

    async def latest(self, city: str, *, until: datetime | None = None) -> StoredMarket | None:
        """The rates of the latest fetch of `city` (up to `until`), every currency of it."""
        limit = _stamp(until) if until is not None else 2**62
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT * FROM market_rates
                 WHERE city = ? AND fetched_at = (
                       SELECT MAX(fetched_at) FROM market_rates
                        WHERE city = ? AND fetched_at <= ?)
                 ORDER BY code
                """,
                (city, city, limit),
            )
            rows = list(await cursor.fetchall())
        if not rows:
            return None
        return StoredMarket(
            city=city,
            source=rows[0]["source"],
            fetched_at=_dt(rows[0]["fetched_at"]),
            rates={row["code"]: _rate(row) for row in rows},
        )

    async def history(
        self, city: str, code: str, since: datetime, until: datetime
    ) -> list[MarketPoint]:
        """Every stored fetch of `code` in `city` from `since` to `until`, oldest first."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT fetched_at, buy, sell FROM market_rates
                 WHERE city = ? AND code = ? AND fetched_at BETWEEN ? AND ?
                 ORDER BY fetched_at
                """,
                (city, code, _stamp(since), _stamp(until)),
            )
            return [
                MarketPoint(_dt(row[0]), Decimal(row[1]), Decimal(row[2]))
                for row in await cursor.fetchall()
            ]

    # -- a reader's city ---------------------------------------------------------------

    async def set_city(self, chat_id: int, city: str) -> None:
        await self.db.write(
            """
            INSERT INTO reader_cities (chat_id, city, updated_at) VALUES (?, ?, ?)
            ON CONFLICT (chat_id) DO UPDATE
               SET city = excluded.city, updated_at = excluded.updated_at
            """,
            (chat_id, city, int(time.time())),
        )

    async def city_of(self, chat_id: int) -> str | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT city FROM reader_cities WHERE chat_id = ?", (chat_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def cities_of(self, chat_ids: Sequence[int]) -> dict[int, str]:
        """The chosen city of each of `chat_ids` that chose one."""
        found: dict[int, str] = {}
        # SQLite allows 32766 parameters; subscribers are asked in chunks well under it.
        for start in range(0, len(chat_ids), 500):
            chunk = list(chat_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            async with self.db.reading() as conn:
                cursor = await conn.execute(
                    f"SELECT chat_id, city FROM reader_cities WHERE chat_id IN ({marks})", chunk
                )
                found.update({int(r[0]): str(r[1]) for r in await cursor.fetchall()})
        return found
