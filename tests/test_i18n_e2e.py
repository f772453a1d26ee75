"""The bot in Kazakh, Russian and English through the whole bot and the fake Bot API.

Each reader is answered in the language they chose with /language, else in their
Telegram app's (kk → Kazakh; ru, uk, be → Russian; any other → English), else Russian.
A sample of every check is the catalog's text written out here, so that a catalog that
loses or garbles a message fails a test, not only a code change.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.commands import ADMIN as ADMIN_COMMANDS
from bot.commands import PUBLIC
from bot.services import scheduler as scheduler_module
from bot.services.feed import MAX_COUNT
from bot.texts import LANGUAGES, language_of, t
from storage import DeliveryStatus, Storage
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.rates_server import RatesServer, day_capture
from tests.updates import ADMIN, callback_query, channel_post, private_text, reaction_count

StartBot = Callable[..., Any]
ALMATY = ZoneInfo("Asia/Almaty")
DAY = date(2025, 12, 17)
NBSP = "\u00a0"


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def at(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=ALMATY)


def local(day: date, hh: int, mm: int) -> int:
    return int(at(day, hh, mm).timestamp())


def user(user_id: int, code: str | None, name: str = "Reader") -> dict[str, Any]:
    """A Telegram user whose app is set to `code` (None: Telegram does not say)."""
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if code is not None:
        found["language_code"] = code
    return found


KK_READER = user(4001, "kk", "Айгерім")
RU_READER = user(4002, "ru", "Айдар")
EN_READER = user(4003, "en", "Emma")
READERS = {"kk": KK_READER, "ru": RU_READER, "en": EN_READER}

# -- the catalogs' texts, written out --------------------------------------------------

START = {
    "kk": "Сәлеметсіз бе! Мен жаңалықтар ботымын: арнаның посттарын сақтап, осында "
    "көрсетемін.\nСоңғы жаңалықтар, ең көп оқылғандар, іздеу, таңғы дайджест және валюта "
    "бағамы — командалар тізімі: /help.",
    "ru": "Здравствуйте! Я бот новостей: храню посты канала и показываю их здесь.\n"
    "Последние новости, самое читаемое, поиск, утренний дайджест и курсы валют — команды "
    "в /help.",
    "en": "Hello! I am a news bot: I keep the channel's posts and show them here.\n"
    "Latest news, most read, search, the morning digest and exchange rates — see /help.",
}
HELP_FIRST_LINES = {
    "kk": ["<b>Командалар</b>", "/latest [N] — соңғы жаңалықтар"],
    "ru": ["<b>Команды</b>", "/latest [N] — последние новости"],
    "en": ["<b>Commands</b>", "/latest [N] — latest news"],
}
FOLLOWING_EMPTY = {
    "kk": "Әзірге ешбір тақырыпты бақылап жүрген жоқсыз. Тақырып қосу: <code>/follow тариф</code>",
    "ru": "Вы пока ни за чем не следите. Добавить тему: <code>/follow тарифы</code>",
    "en": "You follow no topics yet. Add one: <code>/follow тарифы</code>",
}
UNKNOWN_COMMAND = {
    "kk": "Мұндай команданы білмеймін. Командалар тізімі — /help.",
    "ru": "Не знаю такой команды. Список команд — /help.",
    "en": "I don't know that command. See /help.",
}
UNKNOWN_BUTTON = {
    "kk": "Бұл түйме енді жұмыс істемейді. Командалар тізімі — /help.",
    "ru": "Эта кнопка больше не работает. Список команд — /help.",
    "en": "This button no longer works. See /help.",
}
MENU_LABELS = {
    "kk": [
        "📰 Соңғы жаңалықтар",
        "🔥 Ең көп оқылғандар",
        "☀️ Дайджест",
        "💱 Валюта бағамы",
        "🔔 Жазылу",
    ],
    "ru": [
        "📰 Последние новости",
        "🔥 Самое читаемое",
        "☀️ Дайджест",
        "💱 Курсы валют",
        "🔔 Подписаться",
    ],
    "en": ["📰 Latest news", "🔥 Most read", "☀️ Digest", "💱 Exchange rates", "🔔 Subscribe"],
}
MENU_DATA = ["m:latest", "m:top", "m:digest", "m:rates", "m:subscribe"]
LANGUAGE_PROMPT = {
    "kk": "Бот тілін таңдаңыз:",
    "ru": "Выберите язык бота:",
    "en": "Choose the bot's language:",
}
LANGUAGE_SET = {
    "kk": "Дайын: енді қазақша сөйлеймін.",
    "ru": "Готово: теперь я говорю по-русски.",
    "en": "Done: I speak English now.",
}
LANGUAGE_UNKNOWN = {
    "kk": "Менде мұндай тіл жоқ. Түйме арқылы таңдаңыз: /language",
    "ru": "Такого языка у меня нет. Выберите кнопкой: /language",
    "en": "I don't speak that language. Choose with a button: /language",
}
#: The language buttons, each language named in itself, in LANGUAGES' order.
LANGUAGE_BUTTONS = [("🇷🇺 Русский", "lg:ru"), ("🇬🇧 English", "lg:en"), ("🇰🇿 Қазақша", "lg:kk")]
CMD_LATEST = {"kk": "Соңғы жаңалықтар", "ru": "Последние новости", "en": "Latest news"}
CMD_HELP = {"kk": "Барлық командалар", "ru": "Все команды", "en": "All commands"}
#: 17 December as the digest's greeting has it.
DIGEST_HEADER = {
    "kk": "☀️ <b>Қайырлы таң! 17 желтоқсандағы басты жаңалықтарға шолу</b>",
    "ru": "☀️ <b>Доброе утро! Предлагаем обзор главных новостей за 17 декабря</b>",
    "en": "☀️ <b>Good morning! Here are the top stories of December 17</b>",
}
#: The official rates of the 03.04.2026 capture, in each language's numbers.
DIGEST_RATES = {
    "kk": "💱 Ұлттық банк бағамы: USD 472,31 · EUR 543,72 · RUB 5,86",
    "ru": "💱 Курсы Нацбанка: USD 472,31 · EUR 543,72 · RUB 5,86",
    "en": "💱 National Bank rates: USD 472.31 · EUR 543.72 · RUB 5.86",
}
RATES_USD_LINE = {
    "kk": "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78",
    "ru": "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78",
    "en": "🇺🇸 1 USD = <b>472.31 ₸</b>  ▼ -2.78",
}
CONVERTED_100_USD = {
    "kk": f"100 USD = <b>47{NBSP}231,00 ₸</b>",
    "ru": f"100 USD = <b>47{NBSP}231,00 ₸</b>",
    "en": "100 USD = <b>47,231.00 ₸</b>",
}
USD_RATE = {"kk": "1 USD = 472,31 ₸", "ru": "1 USD = 472,31 ₸", "en": "1 USD = 472.31 ₸"}
VIDEO = {"kk": "Бейне", "ru": "Видео", "en": "Video"}
CITIES = {
    "kk": ["Алматы", "Астана", "Шымкент"],
    "ru": ["Алматы", "Астана", "Шымкент"],
    "en": ["Almaty", "Astana", "Shymkent"],
}

# -- helpers ---------------------------------------------------------------------------


@pytest.fixture
async def feed() -> AsyncIterator[RatesServer]:
    """The National Bank's feed, serving its capture of 3 April 2026."""
    async with RatesServer(current=day_capture("03.04.2026")) as server:
        yield server


