"""`python -m bot migrate-db --to postgresql://…`: a SQLite database filled through the
storage API, copied into a fresh PostgreSQL database, reads back the same there."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.__main__ import parser
from bot.cli import migrate_db
from storage import (
    AlertStatus,
    DeliveryStatus,
    IncomingMessage,
    Media,
    Rate,
    Source,
    Storage,
)
from storage.db import migrations, statements
from storage.mirror import CopiedMessage
from storage.search_text import stems
from tests import pg
from tests.conftest import make_settings
from tests.fake_telegram import TOKEN

CHANNEL = -1001234567890
OTHER = -1009876543210
T0 = datetime(2025, 12, 17, 6, 0, tzinfo=UTC)
NOW = int(T0.timestamp())

#: Words to search for on both engines, and what they should find (filled in by fill()).
QUERIES = ["тарифы", "тарифов", "Токаева", "ярмарка", "подпись", "черновик", "удалено", "rates"]


@pytest.fixture
def target() -> Iterator[str]:
    """A new, empty PostgreSQL database (no tables: migrate-db creates them)."""
    pg.need()
    name = pg.create_database()
    try:
        yield pg.url_of(name)
    finally:
        pg.drop_database(name)


def msg(message_id: int, text: str = "", **kwargs: Any) -> IncomingMessage:
    values: dict[str, Any] = {
        "channel_id": CHANNEL,
        "message_id": message_id,
        "date": T0 + timedelta(minutes=message_id),
        "source": Source.CHANNEL,
        "text": text,
        "channel_title": "Новости",
        "channel_username": "kz_news",
    }
    values.update(kwargs)
    return IncomingMessage(**values)


async def fill(path: Path) -> None:
    """A bot's database with a bit of everything, written through the storage API."""
    storage = await Storage.open(path)
    try:
        s = storage
        await s.posts.save(msg(1, "Тарифы на электроэнергию повысят с января"))
        await s.posts.save(msg(2, "Токаев подписал закон о тарифах ЖКХ"))
        await s.posts.save(msg(3, "Ярмарка выходного дня откроется в Астане"))
        # An album of three parts, the caption on the second.
        for message_id, caption in ((4, ""), (5, "Подпись к альбому о ярмарке"), (6, "")):
            await s.posts.save(
                msg(
                    message_id,
                    caption,
                    media=Media("photo", f"file-{message_id}", f"unique-{message_id}"),
                    media_group_id="album-1",
                )
            )
        # Edited: the draft's words are gone from the index.
        await s.posts.save(msg(7, "Черновик новости о курсах"))
        await s.posts.save(
            msg(7, "Market rates: доллар подешевел", edit_date=T0 + timedelta(hours=1))
        )
        # Deleted: kept, but neither listed nor found.
        await s.posts.save(msg(8, "Удалено: ошибочная новость о тарифах"))
        deleted = await s.posts.find(CHANNEL, 8)
        assert deleted is not None
        assert await s.posts.mark_deleted(deleted.id)
        # Only emoji: a post with text but no words to index.
        await s.posts.save(msg(9, "🔥🔥🔥"))
        await s.posts.save(msg(10, "", media=Media("video", "vid-10", "uvid-10")))
        await s.posts.save(msg(1, "Прочие новости", channel_id=OTHER, channel_title="Другой"))
        await s.posts.save_many(
            [msg(100 + i, f"Сводка номер {i}: тарифы и цены") for i in range(30)]
        )
        first = await s.posts.find(CHANNEL, 1)
        assert first is not None
        assert await s.posts.set_reactions(CHANNEL, 1, 12) == first.id
        assert await s.posts.record_open(first.id, 222)
        await s.posts.save_search("тарифы")
        await s.posts.save_search("ярмарка в Астане")

        for chat_id, hhmm in ((501, time(8, 0)), (502, time(9, 30)), (503, time(7, 15))):
            await s.subscribers.subscribe(
                chat_id, lang="ru", send_time=hhmm, first_day=date(2025, 12, 17)
            )
        await s.subscribers.deactivate(503, "blocked")
        day = date(2025, 12, 17)
        await s.deliveries.claim(day, [501, 502])
        await s.deliveries.mark(day, 501, DeliveryStatus.SENT)

        await s.topics.follow(501, "тарифы", stems("тарифы"), lang="ru", limit=10, now=NOW)
        await s.topics.follow(501, "Токаев", stems("Токаев"), lang="ru", limit=10, now=NOW)
        await s.topics.follow(502, "ярмарка", stems("ярмарка"), lang="en", limit=10, now=NOW)
        await s.topics.record_matches(first.id, {501: "тарифы"}, now=NOW, quiet_until=None)
        await s.topics.mark(501, [first.id], AlertStatus.SENT, now=NOW + 5)

        await s.rates.save(
            [
                Rate("USD", day, Decimal("517.30"), 1, Decimal("-1.2"), "DOWN"),
                Rate("KRW", day, Decimal("35.41"), 100),
            ],
            fetched_at=T0,
        )
        await s.rates.record_fetch(ok=True, error=None, at=T0)

        album = await s.posts.find(CHANNEL, 5)
        assert album is not None
        await s.mirror.enqueue(album.id, [-100777], ready_at=NOW + 0.25)
        await s.mirror.record_copies(
            album.id,
            -100777,
            [CopiedMessage(m, 900 + m, f"unique-{m}", f"hash-{m}") for m in (4, 5, 6)],
        )
        await s.inbox.put([(7001, '{"update_id":7001}')])
        await s.inbox.set_aside(7002, '{"update_id":7002,"odd":1}', "unknown field")
        await s.readers.choose_language(222, "en", now=NOW)
        await s.readers.menu_set(222, "menu-v1")
    finally:
        await storage.close()


