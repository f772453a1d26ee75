"""Posts and their parts (album items), with the full-text index kept in step."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from storage.engine import Connection, Database, Row, SyncConnection
from storage.models import (
    Entity,
    IncomingMessage,
    Media,
    Post,
    PostPart,
    PostStats,
    PostSummary,
    SaveOutcome,
    SaveResult,
    SearchHit,
    Source,
)
from storage.search_index import SearchIndex, index_for
from storage.search_text import search_terms


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _dump(entities: list[Entity]) -> str:
    return json.dumps(entities, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _media(row: Row) -> Media | None:
    if row["media_kind"] is None:
        return None
    return Media(row["media_kind"], row["file_id"], row["file_unique_id"])


def _is_stale(msg: IncomingMessage, stored_edit: int | None) -> bool:
    """An older version of a message than the one stored (a redelivered or late update)."""
    if msg.source is Source.IMPORT:
        # An export is a copy of history: it replaces what the bot stored only where it
        # shows a later edit than the bot ever saw.
        edited = None if msg.edit_date is None else int(msg.edit_date.timestamp())
        return edited is None or (stored_edit is not None and edited <= stored_edit)
    if stored_edit is None:
        return False
    if msg.edit_date is None:
        # A channel update without edit_date is the original post; the stored part is an
        # edit of it. Forwards carry no edit date, but always show current content.
        return msg.source is Source.CHANNEL
    return int(msg.edit_date.timestamp()) < stored_edit


class PostRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.index = index_for(db.dialect)
        self._summary_select = _SUMMARY_SELECT.format(media_kinds=db.dialect.joined("media_kind"))

    async def save(self, msg: IncomingMessage) -> SaveResult:
        """Store a message once, whatever the order or number of times it arrives."""
        return await self.db.run_sync(save_one, msg, self.index)

    async def save_many(self, messages: Sequence[IncomingMessage]) -> list[SaveResult]:
        """save() each message, all in one transaction: every one is stored, or none.

        The whole batch runs in one call on the database thread, so a long import pays
        the thread round trip once per batch instead of several times per message.
        """
        return await self.db.run_sync(_save_batch, list(messages), self.index)

    async def set_reactions(self, channel_id: int, message_id: int, total: int) -> int | None:
        """Record a message's reaction total; return its post's id, or None if unknown."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """
                UPDATE post_parts SET reactions = ? WHERE channel_id = ? AND message_id = ?
                RETURNING post_id
                """,
                (total, channel_id, message_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            post_id = int(row["post_id"])
            await conn.execute(
                """
                UPDATE posts SET reactions = (
                    SELECT coalesce(sum(reactions), 0) FROM post_parts WHERE post_id = ?
                ) WHERE id = ?
                """,
                (post_id, post_id),
            )
            return post_id

    async def mark_deleted(self, post_id: int) -> bool:
        """Hide a post from readers and the index; it stays stored. False if unknown."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE posts SET deleted = 1 WHERE id = ? AND deleted = 0", (post_id,)
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute(self.index.remove_sql(), (post_id,))
            return True

    async def get(self, post_id: int) -> Post | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT * FROM posts WHERE id = ?", (post_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            return await self._load(conn, row)

    async def find(self, channel_id: int, message_id: int) -> Post | None:
        """The post that holds this message, whether it is the first or any album part."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT posts.* FROM post_parts JOIN posts ON posts.id = post_parts.post_id
                 WHERE post_parts.channel_id = ? AND post_parts.message_id = ?
                """,
                (channel_id, message_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            return await self._load(conn, row)

    async def find_by_username(self, username: str, message_id: int) -> Post | None:
        """The post holding message `message_id` of the public channel @username."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT posts.* FROM post_parts JOIN posts ON posts.id = post_parts.post_id
                 WHERE lower(posts.channel_username) = lower(?) AND post_parts.message_id = ?
                """,
                (username, message_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            return await self._load(conn, row)

    async def search_ids(self, query: str, limit: int = 20) -> list[int]:
        """Ids of live posts matching a reader's query, best first."""
        return [hit.post.id for hit in await self.search(query, limit=limit)]

    async def search(self, query: str, *, limit: int = 10, offset: int = 0) -> list[SearchHit]:
        """Live posts matching every word of the query (any word, when none has all).

        Ranked by BM25 with newer posts first among equals. A word found in a large part
        of the archive is ranked among its SEARCH_WINDOW newest matches, which keeps a
        common word as fast as a rare one and favours the news of the day.
        """
        terms = search_terms(query)
        if not terms:
            return []
        async with self.db.reading() as conn:
            page = await self.index.ranked(conn, terms, False, limit, offset)
            if not page and len(terms) > 1 and not await self.index.matches(conn, terms):
                page = await self.index.ranked(conn, terms, True, limit, offset)
            summaries = await self._summaries(conn, [post_id for post_id, _ in page])
        return [
            SearchHit(summaries[post_id], rank) for post_id, rank in page if post_id in summaries
        ]

    async def latest(
        self, limit: int, *, before: tuple[datetime, int] | None = None
    ) -> list[PostSummary]:
        """Live posts, newest first; `before` = (date, id) of the last one already shown."""
        where, params = "", []
        if before is not None:
            where = "AND (date, id) < (?, ?)"
            params = [int(before[0].timestamp()), before[1]]
        return await self._summary_query(
            f"WHERE deleted = 0 {where} ORDER BY date DESC, id DESC LIMIT ?",
            [*params, limit],
        )

    async def newer(self, limit: int, *, after: tuple[datetime, int]) -> list[PostSummary]:
        """The `limit` live posts just newer than (date, id), returned newest first."""
        found = await self._summary_query(
            "WHERE deleted = 0 AND (date, id) > (?, ?) ORDER BY date ASC, id ASC LIMIT ?",
            [int(after[0].timestamp()), after[1], limit],
        )
        return found[::-1]

    async def top(self, since: datetime, limit: int) -> list[PostSummary]:
        """Most popular live posts since a moment: reactions plus readers who opened them,
        ties to the newer."""
        return await self._summary_query(
            """
            WHERE deleted = 0 AND date >= ?
            ORDER BY reactions + opens DESC, date DESC, id DESC LIMIT ?
            """,
            [int(since.timestamp()), limit],
        )

    async def top_between(self, start: datetime, end: datetime, limit: int) -> list[PostSummary]:
        """Most popular live posts published in [start, end), ranked as top()."""
        return await self._summary_query(
            """
            WHERE deleted = 0 AND date >= ? AND date < ?
            ORDER BY reactions + opens DESC, date DESC, id DESC LIMIT ?
            """,
            [int(start.timestamp()), int(end.timestamp()), limit],
        )

    async def stats(self, since: datetime) -> PostStats:
        """Totals for /stats: live posts, those since a moment, by channel, by arrival."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT count(*), coalesce(sum(CASE WHEN date >= ? THEN 1 ELSE 0 END), 0)
                  FROM posts WHERE deleted = 0
                """,
                (int(since.timestamp()),),
            )
            row = await cursor.fetchone()
            assert row is not None
            total, recent = int(row[0]), int(row[1])
            cursor = await conn.execute(
                """
                SELECT max(channel_title) AS channel_title,
                       max(channel_username) AS channel_username, count(*) AS n
                  FROM posts WHERE deleted = 0
                 GROUP BY channel_id ORDER BY n DESC, channel_id LIMIT 10
                """
            )
            by_channel = [
                (r["channel_title"] or r["channel_username"] or "?", int(r["n"]))
                for r in await cursor.fetchall()
            ]
            cursor = await conn.execute(
                "SELECT source, count(*) FROM posts WHERE deleted = 0 GROUP BY source"
            )
            by_source = {str(r[0]): int(r[1]) for r in await cursor.fetchall()}
        return PostStats(total, recent, by_channel, by_source)

    async def record_open(self, post_id: int, user_id: int) -> bool:
        """Count a reader's first open of a post; False when they had opened it before."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """
                INSERT INTO post_opens (post_id, user_id, opened_at) VALUES (?, ?, ?)
                ON CONFLICT DO NOTHING
                """,
                (post_id, user_id, int(time.time())),
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute("UPDATE posts SET opens = opens + 1 WHERE id = ?", (post_id,))
            return True

    async def save_search(self, query: str) -> int:
        """An id for a search query, the same id for the same query."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                """
                INSERT INTO searches (query, created_at) VALUES (?, ?)
                ON CONFLICT (query) DO UPDATE SET created_at = excluded.created_at
                RETURNING id
                """,
                (query, int(time.time())),
            )
            row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

    async def get_search(self, search_id: int) -> str | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT query FROM searches WHERE id = ?", (search_id,))
            row = await cursor.fetchone()
            return None if row is None else str(row[0])

    async def _summary_query(self, tail: str, params: list[Any]) -> list[PostSummary]:
        async with self.db.reading() as conn:
            cursor = await conn.execute(f"{self._summary_select} {tail}", params)
            return [_summary(row) for row in await cursor.fetchall()]

    async def _summaries(self, conn: Connection, ids: list[int]) -> dict[int, PostSummary]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        cursor = await conn.execute(
            f"{self._summary_select} WHERE deleted = 0 AND id IN ({marks})", ids
        )
        return {int(row["id"]): _summary(row) for row in await cursor.fetchall()}

    async def count(self) -> int:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT count(*) FROM posts WHERE deleted = 0")
            row = await cursor.fetchone()
            return int(row[0]) if row else 0

    async def _load(self, conn: Connection, row: Row) -> Post:
        cursor = await conn.execute(
            "SELECT * FROM post_parts WHERE post_id = ? ORDER BY message_id", (row["id"],)
        )
        parts = [
            PostPart(
                message_id=int(p["message_id"]),
                text=p["text"],
                entities=_load_entities(p["entities"]),
                media=_media(p),
                edit_date=_dt(p["edit_date"]),
            )
            for p in await cursor.fetchall()
        ]
        date = _dt(row["date"])
        assert date is not None
        return Post(
            id=int(row["id"]),
            channel_id=int(row["channel_id"]),
            message_id=int(row["message_id"]),
            channel_title=row["channel_title"],
            channel_username=row["channel_username"],
            date=date,
            edit_date=_dt(row["edit_date"]),
            text=row["text"],
            entities=_load_entities(row["entities"]),
            source=Source(row["source"]),
            media_group_id=row["media_group_id"],
            forwarded_by=row["forwarded_by"],
            reactions=int(row["reactions"]),
            opens=int(row["opens"]),
            deleted=bool(row["deleted"]),
            parts=parts,
        )


_SUMMARY_SELECT = """
    SELECT id, channel_id, message_id, channel_title, channel_username, date, text,
           reactions, opens,
           (SELECT {media_kinds} FROM post_parts
             WHERE post_parts.post_id = posts.id AND media_kind IS NOT NULL) AS media_kinds
      FROM posts
"""


def _summary(row: Row) -> PostSummary:
    date = _dt(row["date"])
    assert date is not None
    kinds = row["media_kinds"]
    return PostSummary(
        id=int(row["id"]),
        channel_id=int(row["channel_id"]),
        message_id=int(row["message_id"]),
        channel_title=row["channel_title"],
        channel_username=row["channel_username"],
        date=date,
        text=row["text"],
        media_kinds=kinds.split(",") if kinds else [],
        reactions=int(row["reactions"]),
        opens=int(row["opens"]),
    )


def _load_entities(raw: str) -> list[Entity]:
    value: Any = json.loads(raw)
    return value if isinstance(value, list) else []


# -- the write path, run on the database thread (Database.run_sync) ----------------


def save_one(conn: SyncConnection, msg: IncomingMessage, index: SearchIndex) -> SaveResult:
    result = _save_content(conn, msg, index)
    recounted = msg.reactions is not None and _set_part_reactions(conn, msg, result.post_id)
    if recounted and result.outcome is SaveOutcome.UNCHANGED:
        # Only the count moved, but /top ranks by it: the post did change.
        return SaveResult(SaveOutcome.UPDATED, result.post_id)
    return result


def _save_content(conn: SyncConnection, msg: IncomingMessage, index: SearchIndex) -> SaveResult:
    cursor = conn.execute(
        "SELECT * FROM post_parts WHERE channel_id = ? AND message_id = ?",
        (msg.channel_id, msg.message_id),
    )
    part = cursor.fetchone()
    if part is not None:
        return _update_part(conn, part, msg, index)

    post_id = None
    if msg.media_group_id is not None:
        cursor = conn.execute(
            "SELECT id FROM posts WHERE channel_id = ? AND media_group_id = ?",
            (msg.channel_id, msg.media_group_id),
        )
        row = cursor.fetchone()
        post_id = None if row is None else int(row["id"])

    if post_id is None:
        post_id = _insert_post(conn, msg, index)
        _insert_part(conn, post_id, msg)
        return SaveResult(SaveOutcome.CREATED, post_id)

    _insert_part(conn, post_id, msg)
    _refresh(conn, post_id, msg, index)
    return SaveResult(SaveOutcome.PART_ADDED, post_id)


def _set_part_reactions(conn: SyncConnection, msg: IncomingMessage, post_id: int) -> bool:
    """Set (never add to) the part's reaction total and the post's sum; True if changed.

    Outside the staleness check on purpose: counts move without the message being
    edited, so an export with no later edit still carries its own.
    """
    cursor = conn.execute(
        """
        UPDATE post_parts SET reactions = ?
         WHERE channel_id = ? AND message_id = ? AND reactions != ?
        """,
        (msg.reactions, msg.channel_id, msg.message_id, msg.reactions),
    )
    if cursor.rowcount == 0:
        return False
    conn.execute(
        """
        UPDATE posts SET reactions = (
            SELECT coalesce(sum(reactions), 0) FROM post_parts WHERE post_id = ?
        ) WHERE id = ?
        """,
        (post_id, post_id),
    )
    return True


def _insert_post(conn: SyncConnection, msg: IncomingMessage, index: SearchIndex) -> int:
    cursor = conn.execute(
        """
        INSERT INTO posts (channel_id, message_id, media_group_id, channel_title,
                           channel_username, date, edit_date, text, entities, source,
                           forwarded_by, stored_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        RETURNING id
        """,
        (
            msg.channel_id,
            msg.message_id,
            msg.media_group_id,
            msg.channel_title,
            msg.channel_username,
            _ts(msg.date),
            _ts(msg.edit_date),
            msg.text,
            _dump(msg.entities),
            msg.source.value,
            msg.forwarded_by,
            int(time.time()),
        ),
    )
    row = cursor.fetchone()
    assert row is not None
    post_id = int(row[0])
    if msg.text:
        index.put(conn, post_id, msg.text)
    return post_id


def _insert_part(conn: SyncConnection, post_id: int, msg: IncomingMessage) -> None:
    media = msg.media
    conn.execute(
        """
        INSERT INTO post_parts (post_id, channel_id, message_id, text, entities,
                                media_kind, file_id, file_unique_id, edit_date)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            post_id,
            msg.channel_id,
            msg.message_id,
            msg.text,
            _dump(msg.entities),
            media.kind if media else None,
            media.file_id if media else None,
            media.file_unique_id if media else None,
            _ts(msg.edit_date),
        ),
    )


