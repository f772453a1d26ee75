"""Startup and shutdown hooks for what runs beside the update handlers: the digest
schedule, the mirror and topic alerts, all sending through one delivery service."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, Dispatcher

from bot.clock import Clock
from bot.config import Settings
from bot.leader import Leader, Role
from bot.services.alerts import AlertWorker
from bot.services.delivery import Delivery, RateLimiter, SharedRateLimiter
from bot.services.digest import DigestService
from bot.services.mirror import Mirror
from bot.services.scheduler import DigestScheduler
from bot.services.topics import TopicService
from storage import Storage
from storage.turns import TurnRepository


async def start_scheduler(
    bot: Bot,
    dispatcher: Dispatcher,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    digests: DigestService,
) -> None:
    limiter = RateLimiter(settings.send_rate)
    if storage.db.dialect.name == "postgresql":
        # Other processes may send in bulk too (an admin's /senddigest): one pace for all.
        limiter = SharedRateLimiter(TurnRepository(storage.db), settings.send_rate)
    delivery = Delivery(bot, limiter)
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
    # Every process matches the posts it stores against the topics readers follow.
    await topics.load()
    # The workers run in one process of those sharing the database (bot/leader.py).
    leader = Leader(
        storage.db,
        Role(
            start=[scheduler.start, mirror.start, alerts.start],
            stop=[alerts.stop, mirror.stop, scheduler.stop],
        ),
    )
    dispatcher["leader"] = leader
    await leader.start()


async def stop_scheduler(dispatcher: Dispatcher) -> None:
    """Sends in flight finish; nothing new starts."""
    leader = dispatcher.workflow_data.get("leader")
    if isinstance(leader, Leader):
        await leader.stop()
    # A digest an admin started here runs in this process, leader or not.
    scheduler = dispatcher.workflow_data.get("scheduler")
    if isinstance(scheduler, DigestScheduler):
        await scheduler.stop()
