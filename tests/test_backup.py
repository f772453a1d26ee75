"""`python -m bot backup`: a consistent copy of the live database."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import parser
from storage import IncomingMessage, Source, Storage
from tests.conftest import make_settings

CHANNEL = -1001234567890
START = datetime(2025, 12, 17, 6, 0, tzinfo=UTC)


def _post(message_id: int) -> IncomingMessage:
    return IncomingMessage(
        channel_id=CHANNEL,
        message_id=message_id,
        date=START + timedelta(seconds=message_id),
        source=Source.CHANNEL,
        text=f"Новость номер {message_id}: аким открыл ярмарку в Астане",
        channel_title="Новости",
    )


def _stored_ids(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        posts = {row[0] for row in conn.execute("SELECT message_id FROM posts")}
        parts = {row[0] for row in conn.execute("SELECT message_id FROM post_parts")}
        indexed = conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0]
    finally:
        conn.close()
    # One committed state: every post with its part and its index row, nothing half-done.
    assert posts == parts
    assert indexed == len(posts)
    return posts


async def test_backup_during_writes_holds_every_post_committed_before_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.db"
    writer = await Storage.open(db)
    # The backup uses its own connection, as `python -m bot backup` beside the bot does.
    backing_up = await Storage.open(db)
    pending = await Storage.open(db)
    try:
        await writer.posts.save_many([_post(n) for n in range(1, 2001)])
        committed: list[int] = []
        writing, stop = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            number = 10_000
            while not stop.is_set():
                number += 1
                await writer.posts.save(_post(number))
                committed.append(number)
                writing.set()

        task = asyncio.create_task(write())
        await writing.wait()
        # A write transaction stays open during the backup: it must neither block the
        # backup nor appear in it.
        async with pending.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO posts (channel_id, message_id, date, source, stored_at) "
                "VALUES (?, 99999, 0, 'channel', 0)",
                (CHANNEL,),
            )
            before = set(range(1, 2001)) | set(committed)
            await backing_up.db.backup(tmp_path / "copy.db")
        stop.set()
        await task
    finally:
        for storage in (writer, backing_up, pending):
            await storage.close()

    in_copy = _stored_ids(tmp_path / "copy.db")
    assert before <= in_copy
    assert 99999 not in in_copy
    assert in_copy <= before | set(committed)
    assert not (tmp_path / "copy.db.partial").exists()


async def test_restored_copy_opens_as_the_database(tmp_path: Path) -> None:
    source = await Storage.open(tmp_path / "bot.db")
    await source.posts.save_many([_post(n) for n in range(1, 11)])
    await source.db.backup(tmp_path / "copy.db")
    await source.close()

    restored = await Storage.open(tmp_path / "copy.db")
    try:
        assert await restored.posts.count() == 10
        post = await restored.posts.find(CHANNEL, 7)
        assert post is not None
        assert post.id in await restored.posts.search_ids("ярмарк*")
    finally:
        await restored.close()


def _run(tmp_path: Path, *argv: str, **handler_options: Any) -> int:
    args: argparse.Namespace = parser().parse_args(["backup", *argv])
    settings = make_settings(
        "http://127.0.0.1:9",
        tmp_path / "data" / "bot.db",
        timezone=handler_options.pop("timezone", "Asia/Almaty"),
    )
    code: int = args.handler(args, settings, **handler_options)
    return code


async def _make_database(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "data" / "bot.db")
    await storage.posts.save(_post(1))
    await storage.close()


def test_command_writes_a_file_or_a_dated_file_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_make_database(tmp_path))
    (tmp_path / "backups").mkdir()

    assert _run(tmp_path, str(tmp_path / "one.db")) == 0
    assert _run(tmp_path, str(tmp_path / "backups")) == 0

    assert _stored_ids(tmp_path / "one.db") == {1}
    [dated] = (tmp_path / "backups").iterdir()
    assert dated.name.startswith("bot-")
    assert dated.suffix == ".db"
    assert _stored_ids(dated) == {1}
    assert "written to" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setup", "target", "error"),
    [
        ("no-db", "copy.db", "backup: no database at"),
        ("db", "missing/copy.db", "backup: no such folder:"),
        ("db", "exists.db", "exists; pass --force to replace it"),
        ("db", "data/bot.db", "PATH is the database itself"),
    ],
)
def test_command_operator_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, target: str, error: str
) -> None:
    if setup == "db":
        asyncio.run(_make_database(tmp_path))
    (tmp_path / "exists.db").write_bytes(b"old backup")

    assert _run(tmp_path, str(tmp_path / target)) == 2

    err = capsys.readouterr().err
    assert error in err
    assert err.count("\n") == 1
    assert (tmp_path / "exists.db").read_bytes() == b"old backup"


def test_dated_name_is_in_timezones_local_time(tmp_path: Path) -> None:
    asyncio.run(_make_database(tmp_path))
    (tmp_path / "backups").mkdir()
    # 22:30 UTC is 03:30 the next morning in Almaty (UTC+5): the nightly timer's hour.
    at = datetime(2025, 12, 16, 22, 30, 0, tzinfo=UTC)

    assert _run(tmp_path, str(tmp_path / "backups"), clock=lambda: at) == 0

    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["bot-20251217-033000.db"]


def test_dated_names_sort_as_the_backups_were_taken(tmp_path: Path) -> None:
    asyncio.run(_make_database(tmp_path))
    (tmp_path / "backups").mkdir()
    moments = [
        datetime(2025, 12, 16, 18, 59, 59, tzinfo=UTC),  # 23:59:59 local
        datetime(2025, 12, 16, 19, 0, 0, tzinfo=UTC),  # 00:00:00 the next day
        datetime(2025, 12, 17, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 1, 2, 9, 0, 0, tzinfo=UTC),
    ]
    for at in moments:
        assert _run(tmp_path, str(tmp_path / "backups"), clock=lambda at=at: at) == 0

    names = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert names == [
        "bot-20251216-235959.db",
        "bot-20251217-000000.db",
        "bot-20251217-090506.db",
        "bot-20260102-140000.db",
    ]


def test_dated_name_follows_timezone(tmp_path: Path) -> None:
    asyncio.run(_make_database(tmp_path))
    (tmp_path / "backups").mkdir()
    at = datetime(2025, 7, 1, 1, 30, 0, tzinfo=UTC)

    code = _run(tmp_path, str(tmp_path / "backups"), clock=lambda: at, timezone="Europe/Berlin")

    assert code == 0
    # Summer time in Berlin: UTC+2.
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["bot-20250701-033000.db"]


def test_force_replaces_an_old_backup(tmp_path: Path) -> None:
    asyncio.run(_make_database(tmp_path))
    (tmp_path / "exists.db").write_bytes(b"old backup")

    assert _run(tmp_path, str(tmp_path / "exists.db"), "--force") == 0

    assert _stored_ids(tmp_path / "exists.db") == {1}
