"""What every outside source of numbers shares: one fetch for many readers, a reader's
budget, and a bounded download.

Used by the official rates (bot/services/rates.py) and the exchange offices' quotes
(bot/services/market/). A reader must never wait on a slow site longer than
READER_BUDGET_SECONDS, and a hundred readers at once must cause one request.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")

#: A reader (/rates, /convert, /rates chart, a digest) has an answer within this many
#: seconds whatever the sources do: fresh numbers when the fetch is done by then, otherwise
#: the stored ones with their date and a note that they may be out of date.
READER_BUDGET_SECONDS = 5.0
#: Kept out of the budget for what follows the wait: reading the stored numbers and
#: sending the answer.
ANSWER_MARGIN_SECONDS = 1.0
#: How long a reader waits for a fetch in flight.
READER_WAIT_SECONDS = READER_BUDGET_SECONDS - ANSWER_MARGIN_SECONDS
#: A whole fetch (every attempt, the pauses between them and the body) gives up after
#: this long. httpx's timeouts bound each read, not the total: a site that sends a byte
#: every few seconds would otherwise hold the next fetch for ever.
#: Above the worst case of the attempts themselves (3 × 10 s reads + 1.5 s of backoff).
FETCH_DEADLINE_SECONDS = 45.0
#: 429 and 5xx may pass; a 404 or 403 will not by asking again.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class BodyTooLarge(ValueError):
    """The answer is larger than the source ever is: not it, and not read into memory."""


class SharedFetch(Generic[T]):
    """A fetch run as a task of its own that every reader who asks meanwhile shares.

    Each reader waits for it only until the same moment, `reader_wait` seconds after the
    fetch began: a slow site costs the first reader the wait and the ones after it nothing.
    Past that `join` returns None, and the fetch goes on for whoever asks next.
    """

    def __init__(self, name: str, reader_wait: float, log: logging.Logger) -> None:
        self.name = name
        self.reader_wait = reader_wait
        self._log = log
        #: The fetch in flight (or the last one).
        self._task: asyncio.Task[T] | None = None
        #: Event-loop time after which readers stop waiting for `_task`.
        self._wait_until = -math.inf
        self._told_slow = False

    async def join(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T | None:
        """The answer of the fetch in flight, or of a new one of `work`; None when it did
        not come within the wait (or was cancelled)."""
        task = self._task
        if task is None or task.done():
            task = self._start(work)
        # asyncio.wait leaves the task running on a timeout.
        remaining = self._wait_until - asyncio.get_running_loop().time()
        if not task.done() and remaining > 0:
            await asyncio.wait({task}, timeout=remaining)
        if task.done() and not task.cancelled():
            return task.result()
        if not self._told_slow:
            self._told_slow = True
            self._log.warning(
                "%s: no answer within %.1fs; serving stored numbers while the fetch goes on",
                self.name,
                self.reader_wait,
            )
        return None

    def _start(self, work: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
        self._wait_until = asyncio.get_running_loop().time() + self.reader_wait
        self._told_slow = False
        # Kept in self._task: the loop holds tasks only weakly.
        self._task = asyncio.create_task(work(), name=self.name)
        return self._task

    async def aclose(self) -> None:
        """Stop a fetch still in flight: at shutdown, before the HTTP client closes."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            # asyncio.wait, not `await task`: the task's CancelledError is not ours.
            await asyncio.wait({task})


async def download(
    http: httpx.AsyncClient,
    url: str,
    *,
    attempts: int,
    backoff: float,
    read_timeouts: httpx.Timeout,
    max_bytes: int,
    sleep: Callable[[float], Awaitable[None]],
    log: logging.Logger,
    name: str,
) -> bytes:
    """One body, asked up to `attempts` times when the error may pass (a 5xx, a reset).

    `read_timeouts` bound each connect and read; the caller bounds the whole with its
    deadline. Raises httpx.HTTPError for the last failure and BodyTooLarge past
    `max_bytes`.
    """
    for attempt in range(attempts):
        if attempt:
            await sleep(backoff * 2 ** (attempt - 1))
        try:
            return await _get(http, url, read_timeouts, max_bytes)
        except (httpx.TransportError, httpx.HTTPStatusError) as error:
            retryable = not isinstance(error, httpx.HTTPStatusError) or (
                error.response.status_code in RETRY_STATUSES
            )
            if not retryable or attempt + 1 == attempts:
                raise
            log.info("%s: attempt %d of %s failed: %r", name, attempt + 1, url, error)
    raise AssertionError("unreachable")  # pragma: no cover


async def _get(
    http: httpx.AsyncClient, url: str, read_timeouts: httpx.Timeout, max_bytes: int
) -> bytes:
    # httpx's per-read timeouts; the caller's deadline bounds the whole.
    async with http.stream("GET", url, timeout=read_timeouts) as response:
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise BodyTooLarge(f"body larger than {max_bytes} bytes")
        return bytes(body)
