"""The loop behind the bot's durable background workers (the mirror, the topic alerts).

Both keep their work in the database and do it in passes: a pass when something is owed
(`wake()`), and one every tick anyway, so work whose time has come (an album that has
settled, the end of quiet hours) is not left waiting for a wake-up.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import ClassVar

from bot.clock import wait_set


class Worker(ABC):
    #: The asyncio task's name, as debugging tools and task dumps show it.
    task_name: ClassVar[str]
    #: The subclass's own logger and words, so a failed pass is logged as before.
    log: ClassVar[logging.Logger]
    failure_message: ClassVar[str]
    #: Pass again at once while a pass did some work, rather than waiting for the next
    #: wake-up or tick: for work that comes in bigger lots than one pass takes.
    drain: ClassVar[bool] = False

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def work_once(self) -> int:
        """Do what is due now; how much was handled (0 for nothing)."""

    @abstractmethod
    def tick_seconds(self) -> float:
        """How long to wait between passes when nothing wakes the worker.

        A method, not a constant: it reads the subclass's module setting when called, so
        tests can speed a worker up by patching that setting.
        """

    @abstractmethod
    async def prepare(self) -> None:
        """What to settle before the first pass (rows a crash left in flight, say)."""

    def wake(self) -> None:
        """Something is owed: pass now rather than at the next tick."""
        self._wake.set()

    async def start(self) -> None:
        """Settle, then pass until stopped; a stopped worker may be started again."""
        self._stop.clear()
        await self.prepare()
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        """Sends in flight finish; nothing new starts."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while await self.work_once() and self.drain and not self._stop.is_set():
                    pass
            except Exception:
                # A worker must outlive a bad moment (a locked database, say): the next
                # tick tries again.
                self.log.exception(self.failure_message)
            await wait_set(self._wake, self.tick_seconds())
