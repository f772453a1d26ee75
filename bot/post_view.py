"""Sending a stored post to a reader as it was published: text, formatting and media."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
)

from bot.render import CAPTION_LIMIT, MESSAGE_LIMIT, post_headline, post_html, post_link
from bot.telegram_errors import refused_formatting, refused_length
from bot.texts import t
from storage import Entity, Post

log = logging.getLogger(__name__)

_SEND_ONE = {
    "photo": "send_photo",
    "video": "send_video",
    "animation": "send_animation",
    "document": "send_document",
    "audio": "send_audio",
    "voice": "send_voice",
}
_ALBUM_ITEM = {
    "photo": InputMediaPhoto,
    "video": InputMediaVideo,
    "document": InputMediaDocument,
    "audio": InputMediaAudio,
}


def original_button(post: Post, lang: str) -> InlineKeyboardMarkup:
    url = post_link(post.channel_id, post.channel_username, post.message_id)
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t(lang, "post_original"), url=url)]]
    )


async def send_post(bot: Bot, chat_id: int, post: Post, lang: str) -> None:
    """The post in full, with a button to the original.

    When Telegram refuses the post's formatting (a custom emoji it does not know, an
    entity it will not parse) or finds the formatted text too long, the post goes out
    without its custom emoji, and failing that as plain text: a reader always gets the
    post, never an apology for it.
    """
    variants: tuple[Callable[[], str], ...] = (
        lambda: post_html(post),
        lambda: post_html(replace(post, entities=_without_custom_emoji(post.entities))),
        lambda: html.escape(post.text, quote=False),
    )
    if len(post.text) > MESSAGE_LIMIT:
        # Longer than Telegram lets a bot send (an odd import, a hostile update): the part
        # that fits, unformatted, and the button to the original for the rest.
        cut = post.text[: MESSAGE_LIMIT - 1].rstrip() + "…"
        variants = (lambda: html.escape(cut, quote=False),)
    for attempt, variant in enumerate(variants, start=1):
        try:
            await _send_post(bot, chat_id, post, lang, variant())
            return
        except TelegramBadRequest as error:
            if attempt == len(variants) or not (refused_formatting(error) or refused_length(error)):
                raise
            log.warning(
                "post formatting refused, sending it with less post_id=%s attempt=%s: %s",
                post.id,
                attempt,
                error.message,
            )


def _without_custom_emoji(entities: list[Entity]) -> list[Entity]:
    return [e for e in entities if e.get("type") != "custom_emoji"]


async def _send_post(bot: Bot, chat_id: int, post: Post, lang: str, text: str) -> None:
    """The post with `text` as its formatted text. Media that Telegram no longer serves
    (or that an import could not carry) fall back to the text alone."""
    markup = original_button(post, lang)
    media = [m for m in post.media if m.file_id]
    fits_caption = len(post.text) <= CAPTION_LIMIT
    if len(media) > 1 and not _one_album({m.kind for m in media}):
        media = []  # the text, with the note that the media are not shown
    try:
        if len(media) > 1 and _one_album({m.kind for m in media}):
            # A text too long for a caption goes below the album, with the button.
            await _send_album(bot, chat_id, post, text if fits_caption else "")
            below = _title(post, lang) if fits_caption or not post.text.strip() else text
            await bot.send_message(chat_id, below, reply_markup=markup)
            return
        if len(media) == 1 and media[0].kind in _SEND_ONE and fits_caption:
            send = getattr(bot, _SEND_ONE[media[0].kind])
            await send(chat_id, media[0].file_id, caption=text or None, reply_markup=markup)
            return
        if media and media[0].kind in ("video_note", "sticker") and media[0].file_id:
            # These take no caption: the media first, then the text below.
            if media[0].kind == "video_note":
                await bot.send_video_note(chat_id, media[0].file_id)
            else:
                await bot.send_sticker(chat_id, media[0].file_id)
    except TelegramBadRequest as error:
        if refused_formatting(error):
            raise
        log.warning("post media could not be sent post_id=%s: %s", post.id, error.message)
        media = []
    body = text if post.text.strip() else _title(post, lang)
    note = "\n\n" + t(lang, "media_missing")
    # Telegram counts the text without tags; the note must not push a full post past it.
    if post.media and not media and len(post.text) + len(note) <= MESSAGE_LIMIT:
        body += note
    await bot.send_message(chat_id, body, reply_markup=markup)


def _one_album(kinds: set[str]) -> bool:
    """Whether Telegram takes these media as one album: photos and videos together,
    documents only with documents, audio only with audio."""
    return kinds <= {"photo", "video"} or kinds == {"document"} or kinds == {"audio"}


async def _send_album(bot: Bot, chat_id: int, post: Post, text: str) -> None:
    holder = next((p.message_id for p in post.parts if p.text), None)
    items = []
    for part in post.parts:
        if part.media is None or not part.media.file_id:
            continue
        cls = _ALBUM_ITEM[part.media.kind]
        caption = (text or None) if part.message_id == holder else None
        items.append(cls(media=part.media.file_id, caption=caption))
    await bot.send_media_group(chat_id, items[:10])


def _title(post: Post, lang: str) -> str:
    return f"<b>{html.escape(post_headline(post, lang))}</b>"
