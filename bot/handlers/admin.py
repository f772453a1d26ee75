"""Admin commands: /stats, /senddigest, /delete and /mirror. Anyone else is politely
refused."""

from __future__ import annotations

import time as monotonic_time
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import DeletePost, SendDigest
from bot.clock import Clock
from bot.commands import ADMIN
from bot.config import Settings
from bot.filters import IsAdmin
from bot.render import ECHO_LIMIT, post_headline, shorten
from bot.services.digest import date_in_words
from bot.services.links import PostRef, parse_ref, ref_from_reply
from bot.services.mirror import Mirror
from bot.services.scheduler import DigestScheduler, RunReport
from bot.texts import N_, plain, t
from storage import Post, Storage

PROGRESS_EVERY_SECONDS = 2.0


def create_router() -> Router:
    router = Router(name=__name__)
    # A non-admin is refused whatever the chat; admin output stays in private chats.
    router.message.register(refuse, Command(*ADMIN), ~IsAdmin())
    router.callback_query.register(refuse_button, SendDigest.filter(), ~IsAdmin())
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(stats, Command("stats"), private)
    router.message.register(senddigest, Command("senddigest"), private)
    router.message.register(delete, Command("delete"), private)
    router.message.register(mirror_command, Command("mirror"), private)
    router.callback_query.register(confirm_senddigest, SendDigest.filter())
    router.callback_query.register(refuse_button, DeletePost.filter(), ~IsAdmin())
    router.callback_query.register(confirm_delete, DeletePost.filter())
    return router


async def refuse(message: Message, lang: str) -> None:
    await message.answer(t(lang, "admin_only"))


async def refuse_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(t(lang, "admin_only"), show_alert=True)


def _yes_no(
    lang: str, labels: tuple[str, str], yes: CallbackData, no: CallbackData
) -> InlineKeyboardMarkup:
    """A confirmation: its yes and no buttons, labelled by the message ids `labels`."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t(lang, labels[0]), callback_data=yes.pack()),
                InlineKeyboardButton(text=t(lang, labels[1]), callback_data=no.pack()),
            ]
        ]
    )


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
    mirror = await _mirror_stats(storage, settings, lang)
    topics = await _topic_stats(storage, int(midnight.timestamp()), lang)
    return t(
        lang,
        "stats",
        mirror=mirror,
        topics=topics,
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
    markup = _yes_no(
        lang, (N_("senddigest_yes"), N_("senddigest_no")), SendDigest(go=1), SendDigest(go=0)
    )
    today = scheduler.today()
    day = date_in_words(today, lang, today=today)
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
            day = date_in_words(report.day, lang, today=scheduler.today())
            text = t(lang, "senddigest_nobody", date=day)
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


async def _mirror_stats(storage: Storage, settings: Settings, lang: str) -> str:
    if not settings.mirror_chat_ids:
        return plain(lang, "stats_mirror_off")
    counts = await storage.mirror.summary()
    lines = [
        plain(
            lang,
            "stats_mirror",
            copied=counts["copied"],
            pending=counts["pending"] + counts["sending"],
            failed=counts["failed"],
            unknown=counts["unknown"],
            deleted=counts["deleted"],
        )
    ]
    for post_id, chat_id, error in await storage.mirror.failures():
        lines.append(
            plain(lang, "stats_mirror_failure", post=post_id, chat=chat_id, error=error[:80])
        )
    return "\n".join(lines)


async def _topic_stats(storage: Storage, midnight: int, lang: str) -> str:
    figures = await storage.topics.stats(midnight)
    top = ", ".join(
        plain(lang, "stats_topic", topic=shorten(text, ECHO_LIMIT), count=count)
        for text, count in figures.most_followed
    )
    return plain(
        lang,
        "stats_topics",
        topics=figures.topics,
        readers=figures.readers,
        sent=figures.sent_today,
        unknown=figures.in_doubt_today,
        failed=figures.failed_today,
        waiting=figures.waiting,
        top=top or plain(lang, "stats_none"),
    )


async def _find(storage: Storage, ref: PostRef) -> Post | None:
    if ref.post_id is not None:
        return await storage.posts.get(ref.post_id)
    if ref.message_id is None:
        return None
    if ref.username is not None:
        return await storage.posts.find_by_username(ref.username, ref.message_id)
    if ref.channel_id is not None:
        return await storage.posts.find(ref.channel_id, ref.message_id)
    return None


async def delete(message: Message, command: CommandObject, storage: Storage, lang: str) -> None:
    ref = None
    if command.args:
        ref = parse_ref(command.args)
    elif message.reply_to_message is not None:
        ref = ref_from_reply(message.reply_to_message)
    if ref is None:
        await message.answer(t(lang, "delete_usage"))
        return
    post = await _find(storage, ref)
    if post is None:
        await message.answer(t(lang, "delete_not_found"))
        return
    if post.deleted:
        await message.answer(t(lang, "delete_already"))
        return
    markup = _yes_no(
        lang,
        (N_("delete_yes"), N_("delete_no")),
        DeletePost(id=post.id, go=1),
        DeletePost(id=post.id, go=0),
    )
    await message.answer(
        t(lang, "delete_confirm", headline=post_headline(post, lang)), reply_markup=markup
    )


async def confirm_delete(
    query: CallbackQuery,
    callback_data: DeletePost,
    storage: Storage,
    lang: str,
    mirror: Mirror | None = None,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    if not callback_data.go:
        await message.edit_text(t(lang, "delete_cancelled"))
        return
    post = await storage.posts.get(callback_data.id)
    if post is None:
        await message.edit_text(t(lang, "delete_not_found"))
        return
    if not await storage.posts.mark_deleted(post.id):
        await message.edit_text(t(lang, "delete_already"))
        return
    if mirror is not None:
        await mirror.delete(post.id)
    await message.edit_text(t(lang, "delete_done", headline=post_headline(post, lang)))


async def mirror_command(
    message: Message, command: CommandObject, lang: str, mirror: Mirror | None = None
) -> None:
    if (command.args or "").strip().lower() != "retry" or mirror is None:
        await message.answer(t(lang, "mirror_usage"))
        return
    await message.answer(t(lang, "mirror_retry_done", count=await mirror.retry()))
