"""Sending many messages within Telegram's limits: the one path for every bulk send.

- One shared pace for all senders, a notch under Telegram's ~30 messages per second.
- A 429 pauses every sender for retry_after, then the message is tried again.
- Each chat's own pace (one message a second, twenty a minute to a group or channel) is
  kept for every call by the bot's session: see bot/pace.py.
- 403 (blocked, deactivated, kicked) and 400 "chat not found" end delivery to that chat;
  network errors and 5xx are retried with backoff a bounded number of times, unless
  Telegram may have carried the message out (HTTP 200 with a body that cannot be read, a
  timeout after the request went out): that chat's message is then "in doubt", never
  sent again by itself (bot/telegram_errors.py).
- Several sends are in flight at once, so that network latency does not cap the rate.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.telegram_errors import TELEGRAM_ERRORS, safe_to_repeat, short
from storage.engine import STORAGE_ERRORS
from storage.turns import TurnRepository

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
MAX_RETRIES = 4
MAX_FLOOD_WAITS = 10

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Outcome(enum.StrEnum):
    SENT = "sent"
    #: The chat cannot receive messages from the bot any more (403, chat not found).
    GONE = "gone"
    FAILED = "failed"
    #: Telegram may have delivered it: not sent again.
    IN_DOUBT = "in doubt"
    #: Not sent here: `before_send` found it taken (by a run in another process).
    TAKEN = "taken"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    error: str | None = None
    value: object = None


@dataclass(frozen=True, slots=True)
class Job:
    chat_id: int
    #: Makes the API call(s) for this chat; its return value is kept in the Result.
    send: Callable[[Bot, int], Awaitable[object]]


#: Runs before a job's first request; False when the job is not the caller's to send.
BeforeSend = Callable[[Job], Awaitable[bool | None]]


class RateLimiter:
    """A steady pace shared by every sender, and a pause they all obey after a 429."""

    def __init__(
        self,
        rate: float | None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.interval = 0.0 if not rate else 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        until = self._monotonic() + seconds
        if until > self._paused_until:
            log.warning("flood control: all sending paused for %.0fs", seconds)
            self._paused_until = until

    async def wait(self) -> None:
        """Until the next send may go."""
        async with self._lock:
            while True:
                now = self._monotonic()
                ready = max(self._next, self._paused_until)
                if ready <= now:
                    slot = now
                    break
                await self._sleep(ready - now)
                if self._monotonic() >= max(self._next, self._paused_until):
                    # Slots are counted from when they were due, not from when the sleep
                    # happened to end, so oversleeping does not slow the pace.
                    slot = ready
                    break
            self._next = slot + self.interval


class SharedRateLimiter(RateLimiter):
    """The bulk pace of every process sending for the bot (several processes on
    PostgreSQL: storage/turns.py), on top of this process's own: a digest sent from two
    processes at once still goes out at `rate` in all."""

    def __init__(self, turns: TurnRepository, rate: float | None, **kwargs: Any) -> None:
        super().__init__(rate, **kwargs)
        self.turns = turns

    async def wait(self) -> None:
        await super().wait()
        if not self.interval:
            return
        try:
            delay = await self.turns.take(None, 0, self.interval)
        except STORAGE_ERRORS as error:
            log.warning("shared bulk pace unavailable, keeping this process's own: %s", error)
            return
        if delay > 0:
            await self._sleep(delay)


class Delivery:
    def __init__(
        self,
        bot: Bot,
        limiter: RateLimiter,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = MAX_RETRIES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.limiter = limiter
        self.concurrency = concurrency
        self.max_retries = max_retries
        self._sleep = sleep

    async def run(
        self,
        jobs: Iterable[Job],
        on_result: Callable[[Job, Result], Awaitable[None]],
        *,
        before_send: BeforeSend | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Send every job, at most `concurrency` at a time; report each as it ends.

        `before_send` runs just before a job's first request (to record it as in flight;
        False: the job is not this run's to send); once `stop` is set no new job starts,
        and those in flight finish.
        """
        queue = iter(jobs)

        async def worker() -> None:
            for job in queue:
                if stop is not None and stop.is_set():
                    return
                result = await self.send(job, before_send)
                await on_result(job, result)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    async def send(self, job: Job, before_send: BeforeSend | None = None) -> Result:
        attempts, flood_waits, started = 0, 0, False
        while True:
            await self.limiter.wait()
            if not started and before_send is not None and await before_send(job) is False:
                return Result(Outcome.TAKEN)
            started = True
            try:
                value = await job.send(self.bot, job.chat_id)
                return Result(Outcome.SENT, value=value)
            except TelegramRetryAfter as error:
                flood_waits += 1
                self.limiter.pause(error.retry_after)
                if flood_waits > MAX_FLOOD_WAITS:
                    return Result(Outcome.FAILED, f"flood control: {error.message}")
            except TelegramForbiddenError as error:
                return Result(Outcome.GONE, error.message)
            except (TelegramBadRequest, TelegramNotFound) as error:
                if "chat not found" in error.message.lower():
                    return Result(Outcome.GONE, error.message)
                return Result(Outcome.FAILED, error.message)
            except (
                TelegramServerError,
                TelegramNetworkError,
                ClientDecodeError,
                aiohttp.ClientError,
            ) as error:
                if not safe_to_repeat(error):
                    return Result(Outcome.IN_DOUBT, short(error))
                attempts += 1
                if attempts > self.max_retries:
                    return Result(Outcome.FAILED, f"{type(error).__name__}: {error}")
                delay = min(2.0**attempts * 0.25, 10.0)
                log.warning(
                    "send failed chat_id=%s attempt=%s retry_in=%.2fs: %s",
                    job.chat_id,
                    attempts,
                    delay,
                    error,
                )
                await self._sleep(delay)
            except TELEGRAM_ERRORS as error:
                # Any other refusal (a conflict, a file too large, a new kind of error): this
                # chat's message failed; the others go on.
                return Result(Outcome.FAILED, short(error))