def _update_part(
    conn: SyncConnection, part: Row, msg: IncomingMessage, index: SearchIndex
) -> SaveResult:
    post_id = int(part["post_id"])
    if _is_stale(msg, part["edit_date"]):
        return SaveResult(SaveOutcome.UNCHANGED, post_id)
    media = msg.media
    stored = _media(part)
    if (
        media is not None
        and not media.file_id
        and stored is not None
        and (stored.kind == media.kind)
    ):
        # An export has no file ids: keep the one Telegram gave the bot.
        media = stored
    same = (
        part["text"] == msg.text
        and part["entities"] == _dump(msg.entities)
        and (media.same_as(_media(part)) if media else part["media_kind"] is None)
    )
    edit_date = _ts(msg.edit_date) or part["edit_date"]
    if same:
        if edit_date != part["edit_date"]:
            conn.execute(
                "UPDATE post_parts SET edit_date = ? WHERE channel_id = ? AND message_id = ?",
                (edit_date, msg.channel_id, msg.message_id),
            )
            _refresh(conn, post_id, msg, index)
        return SaveResult(SaveOutcome.UNCHANGED, post_id)
    conn.execute(
        """
        UPDATE post_parts
           SET text = ?, entities = ?, media_kind = ?, file_id = ?, file_unique_id = ?,
               edit_date = ?
         WHERE channel_id = ? AND message_id = ?
        """,
        (
            msg.text,
            _dump(msg.entities),
            media.kind if media else None,
            media.file_id if media else None,
            media.file_unique_id if media else None,
            edit_date,
            msg.channel_id,
            msg.message_id,
        ),
    )
    _refresh(conn, post_id, msg, index)
    return SaveResult(SaveOutcome.UPDATED, post_id)


