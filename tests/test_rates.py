"""The rates service against a real HTTP server on 127.0.0.1 serving the real captures."""

from __future__ import annotations

import asyncio
import io
import struct
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.__main__ import parser
from bot.app import create_http_client
from bot.charts import HEIGHT_PX, WIDTH_PX, build_figure, render_chart, series, to_png
from bot.cli.rates import run_backfill
from bot.services.nbk import parse_feed
from bot.services.rates import (
    DEFAULT_TIMEOUT,
    FAILURE_RETRY_SECONDS,
    FETCH_DEADLINE_SECONDS,
    MAX_BODY_BYTES,
    READER_BUDGET_SECONDS,
    READER_WAIT_SECONDS,
    FeedUnavailable,
    RatesService,
)
from storage import Storage
from storage.rates import Rate
from tests.conftest import eventually, make_settings
from tests.rates_server import (
    EMPTY,
    ERROR_500,
    HANG,
    HTML,
    NOT_FOUND,
    TRICKLE,
    Misbehaviour,
    RatesServer,
    day_capture,
    truncated,
    with_body,
)

ALMATY = ZoneInfo("Asia/Almaty")
APRIL_1, APRIL_2, APRIL_3 = date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records the pauses the service asks for; the tests never really wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def server() -> AsyncIterator[RatesServer]:
    async with RatesServer() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client() as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


MakeService = Callable[..., RatesService]


@pytest.fixture
def make_service(
    server: RatesServer,
    http: httpx.AsyncClient,
    storage: Storage,
    clock: FakeClock,
    sleep: FakeSleep,
) -> MakeService:
    def make(**overrides: Any) -> RatesService:
        options: dict[str, Any] = {
            "url": server.rates_url,
            "history_url": server.history_url,
            "currencies": ["USD", "EUR", "RUB"],
            "cache_seconds": 1800,
            "tz": ALMATY,
            "clock": clock,
            "sleep": sleep,
            "timeout": httpx.Timeout(0.5, connect=2.0),
        }
        repo = overrides.pop("repo", storage.rates)
        options.update(overrides)
        return RatesService(http, repo, **options)

    return make


# -- fetching and storing -------------------------------------------------------------


