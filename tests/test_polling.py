"""The poller: chats side by side, each chat in order, nothing confirmed before handled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage import Storage
from tests.conftest import RunningBot
from tests.rates_server import RatesServer
from tests.updates import NEWS_CHANNEL, READER, channel_post, private_text

StartBot = Callable[..., Any]
SLOW = {"id": 444, "is_bot": False, "first_name": "Slow", "language_code": "ru"}


async def test_a_slow_answer_holds_up_only_its_own_chat(
    start_bot: StartBot, storage: Storage
) -> None:
    async with RatesServer() as rates:
        gate = rates.hold()  # the rates feed answers only when the test says so
        bot: RunningBot = await start_bot(rates_url=rates.rates_url)
        slow_id = bot.fake.push(private_text("/rates", user=SLOW))
        later_ids = bot.fake.push_many(
            [private_text("/latest", user=READER), channel_post(1, "Пост во время ожидания")]
        )
        await rates.wait_requests(1)
        # Others are answered and stored while /rates waits for the feed...
        await bot.fake.wait_until(lambda: bool(bot.fake.sent_texts(READER["id"])))
        assert await storage.posts.find(NEWS_CHANNEL["id"], 1) is not None
        # ...but nothing after the waiting update is confirmed to Telegram yet.
        assert bot.fake.confirmed_offset <= slow_id
        gate.set()
        await bot.fake.wait_confirmed(max(later_ids))
        assert bot.fake.sent_texts(SLOW["id"])


async def test_a_burst_of_one_channel_with_an_edit_ends_right(
    start_bot: StartBot, storage: Storage
) -> None:
    bot = await start_bot()
    await bot.send_all(
        [
            channel_post(5, "Первая версия"),
            {
                "edited_channel_post": {
                    **channel_post(5, "Вторая версия")["channel_post"],
                    "edit_date": 1_765_999_000,
                }
            },
        ]
        + [channel_post(i, f"Пост {i}") for i in range(6, 40)]
    )
    post = await storage.posts.find(NEWS_CHANNEL["id"], 5)
    assert post is not None
    assert post.text == "Вторая версия"
    ids = [p.message_id for p in await storage.posts.latest(50)]
    assert sorted(ids) == list(range(5, 40))
