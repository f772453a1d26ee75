"""Each chat's pace, for every message the bot sends, whoever sends it.

Telegram lets a bot send about one message a second to one chat, and twenty a minute to
a group or channel; faster, and it answers 429 and makes the chat wait. A reader who
sends four commands in a second gets four answers a second apart, the first at once;
a digest, a mirrored copy and an answer to the same chat share the chat's turns.

While a task waits for its chat's turn it lets go of the concurrency slot it holds (the
Poller's), so that readers of other chats are answered meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    CopyMessage,
    CopyMessages,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessage,
    ForwardMessages,
    Response,
    SendAnimation,
    SendAudio,
    SendContact,
    SendDice,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendPoll,
    SendSticker,
    SendVenue,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from storage.engine import STORAGE_ERRORS
from storage.turns import TurnRepository

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limit:
    #: Seconds between two messages to the chat.
    gap: float
    #: At most `burst` messages within `window` seconds (0: no such bound).
    burst: int = 0
    window: float = 0.0


#: Two requests sent a second apart may arrive a little closer: a margin on every wait.
MARGIN = 0.1
PRIVATE = Limit(gap=1.0 + MARGIN)
GROUP = Limit(gap=1.0 + MARGIN, burst=20, window=60.0 + MARGIN)

#: Calls that put a message into a chat or change one there.
PACED: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendVideo,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendVoice,
    SendVideoNote,
    SendSticker,
    SendMediaGroup,
    SendLocation,
    SendVenue,
    SendContact,
    SendPoll,
    SendDice,
    CopyMessage,
    CopyMessages,
    ForwardMessage,
    ForwardMessages,
    EditMessageText,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
)

#: Chats not written to for this long are forgotten.
_FORGET_AFTER = 120.0
_SWEEP_ABOVE = 4096

#: The concurrency slot a task holds, and the task: tasks started meanwhile inherit the
#: context, but not the slot.
_holding: ContextVar[tuple[asyncio.Task[Any] | None, asyncio.Semaphore] | None] = ContextVar(
    "holding", default=None
)


@contextmanager
def holding(slot: asyncio.Semaphore) -> Iterator[None]:
    """Mark the current task as holding `slot` (acquired by the caller) meanwhile."""
    token = _holding.set((asyncio.current_task(), slot))
    try:
        yield
    finally:
        _holding.reset(token)


async def idle(seconds: float) -> None:
    """Sleep without holding the current task's concurrency slot."""
    held = _holding.get()
    if held is None or held[0] is not asyncio.current_task():
        await asyncio.sleep(seconds)
        return
    slot = held[1]
    slot.release()
    try:
        await asyncio.sleep(seconds)
    finally:
        await slot.acquire()


def messages_in(method: TelegramMethod[Any]) -> int:
    """How many messages a call puts into its chat (an album is several)."""
    if isinstance(method, SendMediaGroup):
        return len(method.media)
    if isinstance(method, CopyMessages | ForwardMessages):
        return len(method.message_ids)
    return 1


class ChatPace:
    def __init__(
        self,
        *,
        private: Limit | None = None,
        group: Limit | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = idle,
    ) -> None:
        # Read when built, not when defined, so that tests can set the module's limits.
        self.private = private or PRIVATE
        self.group = group or GROUP
        self._monotonic = monotonic
        self._sleep = sleep
        self._turns: dict[int | str, deque[float]] = {}
        self._swept = 0.0

    def limit_of(self, chat_id: int | str) -> Limit:
        return self.private if isinstance(chat_id, int) and chat_id > 0 else self.group

    def reserve(self, chat_id: int | str, messages: int = 1) -> float:
        """Take the chat's next turn for `messages` messages sent at once; return the
        seconds until that turn comes (0: now)."""
        limit = self.limit_of(chat_id)
        now = self._monotonic()
        self._sweep(now)
        turns = self._turns.get(chat_id)
        if turns is None:
            turns = self._turns[chat_id] = deque(maxlen=max(limit.burst, 1))
        turn = now
        if turns:
            turn = max(turn, turns[-1] + limit.gap)
        if limit.burst and len(turns) + messages > limit.burst:
            # The message that would be one too many in the window waits for it to pass.
            oldest_kept = turns[len(turns) + min(messages, limit.burst) - limit.burst - 1]
            turn = max(turn, oldest_kept + limit.window)
        for _ in range(min(messages, turns.maxlen or 1)):
            turns.append(turn)
        return turn - now

    def sent(self, chat_id: int | str) -> None:
        """The chat's last message has been sent and answered: the next one's gap counts
        from now. A request that sat waiting for the CPU or a connection after its turn
        then cannot bring the next one closer to it than the gap."""
        turns = self._turns.get(chat_id)
        if turns:
            turns[-1] = max(turns[-1], self._monotonic())

    async def wait(self, chat_id: int | str, messages: int = 1) -> None:
        delay = self.reserve(chat_id, messages)
        if delay > 0:
            await self._sleep(delay)

    def _sweep(self, now: float) -> None:
        if len(self._turns) <= _SWEEP_ABOVE or now - self._swept < _FORGET_AFTER / 2:
            return
        self._swept = now
        for chat_id in [c for c, t in self._turns.items() if t[-1] < now - _FORGET_AFTER]:
            del self._turns[chat_id]

    async def flooded(self, seconds: float) -> None:
        """Telegram answered 429: the senders that share this pace elsewhere hold back too
        (this process's own senders obey the answer where they get it)."""

    def middleware(self) -> PaceMiddleware:
        return PaceMiddleware(self)


class SharedPace(ChatPace):
    """Each chat's pace, kept across every process sending for the bot (in PostgreSQL:
    storage/turns.py), on top of this process's own (which keeps a group's twenty-a-minute
    bursts). A 429 holds every process back for its retry_after. The overall pace of bulk
    sends is Delivery's (bot/services/delivery.py SharedRateLimiter), as in one process.
    """

    def __init__(self, turns: TurnRepository, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.turns = turns
        self._forgotten = 0.0

    async def wait(self, chat_id: int | str, messages: int = 1) -> None:
        await super().wait(chat_id, messages)
        try:
            delay = await self.turns.take(str(chat_id), self.limit_of(chat_id).gap * messages, 0)
            now = self._monotonic()
            if now - self._forgotten > _FORGET_AFTER:
                self._forgotten = now
                await self.turns.forget(_FORGET_AFTER)
        except STORAGE_ERRORS as error:
            # The database is away for a moment: this process's own pace still holds, and
            # a message is not held back (or lost) for want of the shared one.
            log.warning("shared pace unavailable, keeping this process's own: %s", error)
            return
        if delay > 0:
            await self._sleep(delay)

    async def flooded(self, seconds: float) -> None:
        try:
            await self.turns.hold(seconds)
        except STORAGE_ERRORS as error:
            log.warning("could not share a flood wait of %ss: %s", seconds, error)


class PaceMiddleware(BaseRequestMiddleware):
    """Client session middleware: each message waits for its chat's turn."""

    def __init__(self, pace: ChatPace) -> None:
        self.pace = pace

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        if not isinstance(method, PACED) or not isinstance(chat_id, int | str):
            return await make_request(bot, method)
        await self.pace.wait(chat_id, messages_in(method))
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            await self.pace.flooded(error.retry_after)
            raise
        finally:
            self.pace.sent(chat_id)
