"""Long polling that confirms an update to Telegram only after it has been handled.

aiogram's own polling moves the offset past an update even when its handler failed, and
with handle_as_tasks it asks for the next batch before the current one is stored. Here an
update is fed to the dispatcher and awaited; only then does the next getUpdates carry an
offset past it. When storage cannot write (locked, disk full, read-only), the same update
is retried with backoff and never confirmed, so a crash or a fault loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update, User
from aiogram.utils.backoff import Backoff, BackoffConfig

from storage import StorageUnavailable

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=30.0, factor=1.6, jitter=0.1)
#: Asking Telegram again costs one request: after a long outage the bot notices within
#: seconds that it is back.
FETCH_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=5.0, factor=1.6, jitter=0.1)

#: Updates of different chats handled at once.
DEFAULT_CONCURRENCY = 16

#: Called once per update whose storage failed, e.g. to apologise to the user.
StorageFailureHook = Callable[[Bot, Update], Awaitable[None]]


class Poller:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        allowed_updates: Sequence[str],
        timeout: int = 30,
        backoff: BackoffConfig = DEFAULT_BACKOFF,
        on_storage_failure: StorageFailureHook | None = None,
        workflow_data: dict[str, Any] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.concurrency = concurrency
        self.dispatcher = dispatcher
        self.bot = bot
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self.backoff_config = backoff
        self.on_storage_failure = on_storage_failure
        self.workflow_data = workflow_data or {}
        self._stop = asyncio.Event()
        self.offset: int | None = None

    def stop(self) -> None:
        """Finish the update in hand, confirm what was handled, and return from run()."""
        if not self._stop.is_set():
            log.info("stopping: finishing the update in progress")
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def connect(self) -> User | None:
        """Reach the Bot API, retrying while it is unreachable; None if stopped first.

        Also removes a webhook left from an earlier deployment, which would make
        getUpdates fail. A rejected token is not retried: TelegramUnauthorizedError.
        """
        backoff = Backoff(self.backoff_config)
        while not self.stopping:
            try:
                me: User | None = await self._until_stopped(self.bot.me())
                if me is not None:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                return me
            except TelegramUnauthorizedError:
                raise
            except Exception as error:  # noqa: BLE001 - network or API fault: retry
                delay = next(backoff)
                log.warning(
                    "Bot API unreachable error=%s: %s retry_in=%.1fs",
                    type(error).__name__,
                    error,
                    delay,
                )
                await self._sleep(delay)
        return None

    async def run(self) -> None:
        try:
            while not self.stopping:
                updates = await self._fetch()
                if updates:
                    await self._handle_batch(updates)
        finally:
            await self._confirm()

    async def _handle_batch(self, updates: list[Update]) -> None:
        """Handle a batch, chats side by side and each chat's updates in order; then move
        the offset past the longest run of handled updates from the batch's start.

        One slow answer (a rates feed timing out, say) then holds up only its own chat
        within the batch; the next batch is asked for when the whole batch is done.
        An update handled after a gap is confirmed with the gap; if the process dies first,
        Telegram sends it again and storage recognises it.
        """
        lanes: dict[object, list[Update]] = {}
        for update in updates:
            lanes.setdefault(lane_of(update), []).append(update)
        handled: set[int] = set()
        slots = asyncio.Semaphore(self.concurrency)

        async def lane(queue: list[Update]) -> None:
            for update in queue:
                if self.stopping:
                    return
                async with slots:
                    if not await self._handle(update):
                        return
                handled.add(update.update_id)

        await asyncio.gather(*(lane(queue) for queue in lanes.values()))
        for update in sorted(updates, key=lambda u: u.update_id):
            if update.update_id not in handled:
                break
            self.offset = update.update_id + 1

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stop() is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _until_stopped(self, call: Awaitable[Any]) -> Any:
        """Await a call unless stop() comes first; then cancel it and return None."""
        task = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()  # the whole bot is being torn down: leave no request behind
            raise
        finally:
            stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return None
        return task.result()

    async def _fetch(self) -> list[Update]:
        backoff = Backoff(FETCH_BACKOFF)
        while not self.stopping:
            method = GetUpdates(
                offset=self.offset, timeout=self.timeout, allowed_updates=self.allowed_updates
            )
            try:
                updates: list[Update] | None = await self._until_stopped(
                    self.bot(method, request_timeout=self.timeout + 30)
                )
            except TelegramRetryAfter as error:
                log.warning("getUpdates: flood control, retry_after=%s", error.retry_after)
                await self._sleep(error.retry_after)
                continue
            except Exception as error:  # noqa: BLE001 - any network or API fault: retry
                delay = next(backoff)
                log.warning(
                    "getUpdates failed error=%s: %s retry_in=%.1fs",
                    type(error).__name__,
                    error,
                    delay,
                )
                await self._sleep(delay)
                continue
            return updates or []
        return []

    async def _handle(self, update: Update) -> bool:
        """Feed one update to the dispatcher; False if stopped before it was handled."""
        backoff = Backoff(self.backoff_config)
        told = False
        while True:
            try:
                result = await self.dispatcher.feed_update(self.bot, update, **self.workflow_data)
                if isinstance(result, TelegramMethod):
                    await self.dispatcher.silent_call_request(self.bot, result)
                return True
            except StorageUnavailable as error:
                delay = next(backoff)
                log.error(
                    "storage unavailable, update kept unconfirmed update_id=%s error=%s "
                    "retry_in=%.1fs",
                    update.update_id,
                    error,
                    delay,
                )
                if not told and self.on_storage_failure is not None:
                    told = True
                    try:
                        await self.on_storage_failure(self.bot, update)
                    except Exception:  # noqa: BLE001 - an apology must never stop polling
                        log.warning("could not tell the user about a storage failure")
                if self.stopping:
                    return False
                await self._sleep(delay)
                if self.stopping:
                    return False
            except Exception:
                # A bug in a handler: retrying would fail the same way forever. The errors
                # router has already answered the user where it could.
                log.exception("update failed and was skipped update_id=%s", update.update_id)
                return True

    async def _confirm(self) -> None:
        """Tell Telegram which updates are handled, so a restart does not see them again."""
        if self.offset is None:
            return
        try:
            await self.bot(GetUpdates(offset=self.offset, timeout=0, limit=1))
        except Exception as error:  # noqa: BLE001 - unconfirmed ones are redelivered, deduplicated
            log.warning("could not confirm handled updates: %s", error)


def lane_of(update: Update) -> object:
    """Updates that must keep their order share a lane: those of one chat (a channel's
    post and its edit, a reader's command and their button press)."""
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is not None:
        return chat.id
    user = getattr(event, "from_user", None)
    if user is not None:
        return user.id
    return None