async def _bot(
    start_bot: StartBot, clock: FixedClock, feed: RatesServer | None = None
) -> RunningBot:
    overrides: dict[str, Any] = {}
    if feed is not None:
        overrides = {"rates_url": feed.rates_url, "rates_history_url": feed.history_url}
    bot: RunningBot = await start_bot(clock=clock, **overrides)
    return bot


def sent_to(fake: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_of("sendMessage") if c.params.get("chat_id") == chat_id]


async def ask(bot: RunningBot, text: str, reader: dict[str, Any]) -> dict[str, Any]:
    """Send a private message; the one message the bot answers it with."""
    before = len(sent_to(bot.fake, reader["id"]))
    await bot.send(private_text(text, user=reader))
    answers = sent_to(bot.fake, reader["id"])[before:]
    assert len(answers) == 1, (text, [a["text"] for a in answers])
    return answers[0]


async def say(bot: RunningBot, text: str, reader: dict[str, Any]) -> str:
    answer: str = (await ask(bot, text, reader))["text"]
    return answer


_presses = iter(range(1, 10_000))


async def press(
    bot: RunningBot, data: str, reader: dict[str, Any], *, message_id: int = 1
) -> dict[str, Any]:
    """Press a button under the bot's message; the callback query's answer."""
    query_id = f"cq-i18n-{next(_presses)}"
    await bot.send(callback_query(data, user=reader, message_id=message_id, query_id=query_id))
    answers = [
        c.params
        for c in bot.fake.calls_of("answerCallbackQuery")
        if c.params.get("callback_query_id") == query_id
    ]
    assert len(answers) == 1, (data, answers)
    return answers[0]


async def press_for_message(bot: RunningBot, data: str, reader: dict[str, Any]) -> str:
    """Press a button that answers with a new message; that message's text."""
    before = len(sent_to(bot.fake, reader["id"]))
    answer = await press(bot, data, reader)
    assert not answer.get("text"), answer  # the spinner stops, no notice
    sent = sent_to(bot.fake, reader["id"])[before:]
    assert len(sent) == 1, (data, [s["text"] for s in sent])
    text: str = sent[0]["text"]
    return text


def message_id_of_last(fake: FakeTelegram, chat_id: int) -> int:
    """The id the fake gave the last message sent to a chat (it counts them from 1)."""
    return len(
        [
            c
            for c in fake.calls_of("sendMessage")
            if c.params.get("chat_id") == chat_id and c.outcome == "ok"
        ]
    )


