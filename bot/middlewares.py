"""Values computed per update and handed to handlers by name."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from bot.commands import menu_fingerprint, refresh_chat_commands
from bot.config import Settings
from bot.texts import LANGUAGES, i18n, language_of
from storage import ReaderRepository, StorageUnavailable

log = logging.getLogger(__name__)


class LanguageMiddleware(I18nMiddleware):
    """`lang`, the language to answer in: the one the reader chose with /language, else
    their Telegram app's (kk → Kazakh; ru, uk, be → Russian; any other → English), else
    Russian. aiogram's i18n context is set to it as well."""

    def __init__(self, readers: ReaderRepository) -> None:
        super().__init__(i18n)
        self.readers = readers

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return language_of(None)
        try:
            found = await self.readers.languages(user.id)
        except StorageUnavailable as error:
            # The answer may still be possible (rates come from their source): in the
            # language of the reader's app rather than none.
            log.warning("reader's language not read user_id=%s: %s", user.id, error)
            return language_of(user.language_code)
        if found.chosen in LANGUAGES:
            settings: Settings = data["settings"]
            admin = settings.is_admin(user.id)
            if found.menu != menu_fingerprint(found.chosen, admin=admin):
                # The menu set when they chose is not this release's: set it anew.
                try:
                    await refresh_chat_commands(
                        data["bot"], self.readers, user.id, found.chosen, admin=admin
                    )
                except StorageUnavailable as error:
                    log.warning("reader's menu not recorded user_id=%s: %s", user.id, error)
            return found.chosen
        lang = language_of(user.language_code)
        if {found.digest, found.alerts} - {None, lang}:
            # A reader who never chose gets their digest and alerts in their app's
            # language as it is now: it may have changed since they subscribed, or they
            # subscribed before the bot spoke it.
            try:
                await self.readers.follow_app_language(user.id, lang, now=int(time.time()))
            except StorageUnavailable as error:
                log.warning("reader's language not written user_id=%s: %s", user.id, error)
        return lang

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["lang"] = lang = await self.get_locale(event, data)
        data[self.middleware_key] = self
        with self.i18n.context(), self.i18n.use_locale(lang):
            return await handler(event, data)
