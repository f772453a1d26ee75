"""Answers that survive Telegram's short faults: flood control, a 5xx, a dropped connection.

aiogram sends a request once. When an answer meets flood control (429 with retry_after)
or a passing fault (a 5xx, a connection that could not be made, a proxy's HTML error
page), the handler would fail and the reader get an apology instead of the answer.
RetryAnswers, a client session middleware, asks again:

- TelegramRetryAfter: after each retry_after, for as long as MAX_FLOOD_WAIT seconds of
  waiting in all. That is about as long as a person waits for an answer before giving up
  on it, and it keeps a webhook request inside the minute Telegram waits for it. Past the
  budget the flood is not apologised into: the error goes up, and the update stays
  unhandled (in the inbox in polling mode, at Telegram in webhook mode, which is answered
  503) to be handled again once the flood is over. The chat waits meanwhile; the handler
  gives back its concurrency slot, so other chats do not.
- A request that Telegram did not carry out (an error status with or without a Bot API
  body: a 5xx, a proxy's page; a connection never made): after a short backoff, up to
  len(ERROR_BACKOFF) times.
- A request that Telegram may have carried out (HTTP 200 with a body that cannot be read;
  a timeout or a dropped connection after the request went out) is repeated only when a
  repeat cannot add a second message (an edit, answering a button). A message sent in
  doubt is not: AnswerInDoubt goes up, and the reader, who most likely has the answer,
  gets no apology either (see bot/telegram_errors.py).

Only answers are retried: the requests a handler makes while it handles an update, in
the task that handles it. AnswerScope, an outer update middleware, marks that task.
Everything else is left alone:

- getUpdates: the Poller has its own backoff and decides what is confirmed.
- Bulk sending (the digest, the mirror) goes through Delivery in tasks of its own.
  Delivery paces every sender and, on a 429, pauses them all; a retry underneath it would
  hide the 429 from it while the other senders kept running into the limit. A task that
  a handler starts (the /senddigest broadcast) inherits the context but is not the
  handler's task, so its requests are not retried either.
- Start-up calls and the Poller's own apology, which happen outside any update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

from bot.pace import idle
from bot.telegram_errors import safe_to_repeat, short

log = logging.getLogger(__name__)

#: Seconds of flood waits, in all, that one answer may spend.
MAX_FLOOD_WAIT = 30.0
#: A retry_after of 0 (or a missing one read as 0) still waits this long.
MIN_FLOOD_WAIT = 0.5
#: Seconds before each retry after a 5xx, a network fault or a body that is not JSON.
ERROR_BACKOFF = (0.5, 1.0, 2.0)

Sleep = Callable[[float], Awaitable[None]]

#: The task that is handling an update, set for the length of its handling.
_answering: ContextVar[asyncio.Task[Any] | None] = ContextVar("answering", default=None)


class AnswerInDoubt(Exception):
    """An answer that Telegram may have delivered, and that is not sent again."""

    def __init__(self, method: str, error: BaseException) -> None:
        super().__init__(f"{method}: {short(error)}")
        self.method = method


def answering() -> bool:
    """True in the task that is handling an update, while it does."""
    task = _answering.get()
    return task is not None and task is asyncio.current_task()


class AnswerScope(BaseMiddleware):
    """Outer update middleware: marks the current task as answering this update."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = _answering.set(asyncio.current_task())
        try:
            return await handler(event, data)
        finally:
            _answering.reset(token)


class RetryAnswers(BaseRequestMiddleware):
    """Client session middleware: retry an answer through flood control and short faults."""

    def __init__(
        self,
        *,
        max_flood_wait: float = MAX_FLOOD_WAIT,
        error_backoff: Sequence[float] = ERROR_BACKOFF,
        sleep: Sleep = idle,
    ) -> None:
        self.max_flood_wait = max_flood_wait
        self.error_backoff = tuple(error_backoff)
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == "getUpdates" or not answering():
            return await make_request(bot, method)
        errors = 0
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                delay = max(float(error.retry_after), MIN_FLOOD_WAIT)
                if waited + delay > self.max_flood_wait:
                    raise
                waited += delay
                reason = f"flood control retry_after={error.retry_after}"
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError) as error:
                if not safe_to_repeat(error, method):
                    log.warning(
                        "answer may have arrived, not sent again method=%s error=%s",
                        method.__api_method__,
                        short(error),
                    )
                    raise AnswerInDoubt(method.__api_method__, error) from error
                if errors >= len(self.error_backoff):
                    raise
                delay = self.error_backoff[errors]
                errors += 1
                reason = short(error)
            log.warning(
                "answer failed, retrying method=%s retry_in=%.1fs error=%s",
                method.__api_method__,
                delay,
                reason,
            )
            await self._sleep(delay)