def _refresh(conn: SyncConnection, post_id: int, msg: IncomingMessage, index: SearchIndex) -> None:
    """Recompute a post's text, first message, edit date and reactions from its parts."""
    cursor = conn.execute("SELECT text, deleted FROM posts WHERE id = ?", (post_id,))
    post = cursor.fetchone()
    assert post is not None
    cursor = conn.execute(
        """
        SELECT message_id, text, entities, edit_date, reactions
          FROM post_parts WHERE post_id = ? ORDER BY message_id
        """,
        (post_id,),
    )
    parts = list(cursor.fetchall())
    holder = next((p for p in parts if p["text"]), parts[0])
    edits = [p["edit_date"] for p in parts if p["edit_date"] is not None]
    conn.execute(
        """
        UPDATE posts
           SET message_id = ?, text = ?, entities = ?, edit_date = ?, reactions = ?,
               channel_title = coalesce(nullif(?, ''), channel_title),
               channel_username = coalesce(?, channel_username)
         WHERE id = ?
        """,
        (
            parts[0]["message_id"],
            holder["text"],
            holder["entities"],
            max(edits) if edits else None,
            sum(int(p["reactions"]) for p in parts),
            msg.channel_title,
            msg.channel_username,
            post_id,
        ),
    )
    if holder["text"] != post["text"] and not post["deleted"]:
        index.put(conn, post_id, holder["text"])


def _save_batch(
    conn: SyncConnection, messages: list[IncomingMessage], index: SearchIndex
) -> list[SaveResult]:
    return [save_one(conn, msg, index) for msg in messages]
