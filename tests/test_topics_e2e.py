"""Following topics through the whole bot and the fake Bot API: /follow, /following,
/unfollow, quiet hours, and the alerts a new channel post sends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services import alerts as alerts_module
from storage import AlertStatus, IncomingMessage, Source, Storage
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.test_reading_e2e import HOSTILE
from tests.updates import (
    ADMIN,
    GROUP,
    NEWS_CHANNEL,
    OTHER_CHANNEL,
    READER,
    callback_query,
    channel_post,
    edited_channel_post,
    forward,
    group_text,
    private_text,
)

StartBot = Callable[..., Any]
ALMATY = ZoneInfo("Asia/Almaty")
DAY = date(2025, 12, 17)
RU_READER = {"id": 333, "is_bot": False, "first_name": "Айдар", "language_code": "ru"}
NIGHT_OWL = {"id": 334, "is_bot": False, "first_name": "Сова", "language_code": "ru"}


def reader(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Читатель", "language_code": "ru"}


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def at(hh: int, mm: int, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ALMATY)


def local(hh: int, mm: int, day: date = DAY) -> int:
    return int(at(hh, mm, day).timestamp())


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The alert worker looks at the (injected) clock every few milliseconds, not each second.
    monkeypatch.setattr(alerts_module, "TICK_SECONDS", 0.02)


def alerts_to(fake: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    """What the worker sent the reader: messages with an "open the post" button or the
    morning's list (answers to commands have neither)."""
    found = []
    for call in fake.calls_of("sendMessage"):
        if call.params.get("chat_id") != chat_id:
            continue
        text = str(call.params.get("text"))
        if text.startswith(("🔔 <b>", "🌙")):
            found.append(call.params)
    return found


def last_text(fake: FakeTelegram, chat_id: int) -> str:
    return fake.sent_texts(chat_id)[-1]


async def follow(bot: RunningBot, words: str, user: dict[str, Any] = RU_READER) -> str:
    await bot.send(private_text(f"/follow {words}", user=user))
    return last_text(bot.fake, user["id"])


# -- the commands ----------------------------------------------------------------------------