def labels(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [str(b["text"]) for row in markup["inline_keyboard"] for b in row]


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [
        (str(b["text"]), str(b["callback_data"])) for row in markup["inline_keyboard"] for b in row
    ]


def menus(fake: FakeTelegram, scope: dict[str, Any]) -> dict[str | None, dict[str, str]]:
    """The last menu set for `scope` per language_code: command → description."""
    found: dict[str | None, dict[str, str]] = {}
    for call in fake.calls_of("setMyCommands"):
        if call.params["scope"] == scope:
            found[call.params.get("language_code")] = {
                c["command"]: c["description"] for c in call.params["commands"]
            }
    return found


def public_menu(lang: str) -> dict[str, str]:
    return {name: t(lang, key) for name, key in PUBLIC.items()}


def assert_nothing_refused(fake: FakeTelegram) -> None:
    assert fake.refusals == []
    for call in fake.calls_of("answerCallbackQuery"):
        # Telegram refuses a notice longer than 200 characters.
        assert len(str(call.params.get("text", ""))) <= 200, call.params


# -- the news every test reads ----------------------------------------------------------

CHANNEL = "Новости Казахстана"
TOKAYEV = "Токаев прибыл в Японию"
FAIR = "Мясная ярмарка пройдёт в Астане"


def video_post(message_id: int, *, date: int) -> dict[str, Any]:
    """A channel post that is a video without a caption: its headline is "Video"."""
    update = channel_post(message_id, None, date=date)
    update["channel_post"]["video"] = {
        "file_id": f"BAAD-v{message_id}",
        "file_unique_id": f"v{message_id}",
        "width": 640,
        "height": 360,
        "duration": 12,
    }
    return update


NEWS = [
    # In the digest of 17 December (16th 08:00 to 17th 08:00), and in the last 24 hours.
    channel_post(1, f"{TOKAYEV}\nПодробности визита.", date=local(DAY, 7, 0)),
    video_post(2, date=local(DAY, 7, 30)),
    # After the digest's window.
    channel_post(3, f"{FAIR}\nЯрмарка откроется в субботу.", date=local(DAY, 10, 0)),
    reaction_count(1, [7]),
]


def item(number: int, message_id: int, title: str, hhmm: str) -> str:
    return (
        f'{number}. 📰 <a href="https://t.me/kz_news/{message_id}">{title}</a>\n'
        f"<i>{hhmm} · {CHANNEL}</i>"
    )


def expected_digest(lang: str) -> str:
    """The digest of 17 December: the greeting, the two posts of its window (the one with
    reactions first), the National Bank's rates."""
    items = [
        f'📰 <a href="https://t.me/kz_news/1">{TOKAYEV}</a>',
        f'📰 <a href="https://t.me/kz_news/2">{VIDEO[lang]}</a>',
    ]
    return "\n".join([DIGEST_HEADER[lang], "", *items]) + "\n\n" + DIGEST_RATES[lang]


# -- 1. every answer in the reader's language -----------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_every_answer_is_in_the_language_of_the_readers_app(
    start_bot: StartBot, feed: RatesServer, storage: Storage, lang: str
) -> None:
    reader = READERS[lang]
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)), feed)
    await bot.send_all(NEWS)

    # /start: the greeting and the menu's buttons.
    start = await ask(bot, "/start", reader)
    assert start["text"] == START[lang]
    assert start["text"] == t(lang, "start")
    assert buttons(start) == list(zip(MENU_LABELS[lang], MENU_DATA, strict=True))

    help_text = await say(bot, "/help", reader)
    assert help_text == t(lang, "help")
    assert help_text.split("\n")[:2] == HELP_FIRST_LINES[lang]

    # /latest: the newest first; a caption-less video is named in the reader's language.
    latest = await ask(bot, "/latest 2", reader)
    assert latest["text"] == "\n\n".join(
        [
            t(lang, "latest_header"),
            item(1, 3, FAIR, "10:00"),
            item(2, 2, VIDEO[lang], "07:30"),
        ]
    )
    assert labels(latest) == ["1", "2", t(lang, "nav_older")]
    everything = "\n\n".join(
        [
            t(lang, "latest_header"),
            item(1, 3, FAIR, "10:00"),
            item(2, 2, VIDEO[lang], "07:30"),
            item(3, 1, TOKAYEV, "07:00"),
        ]
    )

    # /top: the one with reactions first, then the newest.
    top = await say(bot, "/top", reader)
    assert top == "\n\n".join(
        [
            t(lang, "top_header_24h"),
            item(1, 1, TOKAYEV, "07:00") + t(lang, "top_counts", reactions=7, opens=0),
            item(2, 3, FAIR, "10:00") + t(lang, "top_counts", reactions=0, opens=0),
            item(3, 2, VIDEO[lang], "07:30") + t(lang, "top_counts", reactions=0, opens=0),
        ]
    )

    search = await ask(bot, "/search ярмарка", reader)
    found = item(1, 3, FAIR, "10:00").replace(
        "\n", "\nМясная <b>ярмарка</b> пройдёт в Астане <b>Ярмарка</b> откроется в субботу.\n"
    )
    assert search["text"] == t(lang, "search_header", query="ярмарка") + "\n\n" + found
    assert labels(search) == ["1", t(lang, "search_follow")]

    digest = await say(bot, "/digest", reader)
    assert digest == expected_digest(lang)

    following = await say(bot, "/following", reader)
    assert following == FOLLOWING_EMPTY[lang]
    assert following == t(lang, "following_empty")

    subscribed = await ask(bot, "/subscribe 08:00", reader)
    assert subscribed["text"] == t(lang, "subscribe_done", time="08:00") + t(
        lang, "subscribe_tomorrow"
    )
    assert buttons(subscribed) == [(t(lang, "menu_unsubscribe"), "m:unsubscribe")]
    subscriber = await storage.subscribers.get(reader["id"])
    assert subscriber is not None
    assert subscriber.lang == lang
    assert await say(bot, "/unsubscribe", reader) == t(lang, "unsubscribe_done")

    rates = await ask(bot, "/rates", reader)
    assert rates["text"].startswith(t(lang, "rates_title", date="03.04.2026") + "\n\n")
    assert RATES_USD_LINE[lang] in rates["text"].split("\n")
    assert t(lang, "market_unavailable", city=CITIES[lang][0], source="kurs.kz") in rates["text"]
    assert rates["text"].endswith("\n\n" + t(lang, "rates_footer"))
    assert labels(rates) == ["✓ " + CITIES[lang][0], *CITIES[lang][1:], t(lang, "market_button")]

    converted = await say(bot, "/convert 100 usd", reader)
    assert converted == "\n".join(
        [
            CONVERTED_100_USD[lang],
            t(
                lang,
                "convert_rates_used",
                date="03.04.2026",
                rates=USD_RATE[lang],
            ),
        ]
    )

    language = await ask(bot, "/language", reader)
    assert language["text"] == LANGUAGE_PROMPT[lang]
    assert buttons(language) == LANGUAGE_BUTTONS

    assert await say(bot, "/frobnicate", reader) == UNKNOWN_COMMAND[lang]

    # The greeting's buttons answer as their commands do.
    assert await press_for_message(bot, "m:latest", reader) == everything
    assert await press_for_message(bot, "m:top", reader) == top
    assert await press_for_message(bot, "m:digest", reader) == digest
    assert await press_for_message(bot, "m:rates", reader) == rates["text"]
    assert await press_for_message(bot, "m:subscribe", reader) == t(
        lang, "subscribe_done", time="08:00"
    ) + t(lang, "subscribe_tomorrow")
    assert (await press(bot, "m:nonsense", reader)).get("text") == UNKNOWN_BUTTON[lang]

    # Nobody chose anything: the app's language did it all.
    assert await storage.readers.language(reader["id"]) is None
    assert_nothing_refused(bot.fake)


