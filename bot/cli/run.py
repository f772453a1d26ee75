"""`python -m bot run`: the bot itself (the default command)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiogram.exceptions import TelegramUnauthorizedError

from bot.config import Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="run the bot (the default)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_polling

    if settings.webhook_url:
        print(
            "WEBHOOK_URL: webhook mode is not available in this version; unset it to use "
            "long polling.",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(run_polling(settings))
    except TelegramUnauthorizedError:
        print(
            "BOT_TOKEN: Telegram rejected the token. Check it with @BotFather (/token).",
            file=sys.stderr,
        )
        return 2
    return 0
