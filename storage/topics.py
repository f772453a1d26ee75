"""Topics readers follow, the readers' alert settings, and the alert ledger."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from storage.engine import Connection, Database, Row


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: The reader blocked the bot (or is gone): their topics ended with this alert.
    BLOCKED = "blocked"
    #: The process died (or Telegram's answer was lost) with this alert in flight: it is
    #: not sent again, since Telegram may have delivered it.
    UNKNOWN = "unknown"
    #: The post was deleted before its alert went out.
    SKIPPED = "skipped"


class FollowOutcome(enum.StrEnum):
    ADDED = "added"
    ALREADY = "already"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Topic:
    id: int
    chat_id: int
    text: str
    #: Distinct stems, sorted: what the topic matches, and its identity for one reader.
    stems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicReader:
    chat_id: int
    lang: str
    quiet: bool
    active: bool


#: Readers a post matched: chat id → the texts of their matching topics, one per line
#: (a topic's text has no line breaks). Plain ints and strings, for the garbage collector's
#: sake: see TopicIndex.match_stems.
TopicMatches = dict[int, str]


def matched_topics(lines: str) -> list[str]:
    """A reader's matching topics, in a stable order."""
    return sorted(lines.split("\n"))


@dataclass(frozen=True, slots=True)
class DueAlert:
    post_id: int
    chat_id: int
    topics: list[str]
    night: bool
    lang: str


@dataclass(frozen=True, slots=True)
class TopicStats:
    topics: int
    readers: int
    sent_today: int
    in_doubt_today: int
    failed_today: int
    waiting: int
    #: (topic text, readers following it), most followed first.
    most_followed: list[tuple[str, int]]


def stems_key(stems: Sequence[str]) -> str:
    return " ".join(sorted(set(stems)))


def _topic(row: Row) -> Topic:
    return Topic(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        text=str(row["text"]),
        stems=tuple(str(row["stems"]).split()),
    )


#: Moves the counter other processes watch (migration 0012) on, in the changing transaction.
_CHANGED = "UPDATE topic_changes SET version = version + 1 WHERE id = 1"


class TopicRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def version(self) -> int:
        """How many times the followed topics have changed: a new number, a new index."""
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT version FROM topic_changes WHERE id = 1")
            row = await cursor.fetchone()
            return 0 if row is None else int(row[0])

    # -- topics ---------------------------------------------------------------------------

    async def all(self) -> list[Topic]:
        """Every topic of every active reader: what the matching index is built from."""
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT id, chat_id, text, stems FROM topics ORDER BY id")
            return [_topic(row) for row in await cursor.fetchall()]

    async def of_reader(self, chat_id: int) -> list[Topic]:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT id, chat_id, text, stems FROM topics WHERE chat_id = ? ORDER BY id",
                (chat_id,),
            )
            return [_topic(row) for row in await cursor.fetchall()]

    async def follow(
        self, chat_id: int, text: str, stems: Sequence[str], *, lang: str, limit: int, now: int
    ) -> tuple[FollowOutcome, Topic | None]:
        """Add a topic unless the reader has it (in any word form or order) or has
        `limit` topics already; returns what happened and the topic concerned."""
        key = stems_key(stems)
        async with self.db.transaction() as conn:
            await _touch_reader(conn, chat_id, lang, now)
            cursor = await conn.execute(
                "SELECT id, chat_id, text, stems FROM topics WHERE chat_id = ? AND stems = ?",
                (chat_id, key),
            )
            row = await cursor.fetchone()
            if row is not None:
                return FollowOutcome.ALREADY, _topic(row)
            cursor = await conn.execute("SELECT count(*) FROM topics WHERE chat_id = ?", (chat_id,))
            counted = await cursor.fetchone()
            if counted is not None and int(counted[0]) >= limit:
                return FollowOutcome.LIMIT, None
            cursor = await conn.execute(
                """
                INSERT INTO topics (chat_id, text, stems, created_at) VALUES (?, ?, ?, ?)
                RETURNING id
                """,
                (chat_id, text, key, now),
            )
            inserted = await cursor.fetchone()
            assert inserted is not None
            await conn.execute(_CHANGED)
            return FollowOutcome.ADDED, Topic(int(inserted[0]), chat_id, text, tuple(key.split()))

    async def unfollow(self, chat_id: int, stems: Sequence[str]) -> Topic | None:
        """Drop the reader's topic with these stems; None when they had none such."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM topics WHERE chat_id = ? AND stems = ? "
                "RETURNING id, chat_id, text, stems",
                (chat_id, stems_key(stems)),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await conn.execute(_CHANGED)
            return _topic(row)

    async def drop(self, chat_id: int, topic_id: int) -> Topic | None:
        """Drop a topic by id, only if it is this reader's."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM topics WHERE id = ? AND chat_id = ? "
                "RETURNING id, chat_id, text, stems",
                (topic_id, chat_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await conn.execute(_CHANGED)
            return _topic(row)

    # -- readers --------------------------------------------------------------------------

    async def reader(self, chat_id: int) -> TopicReader | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT chat_id, lang, quiet, active FROM topic_readers WHERE chat_id = ?",
                (chat_id,),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            return TopicReader(
                int(row["chat_id"]), str(row["lang"]), bool(row["quiet"]), bool(row["active"])
            )

    async def set_quiet(self, chat_id: int, quiet: bool, *, lang: str, now: int) -> None:
        async with self.db.transaction() as conn:
            await _touch_reader(conn, chat_id, lang, now)
            await conn.execute(
                "UPDATE topic_readers SET quiet = ? WHERE chat_id = ?", (int(quiet), chat_id)
            )

    async def end_reader(self, chat_id: int, reason: str, *, now: int) -> list[Topic]:
        """Telegram refused a send to this reader for good (blocked, deactivated): their
        topics end, and their alerts still waiting are not sent. Returns the topics."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM topics WHERE chat_id = ? RETURNING id, chat_id, text, stems",
                (chat_id,),
            )
            ended = [_topic(row) for row in await cursor.fetchall()]
            if ended:
                await conn.execute(_CHANGED)
            await conn.execute(
                """
                UPDATE topic_readers SET active = 0, inactive_reason = ?, updated_at = ?
                 WHERE chat_id = ?
                """,
                (reason, now, chat_id),
            )
            await conn.execute(
                """
                UPDATE topic_alerts SET status = ?, error = ?, updated_at = ?
                 WHERE chat_id = ? AND status = ?
                """,
                (AlertStatus.BLOCKED.value, reason, now, chat_id, AlertStatus.PENDING.value),
            )
            return sorted(ended, key=lambda topic: topic.id)

    # -- the alert ledger -----------------------------------------------------------------

    async def was_matched(self, post_id: int) -> bool:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM topic_matched_posts WHERE post_id = ?", (post_id,)
            )
            return await cursor.fetchone() is not None

    async def record_matches(
        self, post_id: int, matches: TopicMatches, *, now: int, quiet_until: int | None
    ) -> int:
        """Owe each matched reader one alert about the post (once: a reader already owed
        or sent one is left alone), and mark the post matched. `quiet_until` is when the
        current quiet hours end (None in the day): readers who keep quiet hours wait until
        then. Returns how many alerts were added."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO topic_matched_posts (post_id, matched_at) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (post_id, now),
            )
            if not matches:
                return 0
            night = quiet_until is not None
            cursor = await conn.executemany(
                """
                INSERT INTO topic_alerts (post_id, chat_id, topics, status, night, due_at,
                                          created_at, updated_at)
                SELECT ?, chat_id, ?, 'pending',
                       CASE WHEN quiet = 1 AND ? = 1 THEN 1 ELSE 0 END,
                       CASE WHEN quiet = 1 AND ? = 1 THEN ? ELSE ? END, ?, ?
                  FROM topic_readers WHERE chat_id = ? AND active = 1
                ON CONFLICT DO NOTHING
                """,
                (
                    (
                        post_id,
                        json.dumps(matched_topics(lines), ensure_ascii=False),
                        int(night),
                        int(night),
                        quiet_until or now,
                        now,
                        now,
                        now,
                        chat_id,
                    )
                    for chat_id, lines in sorted(matches.items())
                ),
            )
            return cursor.rowcount

    async def due(self, now: int, limit: int = 1000) -> list[DueAlert]:
        """Alerts waiting whose time has come, a reader's together (night ones are sent
        as one message: a reader's are never split between two batches)."""
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                """
                SELECT a.post_id, a.chat_id, a.topics, a.night, r.lang
                  FROM topic_alerts AS a JOIN topic_readers AS r USING (chat_id)
                 WHERE a.status = 'pending' AND a.due_at <= ?
                 ORDER BY a.chat_id, a.post_id LIMIT ?
                """,
                (now, limit + 1),
            )
            rows = await cursor.fetchall()
        alerts = [
            DueAlert(
                post_id=int(row["post_id"]),
                chat_id=int(row["chat_id"]),
                topics=list(json.loads(row["topics"])),
                night=bool(row["night"]),
                lang=str(row["lang"]),
            )
            for row in rows
        ]
        if len(alerts) > limit:
            # The last reader's rows may go on past the limit: they wait for the next batch.
            last = alerts[limit].chat_id
            kept = [a for a in alerts[:limit] if a.chat_id != last]
            return kept or [a for a in alerts if a.chat_id == last]
        return alerts

    async def mark(
        self,
        chat_id: int,
        post_ids: Sequence[int],
        status: AlertStatus,
        *,
        now: int,
        error: str | None = None,
    ) -> None:
        if not post_ids:
            return  # `IN ()` is SQLite's alone; nothing to mark anyway
        marks = ",".join("?" * len(post_ids))
        await self.db.write(
            f"""
            UPDATE topic_alerts SET status = ?, error = ?, updated_at = ?
             WHERE chat_id = ? AND post_id IN ({marks})
            """,
            (status.value, error, now, chat_id, *post_ids),
        )

    async def status(self, post_id: int, chat_id: int) -> AlertStatus | None:
        async with self.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT status FROM topic_alerts WHERE post_id = ? AND chat_id = ?",
                (post_id, chat_id),
            )
            row = await cursor.fetchone()
            return None if row is None else AlertStatus(row[0])

    async def resolve_in_flight(self, *, now: int) -> int:
        """At start: alerts in flight when the process died become 'unknown' (never sent
        again: a missing alert is better than a doubled one). Returns how many."""
        return await self.db.write(
            "UPDATE topic_alerts SET status = ?, updated_at = ? WHERE status = ?",
            (AlertStatus.UNKNOWN.value, now, AlertStatus.SENDING.value),
        )

    async def stats(self, since: int, top: int = 5) -> TopicStats:
        async with self.db.reading() as conn:
            cursor = await conn.execute("SELECT count(*), count(DISTINCT chat_id) FROM topics")
            row = await cursor.fetchone()
            assert row is not None
            topics, readers = int(row[0]), int(row[1])
            cursor = await conn.execute(
                """
                SELECT status, count(*) FROM topic_alerts
                 WHERE status IN ('sent', 'unknown', 'failed') AND updated_at >= ?
                 GROUP BY status
                """,
                (since,),
            )
            today = {str(r[0]): int(r[1]) for r in await cursor.fetchall()}
            cursor = await conn.execute(
                "SELECT count(*) FROM topic_alerts WHERE status IN ('pending', 'sending')"
            )
            waiting = await cursor.fetchone()
            cursor = await conn.execute(
                """
                SELECT (SELECT text FROM topics AS first WHERE first.stems = t.stems
                         ORDER BY id LIMIT 1) AS text,
                       count(*) AS n
                  FROM topics AS t GROUP BY stems ORDER BY n DESC, min(id) LIMIT ?
                """,
                (top,),
            )
            most = [(str(r["text"]), int(r["n"])) for r in await cursor.fetchall()]
        return TopicStats(
            topics=topics,
            readers=readers,
            sent_today=today.get("sent", 0),
            in_doubt_today=today.get("unknown", 0),
            failed_today=today.get("failed", 0),
            waiting=int(waiting[0]) if waiting else 0,
            most_followed=most,
        )


async def _touch_reader(conn: Connection, chat_id: int, lang: str, now: int) -> None:
    """The reader's row, in their current language; a reader who had blocked the bot and
    is back is active again."""
    await conn.execute(
        """
        INSERT INTO topic_readers (chat_id, lang, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (chat_id) DO UPDATE SET
            lang = excluded.lang, active = 1, inactive_reason = NULL,
            updated_at = excluded.updated_at
        """,
        (chat_id, lang, now),
    )
