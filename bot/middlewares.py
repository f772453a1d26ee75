"""Values computed per update and handed to handlers by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.texts import language_of


class LanguageMiddleware(BaseMiddleware):
    """`lang`: "ru" or "en", from the Telegram language of whoever sent the update."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        data["lang"] = language_of(user.language_code if user else None)
        return await handler(event, data)