async def test_follow_following_unfollow_and_their_limits(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    assert await follow(bot, "тарифы") == (
        "🔔 Слежу за темой <b>тарифы</b> (тем: 1 из 20). Новые посты с этими словами "
        "придут сюда сразу после публикации."
    )
    # Another word form, another order: the same topic.
    assert await follow(bot, "Тарифов") == (
        "Вы уже следите за темой <b>тарифы</b>. Ваши темы — /following."
    )
    assert (await follow(bot, "метро Алматы")).startswith("🔔 Слежу за темой <b>метро Алматы</b>")
    assert (await follow(bot, "Алматы, метро!")).startswith("Вы уже следите за темой")
    assert (await follow(bot, "")).startswith("Напишите тему — от одного до 5 слов")
    assert (await follow(bot, "!!! ...")).startswith("Напишите тему — от одного до 5 слов")
    assert await follow(bot, "раз два три четыре пять шесть") == (
        "В теме может быть от 1 до 5 слов. Например: <code>/follow метро Алматы</code>"
    )
    assert await follow(bot, "а" * 101) == "Слишком длинная тема: не больше 100 символов."

    await bot.send(private_text("/following", user=RU_READER))
    listing = bot.fake.calls_of("sendMessage")[-1].params
    assert listing["text"] == (
        "🔔 <b>Ваши темы</b> (2 из 20):\n• тарифы\n• метро Алматы\n\n"
        "Тихие часы с 23:00 до 07:00: включены. Кнопка под темой — перестать следить."
    )
    buttons = [row[0] for row in listing["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["✖ тарифы", "✖ метро Алматы"]

    # A forged press for a topic of someone else drops nothing.
    await bot.send(callback_query(buttons[0]["callback_data"], user=READER))
    assert bot.fake.calls_of("answerCallbackQuery")[-1].params["text"] == (
        "This button no longer works. See /help."
    )
    await bot.send(callback_query(buttons[0]["callback_data"], user=RU_READER))
    assert bot.fake.calls_of("answerCallbackQuery")[-1].params["text"] == (
        "Больше не слежу за темой «тарифы»."
    )
    edited = bot.fake.calls_of("editMessageText")[-1].params
    assert edited["text"].startswith("🔔 <b>Ваши темы</b> (1 из 20):\n• метро Алматы\n")

    await bot.send(private_text("/unfollow метро в Алматы", user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]) == (
        "Среди ваших тем нет <b>метро в Алматы</b>. Ваши темы — /following."
    )
    await bot.send(private_text("/unfollow Алматы метро", user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]) == (
        "🔕 Больше не слежу за темой <b>метро Алматы</b>."
    )
    await bot.send(private_text("/unfollow", user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]).startswith("Напишите, какую тему убрать")
    await bot.send(private_text("/following", user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]) == (
        "Вы пока ни за чем не следите. Добавить тему: <code>/follow тарифы</code>"
    )

    # Twenty topics at most.
    for n in range(20):
        await follow(bot, f"тема{n}")
    assert await follow(bot, "ещё одна") == (
        "Можно следить не больше чем за 20 темами. Уберите лишние — /following."
    )
    assert len(await storage.topics.of_reader(RU_READER["id"])) == 20

    # English readers are answered in English; groups are sent to the private chat.
    assert await follow(bot, "fair", user=READER) == (
        "🔔 Following <b>fair</b> (1 of 20 topics). New posts with these words will come "
        "here as soon as they are published."
    )
    await bot.send(group_text("/follow тарифы", user=READER))
    assert bot.fake.sent_texts(GROUP["id"]) == [
        "Topics can be followed in a private chat with the bot."
    ]


async def test_quiet_hours_are_switched_per_reader(start_bot: StartBot, storage: Storage) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    assert await follow(bot, "quiet") == (
        "Тихие часы с 23:00 до 07:00: включены. <code>/follow quiet on</code> — включить, "
        "<code>/follow quiet off</code> — выключить."
    )
    assert await follow(bot, "quiet off") == (
        "🔔 Тихие часы выключены: уведомления приходят сразу, и ночью тоже."
    )
    found = await storage.topics.reader(RU_READER["id"])
    assert found is not None
    assert not found.quiet
    assert (await follow(bot, "quiet ON")).startswith("🌙 Тихие часы включены")
    assert (await follow(bot, "quiet maybe")).startswith("Тихие часы с 23:00 до 07:00: включены")


@pytest.mark.parametrize("words", HOSTILE)
async def test_any_topic_input_is_safe(
    start_bot: StartBot, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(clock=FixedClock(at(12, 0)))
    with caplog.at_level(logging.WARNING):
        for command in ("/follow", "/unfollow", "/follow", "/following"):
            await bot.send(private_text(f"{command} {words}", user=RU_READER))
            text = last_text(bot.fake, RU_READER["id"])
            assert "Что-то пошло не так" not in text
            assert len(text) <= 4096
        await bot.send(channel_post(90, f"Новость: {words}"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bot.fake.refusals


# -- alerts ----------------------------------------------------------------------------------


async def test_a_post_in_another_word_form_alerts_once_with_both_topics(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    await follow(bot, "тариф")
    await follow(bot, "метро Алматы")
    await follow(bot, "<b>ярмарка</b> & Co", user=READER)
    await bot.send(
        channel_post(
            41,
            "🚇 Тарифов на проезд в метро Алматы станет больше\nПодробности.",
            date=local(11, 58),
        )
    )
    await bot.send(channel_post(42, "Ярмарка <b>тегов</b> & Co в Астане", date=local(11, 59)))
    await bot.fake.wait_until(
        lambda: alerts_to(bot.fake, RU_READER["id"]) and alerts_to(bot.fake, READER["id"])
    )
    post = await storage.posts.find(NEWS_CHANNEL["id"], 41)
    assert post is not None

    async def settled() -> bool:
        return await storage.topics.status(post.id, RU_READER["id"]) is AlertStatus.SENT

    await eventually(settled)
    [alert] = alerts_to(bot.fake, RU_READER["id"])
    assert alert["text"] == (
        "🔔 <b>метро Алматы, тариф</b>\n"
        '🚇 <a href="https://t.me/kz_news/41">Тарифов на проезд в метро Алматы станет больше</a>\n'
        "<i>11:58 · Новости Казахстана</i>"
    )
    assert alert["reply_markup"]["inline_keyboard"] == [
        [{"text": "📖 Открыть пост", "callback_data": f"p:{post.id}"}]
    ]
    [english] = alerts_to(bot.fake, READER["id"])
    assert english["text"].startswith("🔔 <b>&lt;b&gt;ярмарка&lt;/b&gt; &amp; Co</b>\n")
    assert "Ярмарка &lt;b&gt;тегов&lt;/b&gt; &amp; Co в Астане" in english["text"]
    assert english["reply_markup"]["inline_keyboard"][0][0]["text"] == "📖 Open the post"
    assert not bot.fake.refusals

    # The button opens the post in full.
    await bot.send(callback_query(f"p:{post.id}", user=RU_READER))
    assert "Тарифов на проезд" in last_text(bot.fake, RU_READER["id"])


async def test_no_alert_for_edits_imports_forwards_or_other_channels(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    await follow(bot, "ярмарка")
    await bot.send(channel_post(50, "Погода на завтра", date=local(11, 0)))
    await bot.send_all(
        [
            # An edit that brings the word in.
            edited_channel_post(50, "Погода на завтра и ярмарка", edit_date=local(11, 30)),
            # An edit of a post the bot never saw (stored, but as an edit).
            edited_channel_post(51, "Ярмарка переносится", edit_date=local(11, 31)),
            # A channel outside SOURCE_CHANNELS.
            channel_post(52, "Ярмарка в чужом канале", chat=OTHER_CHANNEL),
            # An admin's forward: the archive filled by hand.
            forward(53, "Ярмарка из агентства", user=ADMIN),
        ]
    )
    # An import writes to the same database, beside the running bot.
    await storage.posts.save(
        IncomingMessage(
            channel_id=NEWS_CHANNEL["id"],
            message_id=54,
            date=datetime.fromtimestamp(local(11, 40), UTC),
            source=Source.IMPORT,
            text="Ярмарка из истории канала",
        )
    )
    # A new post: its alert is the only one the reader ever gets.
    await bot.send(channel_post(55, "Ярмарки будут каждую субботу", date=local(11, 50)))
    await bot.fake.wait_until(lambda: alerts_to(bot.fake, RU_READER["id"]))
    # The same post delivered again (Telegram resends what was not confirmed): no second.
    await bot.send(channel_post(55, "Ярмарки будут каждую субботу", date=local(11, 50)))
    await bot.send(private_text("/help", user=RU_READER))
    alerts = alerts_to(bot.fake, RU_READER["id"])
    assert [a["text"].splitlines()[1] for a in alerts] == [
        '📰 <a href="https://t.me/kz_news/55">Ярмарки будут каждую субботу</a>'
    ]
    async with storage.db.reading() as conn:
        cursor = await conn.execute("SELECT count(*) FROM topic_alerts")
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 1


async def test_quiet_hours_hold_alerts_until_seven_as_one_message(
    start_bot: StartBot, storage: Storage
) -> None:
    clock = FixedClock(at(23, 30))
    bot: RunningBot = await start_bot(clock=clock)
    await follow(bot, "ярмарка")
    await follow(bot, "ярмарка", user=NIGHT_OWL)
    await follow(bot, "quiet off", user=NIGHT_OWL)
    await bot.send(channel_post(60, "Ярмарка откроется в субботу", date=local(23, 29)))
    clock.moment = at(2, 0, date(2025, 12, 18))
    await bot.send(channel_post(61, "Ярмарку продлили", date=local(1, 59, date(2025, 12, 18))))
    # The reader who turned quiet hours off has both at once.
    await bot.fake.wait_until(lambda: len(alerts_to(bot.fake, NIGHT_OWL["id"])) == 2)
    first = await storage.posts.find(NEWS_CHANNEL["id"], 60)
    second = await storage.posts.find(NEWS_CHANNEL["id"], 61)
    assert first is not None
    assert second is not None
    async with storage.db.reading() as conn:
        cursor = await conn.execute(
            "SELECT post_id, status, night, due_at FROM topic_alerts WHERE chat_id = ? "
            "ORDER BY post_id",
            (RU_READER["id"],),
        )
        rows = [tuple(r) for r in await cursor.fetchall()]
    seven = local(7, 0, date(2025, 12, 18))
    assert rows == [(first.id, "pending", 1, seven), (second.id, "pending", 1, seven)]
    assert alerts_to(bot.fake, RU_READER["id"]) == []

    clock.moment = at(7, 0, date(2025, 12, 18))
    await bot.fake.wait_until(lambda: alerts_to(bot.fake, RU_READER["id"]))
    [morning] = alerts_to(bot.fake, RU_READER["id"])
    assert morning["text"] == (
        "🌙 <b>За ночь по вашим темам: 2</b>\n\n"
        '1. 📰 <a href="https://t.me/kz_news/60">Ярмарка откроется в субботу</a>\n'
        "<i>17.12 23:29 · Новости Казахстана</i> · <b>ярмарка</b>\n\n"
        '2. 📰 <a href="https://t.me/kz_news/61">Ярмарку продлили</a>\n'
        "<i>01:59 · Новости Казахстана</i> · <b>ярмарка</b>"
    )
    assert morning["reply_markup"]["inline_keyboard"] == [
        [
            {"text": "1", "callback_data": f"p:{first.id}"},
            {"text": "2", "callback_data": f"p:{second.id}"},
        ]
    ]

    async def sent() -> bool:
        return await storage.topics.status(second.id, RU_READER["id"]) is AlertStatus.SENT

    await eventually(sent)


async def test_a_reader_who_blocked_the_bot_loses_their_topics(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    gone = reader(5001)
    await follow(bot, "ярмарка", user=gone)
    await follow(bot, "тарифы", user=gone)
    bot.fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await bot.send(channel_post(70, "Ярмарка в субботу", date=local(11, 0)))
    post = await storage.posts.find(NEWS_CHANNEL["id"], 70)
    assert post is not None

    async def blocked() -> bool:
        # The alert is marked, then the reader's topics end: two steps, wait for both.
        status = await storage.topics.status(post.id, gone["id"])
        return status is AlertStatus.BLOCKED and not await storage.topics.of_reader(gone["id"])

    await eventually(blocked)
    found = await storage.topics.reader(gone["id"])
    assert found is not None
    assert not found.active

    # The next matching post reaches the others and not the reader who left.
    await follow(bot, "ярмарка")
    await bot.send(channel_post(71, "Ярмарка в воскресенье", date=local(11, 5)))
    await bot.fake.wait_until(lambda: alerts_to(bot.fake, RU_READER["id"]))
    attempts = [c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == gone["id"]]
    assert len(attempts) == 3  # two answers to /follow, one refused alert

    # Back and following again: alerts resume.
    assert (await follow(bot, "ярмарка", user=gone)).startswith("🔔 Слежу за темой")
    found = await storage.topics.reader(gone["id"])
    assert found is not None
    assert found.active


async def test_search_results_offer_to_follow_the_query(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    await bot.send(channel_post(80, "Ярмарка в Астане", date=local(11, 0)))
    await bot.send(private_text("/search ярмарки", user=RU_READER))
    results = bot.fake.calls_of("sendMessage")[-1].params
    follow_button = results["reply_markup"]["inline_keyboard"][-1][0]
    assert follow_button["text"] == "🔔 Следить"
    await bot.send(callback_query(follow_button["callback_data"], user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]).startswith("🔔 Слежу за темой <b>ярмарки</b>")
    # Nothing found yet: following is offered all the same.
    await bot.send(private_text("/search гидроаэропоника", user=RU_READER))
    empty = bot.fake.calls_of("sendMessage")[-1].params
    assert empty["reply_markup"]["inline_keyboard"][-1][0]["text"] == "🔔 Следить"
    # Too many words for a topic: no button.
    await bot.send(private_text("/search раз два три четыре пять шесть", user=RU_READER))
    many = bot.fake.calls_of("sendMessage")[-1].params
    assert "reply_markup" not in many or all(
        b["text"] != "🔔 Следить" for row in many["reply_markup"]["inline_keyboard"] for b in row
    )
    # In a group, no button either (alerts go to private chats).
    await bot.send(group_text("/search ярмарка"))
    in_group = bot.fake.sent_texts(GROUP["id"])
    assert in_group
    group_params = bot.fake.calls_of("sendMessage")[-1].params
    assert all(
        b["text"] != "🔔 Следить"
        for row in group_params["reply_markup"]["inline_keyboard"]
        for b in row
    )
    assert [t.text for t in await storage.topics.of_reader(RU_READER["id"])] == ["ярмарки"]


async def test_stats_show_topics_readers_alerts_and_the_most_followed(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(clock=FixedClock(at(12, 0)))
    await follow(bot, "ярмарка")
    await follow(bot, "Ярмарки", user=NIGHT_OWL)
    await follow(bot, "тарифы", user=NIGHT_OWL)
    await bot.send(channel_post(90, "Ярмарка в субботу", date=local(11, 0)))
    post = await storage.posts.find(NEWS_CHANNEL["id"], 90)
    assert post is not None

    async def both_sent() -> bool:
        return all(
            [
                await storage.topics.status(post.id, RU_READER["id"]) is AlertStatus.SENT,
                await storage.topics.status(post.id, NIGHT_OWL["id"]) is AlertStatus.SENT,
            ]
        )

    await eventually(both_sent)
    await bot.send(private_text("/stats", user=ADMIN))
    stats = last_text(bot.fake, ADMIN["id"])
    assert (
        "<b>Темы:</b> тем 3, следят читателей 2; уведомлений за сегодня 2, под вопросом 0, "
        "ошибок 0, ждут 0\nЧаще всего: ярмарка — 2, тарифы — 1"
    ) in stats
