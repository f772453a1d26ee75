"""Startup and shutdown hooks for what runs beside the update handlers: the digest
schedule, the mirror and topic alerts, all sending through one delivery service."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, Dispatcher

from bot.clock import Clock
from bot.config import Settings
from bot.services.alerts import AlertWorker
from bot.services.delivery import Delivery, RateLimiter
from bot.services.digest import DigestService
from bot.services.mirror import Mirror
from bot.services.scheduler import DigestScheduler
from bot.services.topics import TopicService
from storage import Storage


async def start_scheduler(
    bot: Bot,
    dispatcher: Dispatcher,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    digests: DigestService,
) -> None:
    delivery = Delivery(bot, RateLimiter(settings.send_rate))
    scheduler = DigestScheduler(
        storage,
        digests,
        delivery,
        tz=settings.timezone,
        catchup=timedelta(hours=settings.digest_catchup_hours),
        clock=clock,
    )
    mirror = Mirror(storage, delivery, settings)
    topics = dispatcher.workflow_data.get("topics")
    if not isinstance(topics, TopicService):
        topics = dispatcher["topics"] = TopicService(storage, clock)
    alerts = AlertWorker(storage, delivery, topics, tz=settings.timezone, clock=clock)
    dispatcher["delivery"] = delivery
    dispatcher["scheduler"] = scheduler
    dispatcher["mirror"] = mirror
    dispatcher["alerts"] = alerts
    await scheduler.start()
    await mirror.start()
    await alerts.start()


async def stop_scheduler(dispatcher: Dispatcher) -> None:
    """Sends in flight finish; nothing new starts."""
    alerts = dispatcher.workflow_data.get("alerts")
    if isinstance(alerts, AlertWorker):
        await alerts.stop()
    mirror = dispatcher.workflow_data.get("mirror")
    if isinstance(mirror, Mirror):
        await mirror.stop()
    scheduler = dispatcher.workflow_data.get("scheduler")
    if isinstance(scheduler, DigestScheduler):
        await scheduler.stop()
