"""Editing the message a button is on, in place."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup

from bot.telegram_errors import not_modified


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The button's message now reads `text`. Two quick taps on one button edit it to the
    same text twice; Telegram refuses the second as not modified, which is no failure."""
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if not not_modified(error):
            raise