# -- 2. the app's language, without choosing ----------------------------------------------


APP_LANGUAGES = [
    ("kk", "kk"),
    ("kk-KZ", "kk"),
    ("kk_KZ", "kk"),
    ("ru", "ru"),
    ("ru-RU", "ru"),
    ("uk", "ru"),
    ("be", "ru"),
    ("en", "en"),
    ("en-GB", "en"),
    ("de", "en"),
    ("tr", "en"),
    (None, "ru"),
]


def test_language_of_a_telegram_language_code() -> None:
    for code, lang in APP_LANGUAGES:
        assert language_of(code) == lang, code
    assert LANGUAGES == ("ru", "en", "kk")


async def test_the_apps_language_is_used_from_the_first_message(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    for n, (code, lang) in enumerate(APP_LANGUAGES):
        reader = user(5000 + n, code)
        assert await say(bot, "/start", reader) == START[lang], code
        assert await say(bot, "/help", reader) == t(lang, "help"), code
        assert await say(bot, "/nonsense", reader) == UNKNOWN_COMMAND[lang], code
        assert (await press(bot, "zz:1", reader)).get("text") == UNKNOWN_BUTTON[lang], code
        assert await storage.readers.language(reader["id"]) is None
    assert_nothing_refused(bot.fake)


# -- 3. choosing a language with /language ----------------------------------------------


def chat_scope(user_id: int) -> dict[str, Any]:
    return {"type": "chat", "chat_id": user_id}


async def test_language_button_switches_and_the_choice_survives_a_restart(
    start_bot: StartBot, storage: Storage
) -> None:
    reader = user(6001, "ru", "Айдар")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    assert menus(bot.fake, chat_scope(reader["id"])) == {}

    prompt = await ask(bot, "/language", reader)
    assert prompt["text"] == LANGUAGE_PROMPT["ru"]
    assert buttons(prompt) == LANGUAGE_BUTTONS
    prompt_id = message_id_of_last(bot.fake, reader["id"])

    edits = len(bot.fake.calls_of("editMessageText"))
    answer = await press(bot, "lg:kk", reader, message_id=prompt_id)
    assert not answer.get("text")
    (edit,) = [c.params for c in bot.fake.calls_of("editMessageText")[edits:]]
    assert edit["chat_id"] == reader["id"]
    assert edit["message_id"] == prompt_id
    assert edit["text"] == LANGUAGE_SET["kk"]
    assert await storage.readers.language(reader["id"]) == "kk"

    # The reader's own menu, in Kazakh, whatever language their app asks it in.
    chosen = menus(bot.fake, chat_scope(reader["id"]))
    assert set(chosen) == {None, "ru", "en", "kk", "uk", "be"}
    for language, menu in chosen.items():
        assert menu["latest"] == CMD_LATEST["kk"], language
        assert menu["help"] == CMD_HELP["kk"], language
        assert menu == public_menu("kk"), language

    help_text = await say(bot, "/help", reader)
    assert help_text.split("\n")[:2] == HELP_FIRST_LINES["kk"]
    assert help_text == t("kk", "help")
    assert await say(bot, "/following", reader) == FOLLOWING_EMPTY["kk"]

    # Another process on the same database: still Kazakh.
    await bot.stop()
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 5)))
    assert await say(bot, "/start", reader) == START["kk"]
    assert (await say(bot, "/help", reader)).split("\n")[:2] == HELP_FIRST_LINES["kk"]

    # Typed: /language en.
    assert await say(bot, "/language en", reader) == LANGUAGE_SET["en"]
    assert await storage.readers.language(reader["id"]) == "en"
    assert await say(bot, "/help", reader) == t("en", "help")
    english = menus(bot.fake, chat_scope(reader["id"]))
    assert set(english) == {None, "ru", "en", "kk", "uk", "be"}
    for language, menu in english.items():
        assert menu["latest"] == CMD_LATEST["en"], language
        assert menu == public_menu("en"), language
    assert_nothing_refused(bot.fake)


