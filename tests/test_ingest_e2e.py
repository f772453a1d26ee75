"""Channel posts reach SQLite through the whole bot: fake Bot API → aiogram → storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiogram.types import MessageEntity
from aiogram.utils.text_decorations import html_decoration

from storage import Media, SaveOutcome, Source, Storage
from tests.conftest import RunningBot
from tests.updates import (
    ADMIN,
    AGENCY_CHANNEL,
    NEWS_CHANNEL,
    OTHER_CHANNEL,
    READER,
    channel_post,
    edited_channel_post,
    forward,
    forward_from_user,
    photo,
    photo_post,
    reaction_count,
)

NEWS = NEWS_CHANNEL["id"]
FLAGS_TEXT = "🇰🇿🇯🇵 Токаев встретился с премьером Японии. Подробности"
# Each flag is two regional-indicator symbols, each two UTF-16 code units: 8 units + space.
FLAGS_ENTITIES = [
    {"type": "bold", "offset": 9, "length": 6},
    {"type": "text_link", "offset": 47, "length": 11, "url": "https://example.kz/news/1"},
]

StartBot = Callable[..., Any]


async def test_post_after_emoji_flags_keeps_its_formatting(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot()
    await bot.send(channel_post(10, FLAGS_TEXT, entities=FLAGS_ENTITIES))

    post = await storage.posts.find(NEWS, 10)
    assert post is not None
    assert post.text == FLAGS_TEXT
    assert post.entities == FLAGS_ENTITIES
    assert post.channel_title == NEWS_CHANNEL["title"]
    assert post.channel_username == "kz_news"
    assert post.source is Source.CHANNEL
    rendered = html_decoration.unparse(
        post.text, [MessageEntity.model_validate(e) for e in post.entities]
    )
    assert rendered == (
        "🇰🇿🇯🇵 <b>Токаев</b> встретился с премьером Японии. "
        '<a href="https://example.kz/news/1">Подробности</a>'
    )


async def test_photo_with_caption_keeps_largest_size_and_caption_entities(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    caption_entities = [{"type": "italic", "offset": 0, "length": 4}]
    await bot.send(
        photo_post(11, "ph11", "Фото дня: Астана в снегу", caption_entities=caption_entities)
    )

    post = await storage.posts.find(NEWS, 11)
    assert post is not None
    assert post.text == "Фото дня: Астана в снегу"
    assert post.entities == caption_entities
    assert post.media == [Media("photo", "AgAC-ph11", "ph11")]


async def test_album_out_of_order_becomes_one_post(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot()
    group = "13870000000000001"
    # Telegram may deliver album items in any order; the caption sits on one of them.
    await bot.send_all(
        [
            photo_post(22, "p22", media_group_id=group),
            photo_post(21, "p21", "Паводки в Костанайской области", media_group_id=group),
            {
                "channel_post": {
                    **photo_post(23, "v23", media_group_id=group)["channel_post"],
                    "photo": None,
                    "video": {
                        "file_id": "BAAD-v23",
                        "file_unique_id": "v23",
                        "width": 640,
                        "height": 360,
                        "duration": 12,
                    },
                }
            },
        ]
    )

    post = await storage.posts.find(NEWS, 23)
    assert post is not None
    assert await storage.posts.find(NEWS, 21) == post
    assert post.message_id == 21
    assert post.text == "Паводки в Костанайской области"
    assert [m.kind for m in post.media] == ["photo", "photo", "video"]
    assert [m.file_unique_id for m in post.media] == ["p21", "p22", "v23"]
    assert await storage.posts.count() == 1


async def test_edit_updates_text_entities_and_search_index(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    await bot.send(channel_post(30, "Ярмарка откроется в субботу"))
    await bot.send(
        edited_channel_post(
            30,
            "Ярмарка перенесена на воскресенье",
            edit_date=1_765_960_000,
            entities=[{"type": "bold", "offset": 0, "length": 7}],
        )
    )

    post = await storage.posts.find(NEWS, 30)
    assert post is not None
    assert post.text == "Ярмарка перенесена на воскресенье"
    assert post.entities == [{"type": "bold", "offset": 0, "length": 7}]
    assert post.edit_date is not None
    assert int(post.edit_date.timestamp()) == 1_765_960_000
    assert await storage.posts.search_ids("воскресен") == [post.id]
    assert await storage.posts.search_ids("суббот") == []


async def test_redelivered_update_and_stale_original_store_once(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    original = channel_post(40, "Первая версия")
    await bot.send(original)
    await bot.send(original)  # redelivered after a restart, say
    await bot.send(edited_channel_post(40, "Вторая версия", edit_date=1_765_970_000))
    await bot.send(original)  # the original again, after the edit: must not undo it

    post = await storage.posts.find(NEWS, 40)
    assert post is not None
    assert post.text == "Вторая версия"
    assert await storage.posts.count() == 1


async def test_admin_forward_is_stored_under_origin_and_answered(
    start_bot: StartBot, storage: Storage, fake_telegram: Any
) -> None:
    bot = await start_bot()
    statement = "Заявление Генерального секретаря ОДКБ\nПолный текст заявления"
    await bot.send(forward(5, statement, message_id=900))

    post = await storage.posts.find(AGENCY_CHANNEL["id"], 5)
    assert post is not None
    assert post.source is Source.FORWARD
    assert post.forwarded_by == ADMIN["id"]
    assert post.text == statement
    assert int(post.date.timestamp()) == 1_765_951_205  # the origin's date, not the forward's
    assert fake_telegram.sent_texts(ADMIN["id"]) == [
        "✅ Сохранено: «Заявление Генерального секретаря ОДКБ»"
    ]

    await bot.send(forward(5, statement, message_id=901))
    await bot.send(forward(5, statement + " (обновлено)", message_id=902))
    assert fake_telegram.sent_texts(ADMIN["id"])[1:] == [
        "☑️ Уже есть: «Заявление Генерального секретаря ОДКБ»",
        "✏️ Обновлено: «Заявление Генерального секретаря ОДКБ»",
    ]
    assert await storage.posts.count() == 1


async def test_forward_of_a_post_taken_from_the_channel_is_not_stored_twice(
    start_bot: StartBot, storage: Storage, fake_telegram: Any
) -> None:
    bot = await start_bot()
    await bot.send(channel_post(50, "Курс тенге укрепился"))
    await bot.send(forward(50, "Курс тенге укрепился", origin_chat=NEWS_CHANNEL))

    assert await storage.posts.count() == 1
    post = await storage.posts.find(NEWS, 50)
    assert post is not None
    assert post.source is Source.CHANNEL
    assert fake_telegram.sent_texts(ADMIN["id"]) == ["☑️ Уже есть: «Курс тенге укрепился»"]


async def test_forwarded_album_is_one_post_and_one_answer(
    start_bot: StartBot, storage: Storage, fake_telegram: Any
) -> None:
    bot = await start_bot()
    group = "private-album-1"
    await bot.send_all(
        [
            forward(
                71,
                None,
                message_id=801,
                photo=photo("f71"),
                media_group_id=group,
                caption="Открытие моста через Иртыш",
            ),
            forward(72, None, message_id=802, photo=photo("f72"), media_group_id=group),
        ]
    )

    post = await storage.posts.find(AGENCY_CHANNEL["id"], 72)
    assert post is not None
    assert post.message_id == 71
    assert len(post.media) == 2
    assert fake_telegram.sent_texts(ADMIN["id"]) == ["✅ Сохранено: «Открытие моста через Иртыш»"]


async def test_non_admin_forward_is_refused_and_nothing_stored(
    start_bot: StartBot, storage: Storage, fake_telegram: Any
) -> None:
    bot = await start_bot()
    await bot.send(forward(6, "Чужой пост", user=READER))

    assert await storage.posts.count() == 0
    assert fake_telegram.sent_texts(READER["id"]) == [
        "Only the bot's admins can store forwarded posts. Read the news with /latest."
    ]


async def test_admin_forward_of_a_persons_message_is_refused(
    start_bot: StartBot, storage: Storage, fake_telegram: Any
) -> None:
    bot = await start_bot()
    await bot.send(forward_from_user("Привет"))

    assert await storage.posts.count() == 0
    assert fake_telegram.sent_texts(ADMIN["id"]) == [
        "Это не пост канала, сохранить его нельзя. Перешлите сообщение прямо из канала."
    ]


async def test_posts_of_other_channels_are_ignored(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    with caplog.at_level("INFO", logger="bot.services.ingest"):
        await bot.send(channel_post(1, "Не наш пост", chat=OTHER_CHANNEL))
        await bot.send(channel_post(2, "И этот тоже", chat=OTHER_CHANNEL))

    assert await storage.posts.count() == 0
    ignored = [r for r in caplog.records if "outside SOURCE_CHANNELS" in r.getMessage()]
    assert len(ignored) == 1  # logged once per channel, not once per post


async def test_source_channel_by_username(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot(source_channels=["@Elsewhere"])
    await bot.send(channel_post(3, "Пост по имени канала", chat=OTHER_CHANNEL))
    await bot.send(channel_post(4, "А этот не из списка"))

    assert await storage.posts.find(OTHER_CHANNEL["id"], 3) is not None
    assert await storage.posts.find(NEWS, 4) is None


async def test_every_channel_is_a_source_when_none_configured(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(source_channels=[])
    await bot.send(channel_post(3, "Пост", chat=OTHER_CHANNEL))
    assert await storage.posts.count() == 1


async def test_reaction_count_updates_post_total(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot()
    await bot.send(channel_post(60, "Новость с реакциями"))
    await bot.send(reaction_count(60, [12, 5]))
    await bot.send(reaction_count(60, [13, 5, 1]))
    await bot.send(reaction_count(999, [3]))  # a message the bot never stored

    post = await storage.posts.find(NEWS, 60)
    assert post is not None
    assert post.reactions == 19
    assert "message_reaction_count" in bot.fake.calls_of("getUpdates")[0].params["allowed_updates"]


async def test_service_messages_are_not_posts(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot()
    pinned = channel_post(8, None, pinned_message=channel_post(7, "dhdh")["channel_post"])
    await bot.send(pinned)
    assert await storage.posts.count() == 0


async def test_graceful_stop_confirms_handled_updates(
    start_bot: StartBot, fake_telegram: Any
) -> None:
    bot = await start_bot()
    update_id = await bot.send(channel_post(90, "Последний пост перед остановкой"))
    await bot.stop()
    assert fake_telegram.confirmed_offset == update_id + 1
    assert bot.task.exception() is None


async def test_save_outcomes_reported_by_storage(storage: Storage) -> None:
    # The same outcomes the admin's one-line answers are built from.
    from datetime import UTC, datetime

    from storage import IncomingMessage

    msg = IncomingMessage(
        channel_id=NEWS, message_id=1, date=datetime.now(UTC), source=Source.CHANNEL, text="a"
    )
    assert (await storage.posts.save(msg)).outcome is SaveOutcome.CREATED
    assert (await storage.posts.save(msg)).outcome is SaveOutcome.UNCHANGED
