"""The daily schedule of digests, and every bulk send of them.

State lives in the database: who is subscribed at what time, and the delivery ledger.
Each minute the scheduler finds the subscribers whose local time has come (or came
within the catch-up window while the bot was down), claims them in the ledger and sends.
Every send goes through one lock, so a scheduled run and an admin's /senddigest never
send the same day's digest to one chat twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot

from bot.clock import Clock, wait_set
from bot.services.delivery import Delivery, Job, Outcome, Result
from bot.services.digest import DigestService
from storage import DeliveryStatus, Storage, Subscriber

log = logging.getLogger(__name__)

TICK_SECONDS = 20.0

Progress = Callable[["RunReport"], Awaitable[None]]


@dataclass
class RunReport:
    day: date
    total: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.gone + self.failed


@dataclass(frozen=True, slots=True)
class Due:
    """Subscribers whose digest of `day` is due now, and those who missed it."""

    now: dict[date, list[Subscriber]] = field(default_factory=dict)
    missed: dict[date, list[int]] = field(default_factory=dict)


def due(subscribers: list[Subscriber], now: datetime, tz: ZoneInfo, catchup: timedelta) -> Due:
    """Which digests are due at `now`: a subscriber's time has come today (or came
    yesterday, for a late time and a bot that was down past midnight) no longer ago than
    the catch-up window. Older ones are missed."""
    ready: dict[date, list[Subscriber]] = defaultdict(list)
    missed: dict[date, list[int]] = defaultdict(list)
    today = now.astimezone(tz).date()
    for sub in subscribers:
        for day in (today - timedelta(days=1), today):
            if day < sub.first_day:
                continue
            at = datetime.combine(day, sub.send_time, tzinfo=tz)
            if at > now:
                continue
            if now - at <= catchup:
                ready[day].append(sub)
            else:
                missed[day].append(sub.chat_id)
    return Due(dict(ready), dict(missed))


class DigestScheduler:
    def __init__(
        self,
        storage: Storage,
        digest: DigestService,
        delivery: Delivery,
        *,
        tz: ZoneInfo,
        catchup: timedelta,
        clock: Clock,
    ) -> None:
        self.storage = storage
        self.digest = digest
        self.delivery = delivery
        self.tz = tz
        self.catchup = catchup
        self.clock = clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broadcasts: set[asyncio.Task[RunReport]] = set()

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.clear()
        unknown = await self.storage.deliveries.resolve_in_flight()
        if unknown:
            log.warning(
                "digests in flight when the bot stopped: %s, not sent again (may be missing)",
                unknown,
            )
        self._task = asyncio.create_task(self._run(), name="digest-scheduler")

    async def stop(self) -> None:
        """Let the sends in flight finish, start no new ones, and wait for that."""
        self._stop.set()
        tasks = [t for t in (self._task, *self._broadcasts) if t is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:
                # The schedule must outlive a bad minute (a locked database, say).
                log.exception("digest schedule tick failed")
            await wait_set(self._stop, TICK_SECONDS)

    # -- work -----------------------------------------------------------------------------

    async def tick(self) -> list[RunReport]:
        """Send every digest that is due now. Returns what each day's run did."""
        found = due(await self.storage.subscribers.active(), self.clock(), self.tz, self.catchup)
        for day, chat_ids in found.missed.items():
            await self.storage.deliveries.mark_missed(day, chat_ids)
        reports = []
        for day, subs in sorted(found.now.items()):
            reports.append(await self.deliver(day, subs))
        return reports

    async def deliver(
        self,
        day: date,
        subscribers: list[Subscriber],
        *,
        retry_failed: bool = False,
        progress: Progress | None = None,
    ) -> RunReport:
        # One run at a time, across every process sharing the database: the claim reads
        # what the run before has finished.
        async with self.storage.db.exclusive("digest-delivery"):
            ids = await self.storage.deliveries.claim(
                day, [s.chat_id for s in subscribers], retry_failed=retry_failed
            )
            wanted = set(ids)
            targets = [s for s in subscribers if s.chat_id in wanted]
            report = RunReport(day, total=len(targets))
            if not targets:
                if progress is not None:
                    await _quietly(progress(report))
                return report
            # One text per language and city: each reader gets their city's market rates.
            cities = await self.digest.cities_of([s.chat_id for s in targets])
            texts = {
                (lang, city): await self.digest.text(day, lang, today=self.today(), city=city)
                for lang, city in {(s.lang, cities.get(s.chat_id)) for s in targets}
            }
            log.info("digest delivery day=%s chats=%s", day, len(targets))

            def job(sub: Subscriber) -> Job:
                text = texts[sub.lang, cities.get(sub.chat_id)]

                async def send(bot: Bot, chat_id: int) -> object:
                    return await bot.send_message(chat_id, text)

                return Job(sub.chat_id, send)

            async def before(job: Job) -> bool:
                return await self.storage.deliveries.begin(
                    day, job.chat_id, retry_failed=retry_failed
                )

            async def after(job: Job, result: Result) -> None:
                if result.outcome is Outcome.TAKEN:
                    report.total -= 1
                    return
                if result.outcome is Outcome.SENT:
                    report.sent += 1
                    status = DeliveryStatus.SENT
                elif result.outcome is Outcome.IN_DOUBT:
                    # Telegram may have delivered it: never sent twice, shown in /stats.
                    report.failed += 1
                    status = DeliveryStatus.UNKNOWN
                    log.warning("digest in doubt chat_id=%s: %s", job.chat_id, result.error)
                elif result.outcome is Outcome.GONE:
                    report.gone += 1
                    status = DeliveryStatus.BLOCKED
                    await self.storage.subscribers.deactivate(job.chat_id, result.error or "gone")
                    log.info("subscriber gone chat_id=%s: %s", job.chat_id, result.error)
                else:
                    report.failed += 1
                    status = DeliveryStatus.FAILED
                    log.warning("digest not delivered chat_id=%s: %s", job.chat_id, result.error)
                await self.storage.deliveries.mark(day, job.chat_id, status, result.error)
                if progress is not None and report.done < report.total:
                    await _quietly(progress(report))

            await self.delivery.run(
                [job(s) for s in targets], after, before_send=before, stop=self._stop
            )
            if progress is not None:
                await _quietly(progress(report))
            log.info(
                "digest delivered day=%s sent=%s gone=%s failed=%s",
                day,
                report.sent,
                report.gone,
                report.failed,
            )
            return report

    def broadcast(self, progress: Progress | None = None) -> asyncio.Task[RunReport]:
        """Today's digest to every active subscriber who has not had it, now, in the
        background (a handler must not hold up the bot for minutes)."""

        async def run() -> RunReport:
            subscribers = await self.storage.subscribers.active()
            return await self.deliver(
                self.today(), subscribers, retry_failed=True, progress=progress
            )

        task = asyncio.create_task(run(), name="digest-broadcast")
        self._broadcasts.add(task)
        task.add_done_callback(self._broadcasts.discard)
        return task


async def _quietly(call: Awaitable[None]) -> None:
    """Progress reports are for an admin's eyes: failing to show one stops nothing."""
    try:
        await call
    except Exception:  # a progress message is best effort; logged with its traceback
        log.warning("could not report delivery progress", exc_info=True)
