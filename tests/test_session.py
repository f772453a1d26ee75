"""The session to the Bot API: aiogram's answer types outlive the garbage collector."""

from __future__ import annotations

import gc
import weakref

from aiogram import Bot
from aiogram.methods import Response, SendMessage

from bot.session import create_session
from tests.fake_telegram import TOKEN, FakeTelegram


def _answer_type() -> weakref.ref[type]:
    return weakref.ref(Response[SendMessage.__returning__])


async def test_answer_types_are_built_once_not_after_every_collection(
    fake_telegram: FakeTelegram,
) -> None:
    # pydantic keeps Response[Message] in a weak cache only; rebuilding it after each
    # collection cost a third of the CPU under load.
    bot = Bot(TOKEN, session=create_session(fake_telegram.url))
    try:
        await bot.send_message(chat_id=222, text="Привет")
        built = _answer_type()  # the one the session used
        gc.collect()
        assert built() is not None
        await bot.send_message(chat_id=222, text="Ещё раз")
        gc.collect()
        assert built() is not None
    finally:
        await bot.session.close()
