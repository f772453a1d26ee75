"""Exchange offices' market rates: the kurs.kz parser, the rule of which quotes count, and
the service against a real HTTP server on 127.0.0.1 serving the real capture in a page."""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.app import USER_AGENT, create_http_client
from bot.services.market import MarketService, SourceError, market_rate, market_rates
from bot.services.market.cities import city_slug
from bot.services.market.compute import MIN_OFFICES, OUTLIER_BAND, usable
from bot.services.market.kurskz import parse_page
from bot.services.market.sources import Office, Quote
from storage import Storage
from storage.market import MarketRepository
from tests.conftest import eventually
from tests.market_server import NOW, MarketServer, capture_page, dumps, page, punkts
from tests.rates_server import ERROR_500, HANG, HTML, NOT_FOUND, with_body

TWELVE_HOURS = timedelta(hours=12)
QUICK_WAIT = 0.3


# -- what the capture says, computed here from the JSON alone ----------------------------


def _when(office: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(office["actualTime"], UTC)


def retail_current(now: datetime, max_age: timedelta) -> list[dict[str, Any]]:
    return [
        o
        for o in punkts()
        if o["wholesale"] is False and o["actual"] is True and now - max_age <= _when(o) <= now
    ]


def expected(code: str, now: datetime = NOW, max_age: timedelta = TWELVE_HOURS) -> dict[str, Any]:
    offices = retail_current(now, max_age)
    buys = [(o, Decimal(o["data"][code][0])) for o in offices if o["data"][code][0] != 0]
    sells = [(o, Decimal(o["data"][code][1])) for o in offices if o["data"][code][1] != 0]
    best_buy = max(buys, key=lambda pair: (pair[1], pair[0]["actualTime"]))
    best_sell = min(sells, key=lambda pair: (pair[1], -pair[0]["actualTime"]))
    return {
        "buy": statistics.median(price for _, price in buys),
        "sell": statistics.median(price for _, price in sells),
        "offices": len({o["id"] for o, _ in buys + sells}),
        "spread": max(p for _, p in buys + sells) / min(p for _, p in buys + sells),
        "best_buy": (" ".join(best_buy[0]["name"].split()), best_buy[1]),
        "best_sell": (" ".join(best_sell[0]["name"].split()), best_sell[1]),
        "best_sell_address": " ".join(best_sell[0]["mainaddress"].split()),
        "newest": max(_when(o) for o, _ in buys + sells),
    }


def test_the_capture_as_its_readme_describes_it() -> None:
    everyone = punkts()
    assert len(everyone) == 106
    # Judged with a day's allowance, every office the source marks current counts.
    day = retail_current(NOW, timedelta(hours=24))
    assert len(day) == 27
    usd = expected("USD", max_age=timedelta(hours=24))
    assert (usd["buy"], usd["sell"]) == (Decimal("377.05"), Decimal("379"))


def test_the_capture_read_by_the_parser_gives_the_same_market() -> None:
    offices = parse_page(capture_page())
    assert len(offices) == 106
    assert sum(not o.wholesale and o.current for o in offices) == 27

    for max_age in (TWELVE_HOURS, timedelta(hours=24)):
        rates = market_rates(offices, ["USD", "EUR", "RUB"], now=NOW, max_age=max_age)
        for code in ("USD", "EUR", "RUB"):
            want = expected(code, max_age=max_age)
            # No quote of the capture is an outlier: the plain median is the market's.
            assert want["spread"] < OUTLIER_BAND
            rate = rates[code]
            assert (rate.buy, rate.sell, rate.offices) == (
                want["buy"],
                want["sell"],
                want["offices"],
            ), (code, max_age)
            assert (rate.best_buy.name, rate.best_buy.price) == want["best_buy"]
            assert (rate.best_sell.name, rate.best_sell.price) == want["best_sell"]
            assert rate.newest == want["newest"]


def test_the_capture_figures_at_the_tests_clock() -> None:
    """The numbers the other tests show, pinned once: 24 offices at 09:00 in Almaty, the
    3 whose quotes are from the afternoon before being over 12 hours old."""
    rates = market_rates(parse_page(capture_page()), ["USD"], now=NOW, max_age=TWELVE_HOURS)
    usd = rates["USD"]
    assert (usd.buy, usd.sell, usd.offices) == (Decimal("377.05"), Decimal("379"), 24)
    assert (usd.best_buy.name, usd.best_buy.price) == ("ЗАМАН ОП", Decimal("378.5"))
    assert (usd.best_sell.name, usd.best_sell.price) == (
        '"Limpopo" (ТОО "ОП АННА")',
        Decimal("378.7"),
    )
    assert usd.best_sell.address == "ул.Сейфуллина 534, уг. ул.Курмангазы"


def test_wholesale_stale_and_zero_quotes_are_left_out() -> None:
    offices = parse_page(capture_page())
    kept = {o.id for o in usable(offices, now=NOW, max_age=TWELVE_HOURS)}
    by_id = {o.id: o for o in offices}
    assert kept
    assert not any(by_id[i].wholesale for i in kept)
    assert all(by_id[i].current for i in kept)
    assert all(NOW - by_id[i].quoted_at <= TWELVE_HOURS for i in kept)
    # ТОО "AB exchange" quotes RUB to buy only (sell 0): its 0 is no price.
    ab = by_id["1211"]
    assert ab.quotes["RUB"] == Quote(Decimal("5.72"), None)
    # Give every wholesale and every old quote the best prices in town: none of them wins.
    tempting = punkts()
    for office in tempting:
        if office["wholesale"] or not office["actual"]:
            office["data"]["USD"] = [Decimal("378.9"), Decimal("378.95")]
        elif NOW - _when(office) > TWELVE_HOURS:  # marked current, but from yesterday
            office["data"]["USD"] = [Decimal("378.8"), Decimal("378.85")]
    rate = market_rates(parse_page(page(dumps(tempting))), ["USD"], now=NOW, max_age=TWELVE_HOURS)[
        "USD"
    ]
    assert (rate.best_buy.price, rate.best_sell.price) == (Decimal("378.5"), Decimal("378.7"))
    assert (rate.buy, rate.sell, rate.offices) == (Decimal("377.05"), Decimal("379"), 24)
    # A day later every quote is stale: no market at all.
    assert market_rates(offices, ["USD"], now=NOW + timedelta(days=1), max_age=TWELVE_HOURS) == {}


# -- the outlier rule --------------------------------------------------------------------


def _office(n: int, buy: str | None, sell: str | None, *, minutes: int = 0) -> Office:
    return Office(
        id=str(n),
        name=f"Office {n}",
        address=f"Street {n}",
        quoted_at=NOW - timedelta(minutes=minutes),
        current=True,
        wholesale=False,
        quotes={
            "USD": Quote(
                None if buy is None else Decimal(buy), None if sell is None else Decimal(sell)
            )
        },
    )


def test_a_price_more_than_ten_percent_from_the_median_is_an_outlier() -> None:
    offices = [_office(i, "500", "502") for i in range(5)] + [
        _office(10, "37.7", "502"),  # a slipped decimal point
        _office(11, "549", "551"),  # 9.8 % above: a real, if odd, office
        _office(12, "551", "553"),  # 10.2 % above: dropped
        _office(13, "455", "457"),  # 9 % below: kept
    ]
    rate = market_rate("USD", offices)
    assert rate is not None
    assert rate.best_buy.name == "Office 11"
    assert rate.best_buy.price == Decimal("549")
    # Buys kept: five 500s, 549, 455 (37.7 and 551 dropped) -> median 500.
    assert rate.buy == Decimal("500")
    # Sells: five 502s, 502 (office 10's sell stands), 551, 457; 553 dropped.
    assert rate.best_sell.price == Decimal("457")
    # Office 10 counts by its sell; office 12 by nothing, both its prices being outliers.
    assert rate.offices == 8
    assert rate.sell == Decimal("502")


def test_an_office_that_pays_more_than_it_asks_is_not_used() -> None:
    offices = [_office(i, "500", "502") for i in range(3)] + [_office(9, "505", "501")]
    rate = market_rate("USD", offices)
    assert rate is not None
    assert rate.best_buy.price == Decimal("500")
    assert rate.best_sell.price == Decimal("502")
    assert rate.offices == 3


def test_too_few_offices_is_no_market() -> None:
    offices = [_office(i, "500", "502") for i in range(MIN_OFFICES - 1)]
    assert market_rate("USD", offices) is None
    offices.append(_office(7, "501", None))
    assert market_rate("USD", offices) is None  # three buys, two sells
    offices.append(_office(8, None, "503"))
    assert market_rate("USD", offices) is not None


def test_ties_go_to_the_fresher_quote() -> None:
    offices = [
        _office(1, "500", "502", minutes=30),
        _office(2, "500", "502", minutes=5),
        _office(3, "499", "503", minutes=1),
    ]
    rate = market_rate("USD", offices)
    assert rate is not None
    assert rate.best_buy.name == rate.best_sell.name == "Office 2"


# -- pages the parser refuses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            b"<html><body>Service unavailable</body></html>", "no `var punkts", id="no-array"
        ),
        pytest.param(page(b'[{"id": 1, garbage'), "not JSON", id="garbage"),
        pytest.param(page(b'{"id": 1}'), "not a list", id="object"),
        pytest.param(page(b'[{"id":1,"data":{"USD":[NaN,1]}}]'), "NaN", id="nan"),
        pytest.param(page(b'[1, 2, "three", {"id": 4}]'), "0 of 4", id="unreadable-offices"),
        pytest.param(page(b"\xff\xfe[1,\x00]"), "not JSON", id="binary"),
    ],
)
def test_a_page_that_cannot_be_trusted_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        parse_page(body)


