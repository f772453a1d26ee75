"""The command menu Telegram shows, in Russian and English; admins see theirs too."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.config import Settings
from bot.telegram_errors import TELEGRAM_ERRORS, short
from bot.texts import t

log = logging.getLogger(__name__)

PUBLIC = [
    "start",
    "latest",
    "top",
    "search",
    "follow",
    "following",
    "digest",
    "subscribe",
    "unsubscribe",
    "rates",
    "convert",
    "help",
]
ADMIN = ["stats", "delete", "senddigest", "mirror"]


def commands(lang: str, *, admin: bool = False) -> list[BotCommand]:
    names = PUBLIC + (ADMIN if admin else [])
    return [BotCommand(command=name, description=t(lang, f"cmd_{name}")) for name in names]


async def set_commands(bot: Bot, settings: Settings) -> None:
    """Startup hook. Russian is the default; English for Telegram set to English.

    The menu is a convenience: a failure to set it is logged and the bot starts anyway.
    """
    menus: list[
        tuple[list[BotCommand], BotCommandScopeDefault | BotCommandScopeChat, str | None]
    ] = [
        (commands("ru"), BotCommandScopeDefault(), None),
        (commands("en"), BotCommandScopeDefault(), "en"),
    ]
    for admin_id in settings.admin_ids:
        admin_scope = BotCommandScopeChat(chat_id=admin_id)
        menus.append((commands("ru", admin=True), admin_scope, None))
        menus.append((commands("en", admin=True), admin_scope, "en"))
    for menu, scope, language in menus:
        try:
            await bot.set_my_commands(menu, scope=scope, language_code=language)
        except TELEGRAM_ERRORS as error:
            # E.g. an admin who never opened a chat with the bot has no chat to scope to,
            # or a proxy answered with its own error page.
            log.warning(
                "command menu not set scope=%s language=%s: %s", scope.type, language, short(error)
            )
