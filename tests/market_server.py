"""kurs.kz on 127.0.0.1: the real capture of Almaty's offices inside a page like kurs.kz's.

`/site/index?city=CITY` answers `pages[CITY]` (the Almaty capture for "almaty"; a city
without a page gets kurs.kz's page with an empty array). `script()` queues misbehaviour
for the next requests (see tests/rates_server.py), `hold()` keeps answers waiting.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.local_server import LocalServer
from tests.rates_server import Misbehaviour, Request

CAPTURE = Path(__file__).parent / "data" / "kurs" / "kurs-kz-almaty-2019-03-13-punkts.json"
#: The capture's newest quote: 2019-03-13 02:34:39 UTC, 08:34 in Almaty.
NEWEST = datetime.fromtimestamp(1552444479, UTC)
#: Half an hour after it, as the tests' clock: the capture's offices are current then.
NOW = datetime(2019, 3, 13, 3, 0, tzinfo=UTC)


def punkts() -> list[dict[str, Any]]:
    """The capture, with exact decimals (as the bot reads it)."""
    loaded: list[dict[str, Any]] = json.loads(CAPTURE.read_bytes(), parse_float=Decimal)
    return loaded


def page(array: bytes | str) -> bytes:
    """kurs.kz's page around `array`, with the noise a real page has around it."""
    if isinstance(array, str):
        array = array.encode()
    return (
        b'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
        b"<title>\xd0\x9a\xd1\x83\xd1\x80\xd1\x81\xd1\x8b \xd0\xb2\xd0\xb0\xd0\xbb\xd1\x8e\xd1"
        b"\x82 \xd0\xb2 \xd0\x90\xd0\xbb\xd0\xbc\xd0\xb0\xd1\x82\xd1\x8b</title>"
        b'<script src="/js/jquery.min.js"></script>'
        b"<script>var city = 'almaty'; var lang = 'ru'; window.dataLayer = [];</script>"
        b'</head><body><div id="map"></div><table class="punkts"></table>'
        b'<script>\nvar currencies = ["USD","EUR","RUB"];\nvar punkts = '
        + array
        + b";\nvar markers = []; function init() { for (var i in punkts) {} }\n</script>"
        b"<footer>&copy; kurs.kz</footer></body></html>"
    )


def dumps(offices: list[dict[str, Any]]) -> bytes:
    def number(value: object) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        raise TypeError(type(value).__name__)

    return json.dumps(offices, ensure_ascii=False, default=number).encode()


def capture_page() -> bytes:
    return page(CAPTURE.read_bytes())


@dataclass
class MarketServer(LocalServer):
    pages: dict[str, bytes] = field(default_factory=lambda: {"almaty": capture_page()})
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    _queue: deque[Misbehaviour] = field(default_factory=deque)

    @property
    def market_url(self) -> str:
        return f"{self.url}/site/index?city={{city}}"

    def cities_asked(self) -> list[str]:
        return [r.query.get("city", "") for r in self.requests]

    def script(self, *behaviours: Misbehaviour) -> None:
        self._queue.extend(behaviours)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/site/index", self._index)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Request(request.path, dict(request.query), dict(request.headers)))
        self.in_flight += 1
        try:
            if self._gate is not None:
                await self._gate.wait()
            behaviour = self._queue.popleft() if self._queue else None
            if behaviour is None:
                body = self.pages.get(request.query.get("city", ""), page(b"[]"))
                return web.Response(body=body, content_type="text/html", charset="utf-8")
            if behaviour.hang:
                await self._release.wait()
            return web.Response(
                status=behaviour.status, body=behaviour.body, content_type=behaviour.content_type
            )
        finally:
            self.in_flight -= 1
