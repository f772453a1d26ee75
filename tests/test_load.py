"""Many readers at once against a real `python -m bot` process: every one answered.

LOAD_USERS readers (200 here by default, so that CI stays fast; `python -m bench load`
runs 1,000) each send /latest, /search <word>, /rates and press a button within a few
seconds, over LOAD_POSTS stored posts and a local rates feed. Every update must be
answered and confirmed, with no apology, no "database is locked" and no ERROR in the
bot's log, and no two answers to one reader less than a second apart (Telegram's pace
for a chat). The other figures (latency, memory, CPU) are printed, not asserted: see
bench/load.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.load import measure

pytestmark = pytest.mark.slow

USERS = int(os.environ.get("LOAD_USERS", "200"))
POSTS = int(os.environ.get("LOAD_POSTS", "2000"))


async def test_many_readers_at_once_are_all_answered(tmp_path: Path) -> None:
    figures = await measure(users=USERS, posts=POSTS, spread=3.0, workdir=tmp_path, within=300)
    print("\nload:", json.dumps(figures, ensure_ascii=False))

    assert figures["updates"] == 4 * USERS
    assert figures["answered"] == figures["updates"]
    assert figures["unanswered"] == 0
    assert figures["callbacks_answered"] == USERS
    assert figures["apologies"] == 0
    assert figures["log_errors"] == 0
    assert figures["log_database_locked"] == 0
    assert figures["log_tracebacks"] == 0
    assert figures["exit_code"] == 0
    assert figures["per_chat_pace_violations"] == 0
    # The feed is fetched once and then served from the cache, however many ask at once.
    assert figures["rates_feed_requests"] == 1