async def test_fetch_parses_stores_and_records(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    service = make_service()

    snapshot = await service.current()

    assert not snapshot.stale
    assert snapshot.day == date(2016, 4, 18)
    assert snapshot.rates["USD"].rate == Decimal("334.41")
    assert {"LVL", "EEK", "TRL"}.isdisjoint(snapshot.rates)
    stored = await storage.rates.on_day(date(2016, 4, 18))
    assert len(stored) == 39
    assert {r.code: r.rate for r in stored}["IRR"] == Decimal("11.08")
    fetch = await storage.rates.last_fetch()
    assert fetch is not None
    assert (fetch.ok, fetch.error) == (True, None)
    assert fetch.last_ok_at == fetch.attempted_at
    assert server.requests[0].headers["User-Agent"].startswith("newsmirror-bot/")


async def test_per_date_document_served_at_rates_url(
    server: RatesServer, make_service: MakeService
) -> None:
    server.current = day_capture("01.04.2026")

    snapshot = await make_service().current()

    assert snapshot.day == APRIL_1
    assert snapshot.pick(["USD", "EUR", "RUB"]) == [
        Rate("USD", APRIL_1, Decimal("478.77"), 1, Decimal("-2.77"), "DOWN"),
        Rate("EUR", APRIL_1, Decimal("548.62"), 1, Decimal("-4.62"), "DOWN"),
        Rate("RUB", APRIL_1, Decimal("5.87"), 1, Decimal("-0.06"), "DOWN"),
    ]


async def test_cache_serves_until_ttl(
    server: RatesServer, make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(cache_seconds=1800)

    await service.current()
    await service.current()
    clock.advance(1799)
    await service.current()
    assert len(server.requests) == 1

    clock.advance(2)
    await service.current()
    assert len(server.requests) == 2


async def test_hundred_concurrent_requests_cause_one_fetch(
    server: RatesServer, make_service: MakeService
) -> None:
    service = make_service()
    gate = server.hold()

    tasks = [asyncio.create_task(service.current()) for _ in range(100)]
    await server.wait_requests(1)
    gate.set()
    snapshots = await asyncio.gather(*tasks)

    assert len(server.requests) == 1
    assert all(s is snapshots[0] for s in snapshots)
    assert snapshots[0].rates["USD"].rate == Decimal("334.41")


async def test_single_flight_holds_with_zero_ttl(
    server: RatesServer, make_service: MakeService
) -> None:
    service = make_service(cache_seconds=0)
    gate = server.hold()

    tasks = [asyncio.create_task(service.current()) for _ in range(100)]
    await server.wait_requests(1)
    gate.set()
    await asyncio.gather(*tasks)
    assert len(server.requests) == 1

    await service.current()
    assert len(server.requests) == 2


async def test_newer_stored_day_wins_over_an_old_copy_of_the_feed(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    await storage.rates.save([Rate("USD", APRIL_3, Decimal("472.31"))])
    server.current = day_capture("01.04.2026")

    snapshot = await make_service().current()

    assert (snapshot.day, snapshot.stale) == (APRIL_3, False)
    assert snapshot.rates["USD"].rate == Decimal("472.31")


# -- stale fallback -------------------------------------------------------------------


GOOD_APRIL_2 = day_capture("02.04.2026")
FAILURES = [
    pytest.param([ERROR_500] * 3, 3, "HTTPStatusError", id="500"),
    pytest.param([HANG] * 3, 3, "Timeout", id="timeout"),
    pytest.param([NOT_FOUND], 1, "404", id="404"),
    pytest.param([HTML], 1, "not a rates feed", id="html"),
    pytest.param([EMPTY], 1, "not a rates feed", id="empty"),
    pytest.param([truncated(GOOD_APRIL_2)], 1, "not a rates feed", id="truncated"),
    pytest.param(
        [with_body(GOOD_APRIL_2.replace(b"475.09", b"475.O9"))],
        1,
        "not a number",
        id="not-a-number",
    ),
    pytest.param(
        [with_body(b"<rates><date>02.04.2026</date><info>-</info></rates>")],
        1,
        "no rates",
        id="no-rates",
    ),
    pytest.param([with_body(b"<a>" + b" " * MAX_BODY_BYTES + b"</a>")], 1, "larger", id="huge"),
]


@pytest.mark.parametrize(("script", "requests", "error"), FAILURES)
async def test_failing_feed_serves_last_stored_rates_marked_stale(
    server: RatesServer,
    make_service: MakeService,
    storage: Storage,
    clock: FakeClock,
    sleep: FakeSleep,
    script: list[Misbehaviour],
    requests: int,
    error: str,
) -> None:
    service = make_service()
    server.current = day_capture("01.04.2026")
    assert (await service.current()).day == APRIL_1
    clock.advance(1801)
    server.current = GOOD_APRIL_2
    server.script(*script)

    snapshot = await service.current()

    assert snapshot.stale
    assert snapshot.day == APRIL_1
    # The stored 1 April rate, never a number from the broken answer.
    assert snapshot.rates["USD"].rate == Decimal("478.77")
    assert len(server.requests) == 1 + requests
    fetch = await storage.rates.last_fetch()
    assert fetch is not None
    assert not fetch.ok
    assert error in (fetch.error or "")
    assert fetch.last_ok_at is not None
    assert await storage.rates.latest_day() == APRIL_1


async def test_retries_are_bounded_with_backoff(
    server: RatesServer, make_service: MakeService, sleep: FakeSleep
) -> None:
    server.script(ERROR_500, ERROR_500, ERROR_500, ERROR_500)

    snapshot = await make_service(attempts=3, backoff=0.5).current()

    assert snapshot.day is None
    assert len(server.requests) == 3
    assert sleep.delays == [0.5, 1.0]


async def test_retry_that_succeeds_serves_fresh_rates(
    server: RatesServer, make_service: MakeService
) -> None:
    server.script(ERROR_500, HANG)

    snapshot = await make_service().current()

    assert (snapshot.stale, snapshot.day) == (False, date(2016, 4, 18))
    assert len(server.requests) == 3


async def test_after_a_failure_the_feed_is_not_hammered_and_recovers(
    server: RatesServer, make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service()
    server.script(HTML)
    assert (await service.current()).stale

    await service.current()
    assert len(server.requests) == 1

    clock.advance(FAILURE_RETRY_SECONDS + 1)
    snapshot = await service.current()
    assert not snapshot.stale
    assert len(server.requests) == 2


async def test_nothing_stored_and_feed_down_gives_empty_snapshot(
    server: RatesServer, make_service: MakeService
) -> None:
    server.script(HTML)
    service = make_service()

    snapshot = await service.current()

    assert (snapshot.day, snapshot.rates, snapshot.stale) == (None, {}, True)
    assert await service.current_rates() is None


async def test_never_raises_even_without_a_database(
    server: RatesServer, make_service: MakeService, tmp_path: Path
) -> None:
    closed = await Storage.open(tmp_path / "closed.db")
    await closed.close()
    server.script(ERROR_500, ERROR_500, ERROR_500)
    service = make_service(repo=closed.rates)

    snapshot = await service.current()

    assert (snapshot.day, snapshot.stale) == (None, True)
    assert await service.current_rates() is None
    assert await service.history("USD", 30) == []


async def test_unreachable_feed_is_stale_not_an_error(
    make_service: MakeService, storage: Storage
) -> None:
    await storage.rates.save([Rate("USD", APRIL_1, Decimal("478.77"))])
    # A port nobody listens on: connection refused on every attempt.
    service = make_service(url="http://127.0.0.1:9/rss/rates_all.xml")

    snapshot = await service.current()

    assert (snapshot.day, snapshot.stale) == (APRIL_1, True)


# -- a reader never waits on the feed past the budget ----------------------------------

#: Short, so that a test does not sit out the real wait; what it shows holds for any wait.
QUICK_WAIT = 0.05


async def _store_april_1(storage: Storage) -> None:
    await storage.rates.save(parse_feed(day_capture("01.04.2026")).rates)


def test_the_budget_leaves_room_to_answer() -> None:
    assert READER_BUDGET_SECONDS == 5
    assert 0 < READER_WAIT_SECONDS < READER_BUDGET_SECONDS
    # The whole fetch outlasts its attempts (3 reads that time out, the backoff between).
    assert DEFAULT_TIMEOUT.read is not None
    assert 3 * DEFAULT_TIMEOUT.read + 0.5 + 1.0 < FETCH_DEADLINE_SECONDS


async def test_slow_feed_gives_stored_rates_and_its_answer_serves_the_next_reader(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    await _store_april_1(storage)
    server.current = day_capture("03.04.2026")
    gate = server.hold()
    service = make_service(reader_wait=QUICK_WAIT)

    snapshot = await service.current()

    assert server.in_flight == 1  # the feed has not answered: the reader did not wait
    assert (snapshot.day, snapshot.stale) == (APRIL_1, True)
    assert snapshot.rates["USD"].rate == Decimal("478.77")
    # Readers meanwhile join the fetch in flight, past its wait: no second request.
    others = await asyncio.gather(*(service.current() for _ in range(20)))
    assert {(s.day, s.stale) for s in others} == {(APRIL_1, True)}
    assert len(server.requests) == 1

    gate.set()

    async def fresh() -> bool:
        return not (await service.current()).stale

    await eventually(fresh)
    snapshot = await service.current()
    assert snapshot.day == APRIL_3
    assert snapshot.rates["USD"].rate == Decimal("472.31")
    assert len(server.requests) == 1  # what served it was the fetch the first reader began
    assert await storage.rates.latest_day() == APRIL_3


async def test_hanging_feed_and_nothing_stored_gives_no_rates_at_once(
    server: RatesServer, make_service: MakeService
) -> None:
    server.script(HANG)
    service = make_service(reader_wait=QUICK_WAIT)

    snapshot = await service.current()

    assert server.in_flight == 1
    assert (snapshot.day, snapshot.rates, snapshot.stale) == (None, {}, True)
    assert await service.current_rates() is None
    assert len(server.requests) == 1


async def test_a_fetch_that_fails_late_is_cached_as_a_failure(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    await _store_april_1(storage)
    server.script(HTML)
    gate = server.hold()
    service = make_service(reader_wait=QUICK_WAIT)
    assert (await service.current()).stale

    gate.set()

    async def recorded() -> bool:
        return await storage.rates.last_fetch() is not None and server.in_flight == 0

    await eventually(recorded)
    fetch = await storage.rates.last_fetch()
    assert fetch is not None
    assert "not a rates feed" in (fetch.error or "")
    snapshot = await service.current()
    assert (snapshot.day, snapshot.stale) == (APRIL_1, True)
    assert len(server.requests) == 1  # not asked again before FAILURE_RETRY_SECONDS


async def test_close_stops_a_fetch_that_waits_on_the_feed(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    await _store_april_1(storage)
    gate = server.hold()
    service = make_service(reader_wait=QUICK_WAIT)
    assert (await service.current()).stale

    await service.aclose()  # returns while the feed still holds the answer

    assert await storage.rates.last_fetch() is None  # the fetch ended before it recorded
    gate.set()
    assert not (await service.current()).stale  # a new fetch, not the cancelled one
    assert len(server.requests) == 2


async def test_a_body_that_never_ends_is_given_up_at_the_deadline(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    # Each byte comes well within the 0.5 s read timeout: only the deadline ends it.
    server.script(TRICKLE, TRICKLE)
    service = make_service(deadline=0.3)

    with pytest.raises(FeedUnavailable, match="Timeout"):
        await service.fetch(server.rates_url)
    report = await service.backfill(APRIL_1, APRIL_2, pause=0)

    assert [d for d, _ in report.failed] == [APRIL_1]
    assert "Timeout" in report.failed[0][1]
    assert report.stored == [APRIL_2]


# -- for the digest -------------------------------------------------------------------


async def test_current_rates_in_configured_order(
    server: RatesServer, make_service: MakeService
) -> None:
    server.current = day_capture("03.04.2026")
    service = make_service(currencies=["RUB", "USD", "LVL"])

    rates = await service.current_rates()

    assert rates is not None
    assert [(r.code, r.rate) for r in rates] == [
        ("RUB", Decimal("5.86")),
        ("USD", Decimal("472.31")),
    ]


async def test_current_rates_when_stale_only_if_set_for_today(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    today = datetime.now(ALMATY).date()
    server.script(*[HTML] * 2)

    await storage.rates.save([Rate("USD", today - timedelta(days=1), Decimal("470"))])
    assert await make_service().current_rates() is None

    await storage.rates.save([Rate("USD", today, Decimal("471"))])
    rates = await make_service().current_rates()
    assert rates is not None
    assert [(r.code, r.rate) for r in rates] == [("USD", Decimal("471"))]


async def test_change_from_the_feed_or_from_the_previous_stored_quote(
    make_service: MakeService, storage: Storage
) -> None:
    service = make_service()
    await storage.rates.save([Rate("KRW", APRIL_1, Decimal("31.29"), 100)])

    with_feed_change = Rate("KRW", APRIL_2, Decimal("31.55"), 100, Decimal("0.26"))
    assert await service.change(with_feed_change) == Decimal("0.26")
    without = Rate("KRW", APRIL_2, Decimal("31.10"), 100)
    assert await service.change(without) == Decimal("-0.19")
    first_ever = Rate("KRW", date(2020, 1, 1), Decimal("30"), 100)
    assert await service.change(first_ever) is None


# -- backfill -------------------------------------------------------------------------


async def test_backfill_is_polite_and_resumable(
    server: RatesServer, make_service: MakeService, storage: Storage, sleep: FakeSleep
) -> None:
    service = make_service()
    told: list[tuple[date, str]] = []

    report = await service.backfill(
        APRIL_1, date(2026, 4, 4), pause=1.5, progress=lambda d, w: told.append((d, w))
    )

    assert report.stored == [APRIL_1, APRIL_2, APRIL_3]
    assert report.empty == [date(2026, 4, 4)]
    assert [r.query["fdate"] for r in server.requests] == [
        "01.04.2026",
        "02.04.2026",
        "03.04.2026",
        "04.04.2026",
    ]
    assert server.max_in_flight == 1
    assert sleep.delays == [1.5, 1.5, 1.5]
    assert [d for d, _ in told] == [APRIL_1, APRIL_2, APRIL_3, date(2026, 4, 4)]
    history = await storage.rates.history("USD", APRIL_1, APRIL_3)
    assert [r.rate for r in history] == [Decimal("478.77"), Decimal("475.09"), Decimal("472.31")]

    again = await service.backfill(APRIL_1, date(2026, 4, 4), pause=1.5)
    assert again.skipped == [APRIL_1, APRIL_2, APRIL_3]
    assert len(server.requests) == 5


async def test_backfill_reports_failed_days_and_goes_on(
    server: RatesServer, make_service: MakeService
) -> None:
    server.script(HTML)

    report = await make_service().backfill(APRIL_1, APRIL_2, pause=0)

    assert [d for d, _ in report.failed] == [APRIL_1]
    assert report.stored == [APRIL_2]


async def test_backfill_command(server: RatesServer, tmp_path: Path) -> None:
    settings = make_settings(
        "http://127.0.0.1:9",
        tmp_path / "cli.db",
        rates_history_url=server.history_url,
    )
    out = io.StringIO()

    code = await run_backfill(settings, APRIL_1, APRIL_3, pause=0, out=out)

    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "01.04.2026 stored 39 rates"
    assert lines[-1].startswith("stored 3 days")
    opened = await Storage.open(tmp_path / "cli.db")
    try:
        assert await opened.rates.latest_day() == APRIL_3
    finally:
        await opened.close()
    assert await run_backfill(settings, APRIL_3, APRIL_1, out=out) == 2


def test_backfill_command_line() -> None:
    args = parser().parse_args(["rates", "backfill", "01.04.2026", "2026-04-03", "--pause", "2"])

    assert (args.first, args.last, args.pause, args.force) == (APRIL_1, APRIL_3, 2.0, False)
    assert args.handler.__name__ == "backfill_command"


# -- charts ---------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_chart_has_one_point_per_stored_day(
    server: RatesServer, make_service: MakeService, storage: Storage
) -> None:
    service = make_service()
    await service.backfill(APRIL_1, APRIL_3, pause=0)
    # A gap: a day the bot never stored is not drawn.
    await storage.rates.save([Rate("USD", date(2026, 3, 28), Decimal("480.10"))])

    history = await service.history("USD", 30)
    points = series(history)

    assert [day for day, _ in points] == [date(2026, 3, 28), APRIL_1, APRIL_2, APRIL_3]
    figure = build_figure(points, title="USD", ylabel="₸", number=lambda v: f"{v:.2f}")
    (line,) = figure.axes[0].lines
    assert len(line.get_xdata()) == 4
    assert list(line.get_ydata()) == [480.10, 478.77, 475.09, 472.31]
    assert _png_size(to_png(figure)) == (WIDTH_PX, HEIGHT_PX) == (1200, 800)


def test_chart_png_with_cyrillic_and_a_year_of_points() -> None:
    start = date(2025, 4, 1)
    points = [(start + timedelta(days=i), Decimal("470") + Decimal(i % 17)) for i in range(365)]

    png = render_chart(
        points, title="1 USD в тенге, 365 дней", ylabel="₸ за 1 USD", number=lambda v: f"{v:.0f}"
    )

    assert _png_size(png) == (1200, 800)


def test_series_rescales_a_changed_quant() -> None:
    history = [
        Rate("BYR", APRIL_1, Decimal("1.68"), 100),
        Rate("BYR", APRIL_2, Decimal("0.0170"), 1),
    ]

    assert series(history) == [(APRIL_1, Decimal("0.0168")), (APRIL_2, Decimal("0.0170"))]
