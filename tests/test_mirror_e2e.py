"""The mirror through the whole bot: copies, albums, edits, failures, deletion, restarts.
The fake server's log is the proof that each copy was made exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from bot.services import mirror as mirror_module
from storage import CopyStatus, Storage
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.updates import (
    ADMIN,
    NEWS_CHANNEL,
    callback_query,
    channel_post,
    edited_channel_post,
    forward,
    photo,
    photo_post,
    private_text,
)

StartBot = Callable[..., Any]
NEWS = NEWS_CHANNEL["id"]
BACKUP = -1005550001
REGION = -1005550002


@pytest.fixture(autouse=True)
def quick_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test-sized waits: an album settles in 0.3 s, a group takes a message each 50 ms.
    monkeypatch.setattr(mirror_module, "ALBUM_SETTLE_SECONDS", 0.3)
    monkeypatch.setattr(mirror_module, "TICK_SECONDS", 0.02)


def copies(fake: FakeTelegram) -> Counter[tuple[int, int]]:
    """(target chat, source message id) -> how many times it was copied."""
    made: Counter[tuple[int, int]] = Counter()
    for call in fake.calls_of("copyMessage"):
        made[(call.params["chat_id"], call.params["message_id"])] += 1
    for call in fake.calls_of("copyMessages"):
        for message_id in call.params["message_ids"]:
            made[(call.params["chat_id"], message_id)] += 1
    return made


async def copied(storage: Storage, post_id: int, target: int) -> bool:
    return bool(await storage.mirror.copies(post_id, target))


async def post_id_of(storage: Storage, message_id: int, channel: int = NEWS) -> int:
    post = await storage.posts.find(channel, message_id)
    assert post is not None
    return post.id


async def test_text_and_photo_posts_are_copied_once_to_every_target(
    start_bot: StartBot, storage: Storage
) -> None:
    bot: RunningBot = await start_bot(mirror_chat_ids=[BACKUP, REGION])
    await bot.send(channel_post(1, "Новость для зеркала"))
    await bot.send(photo_post(2, "ph2", "Фото дня"))
    await bot.send(channel_post(1, "Новость для зеркала"))  # redelivered
    first, second = await post_id_of(storage, 1), await post_id_of(storage, 2)
    for post_id in (first, second):
        for target in (BACKUP, REGION):

            async def done(p: int = post_id, t: int = target) -> bool:
                return await copied(storage, p, t)

            await eventually(done)

    made = copies(bot.fake)
    assert made == Counter({(BACKUP, 1): 1, (REGION, 1): 1, (BACKUP, 2): 1, (REGION, 2): 1})
    call = bot.fake.calls_of("copyMessage")[0].params
    assert call["from_chat_id"] == NEWS


async def test_album_out_of_order_goes_out_as_one_album(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    group = "album-mirror"
    await bot.send_all(
        [
            photo_post(12, "a12", media_group_id=group),
            photo_post(11, "a11", "Паводки: фоторепортаж", media_group_id=group),
            photo_post(13, "a13", media_group_id=group),
        ]
    )
    post_id = await post_id_of(storage, 11)
    await eventually(lambda: copied(storage, post_id, BACKUP))

    assert bot.fake.calls_of("copyMessage") == []
    (call,) = bot.fake.calls_of("copyMessages")
    assert call.params["message_ids"] == [11, 12, 13]
    mapping = await storage.mirror.copies(post_id, BACKUP)
    assert sorted(mapping) == [11, 12, 13]


async def test_edits_reach_every_copy(start_bot: StartBot, storage: Storage) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    group = "album-edit"
    await bot.send_all(
        [
            channel_post(21, "Черновик"),
            photo_post(22, "p22", "Подпись"),
            photo_post(23, "a23", "Альбом", media_group_id=group),
            photo_post(24, "a24", media_group_id=group),
        ]
    )
    ids = [await post_id_of(storage, m) for m in (21, 22, 23)]
    for post_id in ids:
        await eventually(lambda p=post_id: copied(storage, p, BACKUP))
    text_copy = (await storage.mirror.copies(ids[0], BACKUP))[21].copy_message_id

    bold = [{"type": "bold", "offset": 0, "length": 8}]
    await bot.send_all(
        [
            edited_channel_post(21, "Итоговый текст", edit_date=1_765_990_000, entities=bold),
            edited_channel_post(
                22, None, edit_date=1_765_990_001, photo=photo("p22"), caption="Новая подпись"
            ),
            edited_channel_post(
                24, None, edit_date=1_765_990_002, photo=photo("a24-new"), media_group_id=group
            ),
        ]
    )
    await bot.fake.wait_until(
        lambda: (
            bool(bot.fake.calls_of("editMessageText"))
            and bool(bot.fake.calls_of("editMessageCaption"))
            and bool(bot.fake.calls_of("editMessageMedia"))
        )
    )
    (text_edit,) = bot.fake.calls_of("editMessageText")
    assert text_edit.params["chat_id"] == BACKUP
    assert text_edit.params["message_id"] == text_copy
    assert text_edit.params["text"] == "Итоговый текст"
    assert text_edit.params["entities"] == bold
    (caption_edit,) = bot.fake.calls_of("editMessageCaption")
    assert caption_edit.params["caption"] == "Новая подпись"
    (media_edit,) = bot.fake.calls_of("editMessageMedia")
    assert media_edit.params["media"]["media"] == "AgAC-a24-new"
    assert sum(copies(bot.fake).values()) == 4  # edits never copy again


async def test_edit_that_telegram_refuses_is_recorded_once_and_not_retried(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    await bot.send(channel_post(31, "Было"))
    post_id = await post_id_of(storage, 31)
    await eventually(lambda: copied(storage, post_id, BACKUP))
    bot.fake.fail("editMessageText", 400, "Bad Request: message to edit not found")
    with caplog.at_level("WARNING", logger="bot.services.mirror"):
        await bot.send(edited_channel_post(31, "Стало", edit_date=1_765_990_100))
        await bot.fake.wait_for_call("editMessageText")

        async def settled() -> bool:
            tasks = await storage.mirror.due(10**10)
            return not tasks

        await eventually(settled)
    assert len(bot.fake.calls_of("editMessageText")) == 1
    refused = [r for r in caplog.records if "could not be edited" in r.getMessage()]
    assert len(refused) == 1


async def test_forwarded_posts_are_not_mirrored_by_default(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    await bot.send(forward(5, "Заявление пресс-службы"))
    await bot.send(channel_post(41, "Обычный пост"))
    await eventually(lambda: _copied_by_message(storage, 41))
    assert copies(bot.fake) == Counter({(BACKUP, 41): 1})
    assert bot.fake.sent_texts(BACKUP) == []


async def _copied_by_message(storage: Storage, message_id: int) -> bool:
    return await copied(storage, await post_id_of(storage, message_id), BACKUP)


async def test_forwarded_posts_are_mirrored_when_asked(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP], mirror_forwards=True)
    entities = [{"type": "italic", "offset": 0, "length": 9}]
    await bot.send(forward(5, "Заявление пресс-службы", entities=entities))
    await bot.fake.wait_until(lambda: bool(bot.fake.sent_texts(BACKUP)))
    sent = [c.params for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == BACKUP]
    assert [(p["text"], p["entities"]) for p in sent] == [("Заявление пресс-службы", entities)]


async def test_target_that_fails_then_recovers_with_mirror_retry(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    bot.fake.fail("copyMessage", 403, "Forbidden: bot is not a member of the channel chat")
    await bot.send(channel_post(51, "Пост в закрытое зеркало"))
    post_id = await post_id_of(storage, 51)

    async def failed() -> bool:
        return (await storage.mirror.summary())[CopyStatus.FAILED.value] == 1

    await eventually(failed)
    await bot.send(private_text("/stats", user=ADMIN))
    stats = bot.fake.sent_texts(ADMIN["id"])[-1]
    assert "ошибок 1" in stats
    assert f"пост {post_id} → {BACKUP}: Forbidden: bot is not a member" in stats

    await bot.send(private_text("/mirror retry", user=ADMIN))
    assert bot.fake.sent_texts(ADMIN["id"])[-1] == "🔁 Повторю копирование: 1."
    await eventually(lambda: copied(storage, post_id, BACKUP))
    assert len(bot.fake.calls_of("copyMessage")) == 2  # the refused one and the good one
    await bot.send(private_text("/mirror retry", user=ADMIN))
    assert bot.fake.sent_texts(ADMIN["id"])[-1] == "🔁 Повторю копирование: 0."


async def test_429_and_5xx_delay_a_copy_but_never_double_it(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    bot.fake.fail("copyMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    bot.fake.fail("copyMessage", 502, "Bad Gateway")
    await bot.send(channel_post(61, "Пост сквозь сбои"))
    post_id = await post_id_of(storage, 61)
    await eventually(lambda: copied(storage, post_id, BACKUP))
    assert len(bot.fake.calls_of("copyMessage")) == 3
    assert (await storage.mirror.summary())[CopyStatus.COPIED.value] == 1


async def test_crash_between_storing_and_copying(
    start_bot: StartBot, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first process stores the post and dies before its mirror worker copies it.
    async def no_work(self: mirror_module.Mirror) -> int:
        return 0

    monkeypatch.setattr(mirror_module.Mirror, "work_once", no_work)
    first = await start_bot(mirror_chat_ids=[BACKUP])
    await first.send(channel_post(71, "Пост перед сбоем"))
    first.task.cancel()
    await asyncio.gather(first.task, return_exceptions=True)
    assert copies(first.fake) == Counter()
    monkeypatch.undo()
    monkeypatch.setattr(mirror_module, "TICK_SECONDS", 0.02)

    second = await start_bot(mirror_chat_ids=[BACKUP])
    post_id = await post_id_of(storage, 71)
    await eventually(lambda: copied(storage, post_id, BACKUP))
    await second.send(channel_post(71, "Пост перед сбоем"))  # redelivered too
    assert copies(second.fake) == Counter({(BACKUP, 71): 1})


async def test_delete_marks_post_and_deletes_its_copies(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot(mirror_chat_ids=[BACKUP])
    await bot.send(channel_post(81, "Ошибочный пост"))
    post_id = await post_id_of(storage, 81)
    await eventually(lambda: copied(storage, post_id, BACKUP))
    copy_id = (await storage.mirror.copies(post_id, BACKUP))[81].copy_message_id

    await bot.send(private_text("/delete https://t.me/kz_news/81", user=ADMIN))
    assert bot.fake.sent_texts(ADMIN["id"])[-1] == (
        "Удалить пост «Ошибочный пост» из ленты бота и из зеркал?"
    )
    await bot.send(callback_query(f"dp:{post_id}:1", user=ADMIN))
    await bot.fake.wait_for_call("deleteMessages")
    (call,) = bot.fake.calls_of("deleteMessages")
    assert call.params["chat_id"] == BACKUP
    assert call.params["message_ids"] == [copy_id]
    post = await storage.posts.get(post_id)
    assert post is not None
    assert post.deleted

    await bot.send(private_text("/delete https://t.me/kz_news/81", user=ADMIN))
    await bot.send(private_text("/delete https://t.me/kz_news/999", user=ADMIN))
    await bot.send(private_text("/delete", user=ADMIN))
    assert bot.fake.sent_texts(ADMIN["id"])[-3:] == [
        "Этот пост уже удалён.",
        "Такого поста нет в базе.",
        "Укажите пост: ответьте командой /delete на пересланный пост или пришлите ссылку, "
        "например: /delete https://t.me/kz_news/123",
    ]
