"""The command menu Telegram shows, in Russian and English; admins see theirs too."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.config import Settings
from bot.texts import t

log = logging.getLogger(__name__)

PUBLIC = [
    "start",
    "latest",
    "top",
    "search",
    "digest",
    "subscribe",
    "unsubscribe",
    "rates",
    "convert",
    "help",
]
ADMIN = ["stats", "delete", "senddigest"]


def commands(lang: str, *, admin: bool = False) -> list[BotCommand]:
    names = PUBLIC + (ADMIN if admin else [])
    return [BotCommand(command=name, description=t(lang, f"cmd_{name}")) for name in names]


async def set_commands(bot: Bot, settings: Settings) -> None:
    """Startup hook. Russian is the default; English for Telegram set to English."""
    await bot.set_my_commands(commands("ru"), scope=BotCommandScopeDefault())
    await bot.set_my_commands(commands("en"), scope=BotCommandScopeDefault(), language_code="en")
    for admin_id in settings.admin_ids:
        scope = BotCommandScopeChat(chat_id=admin_id)
        try:
            await bot.set_my_commands(commands("ru", admin=True), scope=scope)
            await bot.set_my_commands(commands("en", admin=True), scope=scope, language_code="en")
        except TelegramAPIError as error:
            # An admin who never opened a chat with the bot has no chat to scope to yet.
            log.warning("admin command menu not set admin_id=%s: %s", admin_id, error.message)
