"""Webhook mode: Telegram posts updates to an aiohttp server, which stores them first.

aiogram's SimpleRequestHandler checks the secret header and answers at once, but it hands
a slow update to the background after 55 seconds and answers a handler's crash with 500.
Here an update is fed to the dispatcher inside the request and the answer says what
happened to it, so Telegram's own retries do what the poller's unconfirmed offset does:

- 200: the update is handled (stored, or refused by a filter, or failed in a handler in a
  way a retry would repeat; the poller skips those too);
- 401: the X-Telegram-Bot-Api-Secret-Token header is missing or wrong; nothing is read;
- 400: the body is not an update; nothing is handled;
- 503: storage cannot write now; Telegram sends the update again later.

GET /healthz answers 200 while the database answers, 503 when it does not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import Update, User
from aiogram.utils.backoff import Backoff
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import ALLOWED_UPDATES, open_resources
from bot.clock import wait_set
from bot.config import Settings
from bot.handlers.errors import apologise
from bot.polling import DEFAULT_BACKOFF, StorageFailureHook, read_update
from bot.telegram_errors import short
from storage import Storage, StorageUnavailable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
#: How long a stopping server waits for updates in hand; Telegram itself waits about 60s.
SHUTDOWN_TIMEOUT = 30.0

STORAGE_KEY = web.AppKey("storage", Storage)
_SIGNALS = (signal.SIGTERM, signal.SIGINT)

T = TypeVar("T")


class WebhookError(Exception):
    """Webhook mode cannot start: the address is taken, or Telegram refused the URL."""


def webhook_path(url: str) -> str:
    """The path of WEBHOOK_URL, where the server listens (a proxy passes it unchanged)."""
    return urlsplit(url).path or "/"


class StoringRequestHandler(SimpleRequestHandler):
    """An update is answered only after the dispatcher has finished with it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str,
        storage: Storage,
        on_storage_failure: StorageFailureHook | None = None,
        **data: Any,
    ) -> None:
        super().__init__(
            dispatcher, bot, handle_in_background=False, secret_token=secret_token, **data
        )
        self.storage = storage
        self.on_storage_failure = on_storage_failure
        # Telegram redelivers a failed update many times; apologise for it once.
        self._apologised: OrderedDict[int, None] = OrderedDict()

    def register(self, app: web.Application, /, path: str, **kwargs: Any) -> None:
        # Unlike the base class, no on_shutdown hook closing the bot session: aiohttp runs
        # on_shutdown before in-flight requests finish, and they may still need the bot.
        app.router.add_route("POST", path, self.handle, **kwargs)

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            log.warning(
                "webhook request refused: wrong or missing secret remote=%s", request.remote
            )
            return web.Response(status=401, text="unauthorized")
        try:
            raw = await request.json(loads=bot.session.json_loads)
        except ValueError as error:
            # JSON and UTF-8 errors are ValueErrors.
            log.warning(
                "webhook body is not an update remote=%s error=%s",
                request.remote,
                type(error).__name__,
            )
            return web.Response(status=400, text="not a Telegram update")
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        update, why = read_update(raw, bot)
        if update is None:
            if not isinstance(update_id, int):
                log.warning("webhook body is not an update remote=%s", request.remote)
                return web.Response(status=400, text="not a Telegram update")
            # An update from Telegram that this version cannot read: kept for an operator,
            # and answered 200, or Telegram would hold back every later update behind it.
            await self._set_aside(update_id, raw, why)
            return web.json_response({})
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data)
        except TelegramRetryAfter as error:
            # An answer's flood wait ran past its budget: Telegram sends the update again.
            log.warning(
                "flood control, update left for Telegram to resend update_id=%s retry_after=%s",
                update.update_id,
                error.retry_after,
            )
            return web.Response(status=503, text="flood control")
        except StorageUnavailable as error:
            log.error(
                "storage unavailable, update left for Telegram to resend update_id=%s error=%s",
                update.update_id,
                error,
            )
            await self._tell_once(bot, update)
            return web.Response(status=503, text="storage unavailable")
        except Exception:  # a handler bug: a resend would fail the same way
            log.exception("update failed and was skipped update_id=%s", update.update_id)
            return web.json_response({})
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot, result)
        return web.json_response({})

    async def _set_aside(self, update_id: int, raw: Any, why: str) -> None:
        log.error(
            "update cannot be read, set aside in the table unreadable_updates "
            "update_id=%s error=%s",
            update_id,
            why,
        )
        try:
            await self.storage.inbox.set_aside(update_id, json.dumps(raw, ensure_ascii=True), why)
        except StorageUnavailable as failure:
            log.warning("could not keep the unreadable update update_id=%s: %s", update_id, failure)

    async def _tell_once(self, bot: Bot, update: Update) -> None:
        if self.on_storage_failure is None or update.update_id in self._apologised:
            return
        self._apologised[update.update_id] = None
        if len(self._apologised) > 1024:
            self._apologised.popitem(last=False)
        try:
            await self.on_storage_failure(bot, update)
        except Exception:  # noqa: BLE001 - the apology is a courtesy; the update is kept
            log.warning("could not tell the user about a storage failure")


