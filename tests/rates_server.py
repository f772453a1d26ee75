"""A National Bank of Kazakhstan rates feed on 127.0.0.1 that misbehaves on demand.

It serves the real captures in tests/data/nbk/ over real HTTP: `/rss/rates_all.xml`
(whatever `current` holds) and `/rss/get_rates.cfm?fdate=DD.MM.YYYY` (the capture of that
day, or the bank's "no data" document). `script()` queues misbehaviour for the next
requests: a 500, a hang past the client's timeout, a body that trickles in for ever, HTML,
an empty or cut-off body. `hold()` keeps every answer waiting until the test lets it go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.local_server import LocalServer

DATA = Path(__file__).parent / "data" / "nbk"
RSS_2016 = "rates_all_2016-04-18.xml"
DAYS = ("01.04.2026", "02.04.2026", "03.04.2026")

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><h1>Service Temporarily Unavailable</h1><p>Please try later.</p></body></html>"
)
NO_DATA = (
    "<?xml version='1.0' encoding='utf-8'?><rates><date>{date}</date>"
    "<info>No data for this date</info></rates>"
)


def capture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def day_capture(day: str) -> bytes:
    return capture(f"get_rates_{day}.xml")


@dataclass(frozen=True)
class Misbehaviour:
    """What to answer instead of the feed: a status, a body, or a hang."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/xml"
    hang: bool = False
    #: Send a byte of body this many seconds apart until the server stops: every read
    #: comes within any read timeout, and the body never ends.
    trickle: float = 0.0


ERROR_500 = Misbehaviour(status=500, body=b"Internal Server Error", content_type="text/plain")
NOT_FOUND = Misbehaviour(status=404, body=b"Not Found", content_type="text/plain")
HANG = Misbehaviour(hang=True)
TRICKLE = Misbehaviour(trickle=0.05)
HTML = Misbehaviour(body=HTML_PAGE, content_type="text/html")
EMPTY = Misbehaviour(body=b"")


def truncated(body: bytes) -> Misbehaviour:
    return Misbehaviour(body=body[: len(body) // 2])


def with_body(body: bytes | str) -> Misbehaviour:
    return Misbehaviour(body=body.encode() if isinstance(body, str) else body)


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class RatesServer(LocalServer):
    current: bytes = field(default_factory=lambda: capture(RSS_2016))
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _queue: deque[Misbehaviour] = field(default_factory=deque)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def rates_url(self) -> str:
        return f"{self.url}/rss/rates_all.xml"

    @property
    def history_url(self) -> str:
        return f"{self.url}/rss/get_rates.cfm?fdate={{date}}"

    def script(self, *behaviours: Misbehaviour) -> None:
        """Answer the next requests with these, in order; then serve the feed again."""
        self._queue.extend(behaviours)

    async def wait_requests(self, count: int, within: float = 10) -> None:
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/rss/rates_all.xml", self._rates_all)
        app.router.add_get("/rss/get_rates.cfm", self._get_rates)

    async def _rates_all(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, self.current)

    async def _get_rates(self, request: web.Request) -> web.StreamResponse:
        day = request.query.get("fdate", "")
        path = DATA / f"get_rates_{day}.xml"
        body = path.read_bytes() if day in DAYS else NO_DATA.format(date=day).encode()
        return await self._answer(request, body)

    async def _answer(self, request: web.Request, body: bytes) -> web.StreamResponse:
        self.requests.append(Request(request.path, dict(request.query), dict(request.headers)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            async with self._arrived:
                self._arrived.notify_all()
            if self._gate is not None:
                await self._gate.wait()
            behaviour = self._queue.popleft() if self._queue else None
            if behaviour is None:
                return web.Response(body=body, content_type="application/xml", charset="utf-8")
            if behaviour.hang:
                # Longer than any client timeout in the tests; released when the server stops.
                await self._release.wait()
            if behaviour.trickle:
                return await self._trickle(request, behaviour.trickle)
            return web.Response(
                status=behaviour.status, body=behaviour.body, content_type=behaviour.content_type
            )
        finally:
            self.in_flight -= 1

    async def _trickle(self, request: web.Request, interval: float) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        # Until the server stops, or the client gives up and hangs up.
        with contextlib.suppress(ConnectionError):
            while not self._release.is_set():
                await response.write(b" ")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._release.wait()
        return response
