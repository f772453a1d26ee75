"""The lifecycle the tests' feed servers share: an aiohttp app on 127.0.0.1, on a port the
system picks, whose held answers all go when it stops.

A subclass adds its routes (`routes()`) and answers; in its handlers, `_gate` (set by
`hold()`) keeps every answer waiting, and `_release` ends a hang when the server stops.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web


# kw_only: these fields go after a subclass's own in its __init__, so the subclass's
# fields keep their places as positional arguments.
@dataclass(kw_only=True)
class LocalServer(ABC):
    url: str = ""
    _gate: asyncio.Event | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the server's handlers to `app`."""

    def hold(self) -> asyncio.Event:
        """Keep responses waiting until the returned event is set."""
        self._gate = asyncio.Event()
        return self._gate

    async def start(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        # Let held and hanging handlers answer first: cleanup waits for them (up to
        # shutdown_timeout), and would otherwise spend that second and then cancel them.
        self._release.set()
        if self._gate is not None:
            self._gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
