"""Digest subscribers and the delivery ledger."""

from __future__ import annotations

import enum
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from datetime import time as clock_time

from storage.engine import Database, Row


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    #: The process died while this message was in flight; it is not sent again.
    UNKNOWN = "unknown"
    #: The bot was down past the catch-up window: that day's digest was skipped.
    MISSED = "missed"


#: Statuses after which a (day, chat) is never sent again.
FINAL = (
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.BLOCKED,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.MISSED,
)


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    lang: str
    send_time: clock_time
    first_day: date
    active: bool = True
    inactive_reason: str | None = None


def _subscriber(row: Row) -> Subscriber:
    hour, minute = (int(x) for x in str(row["send_time"]).split(":"))
    return Subscriber(
        chat_id=int(row["chat_id"]),
        lang=row["lang"],
        send_time=clock_time(hour, minute),
        first_day=date.fromisoformat(row["first_day"]),
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
    )


class SubscriberRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def subscribe(
        self, chat_id: int, *, lang: str, send_time: clock_time, first_day: date
    ) -> Subscriber | None:
        """Subscribe or change the time; returns the previous state (None if new)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,))
            row = await cursor.fetchone()
            previous = None if row is None else _subscriber(row)
            now = int(time.time())
            await conn.execute(
                """
                INSERT INTO subscribers (chat_id, lang, send_time, first_day, active,
                                         inactive_reason, subscribed_at, updated_at)
                VALUES (?, ?, ?, ?, 1, NULL, ?, ?)
                ON CONFLICT (chat_id) DO UPDATE SET
                    lang = excluded.lang, send_time = excluded.send_time,
                    first_day = excluded.first_day, active = 1, inactive_reason = NULL,
                    updated_at = excluded.updated_at
                """,
                (chat_id, lang, send_time.strftime("%H:%M"), first_day.isoformat(), now, now),
            )
            return previous

    async def deactivate(self, chat_id: int, reason: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """
                UPDATE subscribers SET active = 0, inactive_reason = ?, updated_at = ?
                 WHERE chat_id = ? AND active = 1
                """,
                (reason, int(time.time()), chat_id),
            )
            return cursor.rowcount > 0

    async def get(self, chat_id: int) -> Subscriber | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,))
            row = await cursor.fetchone()
            return None if row is None else _subscriber(row)

    async def active(self) -> list[Subscriber]:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT * FROM subscribers WHERE active = 1 ORDER BY chat_id"
            )
            return [_subscriber(row) for row in await cursor.fetchall()]

    async def counts(self) -> tuple[int, int]:
        """(active, inactive)."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT sum(CASE WHEN active = 1 THEN 1 ELSE 0 END),
                       sum(CASE WHEN active = 0 THEN 1 ELSE 0 END)
                  FROM subscribers
                """
            )
            row = await cursor.fetchone()
            assert row is not None
            return int(row[0] or 0), int(row[1] or 0)


class DeliveryLedger:
    """What happened to each (digest day, chat). Written as sending goes, so a restart
    knows exactly who still needs that day's digest."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, day: date, chat_ids: list[int], *, retry_failed: bool = False
    ) -> list[int]:
        """Record the chats as pending for `day`; return those that still need it.

        A send that failed after its retries stays failed for the schedule; an admin's
        /senddigest (`retry_failed`) tries it again."""
        async with self.db.transaction() as conn:
            now = int(time.time())
            await conn.executemany(
                """
                INSERT INTO deliveries (day, chat_id, status, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """,
                [
                    (day.isoformat(), chat_id, DeliveryStatus.PENDING.value, now)
                    for chat_id in chat_ids
                ],
            )
            final = [s.value for s in FINAL]
            if not retry_failed:
                final.append(DeliveryStatus.FAILED.value)
            marks = ",".join("?" * len(final))
            cursor = await conn.execute(
                f"""
                SELECT chat_id FROM deliveries
                 WHERE day = ? AND status NOT IN ({marks})
                """,
                (day.isoformat(), *final),
            )
            wanted = set(chat_ids)
            return sorted(int(r[0]) for r in await cursor.fetchall() if int(r[0]) in wanted)

    async def mark(
        self, day: date, chat_id: int, status: DeliveryStatus, error: str | None = None
    ) -> None:
        await self.db.write(
            """
            INSERT INTO deliveries (day, chat_id, status, attempts, error, updated_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (day, chat_id) DO UPDATE SET
                status = excluded.status, error = excluded.error,
                attempts = deliveries.attempts + excluded.attempts,
                updated_at = excluded.updated_at
            """,
            (
                day.isoformat(),
                chat_id,
                status.value,
                1 if status is DeliveryStatus.SENDING else 0,
                error,
                int(time.time()),
            ),
        )

    async def begin(self, day: date, chat_id: int, *, retry_failed: bool = False) -> bool:
        """Mark the chat's digest as being sent, if it still waits to be (pending, or
        failed when retried); False when another run has it or had it. Two runs, in one
        process or two, never both send a chat's digest."""
        ready = [DeliveryStatus.PENDING.value]
        if retry_failed:
            ready.append(DeliveryStatus.FAILED.value)
        marks = ",".join("?" * len(ready))
        changed = await self.db.write(
            f"""
            UPDATE deliveries SET status = ?, attempts = attempts + 1, error = NULL,
                                  updated_at = ?
             WHERE day = ? AND chat_id = ? AND status IN ({marks})
            """,
            (DeliveryStatus.SENDING.value, int(time.time()), day.isoformat(), chat_id, *ready),
        )
        return changed == 1

    async def mark_missed(self, day: date, chat_ids: list[int]) -> None:
        """Days a chat's digest was due while the bot was down past the catch-up window."""
        async with self.db.transaction() as conn:
            now = int(time.time())
            await conn.executemany(
                """
                INSERT INTO deliveries (day, chat_id, status, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """,
                [(day.isoformat(), c, DeliveryStatus.MISSED.value, now) for c in chat_ids],
            )

    async def status(self, day: date, chat_id: int) -> DeliveryStatus | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT status FROM deliveries WHERE day = ? AND chat_id = ?",
                (day.isoformat(), chat_id),
            )
            row = await cursor.fetchone()
            return None if row is None else DeliveryStatus(row[0])

    async def resolve_in_flight(self) -> int:
        """At start: messages that were in flight when the process died become 'unknown'
        (not resent: a missed digest is better than a doubled one). Returns how many."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE deliveries SET status = ?, updated_at = ? WHERE status = ?",
                (DeliveryStatus.UNKNOWN.value, int(time.time()), DeliveryStatus.SENDING.value),
            )
            return cursor.rowcount

    async def summary(self, last_days: int = 3) -> dict[str, Counter[str]]:
        """Counts of each status for the latest `last_days` digest days, newest first."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT day, status, count(*) FROM deliveries
                 WHERE day IN (SELECT DISTINCT day FROM deliveries ORDER BY day DESC LIMIT ?)
                 GROUP BY day, status ORDER BY day DESC
                """,
                (last_days,),
            )
            result: dict[str, Counter[str]] = {}
            for row in await cursor.fetchall():
                result.setdefault(str(row[0]), Counter())[str(row[1])] = int(row[2])
            return result
