"""One place for failures in handlers: log them and apologise where someone is waiting."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import ErrorEvent, Update

from bot.telegram_retry import AnswerInDoubt
from bot.texts import language_of, t
from storage import StorageUnavailable

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router


async def on_error(event: ErrorEvent, bot: Bot, lang: str | None = None) -> object:
    if isinstance(event.exception, StorageUnavailable | TelegramRetryAfter):
        # Left to the poller (or to Telegram, in webhook mode): the update stays unhandled
        # and is handled again later. No apology: in a flood it would meet the 429 too.
        return UNHANDLED
    if isinstance(event.exception, AnswerInDoubt):
        # The reader most likely has the answer; an apology would contradict it.
        log.warning(
            "update handled, its answer in doubt update_id=%s: %s",
            event.update.update_id,
            event.exception,
        )
        return True
    log.error(
        "handler failed update_id=%s: %r",
        event.update.update_id,
        event.exception,
        exc_info=event.exception,
    )
    await apologise(bot, event.update, lang)
    return True


async def apologise(bot: Bot, update: Update, lang: str | None = None) -> None:
    """Tell the person who sent the update that it failed, in their language (`lang`, or
    their Telegram app's when the update failed before it was known)."""
    if update.message is not None:
        chat, user = update.message.chat, update.message.from_user
    elif update.callback_query is not None and update.callback_query.message is not None:
        chat, user = update.callback_query.message.chat, update.callback_query.from_user
    else:
        return
    if chat.type != ChatType.PRIVATE:
        return
    if lang is None:
        lang = language_of(user.language_code if user else None)
    try:
        await bot.send_message(chat.id, t(lang, "error"))
    except Exception:  # noqa: BLE001 - the apology is best effort
        log.warning("could not send an apology chat_id=%s", chat.id)
