"""Followed topics: matching a new post against 100,000 topics, and sending 1,000 alerts.

(a) Matching. 100,000 topics of 10,000 readers (10 each, 1 to 5 words) are written to a
    SQLite file with the bot's schema and loaded into the bot's matching index
    (bot/services/topics.py) as at start. Then generated news posts (bench/reading.py's
    text maker: Zipf-distributed words of real Kazakh news text) are matched one by one:
    p50/p99/max per post, with the post's stemming included and without it, and how
    many readers a post matched. Topic words are drawn with the same Zipf weights from
    the vocabulary past its 30 most frequent (function) words, so the common content
    words ("тенге", "Казахстана") are followed by thousands: the index's worst case.
    Floor: p99 of 50 ms per post.
(b) Delivery. One post matching 1,000 readers' topics: the real AlertWorker records the
    alerts and sends them through the real Delivery at SEND_RATE 29 to the fake Bot API
    server, which answers 429 past Telegram's limits (30 a second, 1 a second per chat).
    The sender runs in its own process, as in bench/delivery.py.

    python -m bench.topics [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time as clock
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.reading import ZIPF_EXPONENT, TextMaker, build_vocabulary
from bot.services.topics import MAX_TOPIC_WORDS, TopicIndex, TopicService, parse_topic
from storage import Storage
from storage.search_text import stems
from storage.topics import stems_key
from tests.fake_telegram import TOKEN, FakeTelegram

SEED = 20_251_217
TOPICS = 100_000
READERS = 10_000
FLOOR_MATCH_P99_MS = 50.0
#: Words of a topic: mostly one or two, as readers type them.
WORD_COUNTS = [1, 2, 3, 4, 5]
WORD_WEIGHTS = [45, 35, 12, 5, 3]
#: The most frequent words of the vocabulary (prepositions, conjunctions) are not topics.
SKIP_RANKS = 30
ALMATY = ZoneInfo("Asia/Almaty")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def make_topics(rng: random.Random, vocabulary: list[str], count: int, readers: int) -> list[Any]:
    """(chat_id, text, stems key) for `count` topics, `count // readers` per reader,
    distinct per reader as the bot keeps them."""
    words = vocabulary[SKIP_RANKS:]
    cum_weights = list(
        itertools.accumulate(1 / rank**ZIPF_EXPONENT for rank in range(1, len(words) + 1))
    )
    per_reader = count // readers
    rows = []
    for reader in range(readers):
        chat_id = 1_000_000 + reader
        seen: set[str] = set()
        while len(seen) < per_reader:
            n = rng.choices(WORD_COUNTS, WORD_WEIGHTS)[0]
            text = " ".join(rng.choices(words, cum_weights=cum_weights, k=n))
            try:
                topic = parse_topic(text)
            except ValueError:
                continue
            key = stems_key(topic.stems)
            if key in seen or len(topic.stems) > MAX_TOPIC_WORDS:
                continue
            seen.add(key)
            rows.append((chat_id, topic.text, key))
    return rows


async def _load(db: Path, rows: list[Any]) -> tuple[TopicService, float]:
    storage = await Storage.open(db)
    async with storage.db.transaction() as conn:
        await conn.executemany(
            "INSERT OR IGNORE INTO topic_readers (chat_id, lang, updated_at) VALUES (?, 'ru', 0)",
            [(chat_id,) for chat_id in {row[0] for row in rows}],
        )
        await conn.executemany(
            "INSERT INTO topics (chat_id, text, stems, created_at) VALUES (?, ?, ?, 0)", rows
        )
    service = TopicService(storage, lambda: datetime.now(UTC))
    started = clock.perf_counter()
    await service.load()
    seconds = clock.perf_counter() - started
    await storage.close()
    return service, seconds


def bench_matching(quick: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    vocabulary = build_vocabulary(rng)
    topics, readers = (20_000, 2_000) if quick else (TOPICS, READERS)
    rows = make_topics(rng, vocabulary, topics, readers)
    with tempfile.TemporaryDirectory() as tmp:
        service, load_seconds = asyncio.run(_load(Path(tmp) / "topics.db", rows))
    index = service.index
    assert len(index) == len(rows)

    # The index's size, measured on a second build under tracemalloc.
    gc.collect()
    tracemalloc.start()
    sized = TopicIndex()
    from storage import Topic

    sized.load(Topic(n, r[0], r[1], tuple(r[2].split())) for n, r in enumerate(rows, 1))
    index_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del sized

    maker = TextMaker(random.Random(SEED + 1), vocabulary)
    posts = [maker.text(rng.randint(20, 120))[0] for _ in range(300 if quick else 3000)]
    for text in posts[:50]:  # warm the stemmer's cache as a running bot has it
        index.match(text)
    with_stemming, match_only, matched = [], [], []
    for text in posts:
        started = clock.perf_counter()
        found = index.match(text)
        with_stemming.append(clock.perf_counter() - started)
        post_stems = set(stems(text))
        started = clock.perf_counter()
        index.match_stems(post_stems)
        match_only.append(clock.perf_counter() - started)
        matched.append(len(found))
    p99 = _ms(_percentile(with_stemming, 0.99))
    return {
        "topics": len(rows),
        "readers": len({r[0] for r in rows}),
        "distinct_stem_sets": len({r[2] for r in rows}),
        "posts_matched": len(posts),
        "load_from_sqlite_s": round(load_seconds, 3),
        "index_mb": round(index_mb, 1),
        "match_ms": {
            "p50": _ms(statistics.median(with_stemming)),
            "p99": p99,
            "max": _ms(max(with_stemming)),
        },
        "match_without_stemming_ms": {
            "p50": _ms(statistics.median(match_only)),
            "p99": _ms(_percentile(match_only, 0.99)),
        },
        "readers_matched_per_post": {
            "median": statistics.median(matched),
            "p99": _percentile([float(m) for m in matched], 0.99),
            "max": max(matched),
        },
        "floor_p99_ms": FLOOR_MATCH_P99_MS,
        "within_floor": p99 <= FLOOR_MATCH_P99_MS,
    }


# -- delivery ----------------------------------------------------------------------------


async def _child(url: str, db: Path, readers: int, rate: float) -> dict[str, Any]:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.services.alerts import AlertWorker
    from bot.services.delivery import Delivery, RateLimiter
    from storage import IncomingMessage, Source

    storage = await Storage.open(db)
    async with storage.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO topic_readers (chat_id, lang, quiet, updated_at) VALUES (?, 'ru', 0, 0)",
            [(100_000 + n,) for n in range(readers)],
        )
        await conn.executemany(
            "INSERT INTO topics (chat_id, text, stems, created_at) VALUES (?, 'тарифы', ?, 0)",
            [(100_000 + n, "тариф") for n in range(readers)],
        )
    now = datetime.now(UTC)
    text = "⚡️ Тарифы на проезд вырастут с 1 января\n\nПодробности в канале."
    saved = await storage.posts.save(
        IncomingMessage(
            channel_id=-1001234567890,
            message_id=1,
            date=now,
            source=Source.CHANNEL,
            text=text,
            channel_title="Новости",
            channel_username="kz_news",
        )
    )
    session = AiohttpSession(api=TelegramAPIServer.from_base(url), limit=200)
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    topics = TopicService(storage, lambda: datetime.now(UTC))
    worker = AlertWorker(
        storage,
        Delivery(bot, RateLimiter(rate)),
        topics,
        tz=ALMATY,
        clock=lambda: datetime.now(UTC),
    )
    await topics.load()
    started = clock.perf_counter()
    owed = await worker.on_saved(saved, text, edited=False, date=now)
    recorded = clock.perf_counter() - started
    while await worker.work_once():
        pass
    elapsed = clock.perf_counter() - started
    async with storage.db.reading() as conn:
        cursor = await conn.execute("SELECT status, count(*) FROM topic_alerts GROUP BY status")
        statuses = {str(r[0]): int(r[1]) for r in await cursor.fetchall()}
    await session.close()
    await storage.close()
    return {
        "alerts": owed,
        "match_and_record_ms": _ms(recorded),
        "seconds": round(elapsed, 2),
        "ledger": statuses,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def _deliver(readers: int, rate: float) -> dict[str, Any]:
    async with FakeTelegram() as fake:
        fake.enforce_limits(30)
        with tempfile.TemporaryDirectory() as tmp:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.topics",
                "--child",
                fake.url,
                str(Path(tmp) / "bot.db"),
                str(readers),
                str(rate),
                stdout=asyncio.subprocess.PIPE,
                env=dict(os.environ),
            )
            out, _ = await proc.communicate()
        child = json.loads(out.decode().strip().splitlines()[-1])
        sends = [c.at for c in fake.calls_of("sendMessage")]
        delivered = len(sends) - fake.flood_errors
        span = sends[-1] - sends[0] if len(sends) > 1 else 0.0
        return {
            **child,
            "send_rate_setting": rate,
            "delivered_per_fake_log": delivered,
            "achieved_per_s": round(delivered / span, 2) if span else None,
            "http_429": fake.flood_errors,
        }


def run(quick: bool = False) -> dict[str, Any]:
    return {
        "matching": bench_matching(quick),
        "delivery": asyncio.run(_deliver(200 if quick else 1000, 29.0)),
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, db, n, rate = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(asyncio.run(_child(url, db, n, rate))))
        raise SystemExit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(quick=parser.parse_args().quick), indent=2, ensure_ascii=False))
