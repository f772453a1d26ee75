"""Greeting, help, and the answer to anything the bot does not understand."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Menu
from bot.config import Settings
from bot.texts import N_, t


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(unknown_command, F.text.startswith("/"))
    # Last of all routers: a button no handler knows still stops its spinner.
    router.callback_query.register(unknown_button)
    return router


def menu(lang: str) -> InlineKeyboardMarkup:
    """The main actions, as buttons under the greeting."""

    def button(action: str, label: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=t(lang, label), callback_data=Menu(a=action).pack())

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button("latest", N_("menu_latest")), button("top", N_("menu_top"))],
            [button("digest", N_("menu_digest")), button("rates", N_("menu_rates"))],
            [button("subscribe", N_("menu_subscribe"))],
        ]
    )


async def start(message: Message, lang: str) -> None:
    await message.answer(t(lang, "start"), reply_markup=menu(lang))


async def help_(message: Message, lang: str, settings: Settings) -> None:
    text = t(lang, "help")
    if message.from_user and settings.is_admin(message.from_user.id):
        text += t(lang, "help_admin")
    await message.answer(text)


async def unknown_command(message: Message, lang: str) -> None:
    await message.answer(t(lang, "unknown_command"))


async def unknown_button(query: CallbackQuery, lang: str) -> None:
    """A button the bot does not know: from an older version of it, or made up."""
    await query.answer(t(lang, "unknown_button"))