def test_a_few_unreadable_offices_are_left_out() -> None:
    offices = punkts()[:10]
    offices[0]["actualTime"] = "yesterday"
    offices[1]["data"] = None
    offices[2]["data"]["USD"] = ["377", True]  # strings and booleans are no prices
    parsed = parse_page(page(dumps(offices)))
    assert len(parsed) == 8
    assert parsed[0].quotes["USD"] == Quote(None, None)
    assert parse_page(page(b"[]")) == []


def test_cities_as_readers_type_them() -> None:
    cities = ["almaty", "astana", "shymkent"]
    assert city_slug("Астана", cities) == "astana"
    assert city_slug("нур-султан", cities) == "astana"
    assert city_slug("ALMATY", cities) == "almaty"
    assert city_slug("Алма-Ата", cities) == "almaty"
    assert city_slug("Караганда", cities) is None  # known, but not read
    assert city_slug("usd", cities) is None
    assert city_slug("karaganda", ["karaganda"]) == "karaganda"


# -- the service ---------------------------------------------------------------------------


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FixedNow:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def market() -> AsyncIterator[MarketServer]:
    async with MarketServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client() as client:
        yield client


MakeService = Callable[..., MarketService]


@pytest.fixture
def make_service(market: MarketServer, http: httpx.AsyncClient, storage: Storage) -> MakeService:
    def make(**overrides: Any) -> MarketService:
        options: dict[str, Any] = {
            "url": market.market_url,
            "cities": ["almaty", "astana", "shymkent"],
            "max_age": TWELVE_HOURS,
            "cache_seconds": 600,
            "now": FixedNow(),
            "monotonic": FakeMonotonic(),
            "timeout": httpx.Timeout(2.0, connect=2.0),
        }
        options.update(overrides)
        return MarketService(http, MarketRepository(storage.db), **options)

    return make


