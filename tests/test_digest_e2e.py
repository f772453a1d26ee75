"""The morning digest through the whole bot and the fake Bot API server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services import scheduler as scheduler_module
from storage import DeliveryStatus, Storage
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.updates import ADMIN, READER, callback_query, channel_post, private_text, reaction_count

StartBot = Callable[..., Any]
ALMATY = ZoneInfo("Asia/Almaty")
DAY = date(2025, 12, 17)
RU_READER = {"id": 333, "is_bot": False, "first_name": "Айдар", "language_code": "ru"}


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def local(day: date, hh: int, mm: int) -> int:
    return int(datetime.combine(day, time(hh, mm), tzinfo=ALMATY).timestamp())


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The schedule looks at the (injected) clock every few milliseconds instead of 20 s.
    monkeypatch.setattr(scheduler_module, "TICK_SECONDS", 0.02)


def texts_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return fake.sent_texts(chat_id)


async def test_subscribe_change_time_and_unsubscribe(start_bot: StartBot, storage: Storage) -> None:
    clock = FixedClock(datetime.combine(DAY, time(9, 0), tzinfo=ALMATY))
    bot: RunningBot = await start_bot(clock=clock)
    await bot.send(private_text("/subscribe", user=RU_READER))
    await bot.send(private_text("/subscribe 07:30", user=RU_READER))
    await bot.send(private_text("/subscribe 07:30", user=RU_READER))
    await bot.send(private_text("/subscribe 25:99", user=RU_READER))
    await bot.send(private_text("/unsubscribe", user=RU_READER))
    await bot.send(private_text("/unsubscribe", user=RU_READER))
    await bot.send(callback_query("m:subscribe", user=READER))
    reply = bot.fake.calls_of("sendMessage")[-1].params
    assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "m:unsubscribe"
    await bot.send(callback_query("m:unsubscribe", user=READER))
    assert texts_to(bot.fake, RU_READER["id"]) == [
        "🔔 Готово! Дайджест будет приходить каждый день в 08:00. Первый придёт завтра.",
        "🔔 Время дайджеста изменено: теперь в 07:30. Первый придёт завтра.",
        "🔔 Вы уже подписаны: дайджест приходит в 07:30.",
        "Укажите время как ЧЧ:ММ, например: /subscribe 07:30",
        "🔕 Вы отписались от дайджеста. Вернуться — /subscribe.",
        "Вы не подписаны на дайджест. Подписаться — /subscribe.",
    ]
    assert texts_to(bot.fake, READER["id"]) == [
        "🔔 Done! The digest will arrive every day at 08:00. The first one comes tomorrow.",
        "🔕 You have unsubscribed from the digest. To come back: /subscribe.",
    ]
    english = await storage.subscribers.get(READER["id"])
    assert english is not None
    assert english.lang == "en"
    assert english.first_day == date(2025, 12, 18)
    assert not english.active


async def test_exact_digest_at_a_fixed_clock(start_bot: StartBot, storage: Storage) -> None:
    clock = FixedClock(datetime.combine(DAY, time(8, 0, 30), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    prev = date(2025, 12, 16)
    await bot.send_all(
        [
            channel_post(1, "Вчерашнее утро, до окна", date=local(prev, 7, 59)),
            channel_post(2, "🇰🇿🇯🇵 Токаев прибыл в Японию", date=local(prev, 8, 0)),
            channel_post(3, "🥩Мясная ярмарка пройдёт в Астане", date=local(prev, 23, 30)),
            channel_post(4, "❄️ Прогноз погоды на 18 декабря", date=local(DAY, 7, 59)),
            channel_post(5, "Уже после окна", date=local(DAY, 8, 0)),
            reaction_count(3, [40]),
            reaction_count(2, [25]),
        ]
    )
    await storage.subscribers.subscribe(
        RU_READER["id"], lang="ru", send_time=time(8, 0), first_day=DAY
    )
    await bot.fake.wait_until(lambda: texts_to(bot.fake, RU_READER["id"]))
    expected = (
        "☀️ <b>Доброе утро! Предлагаем обзор главных новостей за 17 декабря</b>\n\n"
        '🥩 <a href="https://t.me/kz_news/3">Мясная ярмарка пройдёт в Астане</a>\n'
        '🇰🇿🇯🇵 <a href="https://t.me/kz_news/2">Токаев прибыл в Японию</a>\n'
        '❄️ <a href="https://t.me/kz_news/4">Прогноз погоды на 18 декабря</a>'
    )
    assert texts_to(bot.fake, RU_READER["id"]) == [expected]

    async def sent() -> bool:
        return await storage.deliveries.status(DAY, RU_READER["id"]) is DeliveryStatus.SENT

    await eventually(sent)

    # /digest shows the same digest on demand, and nothing is sent twice by the schedule.
    await bot.send(private_text("/digest", user=RU_READER))
    await bot.send(private_text("/digest 17.12.2025", user=RU_READER))
    assert texts_to(bot.fake, RU_READER["id"]) == [expected, expected, expected]


async def test_digest_of_an_empty_day_and_bad_dates(start_bot: StartBot) -> None:
    clock = FixedClock(datetime.combine(DAY, time(12, 0), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    for command in ("/digest вчера", "/digest 18.12.2025", "/digest 31.02", "/digest когда-нибудь"):
        await bot.send(private_text(command, user=RU_READER))
    assert texts_to(bot.fake, RU_READER["id"]) == [
        "☀️ <b>Доброе утро!</b> За 16 декабря важных новостей не было. Хорошего дня!",
        "Этот день ещё не наступил — дайджеста за него пока нет.",
        "Не понял дату. Примеры: /digest 17.12, /digest 17.12.2023, /digest 2023-12-17, "
        "/digest вчера",
        "Не понял дату. Примеры: /digest 17.12, /digest 17.12.2023, /digest 2023-12-17, "
        "/digest вчера",
    ]


async def test_a_digest_of_last_year_says_its_year(start_bot: StartBot) -> None:
    """In January, "17.12" is last December: the greeting must not pass it off as this
    year's, in either language."""
    clock = FixedClock(datetime.combine(date(2026, 1, 5), time(12, 0), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    await bot.send(private_text("/digest 17.12", user=RU_READER))
    await bot.send(private_text("/digest 17.12", user=READER))
    await bot.send(private_text("/digest 04.01", user=READER))
    assert texts_to(bot.fake, RU_READER["id"]) == [
        "☀️ <b>Доброе утро!</b> За 17 декабря 2025 важных новостей не было. Хорошего дня!"
    ]
    assert texts_to(bot.fake, READER["id"]) == [
        "☀️ <b>Good morning!</b> There was no major news on December 17, 2025. Have a good day!",
        "☀️ <b>Good morning!</b> There was no major news on January 4. Have a good day!",
    ]


async def test_subscriber_who_blocked_the_bot_becomes_inactive(
    start_bot: StartBot, storage: Storage
) -> None:
    clock = FixedClock(datetime.combine(DAY, time(8, 1), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    bot.fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await storage.subscribers.subscribe(5001, lang="ru", send_time=time(8, 0), first_day=DAY)

    async def deactivated() -> bool:
        found = await storage.subscribers.get(5001)
        return found is not None and not found.active

    await eventually(deactivated)
    for _ in range(3):  # later ticks come and go
        await bot.send(private_text("/help", user=RU_READER))
    subscriber = await storage.subscribers.get(5001)
    assert subscriber is not None
    assert not subscriber.active
    assert subscriber.inactive_reason == "Forbidden: bot was blocked by the user"
    assert await storage.deliveries.status(DAY, 5001) is DeliveryStatus.BLOCKED
    assert len([c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == 5001]) == 1


async def test_429_is_obeyed_and_the_digest_still_arrives_once(
    start_bot: StartBot, storage: Storage
) -> None:
    clock = FixedClock(datetime.combine(DAY, time(8, 1), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    bot.fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await storage.subscribers.subscribe(5002, lang="ru", send_time=time(8, 0), first_day=DAY)
    await bot.fake.wait_until(lambda: len(bot.fake.calls_of("sendMessage")) >= 2)
    first, second = bot.fake.calls_of("sendMessage")[:2]
    assert second.at - first.at >= 1.0

    async def sent() -> bool:
        return await storage.deliveries.status(DAY, 5002) is DeliveryStatus.SENT

    await eventually(sent)
    assert len([c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == 5002]) == 2


async def test_senddigest_confirm_progress_and_second_run(
    start_bot: StartBot, storage: Storage
) -> None:
    # 06:00: nobody's time has come, so only /senddigest sends.
    clock = FixedClock(datetime.combine(DAY, time(6, 0), tzinfo=ALMATY))
    bot = await start_bot(clock=clock)
    await bot.send(channel_post(9, "Главная новость дня", date=local(DAY, 5, 0)))
    for chat_id in (7001, 7002, 7003):
        await storage.subscribers.subscribe(chat_id, lang="ru", send_time=time(8, 0), first_day=DAY)

    await bot.send(private_text("/senddigest", user=ADMIN))
    confirm = bot.fake.calls_of("sendMessage")[-1].params
    assert confirm["text"].startswith("Разослать дайджест за 17 декабря")
    await bot.send(callback_query("sd:1", user=ADMIN))
    await bot.fake.wait_until(
        lambda: any(
            "Рассылка завершена" in str(c.params.get("text"))
            for c in bot.fake.calls_of("editMessageText")
        )
    )
    final = bot.fake.calls_of("editMessageText")[-1].params["text"]
    assert final == "📬 Рассылка завершена: отправлено 3, недоступны 0, ошибок 0."
    for chat_id in (7001, 7002, 7003):
        assert len(texts_to(bot.fake, chat_id)) == 1

    await bot.send(private_text("/senddigest", user=ADMIN))
    await bot.send(callback_query("sd:1", user=ADMIN))
    await bot.fake.wait_until(
        lambda: "уже получили" in str(bot.fake.calls_of("editMessageText")[-1].params["text"])
    )
    for chat_id in (7001, 7002, 7003):
        assert len(texts_to(bot.fake, chat_id)) == 1

    # At 08:00 the schedule finds everyone served already.
    clock.moment = datetime.combine(DAY, time(8, 0, 5), tzinfo=ALMATY)
    await bot.send(private_text("/stats", user=ADMIN))
    stats = texts_to(bot.fake, ADMIN["id"])[-1]
    assert "<b>Посты:</b> всего 1, за сегодня 1" in stats
    assert "активных 3, неактивных 0" in stats
    assert "2025-12-17: отправлено 3, ошибок 0, ждут 0, недоступны 0" in stats
    for chat_id in (7001, 7002, 7003):
        assert len(texts_to(bot.fake, chat_id)) == 1


async def test_senddigest_cancel_and_non_admins_refused(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(private_text("/senddigest", user=ADMIN))
    await bot.send(callback_query("sd:0", user=ADMIN))
    assert bot.fake.calls_of("editMessageText")[-1].params["text"] == "Рассылка отменена."

    for command in ("/stats", "/senddigest", "/delete"):
        await bot.send(private_text(command, user=RU_READER))
    await bot.send(callback_query("sd:1", user=RU_READER))
    assert (
        texts_to(bot.fake, RU_READER["id"]) == ["Эта команда только для администраторов бота."] * 3
    )
    answer = bot.fake.calls_of("answerCallbackQuery")[-1].params
    assert answer["text"] == "Эта команда только для администраторов бота."
