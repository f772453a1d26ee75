"""The command menu Telegram shows, in each of the bot's languages; admins see theirs too."""

from __future__ import annotations

import functools
import hashlib
import json
import logging

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.config import Settings
from bot.telegram_errors import TELEGRAM_ERRORS, short
from bot.texts import LANGUAGES, N_, menu_languages, t
from storage import ReaderRepository, Storage, StorageUnavailable

log = logging.getLogger(__name__)

#: Each command of the menu and the message id of its description.
PUBLIC = {
    "start": N_("cmd_start"),
    "latest": N_("cmd_latest"),
    "top": N_("cmd_top"),
    "search": N_("cmd_search"),
    "follow": N_("cmd_follow"),
    "following": N_("cmd_following"),
    "digest": N_("cmd_digest"),
    "subscribe": N_("cmd_subscribe"),
    "unsubscribe": N_("cmd_unsubscribe"),
    "rates": N_("cmd_rates"),
    "convert": N_("cmd_convert"),
    "language": N_("cmd_language"),
    "help": N_("cmd_help"),
}
ADMIN = {
    "stats": N_("cmd_stats"),
    "delete": N_("cmd_delete"),
    "senddigest": N_("cmd_senddigest"),
    "mirror": N_("cmd_mirror"),
}


def commands(lang: str, *, admin: bool = False) -> list[BotCommand]:
    names = PUBLIC | (ADMIN if admin else {})
    return [BotCommand(command=name, description=t(lang, key)) for name, key in names.items()]


@functools.cache
def menu_fingerprint(lang: str, *, admin: bool) -> str:
    """What a chat's menu in `lang` holds, in 16 hex digits: it changes when a release
    changes a command or a description."""
    menu = [(c.command, c.description) for c in commands(lang, admin=admin)]
    raw = json.dumps([lang, sorted(menu_languages(), key=str), menu], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


async def set_chat_commands(bot: Bot, chat_id: int, lang: str, *, admin: bool) -> bool:
    """One chat's menu in the language its reader chose, whatever their app's language:
    a chat's own menu wins over the default one, and the one for the app's language over
    the one for none, so each is set. False if Telegram refused one (logged)."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    menu = commands(lang, admin=admin)
    for language in menu_languages():
        try:
            await bot.set_my_commands(menu, scope=scope, language_code=language)
        except TELEGRAM_ERRORS as error:
            log.warning(
                "chat's command menu not set chat_id=%s language=%s: %s",
                chat_id,
                language,
                short(error),
            )
            return False
    return True


async def refresh_chat_commands(
    bot: Bot, readers: ReaderRepository, user_id: int, lang: str, *, admin: bool
) -> None:
    """Set the chosen language's menu in the reader's chat and remember which one it is."""
    if await set_chat_commands(bot, user_id, lang, admin=admin):
        await readers.menu_set(user_id, menu_fingerprint(lang, admin=admin))


async def set_descriptions(bot: Bot) -> None:
    """Startup hook: what the bot's profile and its empty chat say before /start, in the
    same languages as the menus. Like the menus, a convenience: failures are logged."""
    for language, written_in in menu_languages().items():
        try:
            await bot.set_my_description(
                description=t(written_in, "bot_description"), language_code=language
            )
            await bot.set_my_short_description(
                short_description=t(written_in, "bot_short_description"), language_code=language
            )
        except TELEGRAM_ERRORS as error:
            log.warning("bot description not set language=%s: %s", language, short(error))


async def set_commands(bot: Bot, settings: Settings, storage: Storage) -> None:
    """Startup hook: a menu in each of the bot's languages for Telegram apps set to it,
    and for every other app one in the language its reader is answered in.

    The menu is a convenience: a failure to set it is logged and the bot starts anyway.
    """
    scopes: list[BotCommandScopeDefault | BotCommandScopeChat] = [BotCommandScopeDefault()]
    for admin_id in settings.admin_ids:
        try:
            chosen = await storage.readers.language(admin_id)
        except StorageUnavailable as error:
            log.warning("admin's language not read admin_id=%s: %s", admin_id, error)
            chosen = None
        if chosen in LANGUAGES:
            await refresh_chat_commands(bot, storage.readers, admin_id, chosen, admin=True)
        else:
            scopes.append(BotCommandScopeChat(chat_id=admin_id))
    for scope in scopes:
        admin = isinstance(scope, BotCommandScopeChat)
        for language, written_in in menu_languages().items():
            menu = commands(written_in, admin=admin)
            try:
                await bot.set_my_commands(menu, scope=scope, language_code=language)
            except TELEGRAM_ERRORS as error:
                # E.g. an admin who never opened a chat with the bot has no chat to scope
                # to, or a proxy answered with its own error page.
                log.warning(
                    "command menu not set scope=%s language=%s: %s",
                    scope.type,
                    language,
                    short(error),
                )
