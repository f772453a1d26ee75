"""Exchange offices' market rates per city: fetched, stored by fetch, served from a cache.

As with the official rates (bot/services/rates.py), the service never raises into its
callers and never keeps a reader waiting past the budget: one fetch per city runs as a
task of its own that every reader shares (fetching.SharedFetch). A source that is down,
slow, changed or without current quotes leaves readers with the last stored market rates
marked stale (with their time), or with none; never with a number passed off as current.

The source has no documented terms: a city's page is asked at most once per
`cache_seconds`, whatever it answered (a failure is not retried sooner), with the bot's
User-Agent, and its name goes beside the numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.services.fetching import (
    DEFAULT_TIMEOUT,
    FETCH_DEADLINE_SECONDS,
    READER_WAIT_SECONDS,
    BodyTooLarge,
    SharedFetch,
    download,
)
from bot.services.market.compute import market_rates, usable
from bot.services.market.kurskz import KursKz
from bot.services.market.sources import MarketSource, Office, SourceError
from storage.engine import STORAGE_ERRORS
from storage.market import MarketPoint, MarketRate, MarketRepository, StoredMarket

log = logging.getLogger(__name__)

#: kurs.kz's page of Almaty is ~400 KB; anything this large is not it.
MAX_BODY_BYTES = 4 * 1024 * 1024
_STORAGE_ERRORS = (*STORAGE_ERRORS, ValueError)


class MarketUnavailable(Exception):
    """No market rates could be read just now; the reason is for the log."""


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """A city's market rates: fresh, or the last stored ones marked stale, or none."""

    city: str
    source: str
    rates: dict[str, MarketRate] = field(default_factory=dict)
    #: When the page these come from was read; None when there are none.
    fetched_at: datetime | None = None
    #: The source could not be read just now: these are the last stored market rates.
    stale: bool = False

    @property
    def newest(self) -> datetime | None:
        """The newest quote behind these rates."""
        return max((rate.newest for rate in self.rates.values()), default=None)

    def pick(self, codes: Sequence[str]) -> list[MarketRate]:
        return [self.rates[code] for code in codes if code in self.rates]


