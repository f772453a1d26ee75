"""What a failed Bot API call means: one place for the bot's reading of Telegram's errors.

aiogram raises TelegramAPIError and its subclasses for Telegram's own error answers and for
network faults, but ClientDecodeError (not a TelegramAPIError) when the answer is not a
Bot API response at all: a proxy's HTML 502 page, a 500 without JSON, a body cut short.
Every place that handles Telegram's errors catches TELEGRAM_ERRORS, so neither kind can
escape it.

Whether a failed request may be sent again depends on whether Telegram may have carried it
out. It has not when it answered with an error status (a 429, a 4xx, a 5xx, a proxy's
error page) or when the connection was never made. It may have when the answer was HTTP
200 whatever its body, or when the request went out and the answer never came (a timeout,
a connection dropped after sending). A message sent again then may arrive twice, so a
request that puts a message in a chat is not repeated in those cases; one that changes
nothing when repeated (an edit, a getMe, setMyCommands, answering a button) may be.
"""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

#: Every error a Bot API call can raise that is Telegram's (or the way to it), not ours.
TELEGRAM_ERRORS: tuple[type[Exception], ...] = (TelegramAPIError, ClientDecodeError)

#: Methods whose repetition adds a message to a chat (a second copy of it).
_ADDS_A_MESSAGE = ("send", "copy", "forward")


class UnreadableAnswer(ClientDecodeError):
    """An answer that is not a Bot API response, with the HTTP status it came with."""

    def __init__(self, status: int, error: ClientDecodeError, method: TelegramMethod[Any]) -> None:
        super().__init__(error.message, error.original, error.data)
        self.status = status
        self.method = method

    def __str__(self) -> str:
        # Not the whole body: a proxy's error page would fill the log.
        return f"HTTP {self.status}, {self.message}: {str(self.data)[:120]!r}"


class ReadingSession(AiohttpSession):
    """aiogram's aiohttp session, whose decode errors also tell the HTTP status, and which
    reads a 429 without `parameters` (as Telegram answered until 2016, and as some Bot API
    servers still do) as flood control: aiogram would raise a plain TelegramAPIError, which
    nothing waits out."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as error:
            if isinstance(error, UnreadableAnswer):
                raise
            raise UnreadableAnswer(status_code, error, method) from error
        except TelegramRetryAfter:
            raise
        except TelegramAPIError as error:
            if status_code != HTTPStatus.TOO_MANY_REQUESTS:
                raise
            raise TelegramRetryAfter(
                method=method, message=error.message, retry_after=retry_after_in(error.message)
            ) from error


#: "Too Many Requests: retry after 3": the wait told in words only.
_RETRY_AFTER_WORDS = re.compile(r"retry after (\d+)", re.IGNORECASE)
#: The wait when a 429 tells none at all.
DEFAULT_RETRY_AFTER = 1


def retry_after_in(description: str) -> int:
    """Seconds to wait that a 429's description tells, or DEFAULT_RETRY_AFTER."""
    found = _RETRY_AFTER_WORDS.search(description)
    return min(int(found.group(1)), 3600) if found else DEFAULT_RETRY_AFTER


def may_have_been_carried_out(error: BaseException) -> bool:
    """Whether Telegram may have done what the failed request asked."""
    if isinstance(error, UnreadableAnswer):
        return HTTPStatus.OK <= error.status < HTTPStatus.MULTIPLE_CHOICES
    if isinstance(error, ClientDecodeError):
        return True  # no status known: assume the worst
    if isinstance(error, TelegramNetworkError):
        cause: Any = error.__cause__
        # Only a connection that was never made is sure not to have carried the request.
        return not isinstance(cause, aiohttp.ClientConnectorError)
    return isinstance(error, asyncio.TimeoutError | aiohttp.ServerDisconnectedError)


def adds_a_message(method: TelegramMethod[Any]) -> bool:
    """Whether repeating the method would put another message in a chat."""
    return method.__api_method__.startswith(_ADDS_A_MESSAGE)


def safe_to_repeat(error: BaseException, method: TelegramMethod[Any] | None = None) -> bool:
    """Whether the failed request may be sent again without a message arriving twice.

    The method is the error's own when it carries one; without either, assume it adds one.
    """
    method = method or getattr(error, "method", None)
    adds = method is None or adds_a_message(method)
    return not (adds and may_have_been_carried_out(error))


def refused_formatting(error: TelegramAPIError) -> bool:
    """Whether Telegram refused a message for its formatting ("can't parse entities: …",
    an entity out of bounds, an invalid custom emoji id), not for what it says."""
    text = error.message.lower()
    return "entities" in text or "entity" in text or "custom emoji" in text


def not_modified(error: TelegramAPIError) -> bool:
    """Whether Telegram refused an edit because the message already reads so (two quick
    taps on one button, an edit already made): nothing is wrong."""
    return "message is not modified" in error.message.lower()


def refused_length(error: TelegramAPIError) -> bool:
    """Whether Telegram refused a text or caption as too long: counted after parsing, so a
    formatted text can be refused where the same words unformatted would not be."""
    return "too long" in error.message.lower()


def short(error: BaseException, limit: int = 200) -> str:
    """`Type: message`, cut to fit a log line."""
    return f"{type(error).__name__}: {error}"[:limit]
