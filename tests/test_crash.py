"""Kill the bot (SIGKILL) in the middle of a burst of posts, start it again: nothing lost.

The bot runs as a real `python -m bot` process against the fake Bot API server in this
test's event loop, so the kill lands wherever the process happens to be.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.bot_process import start_bot_process
from tests.fake_telegram import FakeTelegram
from tests.updates import NEWS_CHANNEL, channel_post

pytestmark = pytest.mark.slow

BURST = 800


async def _start(fake: FakeTelegram, db: Path, cwd: Path) -> asyncio.subprocess.Process:
    return await start_bot_process(
        fake.url,
        db,
        cwd=cwd,
        stderr=asyncio.subprocess.PIPE,
        SOURCE_CHANNELS=str(NEWS_CHANNEL["id"]),
    )


def _stored_message_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT message_id FROM posts ORDER BY message_id").fetchall()
    return [r[0] for r in rows]


def _stored_count(db: Path) -> int:
    """Posts stored so far; 0 before the bot has created its schema."""
    if not db.exists():
        return 0
    try:
        return len(_stored_message_ids(db))
    except sqlite3.OperationalError:
        return 0


async def _wait_stored(db: Path, count: int, within: float = 60) -> None:
    """Until the bot's database holds at least `count` posts (polled, read-only)."""
    async with asyncio.timeout(within):
        while _stored_count(db) < count:  # noqa: ASYNC110 - another process writes it
            await asyncio.sleep(0.002)


def _inbox_ids(db: Path) -> list[int]:
    """Updates confirmed to Telegram and kept, not yet handled."""
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT update_id FROM inbox ORDER BY update_id")]


def _index_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0])


def _body(i: int) -> str:
    return f"Новость номер {i}: акимат сообщил о ремонте дорог в районе {i % 17}"


async def test_sigkill_mid_burst_loses_nothing_and_stores_once(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    # update_id i carries channel message i, so "confirmed" maps to message ids.
    fake_telegram.push_many([channel_post(i, _body(i)) for i in range(1, BURST + 1)])
    rng = random.Random(20261128)
    kill_points = sorted(rng.sample(range(20, BURST - 20), 3))

    for point in kill_points:
        proc = await _start(fake_telegram, db, tmp_path)
        # Mid-batch: Telegram hands out 100 updates at a time, the kill lands among them.
        await _wait_stored(db, point)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        # Every update Telegram considers delivered is stored, or kept in the inbox.
        confirmed = fake_telegram.confirmed_offset - 1
        stored = set(_stored_message_ids(db))
        assert set(range(1, confirmed + 1)) <= stored | set(_inbox_ids(db))

    asked = len(fake_telegram.calls_of("getUpdates"))
    proc = await _start(fake_telegram, db, tmp_path)
    await _wait_stored(db, BURST)
    await fake_telegram.wait_until(lambda: fake_telegram.confirmed_offset > BURST, 60)
    # The last killed run may have stored everything: SIGTERM only once this run is up
    # (polling), not while Python is still starting and a signal would kill it outright.
    await fake_telegram.wait_until(lambda: len(fake_telegram.calls_of("getUpdates")) > asked, 60)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    log = (await proc.stderr.read()).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == 0, log

    assert _stored_message_ids(db) == list(range(1, BURST + 1))
    assert _index_rows(db) == BURST
    assert _inbox_ids(db) == []


async def test_sigterm_mid_burst_exits_cleanly_and_keeps_what_it_has_not_stored(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    fake_telegram.push_many([channel_post(i, _body(i)) for i in range(1, 301)])
    proc = await _start(fake_telegram, db, tmp_path)
    await fake_telegram.wait_until(lambda: fake_telegram.confirmed_offset > 50, 60)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert proc.stderr is not None
    errors = (await proc.stderr.read()).decode()
    assert "Traceback" not in errors

    stored = _stored_message_ids(db)
    kept = _inbox_ids(db)
    confirmed = fake_telegram.confirmed_offset - 1
    # One channel's posts are handled in order: what is confirmed and not stored is kept.
    assert stored + kept == list(range(1, confirmed + 1))

    # The next start handles the kept ones first, then the rest.
    proc = await _start(fake_telegram, db, tmp_path)
    await _wait_stored(db, 300)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert _stored_message_ids(db) == list(range(1, 301))
    assert _inbox_ids(db) == []
