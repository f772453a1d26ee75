"""The mirror's durable state: which post is copied where, and what is left to do."""

from __future__ import annotations

import enum
import time
from collections import Counter
from dataclasses import dataclass

from storage.engine import Database


class CopyStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    COPIED = "copied"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class CopyTask:
    post_id: int
    target_chat_id: int
    status: CopyStatus
    edit_pending: bool
    delete_pending: bool


@dataclass(frozen=True, slots=True)
class CopiedMessage:
    source_message_id: int
    copy_message_id: int
    media_unique_id: str | None = None
    content_hash: str = ""


class MirrorRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(self, post_id: int, targets: list[int], *, ready_at: float) -> None:
        """Ask for a post to be copied to each target, once; a later call (another album
        part) only moves the moment the copy may start."""
        now = int(time.time())
        later = self.db.dialect.max2("mirror_copies.ready_at", "excluded.ready_at")
        async with self.db.transaction() as conn:
            await conn.executemany(
                f"""
                INSERT INTO mirror_copies (post_id, target_chat_id, status, ready_at, updated_at)
                VALUES (?, ?, 'pending', ?, ?)
                ON CONFLICT (post_id, target_chat_id) DO UPDATE SET ready_at = {later}
                 WHERE mirror_copies.status = 'pending'
                """,
                [(post_id, target, ready_at, now) for target in targets],
            )

    async def request_edit(self, post_id: int, *, ready_at: float) -> None:
        """The source post changed: bring its copies in line once it settles."""
        later = self.db.dialect.max2("ready_at", "?")
        await self.db.write(
            f"""
            UPDATE mirror_copies SET edit_pending = 1, ready_at = {later},
                   updated_at = ?
             WHERE post_id = ? AND status IN ('pending', 'copied')
            """,
            (ready_at, int(time.time()), post_id),
        )

    async def request_delete(self, post_id: int) -> None:
        await self.db.write(
            """
            UPDATE mirror_copies SET delete_pending = 1, updated_at = ?
             WHERE post_id = ? AND status != 'deleted'
            """,
            (int(time.time()), post_id),
        )

    async def due(self, now: float, limit: int = 100) -> list[CopyTask]:
        """Work whose moment has come: copies, edits and deletions, oldest posts first."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT post_id, target_chat_id, status, edit_pending, delete_pending
                  FROM mirror_copies
                 WHERE (delete_pending = 1 AND status != 'deleted')
                    OR (ready_at <= ? AND (status = 'pending'
                                           OR (status = 'copied' AND edit_pending = 1)))
                 ORDER BY post_id, target_chat_id LIMIT ?
                """,
                (now, limit),
            )
            return [
                CopyTask(int(r[0]), int(r[1]), CopyStatus(r[2]), bool(r[3]), bool(r[4]))
                for r in await cursor.fetchall()
            ]

    async def set_status(
        self, post_id: int, target: int, status: CopyStatus, error: str | None = None
    ) -> None:
        await self.db.write(
            """
            UPDATE mirror_copies
               SET status = ?, error = ?, updated_at = ?,
                   attempts = attempts + CASE WHEN ? = 'sending' THEN 1 ELSE 0 END,
                   delete_pending = CASE WHEN ? = 'deleted' THEN 0 ELSE delete_pending END
             WHERE post_id = ? AND target_chat_id = ?
            """,
            (status.value, error, int(time.time()), status.value, status.value, post_id, target),
        )

    async def record_copies(self, post_id: int, target: int, copies: list[CopiedMessage]) -> None:
        """Which message is the copy of which, and the copy marked done."""
        async with self.db.transaction() as conn:
            await conn.executemany(
                """
                INSERT INTO mirror_messages
                    (post_id, target_chat_id, source_message_id, copy_message_id,
                     media_unique_id, content_hash)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (post_id, target_chat_id, source_message_id) DO UPDATE
                   SET copy_message_id = excluded.copy_message_id,
                       media_unique_id = excluded.media_unique_id,
                       content_hash = excluded.content_hash
                """,
                [
                    (
                        post_id,
                        target,
                        c.source_message_id,
                        c.copy_message_id,
                        c.media_unique_id,
                        c.content_hash,
                    )
                    for c in copies
                ],
            )
            await conn.execute(
                """
                UPDATE mirror_copies SET status = 'copied', error = NULL, edit_pending = 0,
                       updated_at = ?
                 WHERE post_id = ? AND target_chat_id = ?
                """,
                (int(time.time()), post_id, target),
            )

    async def copies(self, post_id: int, target: int) -> dict[int, CopiedMessage]:
        """source message id -> its copy in the target chat."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT source_message_id, copy_message_id, media_unique_id, content_hash
                  FROM mirror_messages WHERE post_id = ? AND target_chat_id = ?
                """,
                (post_id, target),
            )
            return {
                int(r[0]): CopiedMessage(int(r[0]), int(r[1]), r[2], str(r[3]))
                for r in await cursor.fetchall()
            }

    async def update_copy(self, post_id: int, target: int, copy: CopiedMessage) -> None:
        await self.db.write(
            """
            UPDATE mirror_messages SET media_unique_id = ?, content_hash = ?
             WHERE post_id = ? AND target_chat_id = ? AND source_message_id = ?
            """,
            (copy.media_unique_id, copy.content_hash, post_id, target, copy.source_message_id),
        )

    async def edit_done(self, post_id: int, target: int, error: str | None) -> bool:
        """Clear the edit request; True when this error is new (to be logged once)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT edit_error FROM mirror_copies WHERE post_id = ? AND target_chat_id = ?",
                (post_id, target),
            )
            row = await cursor.fetchone()
            previous = None if row is None else row[0]
            await conn.execute(
                """
                UPDATE mirror_copies SET edit_pending = 0, edit_error = ?, updated_at = ?
                 WHERE post_id = ? AND target_chat_id = ?
                """,
                (error, int(time.time()), post_id, target),
            )
            return error is not None and error != previous

    async def resolve_in_flight(self) -> int:
        """At start: copies that were in flight when the process died become 'unknown'."""
        return await self.db.write(
            "UPDATE mirror_copies SET status = 'unknown', updated_at = ? WHERE status = 'sending'",
            (int(time.time()),),
        )

    async def retry_failed(self) -> int:
        """/mirror retry: failed copies go back in the queue. Returns how many."""
        return await self.db.write(
            """
            UPDATE mirror_copies SET status = 'pending', ready_at = 0, updated_at = ?
             WHERE status = 'failed'
            """,
            (int(time.time()),),
        )

    async def summary(self) -> Counter[str]:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT status, count(*) FROM mirror_copies GROUP BY status"
            )
            return Counter({str(r[0]): int(r[1]) for r in await cursor.fetchall()})

    async def failures(self, limit: int = 5) -> list[tuple[int, int, str]]:
        """(post id, target chat, error) of the latest failed copies."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT post_id, target_chat_id, coalesce(error, '') FROM mirror_copies
                 WHERE status = 'failed' ORDER BY updated_at DESC LIMIT ?
                """,
                (limit,),
            )
            return [(int(r[0]), int(r[1]), str(r[2])) for r in await cursor.fetchall()]
