"""Updates kept between being confirmed to Telegram and being handled."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from storage.engine import Database, SyncConnection

#: Ids deleted per statement, under SQLite's limit on bound parameters.
_CHUNK = 500


class Inbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, updates: Sequence[tuple[int, str]]) -> None:
        """Keep (update id, JSON) pairs, all or none; one already kept stays as it is."""

        def put(conn: SyncConnection) -> None:
            conn.executemany(
                "INSERT INTO inbox (update_id, payload) VALUES (?, ?) ON CONFLICT DO NOTHING",
                updates,
            )

        await self.db.run_sync(put)

    async def done(self, update_ids: Collection[int]) -> None:
        """Forget handled updates."""
        ids = sorted(update_ids)

        def delete(conn: SyncConnection) -> None:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM inbox WHERE update_id IN ({marks})", chunk)

        if ids:
            await self.db.run_sync(delete)

    async def pending(self) -> list[tuple[int, str]]:
        """Kept updates in the order Telegram gave them."""
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT update_id, payload FROM inbox ORDER BY update_id")
            return [(int(row[0]), str(row[1])) for row in await cursor.fetchall()]

    async def set_aside(self, update_id: int, payload: str, error: str) -> None:
        """Keep an update that cannot be read in `unreadable_updates`, out of the inbox."""

        def move(conn: SyncConnection) -> None:
            conn.execute(
                """
                INSERT INTO unreadable_updates (update_id, payload, error, received_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (update_id) DO UPDATE
                   SET payload = excluded.payload, error = excluded.error,
                       received_at = excluded.received_at
                """,
                (update_id, payload, error, int(time.time())),
            )
            conn.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))

        await self.db.run_sync(move)

    async def unreadable(self) -> list[tuple[int, str, str]]:
        """(update id, JSON, why) of every update set aside, oldest first."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT update_id, payload, error FROM unreadable_updates ORDER BY update_id"
            )
            return [(int(r[0]), str(r[1]), str(r[2])) for r in await cursor.fetchall()]
