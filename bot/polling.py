"""Long polling that never loses an update, and never lets one slow chat hold up others.

aiogram's own polling moves the offset past an update even when its handler failed, and
with handle_as_tasks it asks for the next batch before the current one is stored. Here
each batch is first kept in the database's inbox, in one transaction, and only then
confirmed to Telegram (by the next getUpdates). The updates are handled chat by chat,
each chat's in order and many chats at once, and an update leaves the inbox once it has
been handled. A crash at any moment leaves every update either unconfirmed at Telegram
(which sends it again) or in the inbox (handled first at the next start).

Because a batch is safe before it is handled, the next one is fetched at once: a reader
who waits for their chat's turn (Telegram allows one message a second per chat), for a
flood wait or for a slow rates feed holds up nobody else.

When storage cannot write (locked, disk full, read-only), an update is retried with
backoff and stays in the inbox; when the inbox itself cannot be written, the batch is
handled before it is confirmed, as a batch, so nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update, User
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.backoff import Backoff, BackoffConfig
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from bot.clock import wait_set
from bot.pace import holding
from bot.telegram_errors import short
from storage import Inbox, StorageUnavailable

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=30.0, factor=1.6, jitter=0.1)
#: Asking Telegram again costs one request: after a long outage the bot notices within
#: seconds that it is back.
FETCH_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=5.0, factor=1.6, jitter=0.1)

#: Updates of different chats handled at once (a chat waiting for its turn, a flood
#: wait or a slow feed does not count).
DEFAULT_CONCURRENCY = 16
#: Updates taken but not yet handled, at most; beyond that the bot stops asking.
DEFAULT_MAX_PENDING = 2000
#: While busy, handled updates leave the inbox in one write per this many, or this often.
CLEAR_BATCH = 100
CLEAR_DELAY = 0.2

#: An empty answer to getUpdates comes after the long poll's timeout. A server that answers
#: at once with nothing (some proxies, some local servers) is asked again no sooner than
#: this many seconds after the previous request went out: a few requests a second.
EMPTY_POLL_INTERVAL = 0.5

#: Called once per update whose storage failed, e.g. to apologise to the user.
StorageFailureHook = Callable[[Bot, Update], Awaitable[None]]


class GetRawUpdates(TelegramMethod[list[Any]]):
    """getUpdates whose answer is read as JSON objects, to be made into Updates one by one.

    aiogram's GetUpdates reads the whole batch at once, so one update it cannot read (a
    field missing, or of a type a newer Bot API sends) fails the batch, and the same batch
    comes back at every retry.
    """

    # Anything in the list, even what is not an object: each is judged on its own.
    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


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
        inbox: Inbox | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        empty_poll_interval: float = EMPTY_POLL_INTERVAL,
    ) -> None:
        self.empty_poll_interval = empty_poll_interval
        self.concurrency = concurrency
        self.inbox = inbox
        self.max_pending = max_pending
        self.dispatcher = dispatcher
        self.bot = bot
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self.backoff_config = backoff
        self.on_storage_failure = on_storage_failure
        self.workflow_data = workflow_data or {}
        self._stop = asyncio.Event()
        self.offset: int | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[object, deque[Update]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        #: Handled updates still in the inbox, and a wake-up for the task that clears them.
        self._done: list[int] = []
        self._done_added = asyncio.Event()
        #: Ids taken from the inbox at start: Telegram may send them again once.
        self._restored: set[int] = set()

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
        flusher = asyncio.create_task(self._clear_done()) if self.inbox is not None else None
        try:
            await self._restore()
            while not self.stopping:
                if self._pending >= self.max_pending:
                    self._room.clear()
                    await self._until_stopped(self._room.wait())
                    continue
                updates, aside = await self._fetch()
                if self._restored:
                    updates = [u for u in updates if u.update_id not in self._restored]
                    self._restored.clear()
                if not updates:
                    if aside:
                        self.offset = max(aside) + 1
                    continue
                if await self._keep(updates):
                    self.offset = max(u.update_id for u in updates) + 1
                    if aside:
                        self.offset = max(self.offset, max(aside) + 1)
                    for update in updates:
                        self._enqueue(update)
                else:
                    # Confirmed only once handled; what is queued goes first, to keep each
                    # chat's order.
                    await self._drain()
                    await self._handle_batch(updates, aside)
        except asyncio.CancelledError:
            for worker in self._workers:
                worker.cancel()  # torn down, not stopped: what is left waits in the inbox
            raise
        finally:
            await self._drain()
            if flusher is not None:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
                await self._flush_done()
            await self._confirm()

    async def _restore(self) -> None:
        """Queue what the inbox still holds from before a restart (or a crash)."""
        if self.inbox is None:
            return
        try:
            kept = await self.inbox.pending()
        except StorageUnavailable as error:
            log.error("could not read the inbox: %s", error)
            return
        for update_id, payload in kept:
            self._restored.add(update_id)
            try:
                update, why = self._read(json.loads(payload))
            except ValueError as error:
                update, why = None, short(error)
            if update is None:
                await self._set_aside(update_id, payload, why)
                continue
            self._enqueue(update)
        if kept:
            log.info("handling %s updates kept from before the start", len(kept))

    async def _keep(self, updates: list[Update]) -> bool:
        """Put a batch in the inbox; False if it could not be kept there."""
        if self.inbox is None:
            return False
        try:
            rows = [(u.update_id, _as_json(u)) for u in updates]
            await self.inbox.put(rows)
        except StorageUnavailable as error:
            log.warning("inbox unavailable, handling updates before confirming them: %s", error)
            return False
        except Exception:  # an update that cannot be written: the safe path below
            log.exception("could not keep updates in the inbox")
            return False
        return True

    def _enqueue(self, update: Update) -> None:
        key = lane_of(update)
        queue = self._lanes.get(key)
        if queue is None:
            queue = self._lanes[key] = deque()
            worker = asyncio.create_task(self._lane(key, queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(update)
        self._pending += 1
        self._idle.clear()

    async def _lane(self, key: object, queue: deque[Update]) -> None:
        """Handle one chat's updates in order, while there are any."""
        try:
            while queue and not self.stopping:
                update = queue[0]
                async with self._slots:
                    with holding(self._slots):
                        handled = await self._handle(update)
                if not handled:
                    return  # stopping: it stays in the inbox
                queue.popleft()
                self._pending -= 1
                self._room.set()
                if not self._pending:
                    self._idle.set()
                self._mark_done(update.update_id)
        finally:
            if self._lanes.get(key) is queue:
                del self._lanes[key]

    async def _drain(self) -> None:
        """Until every chat's queue is handled (or, when stopping, the updates in hand)."""
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    def _mark_done(self, update_id: int) -> None:
        if self.inbox is not None:
            self._done.append(update_id)
            self._done_added.set()

    async def _clear_done(self) -> None:
        """Remove handled updates from the inbox: at once when nothing else waits, and
        many in one write while busy (one write per update would halve the pace of
        storing posts). A crash meanwhile means at most CLEAR_DELAY of updates handled
        again, which storage recognises."""
        while True:
            await self._done_added.wait()
            self._done_added.clear()
            if self._pending and len(self._done) < CLEAR_BATCH:
                await wait_set(self._idle, CLEAR_DELAY)
            if not await self._flush_done():
                await asyncio.sleep(1.0)

    async def _flush_done(self) -> bool:
        if self.inbox is None or not self._done:
            return True
        ids, self._done = self._done, []
        try:
            await self.inbox.done(ids)
        except asyncio.CancelledError:
            self._done.extend(ids)  # cleared on the way out; clearing twice is harmless
            raise
        except StorageUnavailable as error:
            # Handled but still kept: handled again after a restart unless cleared first.
            log.warning("could not clear handled updates from the inbox: %s", error)
            self._done.extend(ids)
            self._done_added.set()
            return False
        return True

    async def _handle_batch(self, updates: list[Update], aside: Sequence[int] = ()) -> None:
        """Without the inbox: handle a batch, chats side by side and each chat's updates
        in order; then move the offset past the longest run of handled updates from the
        batch's start. The next batch is asked for when the whole batch is done.
        """
        lanes: dict[object, list[Update]] = {}
        for update in updates:
            lanes.setdefault(lane_of(update), []).append(update)
        handled: set[int] = set(aside)

        async def lane(queue: list[Update]) -> None:
            for update in queue:
                if self.stopping:
                    return
                async with self._slots:
                    with holding(self._slots):
                        if not await self._handle(update):
                            return
                handled.add(update.update_id)

        await asyncio.gather(*(lane(queue) for queue in lanes.values()))
        for update_id in sorted({*handled, *(u.update_id for u in updates)}):
            if update_id not in handled:
                break
            self.offset = update_id + 1

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stop() is called."""
        await wait_set(self._stop, seconds)

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

    async def _fetch(self) -> tuple[list[Update], list[int]]:
        """The next batch: the updates read, and the ids of those set aside unread."""
        backoff = Backoff(FETCH_BACKOFF)
        loop = asyncio.get_running_loop()
        while not self.stopping:
            method = GetRawUpdates(
                offset=self.offset, timeout=self.timeout, allowed_updates=self.allowed_updates
            )
            asked = loop.time()
            try:
                answer: list[Any] | None = await self._until_stopped(
                    self.bot(method, request_timeout=self.timeout + 30)
                )
            except TelegramRetryAfter as error:
                log.warning("getUpdates: flood control, retry_after=%s", error.retry_after)
                await self._sleep(error.retry_after)
                continue
            except Exception as error:  # noqa: BLE001 - any network or API fault: retry
                delay = next(backoff)
                log.warning("getUpdates failed error=%s retry_in=%.1fs", short(error, 300), delay)
                await self._sleep(delay)
                continue
            if not answer:
                # A long poll that came back empty at once: not a reason to ask again at once.
                await self._sleep(self.empty_poll_interval - (loop.time() - asked))
                return [], []
            return await self._read_batch(answer)
        return [], []

    async def _read_batch(self, answer: list[Any]) -> tuple[list[Update], list[int]]:
        """Updates read one by one; one that cannot be read is set aside (and confirmed
        with the rest of the batch)."""
        updates: list[Update] = []
        aside: list[int] = []
        for raw in answer:
            update, why = self._read(raw)
            if update is not None:
                updates.append(update)
                continue
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                log.error("getUpdates answered something without an update_id, skipped: %s", why)
                continue
            await self._set_aside(update_id, json.dumps(raw, ensure_ascii=True), why)
            aside.append(update_id)
        return updates, aside

    def _read(self, raw: Any) -> tuple[Update | None, str]:
        return read_update(raw, self.bot)

    async def _set_aside(self, update_id: int, payload: str, why: str) -> None:
        log.error(
            "update cannot be read, set aside in the table unreadable_updates "
            "update_id=%s error=%s",
            update_id,
            why,
        )
        if self.inbox is None:
            return
        try:
            await self.inbox.set_aside(update_id, payload, why)
        except StorageUnavailable as error:
            log.warning("could not keep the unreadable update update_id=%s: %s", update_id, error)

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
            except TelegramRetryAfter as error:
                # An answer's flood wait ran past its budget: handled again once it is over.
                delay = max(float(error.retry_after), next(backoff))
                log.warning(
                    "flood control, update kept for later update_id=%s retry_in=%.1fs",
                    update.update_id,
                    delay,
                )
                if self.stopping:
                    return False
                await self._sleep(delay)
                if self.stopping:
                    return False
            except StorageUnavailable as error:
                delay = next(backoff)
                log.error(
                    "storage unavailable, update kept for a retry update_id=%s error=%s "
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


def _as_json(update: Update) -> str:
    """The update as the Bot API sent it (its JSON field names, nothing added)."""
    try:
        return update.model_dump_json(exclude_unset=True, by_alias=True)
    except PydanticSerializationError:
        # Text with a lone surrogate (valid in the Bot API's escaped JSON) is not UTF-8:
        # written escaped instead.
        data = update.model_dump(mode="json", exclude_unset=True, by_alias=True)
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


def read_update(raw: Any, bot: Bot) -> tuple[Update | None, str]:
    """The update in Bot API JSON, or None and why it cannot be read: a field missing or of
    an unexpected type, or no kind of event this version knows (a newer Bot API's)."""
    try:
        update = Update.model_validate(raw, context={"bot": bot})
    except ValidationError as error:
        fields = (f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return None, "; ".join(fields)[:500]
    try:
        update.event_type  # noqa: B018 - raises for an update of no known kind
    except UpdateTypeLookupError:
        kinds = sorted(set(raw) - {"update_id"}) if isinstance(raw, dict) else []
        return None, f"no kind of update this version knows: {', '.join(kinds)}"[:500]
    return update, ""


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
