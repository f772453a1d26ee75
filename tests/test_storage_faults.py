"""The database refusing writes for a while: read-only, or the disk full.

The bot's own connection is made to refuse writes, as a remount or a full disk would:
`PRAGMA query_only` gives SQLITE_READONLY, and `PRAGMA max_page_count` at the current size
makes the next write that needs a page fail with SQLITE_FULL. While it lasts the person
waiting gets one apology, and the update is not lost: it stays unconfirmed (Telegram
would send it again), or, when the inbox could still take it in, it is kept there. Once
the fault clears everything is stored, exactly once, and answered. The last test
makes the disk "full" for a real bot process instead (a file size limit set on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest

from storage import Storage
from storage.db import SqliteDatabase as Database
from tests.bot_process import bot_env
from tests.conftest import RunningBot, eventually, waiting_in_inbox
from tests.fake_telegram import FakeTelegram
from tests.updates import (
    ADMIN,
    AGENCY_CHANNEL,
    NEWS_CHANNEL,
    READER,
    channel_post,
    forward,
    private_text,
)

StartBot = Callable[..., Any]
NEWS_ID = cast(int, NEWS_CHANNEL["id"])
AGENCY_ID = cast(int, AGENCY_CHANNEL["id"])
ADMIN_ID = cast(int, ADMIN["id"])
READER_ID = cast(int, READER["id"])
Fault = Callable[[Database], Awaitable[Callable[[], Awaitable[None]]]]

APOLOGY_RU = "Что-то пошло не так. Попробуйте ещё раз чуть позже."
APOLOGY_EN = "Something went wrong. Please try again a little later."
# Near Telegram's 4096-character limit: the write needs new pages, whatever is free.
LONG = "Заявление пресс-службы\n" + "Полный текст заявления о ремонте дорог. " * 95


async def read_only(db: Database) -> Callable[[], Awaitable[None]]:
    async with db.reading() as conn:
        await conn.execute("PRAGMA query_only = ON")

    async def clear() -> None:
        async with db.reading() as conn:
            await conn.execute("PRAGMA query_only = OFF")

    return clear


async def disk_full(db: Database) -> Callable[[], Awaitable[None]]:
    async with db.reading() as conn:
        row = await (await conn.execute("PRAGMA max_page_count")).fetchone()
        assert row is not None
        limit = int(row[0])
        row = await (await conn.execute("PRAGMA page_count")).fetchone()
        assert row is not None
        await conn.execute(f"PRAGMA max_page_count = {int(row[0])}")

    async def clear() -> None:
        async with db.reading() as conn:
            await conn.execute(f"PRAGMA max_page_count = {limit}")

    return clear


@pytest.fixture
def bot_database(monkeypatch: pytest.MonkeyPatch) -> list[Database]:
    """Every Database opened from now on: the bot's, once it has started."""
    opened: list[Database] = []
    original = Database.open.__func__  # type: ignore[attr-defined]

    async def open_and_keep(cls: type[Database], path: Path | str) -> Database:
        db: Database = await original(cls, path)
        opened.append(db)
        return db

    monkeypatch.setattr(Database, "open", classmethod(open_and_keep))
    return opened


def texts_to(bot: RunningBot, chat_id: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in bot.fake.calls_of("sendMessage")
        if c.params.get("chat_id") == chat_id and c.outcome == "ok"
    ]


def not_lost(bot: RunningBot, update_id: int) -> bool:
    """Unconfirmed at Telegram, or kept in the bot's inbox."""
    return bot.fake.confirmed_offset <= update_id or waiting_in_inbox(
        bot.settings.database_path, update_id
    )


def retries_of(caplog: pytest.LogCaptureFixture, update_id: int) -> int:
    return sum(
        1
        for r in caplog.records
        if r.getMessage().startswith("storage unavailable")
        and f"update_id={update_id} " in r.getMessage()
    )


