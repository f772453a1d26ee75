"""The HTTP session to the Bot API, with the request middlewares every call goes through."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.pace import ChatPace
from bot.telegram_errors import ReadingSession
from bot.telegram_retry import RetryAnswers


class KeepResponseTypes(BaseRequestMiddleware):
    """Keep every `Response[T]` aiogram builds to read an answer alive for good.

    aiogram reads each answer with `Response[method.__returning__]`, and pydantic keeps
    such a parametrised class only in a weak cache. The class sits in a reference cycle, so
    the garbage collector drops it every few hundred requests, and the next request builds
    it again: about 4 ms of CPU each time, a third of the bot's CPU under load. A strong
    reference here makes every later request find it in pydantic's cache.
    """

    def __init__(self) -> None:
        self._kept: dict[Any, Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._kept:
            self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)


def create_session(api_url: str, pace: ChatPace | None = None) -> ReadingSession:
    session = ReadingSession(api=TelegramAPIServer.from_base(api_url))
    session.middleware(KeepResponseTypes())
    # Answers to readers ride out 429s and short faults; bulk sends are Delivery's.
    session.middleware(RetryAnswers())
    if pace is not None:
        # Inside the retries: every attempt keeps to the chat's pace.
        session.middleware(pace.middleware())
    return session
