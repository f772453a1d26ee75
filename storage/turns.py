"""Turns to send, shared by every process of one bot (PostgreSQL).

Each reservation moves a chat's next free moment on by the time its messages take (and
the bot's overall one, kept as chat '*'), in one statement, on the database server's
clock, so that processes on several machines agree. A reservation is one statement,
atomic by its row locks, so it runs outside the storage's write lock (it would queue
every message behind the posts being stored): a few hundred microseconds per message.
"""

from __future__ import annotations

from storage.engine import Database

#: The row that paces everything the bot sends.
OVERALL = "*"


def _take_sql(rows: int) -> str:
    wanted = ", ".join(f"(?::text, ?::float8, {n})" for n in range(rows))
    return f"""
    WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now),
    wanted (chat, span, ord) AS (VALUES {wanted})
    INSERT INTO send_turns AS s (chat, next_at, span)
    SELECT wanted.chat, clock.now + wanted.span, wanted.span
      FROM wanted CROSS JOIN clock ORDER BY wanted.ord
    ON CONFLICT (chat) DO UPDATE
       SET next_at = greatest(s.next_at, excluded.next_at - excluded.span) + excluded.span,
           span = excluded.span
    RETURNING s.next_at - s.span - (SELECT now FROM clock)
    """


#: The overall row first, then the chat's: every caller locks them in that order.
_TAKE_BOTH = _take_sql(2)
_TAKE_ONE = _take_sql(1)

_HOLD = """
    WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now)
    INSERT INTO send_turns AS s (chat, next_at, span)
    SELECT ?, clock.now + ?::float8, 0 FROM clock
    ON CONFLICT (chat) DO UPDATE SET next_at = greatest(s.next_at, excluded.next_at)
"""

_FORGET = """
    DELETE FROM send_turns
     WHERE chat <> '*' AND next_at < extract(epoch FROM clock_timestamp()) - ?
"""


class TurnRepository:
    def __init__(self, db: Database) -> None:
        if db.dialect.name != "postgresql":
            raise ValueError("shared turns are kept in PostgreSQL")
        self.db = db

    async def take(self, chat: str | None, chat_span: float, overall_span: float) -> float:
        """Reserve the chat's next turn for `chat_span` seconds (None: no chat) and the
        bot's for `overall_span` (0: only wait for a 429's hold to end); seconds to wait
        until both have come (0: now)."""
        params: tuple[object, ...]
        if chat is None:
            sql, params = _TAKE_ONE, (OVERALL, overall_span)
        else:
            sql, params = _TAKE_BOTH, (OVERALL, overall_span, chat, chat_span)
        async with self.db.reading() as conn:
            cursor = await conn.execute(sql, params)
            waits = [float(row[0]) for row in await cursor.fetchall()]
        return max(0.0, *waits)

    async def hold(self, seconds: float, chat: str = OVERALL) -> None:
        """Nothing goes to `chat` (every chat: '*') for `seconds` (Telegram's 429)."""
        async with self.db.reading() as conn:
            await conn.execute(_HOLD, (chat, seconds))

    async def forget(self, idle_seconds: float) -> int:
        """Drop chats not written to for this long; how many."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(_FORGET, (idle_seconds,))
            return cursor.rowcount
