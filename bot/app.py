"""Building the bot and running it: the one place that wires parts together."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode

from bot.clock import Clock, system_clock, wait_set
from bot.commands import set_commands, set_descriptions
from bot.config import Settings
from bot.handlers import routers
from bot.handlers.errors import apologise
from bot.leader import LEADER_RETRY_SECONDS
from bot.lifecycle import start_scheduler, stop_scheduler
from bot.middlewares import LanguageMiddleware
from bot.pace import ChatPace, SharedPace
from bot.polling import Poller
from bot.services.digest import DigestService
from bot.services.ingest import AlbumNotices, ChannelPolicy
from bot.services.market import MarketService
from bot.services.rates import RatesService
from bot.services.topics import TopicService
from bot.session import create_session
from bot.telegram_retry import AnswerScope
from storage import Database, Storage
from storage.engine import STORAGE_ERRORS, Lease
from storage.market import MarketRepository
from storage.turns import TurnRepository

log = logging.getLogger(__name__)

USER_AGENT = "newsmirror-bot/0.1"

#: What the bot asks Telegram for, in polling and webhook mode alike. Reaction counts
#: are not sent unless asked for by name.
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "message_reaction_count",
]


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def create_bot(settings: Settings, storage: Storage | None = None) -> Bot:
    """The bot; with PostgreSQL's storage, its pace is shared with the bot's other
    processes (bot/pace.py SharedPace)."""
    pace = ChatPace()
    if storage is not None and storage.db.dialect.name == "postgresql":
        pace = SharedPace(TurnRepository(storage.db))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=create_session(settings.telegram_api_url, pace),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_http_client() -> httpx.AsyncClient:
    """The one HTTP client for outside sources (the rates feed), with explicit timeouts."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def create_dispatcher(
    settings: Settings,
    storage: Storage,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Clock = system_clock,
) -> Dispatcher:
    """The dispatcher with every router, middleware and long-lived dependency."""
    http = http or create_http_client()
    dp = Dispatcher(
        http=http,
        clock=clock,
        settings=settings,
        channel_policy=ChannelPolicy(settings.source_channels),
        album_notices=AlbumNotices(),
    )
    # Set after construction: Dispatcher(storage=…) is aiogram's FSM storage.
    dp["storage"] = storage
    dp["rates"] = rates = RatesService.from_settings(settings, http, storage.rates)
    # Exchange offices' quotes per city; "now" from the bot's clock judges their age.
    dp["market"] = market = MarketService.from_settings(
        settings, http, MarketRepository(storage.db), now=clock
    )
    dp["digests"] = DigestService(
        storage.posts,
        rates,
        digest_time=settings.digest_time,
        tz=settings.timezone,
        market=market,
    )
    # The matching index of followed topics; loaded from the database at start.
    dp["topics"] = TopicService(storage, clock)
    dp.update.outer_middleware(LanguageMiddleware(storage.readers))
    dp.update.outer_middleware(AnswerScope())  # what RetryAnswers retries
    dp.include_routers(*routers())
    dp.startup.register(set_commands)
    dp.startup.register(set_descriptions)
    dp.startup.register(start_scheduler)
    dp.shutdown.register(stop_scheduler)
    return dp


@dataclass(slots=True)
class Resources:
    """What one run of the bot holds open, whatever the mode (polling or webhook)."""

    storage: Storage
    http: httpx.AsyncClient
    bot: Bot
    dispatcher: Dispatcher


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open the database, the HTTP client, the bot and its dispatcher; close all on exit."""
    storage = await Storage.open(settings.database)
    http = create_http_client()
    bot = create_bot(settings, storage)
    try:
        yield Resources(storage, http, bot, create_dispatcher(settings, storage, http=http))
    finally:
        await bot.session.close()
        await http.aclose()
        await storage.close()


async def run_polling(
    settings: Settings, *, stop: asyncio.Event | None = None, clock: Clock = system_clock
) -> None:
    """Run until SIGTERM or SIGINT (or `stop` is set); then finish the update in hand,
    confirm what was handled and close the database."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed first, so a SIGTERM during start-up also ends cleanly.
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    storage = await Storage.open(settings.database)
    http = create_http_client()
    bot = create_bot(settings, storage)
    dp = create_dispatcher(settings, storage, http=http, clock=clock)
    poller = Poller(
        dp,
        bot,
        allowed_updates=ALLOWED_UPDATES,
        on_storage_failure=apologise,
        inbox=storage.inbox,
    )
    watcher = asyncio.create_task(_stop_when_set(stop, poller))
    lease: Lease | None = None
    try:
        # Telegram serves getUpdates to one caller at a time: a second process polling
        # for the same bot (on PostgreSQL) waits as a standby until the first one ends.
        lease = await _wait_for_lease(storage.db, "poller", stop)
        if lease is None:
            return
        me = await poller.connect()
        if me is None:
            return
        log.info("started bot=@%s id=%s database=%s", me.username, me.id, storage.db.location)
        await dp.emit_startup(bot=bot, dispatcher=dp, **dp.workflow_data)
        await poller.run()
    finally:
        watcher.cancel()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        await dp.emit_shutdown(bot=bot, dispatcher=dp, **dp.workflow_data)
        if lease is not None:
            await lease.release()
        await bot.session.close()
        await http.aclose()
        await storage.close()
        log.info("stopped")


async def _wait_for_lease(db: Database, name: str, stop: asyncio.Event) -> Lease | None:
    """The lease, once no other process holds it; None if `stop` is set first."""
    told = False
    while not stop.is_set():
        try:
            lease = await db.try_lease(name)
        except STORAGE_ERRORS as error:
            log.warning("cannot ask for the %s lease now: %s", name, error)
            lease = None
        if lease is not None:
            return lease
        if not told:
            told = True
            log.info("another process polls Telegram: standing by until it stops")
        await wait_set(stop, LEADER_RETRY_SECONDS)
    return None


async def _stop_when_set(event: asyncio.Event, poller: Poller) -> None:
    await event.wait()
    poller.stop()