class MarketService:
    def __init__(
        self,
        http: httpx.AsyncClient,
        repo: MarketRepository,
        *,
        url: str,
        cities: Sequence[str],
        max_age: timedelta,
        cache_seconds: float,
        source: MarketSource | None = None,
        now: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        reader_wait: float = READER_WAIT_SECONDS,
        deadline: float = FETCH_DEADLINE_SECONDS,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not cities:
            raise ValueError("at least one city")
        self.http = http
        self.repo = repo
        self.url = url
        self.cities = list(cities)
        self.max_age = max_age
        self.cache_seconds = cache_seconds
        self.source: MarketSource = source or KursKz()
        self.reader_wait = reader_wait
        self.deadline = deadline
        self.timeout = timeout
        self._now = now
        self._monotonic = monotonic
        self._cache: dict[str, tuple[MarketSnapshot, float]] = {}
        self._fetches: dict[str, SharedFetch[MarketSnapshot]] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        http: httpx.AsyncClient,
        repo: MarketRepository,
        *,
        now: Clock = system_clock,
    ) -> MarketService:
        return cls(
            http,
            repo,
            url=settings.market_rates_url,
            cities=settings.market_cities,
            max_age=timedelta(hours=settings.market_max_age_hours),
            cache_seconds=settings.market_rates_cache_seconds,
            now=now,
        )

    @property
    def default_city(self) -> str:
        return self.cities[0]

    # -- what handlers and the digest ask for ------------------------------------------

    async def current(self, city: str | None = None) -> MarketSnapshot:
        """The city's market rates: cached, fetched, or the last stored marked stale.

        Within the reader's budget whatever the source does; never raises.
        """
        city = city if city in self.cities else self.default_city
        try:
            cached = self._cache.get(city)
            if cached is not None and self._monotonic() < cached[1]:
                return cached[0]
            fetch = self._fetches.setdefault(
                city, SharedFetch(f"market {city}", self.reader_wait, log)
            )
            fetched = await fetch.join(lambda: self._fetch_and_cache(city))
            if fetched is not None:
                return fetched
            return await self._stored(city)
        except Exception:
            # The last line of defence: a reader gets the official rates, never a traceback.
            log.exception("market: unexpected failure")
            return MarketSnapshot(city, self.source.name, stale=True)

    def current_enough(self, snapshot: MarketSnapshot) -> bool:
        """Whether the rates may stand without a note (a digest has no room for one):
        fresh, or stored from a fetch no older than the quotes' own age limit."""
        if not snapshot.rates or snapshot.fetched_at is None:
            return False
        return not snapshot.stale or self._now() - snapshot.fetched_at <= self.max_age

    async def stored(self, city: str, *, since: datetime, until: datetime) -> MarketSnapshot:
        """The last rates stored for `city` between `since` and `until` (a past digest)."""
        try:
            found = await self.repo.latest(city, until=until)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not read stored rates of %s: %s", city, error)
            found = None
        if found is None or found.fetched_at < since:
            return MarketSnapshot(city, self.source.name, stale=True)
        return _snapshot(found, stale=False)

    async def history(
        self, city: str, code: str, since: datetime, until: datetime
    ) -> list[MarketPoint]:
        try:
            return await self.repo.history(city, code, since, until)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not read the history of %s in %s: %s", code, city, error)
            return []

    # -- a reader's city ---------------------------------------------------------------

    async def city_of(self, chat_id: int) -> str:
        """The reader's chosen city while MARKET_CITIES still has it, else the default."""
        try:
            city = await self.repo.city_of(chat_id)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not read the city of chat %s: %s", chat_id, error)
            city = None
        return city if city in self.cities else self.default_city

    async def set_city(self, chat_id: int, city: str) -> None:
        """Remember the reader's city; a database that cannot write raises
        StorageUnavailable, so the update is retried rather than the choice lost."""
        await self.repo.set_city(chat_id, city)

    async def cities_of(self, chat_ids: Sequence[int]) -> dict[int, str]:
        """Every chat's city (the default where none is chosen); never raises."""
        try:
            chosen = await self.repo.cities_of(chat_ids)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not read readers' cities: %s", error)
            chosen = {}
        return {
            chat_id: city if (city := chosen.get(chat_id)) in self.cities else self.default_city
            for chat_id in chat_ids
        }

    # -- fetching ----------------------------------------------------------------------

    async def _fetch_and_cache(self, city: str) -> MarketSnapshot:
        """One fetch of a city, its answer cached for `cache_seconds`; never raises."""
        try:
            snapshot = await self._refresh(city)
        except Exception:
            # Nobody may await this task: the error is logged here.
            log.exception("market: unexpected failure")
            snapshot = MarketSnapshot(city, self.source.name, stale=True)
        # A failure too: the source is asked at most once a period, whatever it answered.
        self._cache[city] = (snapshot, self._monotonic() + self.cache_seconds)
        return snapshot

    async def _refresh(self, city: str) -> MarketSnapshot:
        now = self._now()
        try:
            offices = await self.fetch(city)
            rates = market_rates(offices, _codes(offices), now=now, max_age=self.max_age)
            if not rates:
                current = usable(offices, now=now, max_age=self.max_age)
                raise MarketUnavailable(
                    f"no current retail quotes: {len(offices)} offices listed, "
                    f"{len(current)} retail with quotes under {_hours(self.max_age)} h old"
                )
        except MarketUnavailable as error:
            log.warning("market: %s %s: %s; serving stored rates", self.source.name, city, error)
            return await self._stored(city)
        try:
            await self.repo.save(city, self.source.name, rates.values(), fetched_at=now)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not store the rates of %s: %s", city, error)
        return MarketSnapshot(city, self.source.name, rates, now, stale=False)

    async def fetch(self, city: str) -> list[Office]:
        """Download and parse the city's page; MarketUnavailable says why it failed.

        One request, no retries: the next period asks again (see the module's docstring).
        """
        url = self.source.url(self.url, city)
        try:
            async with asyncio.timeout(self.deadline):
                body = await download(
                    self.http,
                    url,
                    attempts=1,
                    backoff=0,
                    read_timeouts=self.timeout,
                    max_bytes=MAX_BODY_BYTES,
                    sleep=asyncio.sleep,
                    log=log,
                    name="market",
                )
            offices = self.source.parse(body)
        except TimeoutError as error:
            raise MarketUnavailable(f"no complete answer within {self.deadline:g}s") from error
        except httpx.HTTPError as error:
            raise MarketUnavailable(f"{type(error).__name__}: {error}") from error
        except (SourceError, BodyTooLarge) as error:
            raise MarketUnavailable(f"the page cannot be read: {error}") from error
        if not offices:
            raise MarketUnavailable("the page lists no offices")
        return offices

    async def _stored(self, city: str) -> MarketSnapshot:
        try:
            found = await self.repo.latest(city)
        except _STORAGE_ERRORS as error:
            log.warning("market: could not read stored rates of %s: %s", city, error)
            found = None
        if found is None:
            return MarketSnapshot(city, self.source.name, stale=True)
        return _snapshot(found, stale=True)

    async def aclose(self) -> None:
        """Stop fetches still in flight: at shutdown, before the HTTP client closes."""
        await asyncio.gather(*(fetch.aclose() for fetch in self._fetches.values()))


def _snapshot(found: StoredMarket, *, stale: bool) -> MarketSnapshot:
    return MarketSnapshot(found.city, found.source, found.rates, found.fetched_at, stale=stale)


def _codes(offices: Sequence[Office]) -> list[str]:
    """Every currency any office quotes, in a fixed order."""
    return sorted({code for office in offices for code in office.quotes})


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:g}"
