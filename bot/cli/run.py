"""`python -m bot run`: the bot itself (the default command).

Long polling, or a webhook server when WEBHOOK_URL is set: the environment alone decides.
The exit status is 0 only when the bot was stopped by SIGTERM or SIGINT; 2 when a setting
(the token, the webhook's address) was refused; 1 when anything else stopped it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiogram.exceptions import TelegramUnauthorizedError

from bot.config import Settings
from storage import StorageUnavailable

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run", help="run the bot (the default): long polling, or a webhook if WEBHOOK_URL is set"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_polling
    from bot.webhook import WebhookError, run_webhook

    try:
        if settings.webhook_url:
            asyncio.run(run_webhook(settings))
        else:
            asyncio.run(run_polling(settings))
    except TelegramUnauthorizedError:
        print(
            "BOT_TOKEN was refused by Telegram: check it with @BotFather (/token).",
            file=sys.stderr,
        )
        return 2
    except WebhookError as error:
        print(error, file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        # A failure still (systemd starts the bot again), told in one line.
        log.error("the bot cannot use its database (DATABASE_URL): %s", error)
        return 1
    except Exception:
        # Whatever stops the bot but a signal is a failure, so that a service manager
        # (systemd's Restart=on-failure) starts it again.
        log.exception("the bot stopped on an error")
        return 1
    return 0
