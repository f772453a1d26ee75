"""Official exchange rates by day, and the outcome of the latest fetch of the feed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from storage.engine import Database, Row


@dataclass(frozen=True, slots=True)
class Rate:
    """One currency's official rate in tenge for one day, as the National Bank sets it."""

    code: str
    day: date
    #: Tenge for `quant` units: the National Bank quotes 100 KRW or 1000 IRR, not one.
    rate: Decimal
    quant: int = 1
    #: The published change from the previous quote, also for `quant` units.
    change: Decimal | None = None
    #: The feed's index: "UP", "DOWN" or "".
    trend: str = ""

    @property
    def per_unit(self) -> Decimal:
        return self.rate / self.quant


@dataclass(frozen=True, slots=True)
class FetchRecord:
    attempted_at: datetime
    ok: bool
    error: str | None
    last_ok_at: datetime | None


def _rate(row: Row) -> Rate:
    change = row["change"]
    return Rate(
        code=row["code"],
        day=date.fromisoformat(row["day"]),
        rate=Decimal(row["rate"]),
        quant=int(row["quant"]),
        change=None if change is None else Decimal(change),
        trend=row["trend"],
    )


def _dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class RateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, rates: Iterable[Rate], *, fetched_at: datetime | None = None) -> int:
        """Store rates; a day published again (a correction) replaces what was stored."""
        stamp = int((fetched_at or datetime.now(UTC)).timestamp())
        rows = [
            (
                r.code,
                r.day.isoformat(),
                str(r.rate),
                r.quant,
                None if r.change is None else str(r.change),
                r.trend,
                stamp,
            )
            for r in rates
        ]
        if not rows:
            return 0
        async with self.db.transaction() as conn:
            await conn.executemany(
                """
                INSERT INTO rates (code, day, rate, quant, change, trend, fetched_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (code, day) DO UPDATE
                   SET rate = excluded.rate, quant = excluded.quant, change = excluded.change,
                       trend = excluded.trend, fetched_at = excluded.fetched_at
                """,
                rows,
            )
        return len(rows)

    async def latest_day(self) -> date | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT MAX(day) FROM rates")
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else date.fromisoformat(row[0])

    async def on_day(self, day: date, codes: Sequence[str] | None = None) -> list[Rate]:
        """The rates stored for `day`, in the order of `codes` (or by code)."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT * FROM rates WHERE day = ? ORDER BY code", (day.isoformat(),)
            )
            rates = [_rate(row) for row in await cursor.fetchall()]
        if codes is None:
            return rates
        by_code = {r.code: r for r in rates}
        return [by_code[code] for code in codes if code in by_code]

    async def latest(self, codes: Sequence[str] | None = None) -> list[Rate]:
        """Every rate of the most recent stored day (one day, never a mix of days)."""
        day = await self.latest_day()
        return [] if day is None else await self.on_day(day, codes)

    async def previous(self, code: str, before: date) -> Rate | None:
        """The latest quote of `code` on a day before `before`."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT * FROM rates WHERE code = ? AND day < ? ORDER BY day DESC LIMIT 1",
                (code, before.isoformat()),
            )
            row = await cursor.fetchone()
        return None if row is None else _rate(row)

    async def history(self, code: str, since: date, until: date) -> list[Rate]:
        """Quotes of `code` from `since` to `until` inclusive, oldest first."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT * FROM rates WHERE code = ? AND day BETWEEN ? AND ? ORDER BY day",
                (code, since.isoformat(), until.isoformat()),
            )
            return [_rate(row) for row in await cursor.fetchall()]

    async def last_day_of(self, code: str) -> date | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT MAX(day) FROM rates WHERE code = ?", (code,))
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else date.fromisoformat(row[0])

    async def has_day(self, day: date) -> bool:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM rates WHERE day = ? LIMIT 1", (day.isoformat(),)
            )
            return await cursor.fetchone() is not None

    async def record_fetch(self, *, ok: bool, error: str | None, at: datetime) -> None:
        stamp = int(at.timestamp())
        async with self.db.transaction() as conn:
            await conn.execute(
                """
                INSERT INTO rates_fetch (id, attempted_at, ok, error, last_ok_at)
                VALUES (1, :at, :ok, :error, :ok_at)
                ON CONFLICT (id) DO UPDATE
                   SET attempted_at = excluded.attempted_at, ok = excluded.ok,
                       error = excluded.error,
                       last_ok_at = coalesce(excluded.last_ok_at, rates_fetch.last_ok_at)
                """,
                {"at": stamp, "ok": int(ok), "error": error, "ok_at": stamp if ok else None},
            )

    async def last_fetch(self) -> FetchRecord | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT * FROM rates_fetch WHERE id = 1")
            row = await cursor.fetchone()
        if row is None:
            return None
        attempted = _dt(row["attempted_at"])
        assert attempted is not None
        return FetchRecord(
            attempted_at=attempted,
            ok=bool(row["ok"]),
            error=row["error"],
            last_ok_at=_dt(row["last_ok_at"]),
        )