@pytest.mark.parametrize(
    ("typed", "lang"),
    [
        pytest.param("kk", "kk", id="kk"),
        pytest.param("KK", "kk", id="KK"),
        pytest.param("қазақша", "kk", id="kazakh-in-kazakh"),
        pytest.param("Қазақша", "kk", id="kazakh-in-kazakh-capitalised"),
        pytest.param("казахский", "kk", id="kazakh-in-russian"),
        pytest.param("english", "en", id="english"),
        pytest.param("en", "en", id="en"),
        pytest.param("русский", "ru", id="russian-in-russian"),
        pytest.param("ru", "ru", id="ru"),
    ],
)
async def test_language_typed_after_the_command(
    start_bot: StartBot, storage: Storage, typed: str, lang: str
) -> None:
    # An English app: the answer is in the chosen language, not the app's.
    reader = user(6002, "de")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    assert await say(bot, f"/language {typed}", reader) == LANGUAGE_SET[lang]
    assert await storage.readers.language(reader["id"]) == lang
    assert await say(bot, "/start", reader) == START[lang]
    chosen = menus(bot.fake, chat_scope(reader["id"]))
    assert set(chosen) == {None, "ru", "en", "kk", "uk", "be"}
    for menu in chosen.values():
        assert menu == public_menu(lang)
        assert menu["latest"] == CMD_LATEST[lang]


async def test_unknown_language_and_forged_button_in_the_readers_language(
    start_bot: StartBot, storage: Storage
) -> None:
    reader = user(6003, "kk")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    unknown = await ask(bot, "/language klingon", reader)
    assert unknown["text"] == LANGUAGE_UNKNOWN["kk"]
    assert buttons(unknown) == LANGUAGE_BUTTONS

    menus_before = len(bot.fake.calls_of("setMyCommands"))
    edits = len(bot.fake.calls_of("editMessageText"))
    for forged in ("lg:zz", "lg:xyz", "lg:KK", "lg:"):
        assert (await press(bot, forged, reader)).get("text") == UNKNOWN_BUTTON["kk"], forged
    assert len(bot.fake.calls_of("editMessageText")) == edits
    assert len(bot.fake.calls_of("setMyCommands")) == menus_before
    assert await storage.readers.language(reader["id"]) is None

    # A reader who chose Russian gets Russian even from a Kazakh app, for every answer.
    await press(bot, "lg:ru", reader)
    assert await say(bot, "/language клингонский", reader) == LANGUAGE_UNKNOWN["ru"]
    assert (await press(bot, "lg:zz", reader)).get("text") == UNKNOWN_BUTTON["ru"]
    assert_nothing_refused(bot.fake)


# -- 4. the command menus at start ------------------------------------------------------


async def test_the_default_menus_at_start_are_in_each_language(start_bot: StartBot) -> None:
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    default = menus(bot.fake, {"type": "default"})
    assert set(default) == {None, "ru", "en", "kk", "uk", "be"}
    # An app in a language the bot has no catalog for (German) is answered in English, and
    # its menu is English too; Ukrainian and Belarusian apps are answered in Russian.
    assert default[None] == public_menu("en")
    assert default["uk"] == default["be"] == public_menu("ru")
    for lang in LANGUAGES:
        assert default[lang] == public_menu(lang), lang
        assert default[lang]["latest"] == CMD_LATEST[lang], lang
        assert default[lang]["help"] == CMD_HELP[lang], lang
        assert list(default[lang]) == list(PUBLIC), lang
    assert default[None]["latest"] == CMD_LATEST["en"]
    assert default["kk"]["language"] == "Бот тілі"
    # The profile's texts, in the same languages as the menus.
    described = {
        c.params.get("language_code"): c.params["short_description"]
        for c in bot.fake.calls_of("setMyShortDescription")
    }
    assert described == {
        None: t("en", "bot_short_description"),
        "uk": t("ru", "bot_short_description"),
        "be": t("ru", "bot_short_description"),
        **{lang: t(lang, "bot_short_description") for lang in LANGUAGES},
    }
    assert described["kk"] == (
        "Жаңалықтар, іздеу, таңғы дайджест және теңге бағамы. Қазақша · Русский · English"
    )
    assert len(bot.fake.calls_of("setMyDescription")) == len(described)

    admin_id = ADMIN["id"]
    assert isinstance(admin_id, int)
    admin = menus(bot.fake, chat_scope(admin_id))
    assert set(admin) == {None, "ru", "en", "kk", "uk", "be"}
    assert admin[None] == {
        **public_menu("en"),
        **{n: t("en", k) for n, k in ADMIN_COMMANDS.items()},
    }
    for lang in LANGUAGES:
        assert admin[lang] == {
            **public_menu(lang),
            **{n: t(lang, k) for n, k in ADMIN_COMMANDS.items()},
        }, lang
    assert admin["kk"]["stats"] == "Статистика (әкімші)"

    # Telegram's limits on a menu: 1 to 256 characters of description.
    for call in bot.fake.calls_of("setMyCommands"):
        for command in call.params["commands"]:
            assert 1 <= len(command["description"]) <= 256, command
    assert [c.outcome for c in bot.fake.calls_of("setMyCommands")] == ["ok"] * len(
        bot.fake.calls_of("setMyCommands")
    )


