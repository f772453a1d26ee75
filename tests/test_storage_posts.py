"""Storage of posts on a real SQLite file and a real PostgreSQL database: identity, albums,
edits, index, failures."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from storage import (
    Database,
    IncomingMessage,
    Media,
    SaveOutcome,
    Source,
    Storage,
    StorageUnavailable,
)
from storage.pg import PgDatabase

CHANNEL = -1001234567890
T0 = datetime(2025, 12, 17, 6, 0, tzinfo=UTC)


def msg(message_id: int, text: str = "", **kwargs: object) -> IncomingMessage:
    values: dict[str, object] = {
        "channel_id": CHANNEL,
        "message_id": message_id,
        "date": T0,
        "source": Source.CHANNEL,
        "text": text,
        "channel_title": "Новости",
    }
    values.update(kwargs)
    return IncomingMessage(**values)  # type: ignore[arg-type]


async def test_open_sets_pragmas_and_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.db"
    db = await Database.open(path)
    version = await db.migrate()  # a second run applies nothing
    await db.close()
    assert version >= 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version


async def test_two_processes_opening_a_new_file_at_once_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first, second = await asyncio.gather(Database.open(path), Database.open(path))
    await first.close()
    await second.close()
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'posts'")
        assert tables.fetchone()[0] == 1


async def test_connection_enforces_foreign_keys(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "bot.db")
    async with storage.db.reading() as conn:
        cursor = await conn.execute("PRAGMA foreign_keys")
        row = await cursor.fetchone()
        assert row is not None
        assert row[0] == 1
        cursor = await conn.execute("PRAGMA busy_timeout")
        row = await cursor.fetchone()
        assert row is not None
        assert row[0] >= 1000
    await storage.close()


async def test_caption_moves_when_album_parts_are_edited(storage: Storage) -> None:
    await storage.posts.save(msg(2, "", media=Media("photo", "f2", "u2"), media_group_id="g"))
    await storage.posts.save(
        msg(3, "Подпись на втором", media=Media("photo", "f3", "u3"), media_group_id="g")
    )
    post = await storage.posts.find(CHANNEL, 2)
    assert post is not None
    assert post.text == "Подпись на втором"

    edited = T0 + timedelta(minutes=5)
    await storage.posts.save(
        msg(
            2,
            "Новая подпись",
            media=Media("photo", "f2", "u2"),
            media_group_id="g",
            edit_date=edited,
        )
    )
    await storage.posts.save(
        msg(3, "", media=Media("photo", "f3", "u3"), media_group_id="g", edit_date=edited)
    )
    post = await storage.posts.find(CHANNEL, 3)
    assert post is not None
    assert post.text == "Новая подпись"
    assert post.edit_date == edited
    assert await storage.posts.search_ids("нов") == [post.id]
    assert await storage.posts.search_ids("втор") == []


async def test_edit_replaces_media(storage: Storage) -> None:
    await storage.posts.save(msg(5, "Фото", media=Media("photo", "old", "u-old")))
    result = await storage.posts.save(
        msg(5, "Фото", media=Media("photo", "new", "u-new"), edit_date=T0 + timedelta(hours=1))
    )
    assert result.outcome is SaveOutcome.UPDATED
    post = await storage.posts.get(result.post_id)
    assert post is not None
    assert post.media == [Media("photo", "new", "u-new")]


async def test_same_media_with_another_file_id_is_unchanged(storage: Storage) -> None:
    # file_id differs between chats and over time; file_unique_id is the file's identity.
    await storage.posts.save(msg(6, "x", media=Media("video", "id-in-channel", "same")))
    forwarded = msg(6, "x", media=Media("video", "id-in-private", "same"), source=Source.FORWARD)
    assert (await storage.posts.save(forwarded)).outcome is SaveOutcome.UNCHANGED


async def test_older_edit_arriving_late_is_ignored(storage: Storage) -> None:
    await storage.posts.save(msg(7, "v1"))
    await storage.posts.save(msg(7, "v3", edit_date=T0 + timedelta(minutes=3)))
    late = await storage.posts.save(msg(7, "v2", edit_date=T0 + timedelta(minutes=2)))
    assert late.outcome is SaveOutcome.UNCHANGED
    post = await storage.posts.find(CHANNEL, 7)
    assert post is not None
    assert post.text == "v3"


async def test_index_folds_yo_and_stems_russian(storage: Storage) -> None:
    result = await storage.posts.save(msg(8, "Ёлка на площади зажглась"))
    assert await storage.posts.search_ids("елк") == [result.post_id]


async def test_deleted_post_leaves_the_index_but_stays_stored(storage: Storage) -> None:
    result = await storage.posts.save(msg(9, "Отменённый рейс"))
    assert await storage.posts.mark_deleted(result.post_id)
    assert not await storage.posts.mark_deleted(result.post_id)
    assert await storage.posts.search_ids("рейс") == []
    post = await storage.posts.get(result.post_id)
    assert post is not None
    assert post.deleted
    assert await storage.posts.count() == 0
    # An edit of a deleted post updates it but does not bring it back into search.
    await storage.posts.save(msg(9, "Рейс всё же состоится", edit_date=T0 + timedelta(hours=1)))
    assert await storage.posts.search_ids("рейс") == []


async def test_reactions_of_album_parts_add_up(storage: Storage) -> None:
    await storage.posts.save(msg(10, "a", media=Media("photo", "a", "a"), media_group_id="r"))
    await storage.posts.save(msg(11, "", media=Media("photo", "b", "b"), media_group_id="r"))
    await storage.posts.set_reactions(CHANNEL, 10, 7)
    post_id = await storage.posts.set_reactions(CHANNEL, 11, 2)
    assert post_id is not None
    post = await storage.posts.get(post_id)
    assert post is not None
    assert post.reactions == 9
    assert await storage.posts.set_reactions(CHANNEL, 12345, 1) is None


async def read_only(storage: Storage, engine: str, on: bool) -> None:
    """The database refuses writes (SQLite's query_only; PostgreSQL's read-only default,
    every session of the bot's ended by the server so that new ones take it up)."""
    if engine == "sqlite":
        async with storage.db.reading() as conn:
            await conn.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
        return
    assert isinstance(storage.db, PgDatabase)
    setting = "SET default_transaction_read_only = on" if on else "RESET ALL"
    with psycopg.connect(storage.db.url, autocommit=True) as admin:
        admin.execute("SET default_transaction_read_only = off")
        name = admin.execute("SELECT quote_ident(current_database())").fetchone()
        assert name is not None
        admin.execute(f"ALTER DATABASE {name[0]} {setting}")
        admin.execute(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
            """
        )


async def test_write_that_cannot_happen_raises_storage_unavailable(
    storage: Storage, engine: str
) -> None:
    await read_only(storage, engine, True)
    with pytest.raises(StorageUnavailable):
        await storage.posts.save(msg(12, "не запишется"))
    await read_only(storage, engine, False)
    # The fault cleared: the same write goes through, nothing half-written before it.
    assert (await storage.posts.save(msg(12, "не запишется"))).outcome is SaveOutcome.CREATED


async def test_import_changes_a_live_post_only_with_a_later_edit(storage: Storage) -> None:
    await storage.posts.save(msg(20, "Живая версия", media=Media("photo", "AgAC-live", "u20")))
    old_copy = msg(20, "Версия из архива", media=Media("photo", None), source=Source.IMPORT)
    assert (await storage.posts.save(old_copy)).outcome is SaveOutcome.UNCHANGED

    edited = msg(
        20,
        "Исправленная версия",
        media=Media("photo", None),
        source=Source.IMPORT,
        edit_date=T0 + timedelta(hours=2),
    )
    assert (await storage.posts.save(edited)).outcome is SaveOutcome.UPDATED
    post = await storage.posts.find(CHANNEL, 20)
    assert post is not None
    assert post.text == "Исправленная версия"
    assert post.media == [Media("photo", "AgAC-live", "u20")]  # the bot's file id stays
    # The same export again changes nothing.
    assert (await storage.posts.save(edited)).outcome is SaveOutcome.UNCHANGED
