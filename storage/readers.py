"""What readers chose for themselves: the language the bot speaks to them in."""

from __future__ import annotations

from storage.db import Database


class ReaderRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def language(self, user_id: int) -> str | None:
        """The language the reader chose, or None if they never did."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT lang FROM reader_languages WHERE user_id = ?", (user_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else str(row["lang"])

    async def choose_language(self, user_id: int, lang: str, *, now: int) -> None:
        """Remember the choice, and write what the reader already gets in it from now on:
        their digest and their topic alerts (a private chat's id is its user's id)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                """
                INSERT INTO reader_languages (user_id, lang, chosen_at) VALUES (?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    lang = excluded.lang, chosen_at = excluded.chosen_at
                """,
                (user_id, lang, now),
            )
            await conn.execute(
                "UPDATE subscribers SET lang = ?, updated_at = ? WHERE chat_id = ?",
                (lang, now, user_id),
            )
            await conn.execute(
                "UPDATE topic_readers SET lang = ?, updated_at = ? WHERE chat_id = ?",
                (lang, now, user_id),
            )