async def test_fetch_computes_stores_and_names_the_source(
    market: MarketServer, make_service: MakeService, storage: Storage
) -> None:
    service = make_service()

    snapshot = await service.current()

    assert (snapshot.city, snapshot.source, snapshot.stale) == ("almaty", "kurs.kz", False)
    assert snapshot.fetched_at == NOW
    usd = snapshot.rates["USD"]
    assert (usd.buy, usd.sell, usd.offices) == (Decimal("377.05"), Decimal("379"), 24)
    assert market.cities_asked() == ["almaty"]
    assert market.requests[0].headers["User-Agent"] == USER_AGENT
    stored = await MarketRepository(storage.db).latest("almaty")
    assert stored is not None
    assert stored.rates["USD"] == usd
    assert stored.fetched_at == NOW


async def test_many_readers_one_request_per_city_per_period(
    market: MarketServer, make_service: MakeService
) -> None:
    monotonic = FakeMonotonic()
    service = make_service(monotonic=monotonic)

    answers = await asyncio.gather(*(service.current("almaty") for _ in range(100)))
    await asyncio.gather(*(service.current("astana") for _ in range(10)))

    assert {a.rates["USD"].buy for a in answers} == {Decimal("377.05")}
    assert market.cities_asked() == ["almaty", "astana"]
    monotonic.now += 599
    await service.current("almaty")
    assert len(market.requests) == 2
    monotonic.now += 2
    await service.current("almaty")
    assert market.cities_asked() == ["almaty", "astana", "almaty"]


