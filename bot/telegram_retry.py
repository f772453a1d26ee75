"""Answers that survive Telegram's short faults: flood control, a 5xx, a dropped connection.

aiogram sends a request once. When an answer meets flood control (429 with retry_after)
or a passing fault (a 5xx, a connection reset or timeout, a proxy's HTML error page), the
handler fails, the update is confirmed all the same, and the reader gets an apology
instead of the answer. RetryAnswers, a client session middleware, asks again a bounded
number of times:

- TelegramRetryAfter: after Telegram's retry_after, at most MAX_FLOOD_RETRIES times and
  MAX_FLOOD_WAIT seconds in all (longer, and the reader has given up). The chat waits
  meanwhile; the handler gives back its concurrency slot, so other chats do not.
- TelegramServerError, TelegramNetworkError, ClientDecodeError: after a short backoff.
  A fault on the way back may mean the first request went through, so a message can
  arrive twice; for an answer to a reader that is better than no answer.

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
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

from bot.pace import idle

log = logging.getLogger(__name__)

MAX_FLOOD_RETRIES = 3
#: Seconds of flood waits, in all, that one answer may spend.
MAX_FLOOD_WAIT = 30.0
#: Seconds before each retry after a 5xx, a network fault or a body that is not JSON.
ERROR_BACKOFF = (0.5, 1.0, 2.0)

Sleep = Callable[[float], Awaitable[None]]

#: The task that is handling an update, set for the length of its handling.
_answering: ContextVar[asyncio.Task[Any] | None] = ContextVar("answering", default=None)


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
        flood_retries: int = MAX_FLOOD_RETRIES,
        max_flood_wait: float = MAX_FLOOD_WAIT,
        error_backoff: Sequence[float] = ERROR_BACKOFF,
        sleep: Sleep = idle,
    ) -> None:
        self.flood_retries = flood_retries
        self.max_flood_wait = max_flood_wait
        self.error_backoff = tuple(error_backoff)
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates) or not answering():
            return await make_request(bot, method)
        floods = errors = 0
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                delay = float(error.retry_after)
                if floods >= self.flood_retries or waited + delay > self.max_flood_wait:
                    raise
                floods += 1
                waited += delay
                reason = f"flood control retry_after={error.retry_after}"
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError) as error:
                if errors >= len(self.error_backoff):
                    raise
                delay = self.error_backoff[errors]
                errors += 1
                reason = f"{type(error).__name__}: {error}"[:200]  # not a whole HTML page
            log.warning(
                "answer failed, retrying method=%s retry_in=%.1fs error=%s",
                method.__api_method__,
                delay,
                reason,
            )
            await self._sleep(delay)