@pytest.mark.parametrize("fault", [read_only, disk_full], ids=["read-only", "disk-full"])
async def test_writes_refused_for_a_while(
    storage: Storage,
    bot_database: list[Database],
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    caplog.set_level(logging.INFO)
    bot: RunningBot = await start_bot()
    (db,) = bot_database
    await bot.send(channel_post(1, "Новость до сбоя"))

    clear = await fault(db)
    forwarded, posted, searched = bot.fake.push_many(
        [
            forward(5, LONG, message_id=900),
            channel_post(2, "Новость во время сбоя\n" + LONG),
            private_text("/search ремонт", user=READER),
        ]
    )

    async def retried() -> bool:
        return retries_of(caplog, forwarded) >= 3

    await eventually(retried)
    # Still refused after several tries: one apology, and the forward is not lost.
    assert texts_to(bot, ADMIN_ID) == [APOLOGY_RU]
    assert not_lost(bot, forwarded)
    assert await storage.posts.find(AGENCY_ID, 5) is None
    assert await storage.posts.count() == 1

    await clear()
    await bot.wait_handled(forwarded, posted, searched, within=30)
    assert not bot.task.done()
    assert texts_to(bot, ADMIN_ID) == [APOLOGY_RU, "✅ Сохранено: «Заявление пресс-службы»"]
    saved = await storage.posts.find(AGENCY_ID, 5)
    assert saved is not None
    assert saved.text == LONG
    post = await storage.posts.find(NEWS_ID, 2)
    assert post is not None
    assert post.text.startswith("Новость во время сбоя")
    assert await storage.posts.count() == 3
    # The reader's search (a write too, of a row that may still fit) is answered once,
    # after at most one apology; what it finds depends on what was stored by then.
    to_reader = texts_to(bot, READER_ID)
    answers = [t for t in to_reader if t != APOLOGY_EN]
    assert len(answers) == 1
    assert "ремонт" in answers[0]
    assert to_reader.count(APOLOGY_EN) <= 1
    assert posted < searched
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]


async def test_channel_post_during_the_fault_is_stored_once_after_it(
    storage: Storage,
    bot_database: list[Database],
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    bot: RunningBot = await start_bot()
    (db,) = bot_database
    clear = await disk_full(db)
    first = bot.fake.push(channel_post(10, "Первая\n" + LONG))
    last = bot.fake.push(channel_post(11, "Вторая\n" + LONG))

    async def retried() -> bool:
        return retries_of(caplog, first) >= 2

    await eventually(retried)
    assert not_lost(bot, first)
    assert await storage.posts.count() == 0
    # Nobody to apologise to in a channel.
    assert not bot.fake.calls_of("sendMessage")

    await clear()
    await bot.wait_handled(first, last, within=30)
    assert await storage.posts.count() == 2
    for message_id in (10, 11):
        assert await storage.posts.find(NEWS_ID, message_id) is not None
    # Telegram sends the same post again (an unconfirmed batch after a restart, say).
    await bot.send(channel_post(10, "Первая\n" + LONG))
    assert await storage.posts.count() == 2


# -- a full disk, in a real process -------------------------------------------------------


def _ignore_file_size_signal() -> None:
    # Inherited across exec: past RLIMIT_FSIZE a write fails (EFBIG) instead of killing.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _stored(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT message_id FROM posts ORDER BY message_id").fetchall()
    return [int(r[0]) for r in rows]


@pytest.mark.slow
async def test_disk_full_in_a_bot_process(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    """For a while the bot may write nothing past 16 KiB into any file (RLIMIT_FSIZE, set
    on the running process): SQLite's writes to the WAL fail as on a full disk (EFBIG
    rather than ENOSPC: "disk I/O error"), in whatever step of the transaction they come,
    which the pragmas above cannot reach."""
    db = tmp_path / "bot.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=bot_env(fake_telegram.url, db, SOURCE_CHANNELS=str(NEWS_ID)),
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,  # a pipe: the file size limit does not apply
        preexec_fn=_ignore_file_size_signal,
    )
    log: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            log.append(line.decode(errors="replace"))

    reader = asyncio.create_task(read_log())
    try:
        fake_telegram.push(channel_post(1, "До сбоя"))

        async def first_stored() -> bool:
            try:
                return _stored(db) == [1]
            except sqlite3.OperationalError:  # not created yet
                return False

        await eventually(first_stored, within=60)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))
        during = fake_telegram.push(channel_post(2, "Во время сбоя\n" + LONG))

        async def retried() -> bool:
            return sum(f"update_id={during} " in line for line in log) >= 3

        await eventually(retried, within=30)
        assert fake_telegram.confirmed_offset <= during or waiting_in_inbox(db, during)
        resource.prlimit(
            proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        )
        after = fake_telegram.push(channel_post(3, "После сбоя"))
        await fake_telegram.wait_confirmed(after, 30)

        async def all_stored() -> bool:
            return _stored(db) == [1, 2, 3]

        await eventually(all_stored, within=30)
        assert not [line for line in log if "skipped" in line]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        await asyncio.wait_for(reader, 5)
    assert proc.returncode == 0