async def test_an_unknown_city_is_the_default(
    market: MarketServer, make_service: MakeService
) -> None:
    service = make_service()
    assert (await service.current("atlantis")).city == "almaty"
    assert market.cities_asked() == ["almaty"]


FAILURES = [
    pytest.param([ERROR_500], "HTTPStatusError", id="500"),
    pytest.param([NOT_FOUND], "404", id="404"),
    pytest.param([HTML], "no `var punkts", id="html-without-quotes"),
    pytest.param([with_body(page(b"[]"))], "lists no offices", id="empty-array"),
    pytest.param([with_body(page(b"[{garbage"))], "not JSON", id="garbage"),
]


@pytest.mark.parametrize(("script", "reason"), FAILURES)
async def test_a_failing_source_gives_the_stored_rates_marked_stale(
    market: MarketServer,
    make_service: MakeService,
    script: list[Any],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monotonic, now = FakeMonotonic(), FixedNow(NOW - timedelta(hours=1))
    service = make_service(monotonic=monotonic, now=now)
    first = await service.current()
    assert not first.stale
    monotonic.now += 601
    now.now = NOW
    market.script(*script)

    with caplog.at_level(logging.WARNING, logger="bot.services.market.service"):
        stale = await service.current()

    assert stale.stale
    assert stale.fetched_at == NOW - timedelta(hours=1)
    assert stale.rates == first.rates
    (line,) = [r.getMessage() for r in caplog.records]
    assert reason in line
    assert "kurs.kz almaty" in line
    # The failure is kept for the period: the source is not asked again on every message.
    await service.current()
    assert len(market.requests) == 2


@pytest.mark.parametrize(("script", "reason"), FAILURES)
async def test_a_failing_source_and_nothing_stored_gives_no_rates(
    market: MarketServer, make_service: MakeService, script: list[Any], reason: str
) -> None:
    market.script(*script)
    snapshot = await make_service().current()
    assert (snapshot.rates, snapshot.stale, snapshot.fetched_at) == ({}, True, None)


async def test_every_quote_stale_gives_the_stored_rates(
    market: MarketServer, make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    monotonic, now = FakeMonotonic(), FixedNow()
    service = make_service(monotonic=monotonic, now=now)
    await service.current()
    monotonic.now += 601
    now.now = NOW + timedelta(hours=13)  # the page was not updated since: all too old

    with caplog.at_level(logging.WARNING, logger="bot.services.market.service"):
        snapshot = await service.current()

    assert snapshot.stale
    assert snapshot.fetched_at == NOW
    assert "no current retail quotes: 106 offices listed, 0 retail" in caplog.text
    assert not service.current_enough(snapshot)  # 13 hours old: not for a digest


async def test_a_hanging_source_answers_within_the_budget_and_serves_the_next_reader(
    market: MarketServer, make_service: MakeService, storage: Storage
) -> None:
    monotonic, now = FakeMonotonic(), FixedNow(NOW - timedelta(hours=2))
    service = make_service(monotonic=monotonic, now=now, cache_seconds=0, reader_wait=QUICK_WAIT)
    await service.current()
    now.now = NOW
    gate = market.hold()

    stale = await service.current()
    assert market.in_flight == 1
    assert stale.stale
    assert stale.fetched_at == NOW - timedelta(hours=2)
    others = await asyncio.gather(*(service.current() for _ in range(20)))
    assert all(o.stale for o in others)
    assert len(market.requests) == 2

    gate.set()

    async def fresh() -> bool:
        return not (await service.current()).stale

    await eventually(fresh)
    assert (await service.current()).fetched_at == NOW


async def test_a_hanging_source_and_nothing_stored(
    market: MarketServer, make_service: MakeService
) -> None:
    market.script(HANG)
    service = make_service(reader_wait=QUICK_WAIT)
    snapshot = await service.current()
    assert market.in_flight == 1
    assert (snapshot.rates, snapshot.stale) == ({}, True)
    await service.aclose()  # ends the fetch that waits on the source


async def test_a_readers_city_is_kept(storage: Storage, make_service: MakeService) -> None:
    service = make_service()
    assert await service.city_of(42) == "almaty"
    await service.set_city(42, "shymkent")
    assert await service.city_of(42) == "shymkent"
    # A city taken out of MARKET_CITIES falls back to the default.
    narrower = make_service(cities=["almaty", "astana"])
    assert await narrower.city_of(42) == "almaty"
    assert await service.cities_of([42, 43]) == {42: "shymkent", 43: "almaty"}
