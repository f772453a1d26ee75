"""Admin commands: /stats and /senddigest. Anyone else is politely refused."""

from __future__ import annotations

import time as monotonic_time
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import SendDigest
from bot.clock import Clock
from bot.commands import ADMIN
from bot.config import Settings
from bot.filters import IsAdmin
from bot.services.digest import date_in_words
from bot.services.scheduler import DigestScheduler, RunReport
from bot.texts import plain, t
from storage import Storage

PROGRESS_EVERY_SECONDS = 2.0


def create_router() -> Router:
    router = Router(name=__name__)
    # A non-admin is refused whatever the chat; admin output stays in private chats.
    router.message.register(refuse, Command(*ADMIN), ~IsAdmin())
    router.callback_query.register(refuse_button, SendDigest.filter(), ~IsAdmin())
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(stats, Command("stats"), private)
    router.message.register(senddigest, Command("senddigest"), private)
    router.callback_query.register(confirm_senddigest, SendDigest.filter())
    return router


async def refuse(message: Message, lang: str) -> None:
    await message.answer(t(lang, "admin_only"))


async def refuse_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(t(lang, "admin_only"), show_alert=True)


def _when(moment: datetime | None, settings: Settings, lang: str) -> str:
    if moment is None:
        return plain(lang, "stats_none")
    return moment.astimezone(settings.timezone).strftime("%d.%m.%Y %H:%M")


async def stats_text(storage: Storage, settings: Settings, clock: Clock, lang: str) -> str:
    """The figures of /stats (also printed by `python -m bot stats`)."""
    now = clock().astimezone(settings.timezone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    posts = await storage.posts.stats(midnight)
    active, inactive = await storage.subscribers.counts()
    channels = ", ".join(
        plain(lang, "stats_channel", title=title, count=count) for title, count in posts.by_channel
    )
    deliveries = "\n".join(
        plain(
            lang,
            "stats_delivery",
            day=day,
            sent=counts["sent"],
            failed=counts["failed"],
            pending=counts["pending"] + counts["sending"],
            gone=counts["blocked"],
        )
        for day, counts in (await storage.deliveries.summary()).items()
    )
    fetch = await storage.rates.last_fetch()
    if fetch is None:
        rates = plain(lang, "stats_rates_never")
    elif fetch.ok:
        rates = plain(lang, "stats_rates_ok", when=_when(fetch.attempted_at, settings, lang))
    else:
        rates = plain(
            lang,
            "stats_rates_failed",
            when=_when(fetch.attempted_at, settings, lang),
            error=(fetch.error or "?")[:100],
            last_ok=_when(fetch.last_ok_at, settings, lang),
        )
    return t(
        lang,
        "stats",
        total=posts.total,
        today=posts.recent,
        channels=channels or plain(lang, "stats_none"),
        channel=posts.by_source.get("channel", 0),
        forward=posts.by_source.get("forward", 0),
        imported=posts.by_source.get("import", 0),
        active=active,
        inactive=inactive,
        deliveries=deliveries or plain(lang, "stats_none"),
        rates=rates,
    )


async def stats(
    message: Message, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    await message.answer(await stats_text(storage, settings, clock, lang))


async def senddigest(
    message: Message, storage: Storage, scheduler: DigestScheduler, lang: str
) -> None:
    active, _ = await storage.subscribers.counts()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(lang, "senddigest_yes"), callback_data=SendDigest(go=1).pack()
                ),
                InlineKeyboardButton(
                    text=t(lang, "senddigest_no"), callback_data=SendDigest(go=0).pack()
                ),
            ]
        ]
    )
    day = date_in_words(scheduler.today(), lang)
    await message.answer(t(lang, "senddigest_confirm", date=day, count=active), reply_markup=markup)


async def confirm_senddigest(
    query: CallbackQuery,
    callback_data: SendDigest,
    bot: Bot,
    scheduler: DigestScheduler,
    lang: str,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if not callback_data.go:
        await message.edit_text(t(lang, "senddigest_cancelled"))
        return
    await message.edit_text(t(lang, "senddigest_started"))
    last_shown = 0.0

    async def progress(report: RunReport) -> None:
        # Called after each send and once at the end; edits are kept to one per 2 s.
        nonlocal last_shown
        now = monotonic_time.monotonic()
        if report.total == 0:
            text = t(lang, "senddigest_nobody", date=date_in_words(report.day, lang))
        elif report.done < report.total:
            if now - last_shown < PROGRESS_EVERY_SECONDS:
                return
            text = t(lang, "senddigest_progress", done=report.done, total=report.total)
        else:
            text = t(
                lang, "senddigest_done", sent=report.sent, gone=report.gone, failed=report.failed
            )
        last_shown = now
        await bot.edit_message_text(
            text=text, chat_id=message.chat.id, message_id=message.message_id
        )

    scheduler.broadcast(progress)
