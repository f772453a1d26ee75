"""Official tenge rates: fetched from the National Bank, kept in SQLite, served from a cache.

The service never raises into its callers. A feed that is down, slow, failing or serving
garbage leaves them with the last stored rates marked stale (with their date), or with
none at all; never with a traceback or a number that did not come from the feed.

Nor does it keep a reader waiting on the feed: a fetch runs as a task of its own that every
reader shares, and a reader waits for it at most READER_BUDGET_SECONDS (less a margin to
answer in). Past that the reader gets the stored rates, and the fetch goes on for the next.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from bot.config import Settings
from bot.services.fetching import (
    ANSWER_MARGIN_SECONDS,
    DEFAULT_TIMEOUT,
    FETCH_DEADLINE_SECONDS,
    READER_BUDGET_SECONDS,
    READER_WAIT_SECONDS,
    RETRY_STATUSES,
    BodyTooLarge,
    SharedFetch,
    download,
)
from bot.services.nbk import Feed, FeedError, parse_feed
from storage.engine import STORAGE_ERRORS
from storage.rates import Rate, RateRepository

#: A database that fails, or holds what cannot be read.
_READ_ERRORS = (*STORAGE_ERRORS, ValueError)
log = logging.getLogger(__name__)

__all__ = [
    "ANSWER_MARGIN_SECONDS",
    "DEFAULT_TIMEOUT",
    "FAILURE_RETRY_SECONDS",
    "FETCH_DEADLINE_SECONDS",
    "MAX_BODY_BYTES",
    "READER_BUDGET_SECONDS",
    "READER_WAIT_SECONDS",
    "RETRY_STATUSES",
    "BackfillReport",
    "FeedUnavailable",
    "RatesService",
    "RatesSnapshot",
    "history_url",
]

#: The feed is ~12 KB; anything this large is not it, and is not read into memory.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: After a failed fetch the feed is asked again at most this often, not on every message.
FAILURE_RETRY_SECONDS = 60.0


class FeedUnavailable(Exception):
    """The feed could not be read or could not be trusted; the reason is for the log."""


@dataclass(frozen=True, slots=True)
class RatesSnapshot:
    """The rates of one day, every currency the National Bank quoted for it."""

    rates: dict[str, Rate] = field(default_factory=dict)
    day: date | None = None
    #: The feed could not be read just now: these are the last stored rates.
    stale: bool = False

    def pick(self, codes: Iterable[str]) -> list[Rate]:
        return [self.rates[code] for code in codes if code in self.rates]


@dataclass(frozen=True, slots=True)
class BackfillReport:
    stored: list[date] = field(default_factory=list)
    skipped: list[date] = field(default_factory=list)
    empty: list[date] = field(default_factory=list)
    failed: list[tuple[date, str]] = field(default_factory=list)


def history_url(template: str, day: date) -> str:
    return template.replace("{date}", day.strftime("%d.%m.%Y"))


class RatesService:
    def __init__(
        self,
        http: httpx.AsyncClient,
        repo: RateRepository,
        *,
        url: str,
        history_url: str,
        currencies: Sequence[str],
        cache_seconds: float,
        tz: ZoneInfo,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        reader_wait: float = READER_WAIT_SECONDS,
        deadline: float = FETCH_DEADLINE_SECONDS,
    ) -> None:
        self.http = http
        self.repo = repo
        self.url = url
        self.history_url = history_url
        self.currencies = list(currencies)
        self.cache_seconds = cache_seconds
        self.tz = tz
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self.reader_wait = reader_wait
        self.deadline = deadline
        self._clock = clock
        self._sleep = sleep
        self._snapshot: RatesSnapshot | None = None
        self._expires = -math.inf
        #: The fetch in flight (or the last one), shared by every reader who asks meanwhile.
        self._fetch: SharedFetch[RatesSnapshot] = SharedFetch("rates", reader_wait, log)

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient, repo: RateRepository
    ) -> RatesService:
        return cls(
            http,
            repo,
            url=settings.rates_url,
            history_url=settings.rates_history_url,
            currencies=settings.rates_currencies,
            cache_seconds=settings.rates_cache_seconds,
            tz=settings.timezone,
        )

    # -- what handlers and the digest ask for ------------------------------------------

    async def current(self) -> RatesSnapshot:
        """The latest rates: cached, fetched, or the last stored ones marked stale.

        Within READER_BUDGET_SECONDS whatever the feed does (see _cached_or_refreshed).
        """
        try:
            return await self._cached_or_refreshed()
        except Exception:
            # The last line of defence: a reader gets an apology, never a traceback.
            log.exception("rates: unexpected failure")
            return RatesSnapshot(stale=True)

    async def current_rates(self) -> list[Rate] | None:
        """RATES_CURRENCIES' rates for the morning digest, in that order; never raises.

        None when there are none, and when the feed is failing and the stored rates are
        not set for today: a digest shows no rates rather than yesterday's as today's.
        """
        snapshot = await self.current()
        if snapshot.day is None:
            return None
        if snapshot.stale and snapshot.day < datetime.now(self.tz).date():
            return None
        return snapshot.pick(self.currencies) or None

    async def change(self, rate: Rate) -> Decimal | None:
        """The change from the previous quote, for `rate.quant` units.

        The feed's own figure when it has one (it knows quotes this bot never stored);
        otherwise the difference from the previous stored quote.
        """
        if rate.change is not None:
            return rate.change
        try:
            previous = await self.repo.previous(rate.code, rate.day)
        except _READ_ERRORS:
            log.warning("rates: could not read the previous quote of %s", rate.code)
            return None
        if previous is None:
            return None
        return rate.rate - previous.per_unit * rate.quant

    async def history(self, code: str, days: int) -> list[Rate]:
        """Up to `days` days of `code`, ending with its latest stored quote, oldest first."""
        try:
            last = await self.repo.last_day_of(code)
            if last is None:
                return []
            return await self.repo.history(code, last - timedelta(days=days - 1), last)
        except _READ_ERRORS:
            log.warning("rates: could not read the history of %s", code)
            return []

    # -- the cache ---------------------------------------------------------------------

    async def _cached_or_refreshed(self) -> RatesSnapshot:
        if self._snapshot is not None and self._clock() < self._expires:
            return self._snapshot
        # Single flight: whoever asks while a fetch is in flight takes that fetch's answer
        # — a hundred readers at once cause one fetch, also with a zero TTL.
        fetched = await self._fetch.join(self._fetch_and_cache)
        if fetched is not None:
            return fetched
        return await self._stored(stale=True)

    async def _fetch_and_cache(self) -> RatesSnapshot:
        """One fetch, its answer cached for whoever asks next; never raises."""
        try:
            snapshot = await self._refresh()
        except Exception:
            # Not cached: the next reader tries again. Nobody may await this task, so the
            # error is logged here, not left for "exception was never retrieved".
            log.exception("rates: unexpected failure")
            return RatesSnapshot(stale=True)
        ttl = self.cache_seconds
        if snapshot.stale:
            ttl = min(ttl, FAILURE_RETRY_SECONDS)
        self._snapshot, self._expires = snapshot, self._clock() + ttl
        return snapshot

    async def aclose(self) -> None:
        """Stop a fetch still in flight: at shutdown, before the HTTP client closes."""
        await self._fetch.aclose()

    async def _refresh(self) -> RatesSnapshot:
        attempted_at = datetime.now(UTC)
        try:
            feed = await self.fetch(self.url)
            if feed.day is None or not feed.rates:
                raise FeedUnavailable("the feed lists no rates")
        except FeedUnavailable as error:
            log.warning("rates: fetch failed, serving stored rates: %s", error)
            await self._record(ok=False, error=str(error), at=attempted_at)
            return await self._stored(stale=True)
        await self._record(ok=True, error=None, at=attempted_at)
        try:
            await self.repo.save(feed.rates, fetched_at=attempted_at)
            stored_day = await self.repo.latest_day()
        except _READ_ERRORS as error:
            log.warning("rates: could not store the rates of %s: %s", feed.day, error)
            stored_day = None
        if stored_day is not None and stored_day > feed.day:
            # A cache between us and the bank served an old copy; the stored day is newer.
            return await self._stored(stale=False)
        return RatesSnapshot({r.code: r for r in feed.rates}, feed.day, stale=False)

    async def _stored(self, *, stale: bool) -> RatesSnapshot:
        try:
            rates = await self.repo.latest()
        except _READ_ERRORS as error:
            log.warning("rates: could not read stored rates: %s", error)
            return RatesSnapshot(stale=stale)
        if not rates:
            return RatesSnapshot(stale=stale)
        return RatesSnapshot({r.code: r for r in rates}, rates[0].day, stale=stale)

    async def _record(self, *, ok: bool, error: str | None, at: datetime) -> None:
        try:
            await self.repo.record_fetch(ok=ok, error=error, at=at)
        except _READ_ERRORS as failure:
            log.warning("rates: could not record the fetch: %s", failure)

    # -- the feed ----------------------------------------------------------------------

    async def fetch(self, url: str) -> Feed:
        """Download and parse one body of the feed; FeedUnavailable says why it failed.

        The one place where network and parse errors are caught and turned into a reason.
        Gives up after `deadline` seconds in all, whatever the feed does.
        """
        try:
            async with asyncio.timeout(self.deadline):
                body = await download(
                    self.http,
                    url,
                    attempts=self.attempts,
                    backoff=self.backoff,
                    read_timeouts=self.timeout,
                    max_bytes=MAX_BODY_BYTES,
                    sleep=self._sleep,
                    log=log,
                    name="rates",
                )
            return parse_feed(body)
        except TimeoutError as error:
            raise FeedUnavailable(
                f"Timeout: no complete answer within {self.deadline:g}s"
            ) from error
        except httpx.HTTPError as error:
            raise FeedUnavailable(f"{type(error).__name__}: {error}") from error
        except (FeedError, BodyTooLarge) as error:
            raise FeedUnavailable(f"not a rates feed: {error}") from error

    # -- history -----------------------------------------------------------------------

    async def backfill(
        self,
        first: date,
        last: date,
        *,
        pause: float = 1.0,
        force: bool = False,
        progress: Callable[[date, str], None] | None = None,
    ) -> BackfillReport:
        """Fill the stored history from the per-date feed, one day at a time.

        Politely: one request in flight, `pause` seconds between requests. Days already
        stored are skipped unless `force`, so an interrupted run can simply be repeated.
        """
        report = BackfillReport()
        asked = False
        for day in _days(first, last):
            if not force and await self.repo.has_day(day):
                report.skipped.append(day)
                _tell(progress, day, "skipped")
                continue
            if asked and pause > 0:
                await self._sleep(pause)
            asked = True
            try:
                feed = await self.fetch(history_url(self.history_url, day))
            except FeedUnavailable as error:
                report.failed.append((day, str(error)))
                _tell(progress, day, f"failed: {error}")
                continue
            if not feed.rates:
                report.empty.append(day)
                _tell(progress, day, "no rates")
                continue
            await self.repo.save(feed.rates)
            report.stored.append(day)
            note = "" if feed.day == day else f" (the feed dates them {feed.day})"
            _tell(progress, day, f"stored {len(feed.rates)} rates{note}")
        return report


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _tell(progress: Callable[[date, str], None] | None, day: date, what: str) -> None:
    if progress is not None:
        progress(day, what)
