"""The morning digest for readers: /digest, /subscribe, /unsubscribe and their buttons."""

from __future__ import annotations

from datetime import date, datetime, time

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Menu
from bot.clock import Clock
from bot.config import Settings, parse_hhmm
from bot.services.digest import DateError, DigestService, parse_day
from bot.texts import N_, t
from storage import Storage


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(digest, Command("digest"))
    router.message.register(subscribe, Command("subscribe"))
    router.message.register(unsubscribe, Command("unsubscribe"))
    router.callback_query.register(menu_digest, Menu.filter(F.a == "digest"))
    router.callback_query.register(menu_subscribe, Menu.filter(F.a == "subscribe"))
    router.callback_query.register(menu_unsubscribe, Menu.filter(F.a == "unsubscribe"))
    return router


def unsubscribe_button(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "menu_unsubscribe"), callback_data=Menu(a="unsubscribe").pack()
                )
            ]
        ]
    )


def first_day(now_local: datetime, at: time) -> date:
    """Today if the subscriber's time is still ahead today, else tomorrow."""
    today = now_local.date()
    if now_local.time().replace(second=0, microsecond=0) < at:
        return today
    return date.fromordinal(today.toordinal() + 1)


async def digest(
    message: Message,
    command: CommandObject,
    digests: DigestService,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    today = clock().astimezone(settings.timezone).date()
    try:
        day = parse_day(command.args, today)
    except DateError as error:
        await message.answer(t(lang, str(error)))
        return
    await message.answer(await digests.text(day, lang, today=today))


async def menu_digest(
    query: CallbackQuery, digests: DigestService, settings: Settings, clock: Clock, lang: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        today = clock().astimezone(settings.timezone).date()
        await query.message.answer(await digests.text(today, lang, today=today))


async def _subscribe(
    chat_id: int, at: time, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> str:
    now_local = clock().astimezone(settings.timezone)
    first = first_day(now_local, at)
    previous = await storage.subscribers.subscribe(
        chat_id, lang=lang, send_time=at, first_day=first
    )
    shown = at.strftime("%H:%M")
    if previous is not None and previous.active and previous.send_time == at:
        return t(lang, "subscribe_same", time=shown)
    changed = previous is not None and previous.active
    key = N_("subscribe_changed") if changed else N_("subscribe_done")
    text = t(lang, key, time=shown)
    if first > now_local.date():
        text += t(lang, "subscribe_tomorrow")
    return text


async def subscribe(
    message: Message,
    command: CommandObject,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    at = settings.digest_time
    if command.args and command.args.strip():
        try:
            at = parse_hhmm(command.args.strip().split()[0])
        except ValueError:
            await message.answer(t(lang, "subscribe_bad_time"))
            return
    text = await _subscribe(message.chat.id, at, storage, settings, clock, lang)
    await message.answer(text, reply_markup=unsubscribe_button(lang))


async def menu_subscribe(
    query: CallbackQuery, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        chat_id = query.message.chat.id
        text = await _subscribe(chat_id, settings.digest_time, storage, settings, clock, lang)
        await query.message.answer(text, reply_markup=unsubscribe_button(lang))


async def _unsubscribe(chat_id: int, storage: Storage, lang: str) -> str:
    if await storage.subscribers.deactivate(chat_id, "unsubscribed"):
        return t(lang, "unsubscribe_done")
    return t(lang, "unsubscribe_none")


async def unsubscribe(message: Message, storage: Storage, lang: str) -> None:
    await message.answer(await _unsubscribe(message.chat.id, storage, lang))


async def menu_unsubscribe(query: CallbackQuery, storage: Storage, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(await _unsubscribe(query.message.chat.id, storage, lang))