async def healthz(request: web.Request) -> web.Response:
    if await request.app[STORAGE_KEY].db.ping():
        return web.Response(text="ok")
    return web.Response(status=503, text="database unavailable")


def create_webhook_app(
    settings: Settings, dispatcher: Dispatcher, bot: Bot, storage: Storage
) -> web.Application:
    """The aiohttp application: the webhook route and /healthz."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    app = web.Application()
    app[STORAGE_KEY] = storage
    app.router.add_get(HEALTH_PATH, healthz)
    StoringRequestHandler(
        dispatcher,
        bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        storage=storage,
        on_storage_failure=apologise,
    ).register(app, path=webhook_path(settings.webhook_url))
    return app


async def run_webhook(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Serve the webhook until SIGTERM or SIGINT (or `stop` is set); then stop accepting,
    finish the updates in hand and close the database.

    The webhook stays set at Telegram when the bot stops: updates wait there until it is
    back. Long polling (WEBHOOK_URL unset) removes it at start.
    """
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    url, secret = settings.webhook_url, settings.webhook_secret.get_secret_value()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed first, so a SIGTERM during start-up also ends cleanly.
    for sig in _SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_resources(settings) as res:
            bot, dp = res.bot, res.dispatcher
            runner = web.AppRunner(
                create_webhook_app(settings, dp, bot, res.storage),
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
            await runner.setup()
            try:
                me = await _until_done(bot.me, stop, "getMe")
                if me is _STOPPED:
                    return
                if not isinstance(me, User):
                    raise WebhookError(f"getMe did not answer with the bot (answered {me!r})")
                await dp.emit_startup(bot=bot, dispatcher=dp, **dp.workflow_data)
                site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
                try:
                    await site.start()
                except OSError as error:
                    raise WebhookError(
                        f"cannot listen on {settings.webhook_host}:{settings.webhook_port} "
                        f"(WEBHOOK_HOST, WEBHOOK_PORT): {error.strerror or error}"
                    ) from None

                async def set_webhook() -> bool:
                    return await bot.set_webhook(
                        url=url,
                        secret_token=secret,
                        allowed_updates=ALLOWED_UPDATES,
                        drop_pending_updates=False,
                    )

                try:
                    accepted = await _until_done(set_webhook, stop, "setWebhook")
                except TelegramBadRequest as error:
                    raise WebhookError(
                        f"Telegram refused WEBHOOK_URL {url}: {error.message}"
                    ) from None
                if accepted is _STOPPED:
                    return
                if accepted is not True:
                    raise WebhookError(
                        f"setWebhook for WEBHOOK_URL {url} was not confirmed "
                        f"(Telegram answered {accepted!r})"
                    )
                log.info(
                    "started mode=webhook bot=@%s id=%s listen=%s:%s path=%s database=%s",
                    me.username,
                    me.id,
                    settings.webhook_host,
                    settings.webhook_port,
                    webhook_path(url),
                    res.storage.db.location,
                )
                await stop.wait()
                log.info("stopping: finishing the updates in progress")
            finally:
                # Stops listening, then waits for requests in hand (up to SHUTDOWN_TIMEOUT).
                await runner.cleanup()
                await dp.emit_shutdown(bot=bot, dispatcher=dp, **dp.workflow_data)
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        log.info("stopped")


class _Stopped:
    """What a start-up call gives when the bot was stopped before it was done."""


_STOPPED = _Stopped()


async def _until_done(
    call: Callable[[], Awaitable[T]], stop: asyncio.Event, what: str
) -> T | _Stopped:
    """Retry a start-up call while Telegram is unreachable; _STOPPED if stopped first.

    A refused token or URL is not retried: it would fail the same way. An answer that is
    not the Bot API's (a proxy's error page) is: these calls change nothing when repeated.
    """
    backoff = Backoff(DEFAULT_BACKOFF)
    while not stop.is_set():
        try:
            return await call()
        except (
            TelegramNetworkError,
            TelegramServerError,
            TelegramRetryAfter,
            ClientDecodeError,
        ) as error:
            delay = error.retry_after if isinstance(error, TelegramRetryAfter) else next(backoff)
            log.warning(
                "%s failed, Bot API unreachable error=%s retry_in=%.1fs",
                what,
                short(error),
                delay,
            )
            await wait_set(stop, delay)
    return _STOPPED
