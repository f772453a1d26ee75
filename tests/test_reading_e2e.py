"""Reading the news through the whole bot: /latest, paging, /top, /search, a post in full."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from storage import Storage
from tests.conftest import RunningBot
from tests.fake_telegram import FakeTelegram
from tests.updates import (
    ADMIN,
    NEWS_CHANNEL,
    READER,
    callback_query,
    channel_post,
    photo,
    photo_post,
    private_text,
    reaction_count,
)

StartBot = Callable[..., Any]
RU_READER = {"id": 333, "is_bot": False, "first_name": "Айдар", "language_code": "ru"}
NOW = int(time.time())


def last_call(fake: FakeTelegram, *methods: str) -> dict[str, Any]:
    calls = [c for c in fake.calls if c.method in methods]
    assert calls, f"no call of {methods}"
    return calls[-1].params


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [b for row in markup["inline_keyboard"] for b in row]


def button(params: dict[str, Any], text: str) -> str:
    for b in buttons(params):
        if b["text"] == text:
            return str(b["callback_data"])
    raise AssertionError(f"no button {text!r} in {[b['text'] for b in buttons(params)]}")


def numbered_items(text: str) -> list[str]:
    return [line for line in text.split("\n") if line[:1].isdigit() and ". " in line]


async def fill(bot: RunningBot, count: int, *, start: int = 1) -> None:
    """`count` channel posts, one a minute, the newest a few minutes ago."""
    await bot.send_all(
        [
            channel_post(
                i,
                f"📌 Новость номер {i}\nПодробности новости {i}.",
                date=NOW - 600 - (count - i) * 60,
            )
            for i in range(start, start + count)
        ]
    )


async def press(bot: RunningBot, data: str, user: dict[str, Any] = RU_READER) -> None:
    await bot.send(callback_query(data, user=user))


async def test_latest_pages_through_sixty_posts_forward_and_back(start_bot: StartBot) -> None:
    bot: RunningBot = await start_bot()
    await fill(bot, 60)

    await bot.send(private_text("/latest", user=RU_READER))
    first = last_call(bot.fake, "sendMessage")
    seen = [numbered_items(first["text"])]
    params = first
    while any(b["text"] == "Старее ▶" for b in buttons(params)):
        await press(bot, button(params, "Старее ▶"))
        params = last_call(bot.fake, "editMessageText")
        seen.append(numbered_items(params["text"]))
    titles = [item.split("Новость номер ")[1].split("<")[0] for page in seen for item in page]
    assert titles == [str(i) for i in range(60, 0, -1)]
    assert len(seen) == 6
    assert not any(b["text"] == "Старее ▶" for b in buttons(params))

    back = []
    while any(b["text"] == "◀ Новее" for b in buttons(params)):
        await press(bot, button(params, "◀ Новее"))
        params = last_call(bot.fake, "editMessageText")
        back.append(numbered_items(params["text"]))
    assert back == seen[-2::-1]  # the same pages, in reverse, ending at the newest


async def test_latest_item_shows_headline_time_channel_and_link(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(
        channel_post(7, "🥩Мясная ярмарка пройдёт в эти выходные в Астане\nТекст", date=NOW - 60)
    )
    await bot.send(private_text("/latest", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert text.startswith("📰 <b>Последние новости</b>")
    assert (
        '1. 🥩 <a href="https://t.me/kz_news/7">Мясная ярмарка пройдёт в эти выходные в Астане</a>'
    ) in text
    assert "· Новости Казахстана</i>" in text


async def test_a_first_line_of_only_emoji_is_the_items_emoji_not_its_headline(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    await bot.send_all(
        [
            channel_post(8, "🔥🔥🔥\nАкимат Алматы объявил конкурс\nТекст", date=NOW - 120),
            channel_post(9, "🔥🔥🔥", date=NOW - 60),
        ]
    )
    await bot.send(private_text("/latest", user=RU_READER))
    items = numbered_items(last_call(bot.fake, "sendMessage")["text"])
    assert items == [
        '1. 📰 <a href="https://t.me/kz_news/9">🔥🔥🔥</a>',
        '2. 🔥🔥🔥 <a href="https://t.me/kz_news/8">Акимат Алматы объявил конкурс</a>',
    ]


async def test_private_channel_links_use_internal_id(start_bot: StartBot) -> None:
    private = {"id": -1001987654321, "title": "Закрытый", "type": "channel"}
    bot = await start_bot(source_channels=[])
    await bot.send(channel_post(5, "Новость закрытого канала", chat=private, date=NOW - 60))
    await bot.send(private_text("/latest 1", user=RU_READER))
    assert "https://t.me/c/1987654321/5" in last_call(bot.fake, "sendMessage")["text"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/latest abc", "число от 1 до 50"),
        ("/latest -5", "число от 1 до 50"),
        ("/latest 0", "число от 1 до 50"),
    ],
)
async def test_latest_bad_count_gets_help(start_bot: StartBot, command: str, expected: str) -> None:
    bot = await start_bot()
    await bot.send(private_text(command, user=RU_READER))
    assert expected in last_call(bot.fake, "sendMessage")["text"]


async def test_latest_huge_count_is_capped_and_fits_one_message(start_bot: StartBot) -> None:
    bot = await start_bot()
    long_line = "Очень длинный заголовок новости о событиях в регионе " * 2
    await bot.send_all(
        [channel_post(i, f"{long_line}{i}", date=NOW - 1000 + i) for i in range(1, 61)]
    )
    await bot.send(private_text("/latest 100000", user=RU_READER))
    params = last_call(bot.fake, "sendMessage")
    assert "не больше 50" in params["text"]
    assert len(params["text"]) <= 4096
    shown = numbered_items(params["text"])
    assert 0 < len(shown) <= 50
    # The cut page continues from its last shown post.
    await press(bot, button(params, "Старее ▶"))
    nxt = numbered_items(last_call(bot.fake, "editMessageText")["text"])
    assert nxt
    assert nxt[0] not in shown


async def test_empty_database_answers_kindly(start_bot: StartBot) -> None:
    bot = await start_bot()
    for command in ("/latest", "/top", "/search ярмарка"):
        await bot.send(private_text(command, user=RU_READER))
    texts = bot.fake.sent_texts(RU_READER["id"])
    assert texts == [
        "Новостей пока нет — загляните чуть позже.",
        "За этот период популярных новостей нет.",
        "По запросу «ярмарка» ничего не нашлось. Попробуйте другие слова.",
    ]


async def test_open_post_sends_exact_html_after_emoji_flags(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    text = "🇰🇿🇯🇵 Токаев прибыл с официальным визитом в Японию. Подробности"
    await bot.send(
        channel_post(
            10,
            text,
            entities=[
                {"type": "bold", "offset": 9, "length": 6},
                {
                    "type": "text_link",
                    "offset": 55,
                    "length": 11,
                    "url": "https://example.kz/a?b=1&c=2",
                },
                {"type": "spoiler", "offset": 16, "length": 6},
            ],
        )
    )
    post = await storage.posts.find(NEWS_CHANNEL["id"], 10)
    assert post is not None
    await bot.send(private_text(f"/post_{post.id}", user=RU_READER))

    params = last_call(bot.fake, "sendMessage")
    assert params["text"] == (
        "🇰🇿🇯🇵 <b>Токаев</b> <tg-spoiler>прибыл</tg-spoiler> с официальным визитом в Японию. "
        '<a href="https://example.kz/a?b=1&amp;c=2">Подробности</a>'
    )
    assert params["parse_mode"] == "HTML"
    assert buttons(params) == [{"text": "🔗 Открыть в канале", "url": "https://t.me/kz_news/10"}]


async def test_open_post_renders_every_entity_kind(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot()
    text = "жирный курсив подчёркнутый зачёркнутый код блок цитата Айгуль"
    entities = [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 7, "length": 6},
        {"type": "underline", "offset": 14, "length": 12},
        {"type": "strikethrough", "offset": 27, "length": 11},
        {"type": "code", "offset": 39, "length": 3},
        {"type": "pre", "offset": 43, "length": 4, "language": "python"},
        {"type": "blockquote", "offset": 48, "length": 6},
        {
            "type": "text_mention",
            "offset": 55,
            "length": 6,
            "user": {"id": 42, "is_bot": False, "first_name": "А"},
        },
    ]
    await bot.send(channel_post(11, text, entities=entities))
    post = await storage.posts.find(NEWS_CHANNEL["id"], 11)
    assert post is not None
    await bot.send(private_text(f"/post_{post.id}", user=RU_READER))
    assert last_call(bot.fake, "sendMessage")["text"] == (
        "<b>жирный</b> <i>курсив</i> <u>подчёркнутый</u> <s>зачёркнутый</s> <code>код</code> "
        '<pre><code class="language-python">блок</code></pre> <blockquote>цитата</blockquote> '
        '<a href="tg://user?id=42">Айгуль</a>'
    )


async def test_open_photo_post_and_album_by_stored_file_ids(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    await bot.send(photo_post(20, "one", "<b>Не тег</b>: снег в Астане", date=NOW - 100))
    group = "album-30"
    await bot.send_all(
        [
            photo_post(31, "a31", media_group_id=group, date=NOW - 50),
            photo_post(30, "a30", "Паводки: фоторепортаж", media_group_id=group, date=NOW - 50),
        ]
    )
    single = await storage.posts.find(NEWS_CHANNEL["id"], 20)
    album = await storage.posts.find(NEWS_CHANNEL["id"], 31)
    assert single is not None
    assert album is not None

    await bot.send(private_text(f"/post_{single.id}", user=RU_READER))
    sent = last_call(bot.fake, "sendPhoto")
    assert sent["photo"] == "AgAC-one"
    assert sent["caption"] == "&lt;b&gt;Не тег&lt;/b&gt;: снег в Астане"

    await bot.send(callback_query(f"p:{album.id}", user=RU_READER))
    media = last_call(bot.fake, "sendMediaGroup")["media"]
    assert [m["media"] for m in media] == ["AgAC-a30", "AgAC-a31"]
    assert media[0]["caption"] == "Паводки: фоторепортаж"
    assert "caption" not in media[1] or media[1]["caption"] is None
    assert buttons(last_call(bot.fake, "sendMessage"))[0]["url"] == "https://t.me/kz_news/30"


async def test_deep_link_opens_post_and_counts_the_reader_once(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    await bot.send(channel_post(40, "Пост по ссылке"))
    post = await storage.posts.find(NEWS_CHANNEL["id"], 40)
    assert post is not None
    await bot.send(private_text(f"/start post_{post.id}", user=RU_READER))
    await bot.send(private_text(f"/start post_{post.id}", user=RU_READER))
    await bot.send(private_text(f"/post_{post.id}", user=READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == ["Пост по ссылке", "Пост по ссылке"]
    reread = await storage.posts.get(post.id)
    assert reread is not None
    assert reread.opens == 2


async def test_unknown_and_deleted_posts(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot()
    await bot.send(channel_post(50, "Будет удалён"))
    post = await storage.posts.find(NEWS_CHANNEL["id"], 50)
    assert post is not None
    await storage.posts.mark_deleted(post.id)

    await bot.send(private_text("/post_999999", user=RU_READER))
    await bot.send(callback_query(f"p:{post.id}", user=RU_READER))
    await bot.send(private_text("/latest", user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [
        "Не нашёл такой пост. Свежие новости — /latest.",
        "Этот пост удалён из ленты.",
        "Новостей пока нет — загляните чуть позже.",
    ]


async def test_a_button_the_bot_does_not_know_is_answered(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(callback_query("old-version:42", user=RU_READER, query_id="cq-old"))
    await bot.send(callback_query("x" * 64, user=READER, query_id="cq-junk"))
    answers = {
        c.params["callback_query_id"]: c.params.get("text")
        for c in bot.fake.calls_of("answerCallbackQuery")
    }
    assert answers == {
        "cq-old": "Эта кнопка больше не работает. Список команд — /help.",
        "cq-junk": "This button no longer works. See /help.",
    }
    assert not bot.fake.calls_of("sendMessage")


async def test_top_ranks_reactions_plus_readers_ties_to_newer(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    await bot.send_all(
        [
            channel_post(61, "Старая популярная", date=NOW - 3 * 86400),
            channel_post(62, "Ничья старше", date=NOW - 7200),
            channel_post(63, "Ничья новее", date=NOW - 3600),
            channel_post(64, "Лидер", date=NOW - 5000),
            reaction_count(61, [100]),
            reaction_count(62, [3]),
            reaction_count(63, [2]),
            reaction_count(64, [10, 5]),
        ]
    )
    newer = await storage.posts.find(NEWS_CHANNEL["id"], 63)
    assert newer is not None
    await bot.send(private_text(f"/post_{newer.id}", user=READER))  # 2 reactions + 1 reader

    await bot.send(private_text("/top", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert text.startswith("🔥 <b>Самое читаемое за сутки</b>")
    items = numbered_items(text)
    assert [i.split('">')[1].split("<")[0] for i in items] == [
        "Лидер",
        "Ничья новее",
        "Ничья старше",
    ]
    assert "❤️ 15 · 👁 0" in text
    assert "❤️ 2 · 👁 1" in text

    await bot.send(private_text("/top 7d", user=RU_READER))
    week = last_call(bot.fake, "sendMessage")["text"]
    assert numbered_items(week)[0].split('">')[1].startswith("Старая популярная")


async def test_top_bad_period(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(private_text("/top 99y", user=RU_READER))
    assert "/top 24h" in last_call(bot.fake, "sendMessage")["text"]


async def test_search_finds_other_word_forms_with_highlight(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send_all(
        [
            channel_post(71, "Визит Токаева в Японию завершился", date=NOW - 500),
            channel_post(
                72,
                "Мясная ярмарка пройдёт в эти выходные. На ярмарке будет говядина",
                date=NOW - 400,
            ),
            channel_post(73, "Главную новогоднюю ёлку зажгут в Алматы", date=NOW - 300),
            channel_post(74, "Погода на выходные", date=NOW - 200),
        ]
    )
    await bot.send(private_text("/search Токаев", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert text.startswith("🔎 <b>Поиск:</b> Токаев")
    assert "Визит <b>Токаева</b> в Японию завершился" in text

    await bot.send(private_text("/search ярмарка", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert "<b>ярмарка</b>" in text
    assert "<b>ярмарке</b>" in text
    assert len(numbered_items(text)) == 1

    await bot.send(private_text("/search елка", user=RU_READER))
    assert "<b>ёлку</b>" in last_call(bot.fake, "sendMessage")["text"]


async def test_search_pages_and_buttons_survive_restart(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send_all(
        [channel_post(i, f"Ремонт дорог, участок {i}", date=NOW - 1000 + i) for i in range(1, 26)]
    )
    await bot.send(private_text("/search ремонт", user=RU_READER))
    first = last_call(bot.fake, "sendMessage")
    assert len(numbered_items(first["text"])) == 10
    data = button(first, "Дальше ▶")
    await bot.stop()

    again = await start_bot()  # a new process would see the same database
    await press(again, data)
    second = last_call(again.fake, "editMessageText")
    assert numbered_items(second["text"])[0].startswith("11. ")
    assert button(second, "◀ Назад")


HOSTILE = [
    '"',
    '"unbalanced',
    "*",
    "ярмарка*",
    "AND",
    "OR NOT",
    "a AND b OR NOT c",
    "NEAR(ярмарка Астана, 2)",
    "(",
    "())",
    "body:ярмарка",
    "col:",
    "^начало",
    "- минус",
    "🎄🎄🎄",
    "ярмарка " * 500,
    "Ж" * 4000,
    "'; DROP TABLE posts; --",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_any_search_input_is_safe(
    start_bot: StartBot, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    await bot.send(channel_post(80, "Ярмарка в Астане", date=NOW - 60))
    with caplog.at_level(logging.WARNING):
        await bot.send(private_text(f"/search {query}", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert "Что-то пошло не так" not in text
    assert len(text) <= 4096
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_english_reader_gets_english(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(private_text("/latest", user=READER))
    await bot.send(private_text("/top 99y", user=READER))
    assert bot.fake.sent_texts(READER["id"]) == [
        "No news yet — check back a little later.",
        "Choose a period: /top 24h for a day, /top 7d for a week.",
    ]


async def test_start_menu_and_command_menus(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(private_text("/start", user=RU_READER))
    params = last_call(bot.fake, "sendMessage")
    assert params["text"].startswith("Здравствуйте!")
    texts = [b["text"] for b in buttons(params)]
    assert "📰 Последние новости" in texts
    assert "💱 Курсы валют" in texts

    menus = bot.fake.calls_of("setMyCommands")
    scopes = {(c.params["scope"]["type"], c.params.get("language_code")) for c in menus}
    assert ("default", None) in scopes
    assert ("default", "en") in scopes
    assert ("chat", None) in scopes
    admin_menu = next(c for c in menus if c.params["scope"]["type"] == "chat")
    assert admin_menu.params["scope"]["chat_id"] == ADMIN["id"]
    assert "senddigest" in [c["command"] for c in admin_menu.params["commands"]]
    public = next(c for c in menus if c.params["scope"]["type"] == "default")
    assert "senddigest" not in [c["command"] for c in public.params["commands"]]


async def test_every_button_of_the_greeting_answers(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(private_text("/start", user=RU_READER))
    menu = [b["callback_data"] for b in buttons(last_call(bot.fake, "sendMessage"))]
    assert len(menu) == 5
    for n, data in enumerate(menu):
        before = len(bot.fake.sent_texts(RU_READER["id"]))
        await bot.send(callback_query(data, user=RU_READER, query_id=f"menu-{n}"))
        assert len(bot.fake.sent_texts(RU_READER["id"])) == before + 1, data
    toasts = [c.params.get("text") for c in bot.fake.calls_of("answerCallbackQuery")]
    assert toasts == [None] * len(menu)  # no "this button no longer works"


async def test_every_button_fits_telegram_limits(start_bot: StartBot) -> None:
    bot = await start_bot()
    await fill(bot, 30)
    await bot.send(private_text("/latest 50", user=RU_READER))
    await bot.send(private_text("/search новость", user=RU_READER))
    await bot.send(private_text("/start", user=RU_READER))
    for call in bot.fake.calls_of("sendMessage"):
        assert len(call.params["text"]) <= 4096
        for b in buttons(call.params):
            if "callback_data" in b:
                assert len(b["callback_data"].encode()) <= 64
    assert len(photo("x")) == 3  # sanity of the fixture builder


async def test_plain_words_in_a_private_chat_are_a_search(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(channel_post(90, "Ярмарка выходного дня в Астане", date=NOW - 60))
    await bot.send(private_text("ярмарки", user=RU_READER))
    text = last_call(bot.fake, "sendMessage")["text"]
    assert text.startswith("🔎 <b>Поиск:</b> ярмарки")
    assert "<b>Ярмарка</b> выходного дня" in text
    await bot.send(private_text("🙂", user=RU_READER))
    assert last_call(bot.fake, "sendMessage")["text"].startswith("Напишите, что найти")
