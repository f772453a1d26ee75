"""Digest delivery through the fake Bot API server, the way the bot sends it.

(a) Telegram-like limits enforced by the fake (30 messages in any second, one a second
    per chat; past them a 429), for at least a minute at SEND_RATE 29: the achieved rate
    and how many 429s the bot drew.
(b) No limit, 10,000 subscribers: how many messages a second the bot can push, and its
    peak memory.

The sender runs in its own process (the real DigestScheduler, Delivery and ledger on a
SQLite file), so its memory is its own and the fake server does not share its CPU time.

    python -m bench.delivery [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.fake_telegram import TOKEN, FakeTelegram

ALMATY = ZoneInfo("Asia/Almaty")
DAY = date(2025, 12, 17)


async def _child(url: str, db: Path, subscribers: int, rate: float | None) -> dict[str, Any]:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.services.delivery import Delivery, RateLimiter
    from bot.services.digest import DigestService
    from bot.services.scheduler import DigestScheduler
    from storage import Storage

    storage = await Storage.open(db)
    for chat_id in range(1, subscribers + 1):
        await storage.subscribers.subscribe(
            100_000 + chat_id, lang="ru", send_time=time(8, 0), first_day=DAY
        )
    session = AiohttpSession(api=TelegramAPIServer.from_base(url), limit=200)
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    # Unlimited mode keeps more sends in flight: latency, not the pace, is then the cap.
    delivery = Delivery(bot, RateLimiter(rate), concurrency=8 if rate else 64)
    digests = DigestService(storage.posts, None, digest_time=time(8, 0), tz=ALMATY)
    scheduler = DigestScheduler(
        storage,
        digests,
        delivery,
        tz=ALMATY,
        catchup=timedelta(hours=3),
        clock=lambda: datetime.combine(DAY, time(8, 0, 1), tzinfo=ALMATY).astimezone(UTC),
    )
    started = clock.perf_counter()
    report = await scheduler.deliver(DAY, await storage.subscribers.active())
    elapsed = clock.perf_counter() - started
    await session.close()
    await storage.close()
    return {
        "sent": report.sent,
        "failed": report.failed,
        "seconds": round(elapsed, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def _measure(subscribers: int, rate: float | None, limits: bool) -> dict[str, Any]:
    async with FakeTelegram() as fake:
        if limits:
            fake.enforce_limits(30)
        with tempfile.TemporaryDirectory() as tmp:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.delivery",
                "--child",
                fake.url,
                str(Path(tmp) / "bot.db"),
                str(subscribers),
                str(rate or 0),
                stdout=asyncio.subprocess.PIPE,
                env=dict(os.environ),
            )
            out, _ = await proc.communicate()
        child = json.loads(out.decode().strip().splitlines()[-1])
        sends = [c.at for c in fake.calls_of("sendMessage")]
        delivered = len(sends) - fake.flood_errors
        span = sends[-1] - sends[0] if len(sends) > 1 else 0.0
        per_second = [sum(1 for t in sends if s <= t - sends[0] < s + 1) for s in range(int(span))]
        return {
            **child,
            "subscribers": subscribers,
            "delivered_per_fake_log": delivered,
            "send_rate_setting": rate,
            "achieved_per_s": round(delivered / span, 2) if span else None,
            "per_second_median": statistics.median(per_second) if per_second else None,
            "per_second_max": max(per_second) if per_second else None,
            "http_429": fake.flood_errors,
        }


def run(quick: bool = False) -> dict[str, Any]:
    limited_n = 300 if quick else 1800  # 1800 at 29/s is about 62 s
    unlimited_n = 2000 if quick else 10_000
    limited = asyncio.run(_measure(limited_n, 29.0, limits=True))
    unlimited = asyncio.run(_measure(unlimited_n, None, limits=False))
    return {
        "limited": {
            **limited,
            "within_5pct_of_30": abs(limited["achieved_per_s"] - 30) <= 1.5,
        },
        "unlimited": {**unlimited, "floor_per_s": 1000},
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, db, n, rate = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(asyncio.run(_child(url, db, n, rate or None))))
        raise SystemExit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(quick=parser.parse_args().quick), indent=2))
