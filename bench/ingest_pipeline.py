"""Posts stored per second through the whole pipeline, beside raw SQLite inserts.

A burst of channel posts waits in the fake Bot API server; a real `python -m bot`
process polls it, and the clock runs from its first getUpdates to the moment every post
is stored and every update confirmed (read from the database, polled every 5 ms). In the
same run, the same rows go into an
empty database of the same schema straight through sqlite3: once in one transaction (the
ceiling) and once with a commit per row (what a crash-safe bot must pay).

    python -m bench.ingest_pipeline [--posts 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from storage.db import migrations as _migrations
from storage.db import statements as _statements
from tests.bot_process import start_bot_process
from tests.fake_telegram import FakeTelegram
from tests.updates import NEWS_CHANNEL, channel_post

WORDS = (
    "Президент правительство акимат Астана Алматы Казахстан сообщил заявил встреча "
    "министр области района программа развития тенге экономика рост цены дороги ремонт "
    "школа больница погода снег мороз ярмарка фестиваль выборы парламент депутаты закон "
    "реформа инвестиции нефть газ экспорт урожай фермеры транспорт автобус поезд рейс"
).split()


def make_posts(count: int, seed: int = 17) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    posts = []
    for i in range(1, count + 1):
        words = [rng.choice(WORDS) for _ in range(rng.randint(25, 90))]
        text = "🇰🇿 " + " ".join(words).capitalize() + "."
        entities = [{"type": "bold", "offset": 3, "length": len(words[0])}]
        posts.append(channel_post(i, text, entities=entities))
    return posts


def _stored(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


async def pipeline_rate(posts: list[dict[str, Any]], workdir: Path) -> float:
    async with FakeTelegram() as fake:
        fake.push_many(posts)
        proc = await start_bot_process(
            fake.url,
            workdir / "bot.db",
            cwd=workdir,
            stderr=None,
            SOURCE_CHANNELS=str(NEWS_CHANNEL["id"]),
        )
        try:
            await fake.wait_for_call("getUpdates", within=60)
            started = fake.calls_of("getUpdates")[0].at
            await fake.wait_until(lambda: fake.confirmed_offset > len(posts), 600)
            async with asyncio.timeout(600):
                while _stored(workdir / "bot.db") < len(posts):  # noqa: ASYNC110 - another process writes it
                    await asyncio.sleep(0.005)
            finished = time.monotonic()
        finally:
            proc.terminate()
            await proc.wait()
    return len(posts) / (finished - started)


def raw_rows(posts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for update in posts:
        m = update["channel_post"]
        rows.append(
            (
                m["chat"]["id"],
                m["message_id"],
                m["chat"]["title"],
                m["chat"].get("username"),
                m["date"],
                m["text"],
                json.dumps(m.get("entities", []), ensure_ascii=False),
                "channel",
                m["date"],
            )
        )
    return rows


def raw_rate(rows: list[tuple[Any, ...]], path: Path, *, commit_each: bool) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for _, _, sql in _migrations():
        for statement in _statements(sql):
            conn.execute(statement)
    insert = (
        "INSERT INTO posts (channel_id, message_id, channel_title, channel_username, date, "
        "text, entities, source, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    if commit_each:
        for row in rows:
            conn.execute("BEGIN")
            conn.execute(insert, row)
            conn.execute("COMMIT")
    else:
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def run(quick: bool = False, posts: int | None = None, runs: int | None = None) -> dict[str, Any]:
    count = posts or (1000 if quick else 5000)
    repeats = runs or (1 if quick else 3)
    updates = make_posts(count)
    rows = raw_rows(updates)
    pipeline, batch, per_row = [], [], []
    # Interleaved, so that a noisy moment on the machine hits all three alike.
    for n in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            pipeline.append(asyncio.run(pipeline_rate(updates, workdir)))
            batch.append(raw_rate(rows, workdir / f"raw-batch-{n}.db", commit_each=False))
            per_row.append(raw_rate(rows, workdir / f"raw-row-{n}.db", commit_each=True))
    p, b, r = (statistics.median(x) for x in (pipeline, batch, per_row))
    return {
        "posts": count,
        "runs": repeats,
        "pipeline_posts_per_s_median": round(p),
        "raw_sqlite_one_transaction_rows_per_s_median": round(b),
        "raw_sqlite_commit_per_row_rows_per_s_median": round(r),
        "pipeline_vs_raw_one_transaction": round(p / b, 3),
        "pipeline_vs_raw_commit_per_row": round(p / r, 3),
        "floor_posts_per_s": 500,
        "pipeline_runs": [round(x) for x in pipeline],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(posts=args.posts, runs=args.runs), indent=2))