# -- 5. the scheduled digest, each in its reader's language --------------------------------


@pytest.fixture
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The schedule looks at the (injected) clock every few milliseconds instead of 20 s.
    monkeypatch.setattr(scheduler_module, "TICK_SECONDS", 0.02)


@pytest.mark.usefixtures("fast_ticks")
async def test_the_scheduled_digest_reaches_each_subscriber_in_their_language(
    start_bot: StartBot, feed: RatesServer, storage: Storage
) -> None:
    clock = FixedClock(at(DAY, 7, 0))
    bot = await _bot(start_bot, clock, feed)
    await bot.send_all(NEWS)
    # Russian app, chose English; Kazakh app, chose Russian; German app, chose Kazakh.
    to_en = user(7001, "ru", "Айдар")
    to_ru = user(7002, "kk", "Айгерім")
    to_kk = user(7003, "de", "Hans")
    subscribers = {
        "kk": [KK_READER, to_kk],
        "ru": [RU_READER, to_ru],
        "en": [EN_READER, to_en],
    }
    for readers in subscribers.values():
        for reader in readers:
            answer = await say(bot, "/subscribe 08:00", reader)
            app = language_of(reader.get("language_code"))
            assert answer == t(app, "subscribe_done", time="08:00"), reader
    # Chosen after subscribing: the digest follows the choice.
    assert await say(bot, "/language english", to_en) == LANGUAGE_SET["en"]
    assert await say(bot, "/language русский", to_ru) == LANGUAGE_SET["ru"]
    assert await say(bot, "/language қазақша", to_kk) == LANGUAGE_SET["kk"]
    for lang, readers in subscribers.items():
        for reader in readers:
            found = await storage.subscribers.get(reader["id"])
            assert found is not None
            assert found.lang == lang, reader

    before = {r["id"]: len(sent_to(bot.fake, r["id"])) for rs in subscribers.values() for r in rs}
    clock.moment = at(DAY, 8, 0, 30)

    async def all_sent() -> bool:
        for reader_id in before:
            if await storage.deliveries.status(DAY, reader_id) is not DeliveryStatus.SENT:
                return False
        return True

    await eventually(all_sent)
    for lang, readers in subscribers.items():
        expected = expected_digest(lang)
        for reader in readers:
            digests = [p["text"] for p in sent_to(bot.fake, reader["id"])[before[reader["id"]] :]]
            assert digests == [expected], (lang, reader)
    # Headlines are the channel's own; the media name and everything else is translated.
    assert "Бейне" in sent_to(bot.fake, KK_READER["id"])[-1]["text"]
    assert "472.31" in sent_to(bot.fake, EN_READER["id"])[-1]["text"]
    assert "472,31" in sent_to(bot.fake, KK_READER["id"])[-1]["text"]
    assert_nothing_refused(bot.fake)


# -- 6. bad input, answered in Kazakh ---------------------------------------------------------


async def test_bad_input_is_answered_in_kazakh(start_bot: StartBot) -> None:
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    reader = KK_READER
    assert await say(bot, "/latest abc", reader) == t("kk", "latest_bad_count", max=MAX_COUNT)
    assert await say(bot, "/latest abc", reader) == (
        "Қанша жаңалық көрсету керегін жазыңыз: 1 мен 50 аралығындағы сан. Мысалы: /latest 10"
    )
    assert await say(bot, "/digest 99.99", reader) == t("kk", "digest_bad_date")
    assert await say(bot, "/digest 99.99", reader) == (
        "Күнді түсінбедім. Мысалдар: /digest 17.12, /digest 17.12.2023, /digest 2023-12-17, "
        "/digest кеше"
    )
    assert await say(bot, "/digest 18.12.2025", reader) == t("kk", "digest_future_date")
    # The Kazakh word for "yesterday" works, and the date is in the attributive form.
    assert await say(bot, "/digest кеше", reader) == (
        "☀️ <b>Қайырлы таң!</b> 16 желтоқсандағы маңызды жаңалық болған жоқ. Күніңіз сәтті өтсін!"
    )
    assert await say(bot, "/digest 17.12.2024", reader) == (
        "☀️ <b>Қайырлы таң!</b> 2024 жылғы 17 желтоқсандағы маңызды жаңалық болған жоқ. "
        "Күніңіз сәтті өтсін!"
    )
    assert await say(bot, "/convert nonsense", reader) == t(
        "kk", "convert_not_amount", text="nonsense"
    )
    assert await say(bot, "/convert", reader) == t("kk", "convert_empty")
    assert await say(bot, "/convert 100", reader) == t("kk", "convert_no_currency", text="100")
    assert await say(bot, "/convert 100 қоян", reader) == t(
        "kk", "convert_unknown_currency", text="қоян"
    )
    assert await say(bot, "/convert 0 usd", reader) == t("kk", "convert_not_positive")
    assert await say(bot, "/top month", reader) == t("kk", "top_bad_period")
    assert await say(bot, "/subscribe 25:99", reader) == t("kk", "subscribe_bad_time")
    assert await say(bot, "/search", reader) == t("kk", "search_usage")
    assert await say(bot, "/unsubscribe", reader) == t("kk", "unsubscribe_none")
    assert await say(bot, "/rates klingon", reader) == t(
        "kk",
        "rates_unknown_word",
        word="klingon",
        cities="Алматы, Астана, Шымкент",
        example="Шымкент",
    )
    assert await say(bot, "/stats", reader) == t("kk", "admin_only")
    assert_nothing_refused(bot.fake)


# -- what else a chosen language reaches ----------------------------------------------------


async def test_topic_alerts_follow_the_chosen_language(
    start_bot: StartBot, storage: Storage
) -> None:
    reader = user(8001, "ru", "Айдар")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    followed = await say(bot, "/follow ярмарка", reader)
    assert followed.startswith("🔔 Слежу за темой <b>ярмарка</b>")
    assert await say(bot, "/language kk", reader) == LANGUAGE_SET["kk"]

    before = len(sent_to(bot.fake, reader["id"]))
    await bot.send(channel_post(9, f"{FAIR}\nПодробности.", date=local(DAY, 11, 58)))
    await bot.fake.wait_until(lambda: len(sent_to(bot.fake, reader["id"])) > before)
    (alert,) = sent_to(bot.fake, reader["id"])[before:]
    assert alert["text"] == (
        f'🔔 <b>ярмарка</b>\n📰 <a href="https://t.me/kz_news/9">{FAIR}</a>\n'
        f"<i>11:58 · {CHANNEL}</i>"
    )
    assert labels(alert) == ["📖 Постты ашу"]
    following = await say(bot, "/following", reader)
    assert following.startswith("🔔 <b>Сіздің тақырыптарыңыз</b> (")
    assert_nothing_refused(bot.fake)


async def test_an_apology_is_in_the_chosen_language(start_bot: StartBot) -> None:
    reader = user(8002, "ru", "Айдар")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    assert await say(bot, "/language kk", reader) == LANGUAGE_SET["kk"]
    before = len(sent_to(bot.fake, reader["id"]))
    # Telegram refuses the answer to /help: the reader is told that something went wrong.
    bot.fake.fail("sendMessage", 400, "Bad Request: chat not found")
    await bot.send(private_text("/help", user=reader))
    texts = [p["text"] for p in sent_to(bot.fake, reader["id"])[before:]]
    assert texts[-1] == "Бірдеңе дұрыс болмады. Сәл кейінірек қайталап көріңіз."
    assert texts[-1] == t("kk", "error")


async def test_an_admin_who_chose_kazakh_keeps_kazakh_admin_menus_after_a_restart(
    start_bot: StartBot, storage: Storage
) -> None:
    admin_id = ADMIN["id"]
    assert isinstance(admin_id, int)
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    assert await say(bot, "/language kk", ADMIN) == LANGUAGE_SET["kk"]
    kazakh = {**public_menu("kk"), **{n: t("kk", k) for n, k in ADMIN_COMMANDS.items()}}
    assert kazakh["stats"] == "Статистика (әкімші)"
    chosen = menus(bot.fake, chat_scope(admin_id))
    assert chosen == dict.fromkeys([None, "ru", "en", "kk", "be", "uk"], kazakh)
    help_text = await say(bot, "/help", ADMIN)
    assert help_text == t("kk", "help") + t("kk", "help_admin")
    assert "\n\n<b>Әкімшілерге</b>\n" in help_text

    # At the next start the admin's menus are set again: in Kazakh, not in Russian.
    await bot.stop()
    calls = len(bot.fake.calls_of("setMyCommands"))
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 5)))
    # The default menus (6) and the admin's (6), once more.
    await bot.fake.wait_until(lambda: len(bot.fake.calls_of("setMyCommands")) >= calls + 12)
    await say(bot, "/start", ADMIN)  # the bot is up and polling
    assert len(bot.fake.calls_of("setMyCommands")) == calls + 12
    assert menus(bot.fake, chat_scope(admin_id)) == dict.fromkeys(
        [None, "ru", "en", "kk", "be", "uk"], kazakh
    )
    assert await storage.readers.language(admin_id) == "kk"
    assert_nothing_refused(bot.fake)


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


async def test_a_double_tap_on_a_language_button_is_no_error(start_bot: StartBot) -> None:
    reader = user(8003, "ru")
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    await ask(bot, "/language", reader)
    prompt_id = message_id_of_last(bot.fake, reader["id"])
    await press(bot, "lg:kk", reader, message_id=prompt_id)
    # Two quick taps: the second press reaches the bot before the buttons are gone.
    before = len(sent_to(bot.fake, reader["id"]))
    bot.fake.fail("editMessageText", 400, NOT_MODIFIED)
    answer = await press(bot, "lg:kk", reader, message_id=prompt_id)
    assert not answer.get("text")
    assert [p["text"] for p in sent_to(bot.fake, reader["id"])[before:]] == []


async def test_kazakh_words_readers_type_are_understood(start_bot: StartBot) -> None:
    """The words a command takes are read in Kazakh too, whatever the reader's language."""
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    reader = KK_READER
    await say(bot, "/follow тариф", reader)
    assert await say(bot, "/follow quiet өшіру", reader) == t("kk", "quiet_off")
    assert await say(bot, "/follow quiet қосу", reader) == t("kk", "quiet_on")
    # /top апта is the week's top, like /top 7d (empty here: nothing was posted).
    assert await say(bot, "/top апта", reader) == await say(bot, "/top 7d", reader)
    assert await say(bot, "/top тәулік", reader) == await say(bot, "/top", reader)
    assert await say(bot, "/digest бүгін", reader) == await say(bot, "/digest", reader)


async def test_a_subscription_follows_the_app_language_until_a_choice(
    start_bot: StartBot, storage: Storage
) -> None:
    """Subscribed when the bot did not speak Kazakh (stored in Russian), or before the app's
    language changed: the next message brings the digest and alerts to the app's language,
    while a reader's own choice is never overwritten."""
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    before = user(4101, "kk")
    chose = user(4102, "kk")
    for reader in (before, chose):
        await storage.subscribers.subscribe(
            reader["id"], lang="ru", send_time=time(8, 0), first_day=DAY
        )
        await storage.topics.set_quiet(reader["id"], True, lang="ru", now=local(DAY, 11, 0))
    await say(bot, "/language ru", chose)
    await say(bot, "/help", before)
    await say(bot, "/help", chose)
    for reader, expected in ((before, "kk"), (chose, "ru")):
        subscriber = await storage.subscribers.get(reader["id"])
        follower = await storage.topics.reader(reader["id"])
        assert subscriber is not None
        assert follower is not None
        assert (subscriber.lang, follower.lang) == (expected, expected), reader


async def test_language_codes_and_names_readers_type(start_bot: StartBot) -> None:
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    reader = user(4103, "ru")
    for typed, lang in [("kz", "kk"), ("ru-RU", "ru"), ("қазақ", "kk"), ("EN_us", "en")]:
        assert await say(bot, f"/language {typed}", reader) == LANGUAGE_SET[lang], typed


async def test_many_currencies_in_one_rates_request_fit_one_message(
    start_bot: StartBot, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)), feed)
    codes = " ".join(f"a{a}{b}" for a in "abcdefghij" for b in "abcdefghijklmnop")
    answer = await say(bot, f"/rates {codes}", KK_READER)
    assert answer.endswith("\n\nБір ретте ең көбі 12 валюта көрсетемін.")
    assert len(answer) < 4096
    assert not bot.fake.refusals


async def test_a_chosen_menu_is_set_again_when_a_release_changes_it(
    start_bot: StartBot, storage: Storage
) -> None:
    """A reader chose Kazakh under an older release (no menu recorded, or another one):
    their next message sets this release's Kazakh menu in their chat, once."""
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    reader = user(4201, "ru")
    await storage.readers.choose_language(reader["id"], "kk", now=local(DAY, 11, 0))
    await storage.readers.menu_set(reader["id"], "an-older-menu")
    await say(bot, "/help", reader)
    chosen = menus(bot.fake, chat_scope(reader["id"]))
    assert set(chosen) == {None, "ru", "en", "kk", "uk", "be"}
    assert {menu["latest"] for menu in chosen.values()} == {"Соңғы жаңалықтар"}
    calls = len(bot.fake.calls_of("setMyCommands"))
    await say(bot, "/help", reader)
    assert len(bot.fake.calls_of("setMyCommands")) == calls


REAL_PRIVATE_TEXT = Path(__file__).parent / "data" / "telegram" / "updates" / "private-text.json"


@pytest.mark.parametrize(("code", "lang"), [("en", "en"), ("kk", "kk"), (None, "ru")])
async def test_a_real_private_message_is_answered_in_its_senders_language(
    start_bot: StartBot, code: str | None, lang: str
) -> None:
    """A message as Telegram sent it (its sender's app in English), made a /help, and the
    same with the app in Kazakh and with no language_code at all."""
    update = json.loads(REAL_PRIVATE_TEXT.read_text(encoding="utf-8"))
    update.pop("update_id")  # the fake numbers it after the bot's own
    message = update["message"]
    message["text"] = "/help"
    message["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
    if code is None:
        del message["from"]["language_code"]
    else:
        message["from"]["language_code"] = code
    bot = await _bot(start_bot, FixedClock(at(DAY, 12, 0)))
    await bot.send(update)
    assert [a["text"] for a in sent_to(bot.fake, message["chat"]["id"])] == [t(lang, "help")]
