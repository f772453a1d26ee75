"""/language: the reader chooses the language the bot speaks to them in."""

from __future__ import annotations

import time

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from babel import Locale, UnknownLocaleError

from bot.callbacks import ChooseLanguage
from bot.commands import refresh_chat_commands
from bot.config import Settings
from bot.handlers.editing import edit_in_place
from bot.texts import LANGUAGES, N_, t
from storage import Storage

#: Each language's name, in itself, on its button.
_NAMES = {
    "ru": N_("language_name_ru"),
    "kk": N_("language_name_kk"),
    "en": N_("language_name_en"),
}
#: What a reader may type after /language besides the code.
_TYPED = {
    "русский": "ru",
    "рус": "ru",
    "орысша": "ru",
    "russian": "ru",
    "қазақша": "kk",
    "қазақ": "kk",
    "казахский": "kk",
    "kazakh": "kk",
    "kz": "kk",
    "english": "en",
    "английский": "en",
    "ағылшынша": "en",
}


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(language, Command("language", "lang"))
    router.callback_query.register(choose, ChooseLanguage.filter())
    return router


def choices(lang: str) -> InlineKeyboardMarkup:
    """A button per language the bot speaks, each named in itself."""
    buttons = [
        InlineKeyboardButton(text=_name(code, lang), callback_data=ChooseLanguage(c=code).pack())
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def _name(code: str, lang: str) -> str:
    """A language's name in itself: from the catalogs, and for a language added since as
    a catalog alone, from CLDR ("oʻzbek")."""
    key = _NAMES.get(code)
    if key is not None:
        return t(lang, key)
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code


def _typed_code(typed: str) -> str | None:
    """The language a reader typed after /language: a code ("kk", "ru-RU"), or a name."""
    base = typed.replace("_", "-").split("-")[0]
    if base in LANGUAGES:
        return base
    return _TYPED.get(typed)


async def language(
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    settings: Settings,
    lang: str,
) -> None:
    """/language shows the buttons; /language kk (or қазақша) chooses at once."""
    typed = (command.args or "").strip().casefold()
    if not typed:
        await message.answer(t(lang, "language_prompt"), reply_markup=choices(lang))
        return
    code = _typed_code(typed)
    if code is None or code not in LANGUAGES or message.from_user is None:
        await message.answer(t(lang, "language_unknown"), reply_markup=choices(lang))
        return
    await _remember(bot, storage, settings, message.from_user.id, code)
    await message.answer(t(code, "language_set"))


async def choose(
    query: CallbackQuery,
    callback_data: ChooseLanguage,
    bot: Bot,
    storage: Storage,
    settings: Settings,
    lang: str,
) -> None:
    code = callback_data.c
    if code not in LANGUAGES:
        # A button of a language since removed, or a made-up one.
        await query.answer(t(lang, "unknown_button"))
        return
    # At once: setting the menus takes several calls, and a button left spinning that long
    # may expire.
    await query.answer()
    if await storage.readers.language(query.from_user.id) != code:
        await _remember(bot, storage, settings, query.from_user.id, code)
    await edit_in_place(query, t(code, "language_set"))


async def _remember(
    bot: Bot, storage: Storage, settings: Settings, user_id: int, code: str
) -> None:
    await storage.readers.choose_language(user_id, code, now=int(time.time()))
    await refresh_chat_commands(
        bot, storage.readers, user_id, code, admin=settings.is_admin(user_id)
    )
