"""The bot as a real `python -m bot` process against a fake Bot API server: for crash
tests and benchmarks, where the process must be killable and measurable on its own."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fake_telegram import TOKEN

#: Nothing listens on port 9 of loopback: the rates feed is "down" unless a test serves one.
DEAD_RATES_URL = "http://127.0.0.1:9/rss/rates_all.xml"


def bot_env(api_url: str, db: Path | str, **settings: str) -> dict[str, str]:
    """`db`: a SQLite file, or PostgreSQL's URL."""
    """This environment without the bot's own variables, plus a test configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=db if isinstance(db, str) else f"sqlite:///{db}",
        RATES_URL=DEAD_RATES_URL,
        # Nor is kurs.kz ever reached: exchange offices' quotes are "down" too.
        MARKET_RATES_URL="http://127.0.0.1:9/site/index?city={city}",
        LOG_LEVEL="WARNING",
    )
    env.update(settings)
    return env


async def start_bot_process(
    api_url: str,
    db: Path | str,
    *,
    cwd: Path,
    stderr: int | None = asyncio.subprocess.DEVNULL,
    **settings: str,
) -> asyncio.subprocess.Process:
    """`python -m bot` in `cwd` (where no stray .env is), talking to `api_url`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=bot_env(api_url, db, **settings),
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )
