"""One process of several runs the background work: the digest schedule, the mirror and
the topic alerts.

Every process answers readers and stores posts; the workers that send on their own run
where the "workers" lease is held (a PostgreSQL advisory lock on a connection of its
own). When that process ends, however it ends, the server lets the lock go and another
process takes the lease within LEADER_RETRY_SECONDS; it first settles what the last
holder left in flight (never sent again: see the ledgers), then carries on. With SQLite,
one process holds it from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from storage import Database
from storage.engine import STORAGE_ERRORS, Lease

log = logging.getLogger(__name__)

LEASE = "workers"
#: How often a process without the lease asks for it, and the holder checks it still has it.
LEADER_RETRY_SECONDS = 2.0


class Role:
    """What the lease holder runs: started on gaining the lease, stopped on losing it."""

    def __init__(
        self,
        start: Sequence[Callable[[], Awaitable[None]]],
        stop: Sequence[Callable[[], Awaitable[None]]],
    ) -> None:
        self.start = start
        self.stop = stop


class Leader:
    def __init__(self, db: Database, role: Role, *, name: str = LEASE) -> None:
        self.db = db
        self.role = role
        self.name = name
        self._lease: Lease | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        #: Set while this process runs the role.
        self.leading = asyncio.Event()

    async def start(self) -> None:
        """Take the lease if it is free, and start the role before returning (so that a
        single process is fully started when its start-up ends); then keep watching."""
        await self._try_take()
        self._task = asyncio.create_task(self._watch(), name=f"lease-{self.name}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._give_up()

    async def _try_take(self) -> None:
        try:
            lease = await self.db.try_lease(self.name)
        except STORAGE_ERRORS as error:
            log.warning("cannot ask for the %s lease now: %s", self.name, error)
            return
        if lease is None:
            return
        self._lease = lease
        log.info("this process now runs the %s", self.name)
        try:
            for start in self.role.start:
                await start()
        except Exception:
            # A database that fails at this moment: give the lease back and ask again.
            log.exception("starting the %s failed", self.name)
            await self._give_up()
            return
        self.leading.set()

    async def _give_up(self) -> None:
        if self._lease is None:
            return
        self.leading.clear()
        for stop in self.role.stop:
            try:
                await stop()
            except Exception:
                log.exception("stopping the %s failed", self.name)
        lease, self._lease = self._lease, None
        await lease.release()

    async def _watch(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(LEADER_RETRY_SECONDS)
            if self._lease is None:
                await self._try_take()
            elif not await self._lease.alive():
                log.warning("lost the %s lease (database connection): stopping them", self.name)
                await self._give_up()