def copied_tables(path: Path) -> list[str]:
    """The SQLite tables migrate-db copies: all but FTS5's and SQLite's own."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [
            str(row[1])
            for row in conn.execute("PRAGMA main.table_list")
            if row[2] == "table" and not str(row[1]).startswith("sqlite_")
        ]


def sqlite_counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in copied_tables(path)
        }


def pg_counts(url: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        counts = {}
        for table in tables:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            assert row is not None
            counts[table] = int(row[0])
        return counts


def printed_counts(stdout: str) -> dict[str, tuple[int, int]]:
    """The table migrate-db prints: name → (SQLite rows, PostgreSQL rows)."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\w+)\s+(\d+) → (\d+)", line)
        if match:
            found[match[1]] = (int(match[2]), int(match[3]))
    return found


def migrate_process(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot migrate-db …` as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{db}", LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-db", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def migrate_here(db: Path, to: str, **overrides: Any) -> int:
    """The same command, in this process."""
    args: argparse.Namespace = parser().parse_args(["migrate-db", "--to", to])
    settings = make_settings("http://127.0.0.1:9", db, **overrides)
    code: int = args.handler(args, settings)
    return code


async def post_ids(path: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [int(row[0]) for row in conn.execute("SELECT id FROM posts ORDER BY id")]


# -- the copy -----------------------------------------------------------------------------


async def test_copy_reads_back_the_same_and_a_second_run_changes_nothing(
    tmp_path: Path, target: str
) -> None:
    db = tmp_path / "bot.db"
    await fill(db)
    tables = copied_tables(db)
    assert "posts_fts" not in tables
    assert not [t for t in tables if t.startswith("posts_fts")]
    before = sqlite_counts(db)

    first = await asyncio.to_thread(migrate_process, tmp_path, db, "--to", target)

    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert pg_counts(target, tables) == before
    printed = printed_counts(first.stdout)
    assert {t: counts for t, counts in printed.items() if t != "posts_fts"} == {
        t: (n, n) for t, n in before.items()
    }
    # Every live post with text is indexed (the emoji-only one without terms, as FTS5
    # keeps it): not the deleted one, nor the video without text.
    live_with_text = before["posts"] - 2
    assert printed["posts_fts"] == (live_with_text, live_with_text)

    sqlite_storage = await Storage.open(db)
    pg_storage = await Storage.open(target)
    try:
        for post_id in await post_ids(db):
            on_pg = await pg_storage.posts.get(post_id)
            assert on_pg == await sqlite_storage.posts.get(post_id)
            assert on_pg is not None
        album = await pg_storage.posts.find(CHANNEL, 6)
        assert album is not None
        assert [part.message_id for part in album.parts] == [4, 5, 6]
        assert album.text == "Подпись к альбому о ярмарке"
        for query in QUERIES:
            found = await pg_storage.posts.search_ids(query)
            assert found == await sqlite_storage.posts.search_ids(query), query
        assert await pg_storage.posts.search_ids("тарифов")  # an inflected form finds
        assert not await pg_storage.posts.search_ids("удалено")
        assert not await pg_storage.posts.search_ids("черновик")
        assert await pg_storage.posts.latest(50) == await sqlite_storage.posts.latest(50)
        assert await pg_storage.subscribers.active() == await sqlite_storage.subscribers.active()
        assert await pg_storage.subscribers.counts() == await sqlite_storage.subscribers.counts()
        for chat_id in (501, 502, 503):
            assert await pg_storage.subscribers.get(chat_id) == (
                await sqlite_storage.subscribers.get(chat_id)
            )
        assert await pg_storage.topics.all() == await sqlite_storage.topics.all()
        assert await pg_storage.rates.latest() == await sqlite_storage.rates.latest()
        assert await pg_storage.rates.last_fetch() == await sqlite_storage.rates.last_fetch()
        assert await pg_storage.posts.get_search(1) == "тарифы"
        assert await pg_storage.inbox.pending() == await sqlite_storage.inbox.pending()
        assert await pg_storage.readers.languages(222) == (
            await sqlite_storage.readers.languages(222)
        )
    finally:
        await sqlite_storage.close()
        await pg_storage.close()

    second = await asyncio.to_thread(migrate_process, tmp_path, db, "--to", target)

    assert second.returncode == 0, second.stderr
    assert printed_counts(second.stdout) == printed
    assert "added" not in second.stdout
    assert "0 new rows" in second.stdout
    assert pg_counts(target, tables) == before

    # The id counters continue after the copied ids.
    pg_storage = await Storage.open(target)
    try:
        new = await pg_storage.posts.save(msg(999, "Новая новость после переезда"))
        assert new.post_id > max(await post_ids(db))
        assert await pg_storage.posts.save_search("новый запрос") > before["searches"]
        _, topic = await pg_storage.topics.follow(
            502, "курс доллара", stems("курс доллара"), lang="en", limit=10, now=NOW
        )
        assert topic is not None
        assert topic.id > before["topics"]
        assert await pg_storage.posts.search_ids("переезда") == [new.post_id]
    finally:
        await pg_storage.close()

    # Now PostgreSQL holds what SQLite does not: a third run writes nothing, and says why.
    third = await asyncio.to_thread(migrate_process, tmp_path, db, "--to", target)
    assert third.returncode == 1
    assert "posts (" in third.stderr
    assert "nothing was written" in third.stderr
    assert "Traceback" not in third.stderr
    assert pg_counts(target, ["posts", "searches", "topics"]) == {
        "posts": before["posts"] + 1,
        "searches": before["searches"] + 1,
        "topics": before["topics"] + 1,
    }


async def test_rows_that_differ_from_sqlites_are_reported_and_nothing_is_written(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    await fill(db)
    assert await asyncio.to_thread(migrate_here, db, target) == 0
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("UPDATE posts SET reactions = 99 WHERE message_id = 2")
        conn.execute("DELETE FROM post_opens")
    capsys.readouterr()

    assert await asyncio.to_thread(migrate_here, db, target) == 1

    out, err = capsys.readouterr()
    assert "PostgreSQL does not match SQLite in posts (1 row differs)" in err
    assert "post_opens" not in err  # the copy put the missing row back...
    assert err.count("\n") == 1
    assert printed_counts(out)["post_opens"] == (1, 1)
    # ...but nothing was committed: the changed post stays as it is, the row missing.
    assert pg_counts(target, ["post_opens"]) == {"post_opens": 0}
    with psycopg.connect(target) as conn:
        row = conn.execute("SELECT reactions FROM posts WHERE message_id = 2").fetchone()
        assert row == (99,)


async def test_a_copy_while_the_bot_writes_is_one_consistent_snapshot(
    tmp_path: Path, target: str
) -> None:
    db = tmp_path / "bot.db"
    await fill(db)
    storage = await Storage.open(db)
    migration = asyncio.create_task(asyncio.to_thread(migrate_here, db, target))
    written = 0
    try:
        while not migration.done():
            await storage.posts.save(msg(10_000 + written, f"Новость во время переезда {written}"))
            written += 1
    finally:
        code = await migration
        await storage.close()

    assert code == 0
    assert written > 0
    with psycopg.connect(target) as conn:
        copied = conn.execute("SELECT count(*) FROM posts WHERE message_id >= 10000").fetchone()
        parts = conn.execute("SELECT count(*) FROM post_parts WHERE message_id >= 10000").fetchone()
        indexed = conn.execute(
            "SELECT count(*) FROM posts_fts JOIN posts ON posts.id = posts_fts.post_id"
            " WHERE message_id >= 10000"
        ).fetchone()
    assert copied is not None
    # Whatever was committed before the snapshot, whole: each post with its part and index.
    assert copied == parts == indexed
    assert copied[0] <= written


def test_an_older_sqlite_database_is_migrated_first(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    *older, (latest, _, _) = migrations()
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        # The database of the version before the last migration, with one post.
        conn.execute("BEGIN")
        for _, _, script in older:
            for statement in statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {older[-1][0]}")
        conn.execute(
            "INSERT INTO posts (channel_id, message_id, date, text, source, stored_at)"
            " VALUES (?, 1, ?, 'Тарифы на газ', 'channel', ?)",
            (CHANNEL, NOW, NOW),
        )
        conn.execute("COMMIT")

    assert migrate_here(db, target) == 0

    out, err = capsys.readouterr()
    assert f"is at migration {older[-1][0]}; applying migrations up to {latest}" in err
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
    assert pg_counts(target, copied_tables(db)) == sqlite_counts(db)
    assert printed_counts(out)["posts_fts"] == (1, 1)


def test_nul_characters_are_removed_and_reported(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"

    async def save() -> None:
        storage = await Storage.open(db)
        await storage.posts.save(msg(1, "Тарифы\x00 на газ\x00"))
        await storage.close()

    asyncio.run(save())

    assert migrate_here(db, target) == 0

    err = capsys.readouterr().err
    assert "2 NUL character(s) removed from the text of posts" in err
    assert "2 NUL character(s) removed from the text of post_parts" in err
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT text FROM posts").fetchone() == ("Тарифы на газ",)
        assert conn.execute("SELECT text FROM post_parts").fetchone() == ("Тарифы на газ",)
        assert conn.execute("SELECT terms FROM posts_fts").fetchone() == (["тариф", "на", "газ"],)
    # Again: nothing to add (nor a seeded row to take over: SQLite's is as seeded too).
    assert migrate_here(db, target) == 0
    assert "added" not in capsys.readouterr().out


def test_a_new_table_is_copied_and_a_column_postgresql_lacks_stops_the_copy(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tables come from SQLite's schema: a later migration's table is copied too, and
    a column PostgreSQL's schema lacks is refused, not dropped."""
    db = tmp_path / "bot.db"
    asyncio.run(fill(db))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "CREATE TABLE post_notes (post_id INTEGER PRIMARY KEY REFERENCES posts (id),"
            " note TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO post_notes SELECT id, 'заметка ' || id FROM posts")
        conn.commit()

    async def create_tables() -> None:
        storage = await Storage.open(target)
        await storage.close()

    asyncio.run(create_tables())
    with psycopg.connect(target, autocommit=True) as pg_conn:
        pg_conn.execute(
            "CREATE TABLE post_notes (post_id BIGINT PRIMARY KEY REFERENCES posts (id),"
            " note TEXT NOT NULL)"
        )

    assert migrate_here(db, target) == 0
    counts = printed_counts(capsys.readouterr().out)
    assert counts["post_notes"] == (sqlite_counts(db)["posts"],) * 2

    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("ALTER TABLE post_notes ADD COLUMN author TEXT")
        conn.commit()
    assert migrate_here(db, target) == 1
    err = capsys.readouterr().err
    assert "PostgreSQL's schema has no post_notes.author" in err
    assert err.count("\n") == 1


# -- what the operator gets wrong ----------------------------------------------------------


@pytest.mark.parametrize(
    ("database", "to", "error"),
    [
        ("missing", "postgresql://postgres@127.0.0.1:5432/x", "no SQLite database at"),
        ("garbage", "postgresql://postgres@127.0.0.1:5432/x", "as a SQLite database"),
        ("db", "mysql://user:secret@127.0.0.1/x", "must be a PostgreSQL URL"),
        ("db", "sqlite:///other.db", "must be a PostgreSQL URL"),
        ("postgresql", "postgresql://postgres@127.0.0.1:5432/x", "PostgreSQL's already"),
    ],
)
def test_operator_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database: str, to: str, error: str
) -> None:
    db: Path | str = tmp_path / "bot.db"
    if database == "db":
        asyncio.run(fill(tmp_path / "bot.db"))
    elif database == "garbage":
        (tmp_path / "bot.db").write_text("not a database")
    elif database == "postgresql":
        db = "postgresql://postgres@127.0.0.1:5432/bot"

    args: argparse.Namespace = parser().parse_args(["migrate-db", "--to", to])
    assert args.handler(args, make_settings("http://127.0.0.1:9", db)) == 2

    err = capsys.readouterr().err
    assert err.startswith("migrate-db: ")
    assert error in err
    assert err.count("\n") == 1
    assert "secret" not in err


def test_an_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    asyncio.run(fill(db))
    # Nothing listens on port 9 of loopback.
    result = migrate_process(tmp_path, db, "--to", "postgresql://postgres@127.0.0.1:9/bot")
    assert result.returncode == 1
    assert result.stderr.startswith("migrate-db: cannot connect to PostgreSQL: ")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_tables_are_copied_parents_first_without_the_fts5_index(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    asyncio.run(fill(db))
    with contextlib.closing(migrate_db.open_readonly(db)) as conn:
        order = [table.name for table in migrate_db.source_tables(conn)]
    assert sorted(order) == sorted(copied_tables(db))
    assert not [name for name in order if name.startswith("posts_fts")]
    for parent, child in [
        ("posts", "post_parts"),
        ("posts", "post_opens"),
        ("posts", "mirror_copies"),
        ("posts", "mirror_messages"),
        ("posts", "topic_alerts"),
        ("posts", "topic_matched_posts"),
        ("topic_readers", "topics"),
    ]:
        assert order.index(parent) < order.index(child)


def test_foreign_key_cycle_is_refused() -> None:
    tables = {
        "a": migrate_db.Table("a", ("id",), ("b",)),
        "b": migrate_db.Table("b", ("id",), ("a",)),
    }
    with pytest.raises(migrate_db.Failure, match="cycle"):
        migrate_db.parents_first(tables)
