"""`python -m bot stats`: the figures of /stats, in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.clock import system_clock
from bot.config import Settings
from bot.render import plain_text
from bot.texts import DEFAULT_LANGUAGE, LANGUAGES
from storage import Storage


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("stats", help="print the figures of /stats")
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE, help=f"language ({DEFAULT_LANGUAGE})"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.handlers.admin import stats_text

    if not settings.uses_postgres and not settings.database_path.is_file():
        print(f"stats: no database at {settings.database_path} (DATABASE_URL)", file=sys.stderr)
        return 2

    async def main() -> str:
        storage = await Storage.open(settings.database)
        try:
            return await stats_text(storage, settings, system_clock, args.lang)
        finally:
            await storage.close()

    print(plain_text(asyncio.run(main())))
    return 0
