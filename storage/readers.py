"""What readers chose for themselves: the language the bot speaks to them in."""

from __future__ import annotations

from dataclasses import dataclass

from storage.engine import Database


@dataclass(frozen=True, slots=True)
class ReaderLanguages:
    """The language a reader chose (None if they never did), and the languages their
    digest and topic alerts are written in (None where they have none)."""

    chosen: str | None
    digest: str | None
    alerts: str | None
    #: The fingerprint of the command menu last set in the reader's chat.
    menu: str | None = None


class ReaderRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def languages(self, user_id: int) -> ReaderLanguages:
        """The reader's chosen language and those of their digest and alerts, in one read
        (a read never waits for a writer)."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT (SELECT lang FROM reader_languages WHERE user_id = ?) AS chosen,
                       (SELECT lang FROM subscribers WHERE chat_id = ?) AS digest,
                       (SELECT lang FROM topic_readers WHERE chat_id = ?) AS alerts,
                       (SELECT menu FROM reader_languages WHERE user_id = ?) AS menu
                """,
                (user_id, user_id, user_id, user_id),
            )
            row = await cursor.fetchone()
        assert row is not None
        return ReaderLanguages(row["chosen"], row["digest"], row["alerts"], row["menu"])

    async def menu_set(self, user_id: int, fingerprint: str) -> None:
        """The command menu with this fingerprint is now set in the reader's chat."""
        await self.db.write(
            "UPDATE reader_languages SET menu = ? WHERE user_id = ?", (fingerprint, user_id)
        )

    async def language(self, user_id: int) -> str | None:
        """The language the reader chose, or None if they never did."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT lang FROM reader_languages WHERE user_id = ?", (user_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else str(row["lang"])

    async def follow_app_language(self, user_id: int, lang: str, *, now: int) -> None:
        """For a reader who never chose: their digest and alerts in their app's language
        as it is now (it may have changed since they subscribed, or they subscribed
        before the bot spoke it). Only rows that differ are written."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE subscribers SET lang = ?, updated_at = ? WHERE chat_id = ? AND lang != ?",
                (lang, now, user_id, lang),
            )
            await conn.execute(
                "UPDATE topic_readers SET lang = ?, updated_at = ? WHERE chat_id = ? AND lang != ?",
                (lang, now, user_id, lang),
            )

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
