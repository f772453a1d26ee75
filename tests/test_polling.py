"""The poller: chats side by side, each chat in order, nothing confirmed before it is
either handled or kept in the inbox, and the inbox handled first after a restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiogram.types import Update

from bot.polling import _as_json
from storage import Storage
from tests.conftest import RunningBot, waiting_in_inbox
from tests.fake_telegram import FakeTelegram
from tests.rates_server import RatesServer
from tests.updates import NEWS_CHANNEL, READER, channel_post, private_text

StartBot = Callable[..., Any]
SLOW = {"id": 444, "is_bot": False, "first_name": "Slow", "language_code": "ru"}
OTHER = {"id": 445, "is_bot": False, "first_name": "Other", "language_code": "ru"}


async def test_updates_kept_before_a_crash_are_handled_first_and_once(
    fake_telegram: FakeTelegram, start_bot: StartBot, tmp_path: Path
) -> None:
    # A crash after the inbox kept updates 1 and 2 but before Telegram heard of it: both
    # are in the inbox, and Telegram sends them again, with a new one after them.
    kept = [
        private_text("/latest", user=READER, message_id=1),
        private_text("/help", user=READER, message_id=2),
    ]
    ids = fake_telegram.push_many([*kept, private_text("/start", user=READER, message_id=3)])
    storage = await Storage.open(tmp_path / "bot.db")
    await storage.inbox.put(
        [(i, json.dumps({"update_id": i, **u})) for i, u in zip(ids, kept, strict=False)]
    )
    await storage.close()

    bot: RunningBot = await start_bot()
    await bot.wait_handled(*ids)
    answers = [c.params["text"] for c in fake_telegram.calls_of("sendMessage")]
    # One each, in Telegram's order: /latest (no news yet), /help, /start's greeting.
    assert len(answers) == 3
    assert answers[0].startswith("No news yet")
    assert answers[1].startswith("<b>Commands</b>")
    assert answers[2].startswith("Hello!")


async def test_an_unreadable_update_in_the_inbox_is_dropped_not_retried_forever(
    fake_telegram: FakeTelegram, start_bot: StartBot, tmp_path: Path
) -> None:
    storage = await Storage.open(tmp_path / "bot.db")
    await storage.inbox.put([(7, "{not json"), (8, json.dumps({"update_id": "eight"}))])
    await storage.close()
    bot: RunningBot = await start_bot()
    await bot.send(private_text("/help"))
    assert not waiting_in_inbox(bot.settings.database_path, 8)


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
        # ...the waiting update is confirmed only because the inbox keeps it...
        assert bot.fake.confirmed_offset > slow_id
        assert waiting_in_inbox(bot.settings.database_path, slow_id)
        # ...and updates that come later are fetched and answered meanwhile.
        await bot.send(private_text("/help", user=OTHER))
        assert bot.fake.sent_texts(OTHER["id"])
        assert not bot.fake.sent_texts(SLOW["id"])
        gate.set()
        await bot.wait_handled(slow_id, *later_ids)
        assert bot.fake.sent_texts(SLOW["id"])
        assert not waiting_in_inbox(bot.settings.database_path, slow_id)


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


def test_an_update_is_kept_as_the_bot_api_sent_it_lone_surrogates_included() -> None:
    raw = {
        "update_id": 5,
        "message": {
            "message_id": 1,
            "date": 1_765_950_000,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "Ёж"},
            "text": "broken \ud800 half and ёж",
            "entities": [{"type": "bold", "offset": 0, "length": 6}],
            "a_field_from_a_newer_api": {"x": 1},
        },
    }
    for text in ("broken \ud800 half and ёж", "whole"):
        raw["message"]["text"] = text  # type: ignore[index]
        update = Update.model_validate(raw)
        kept = _as_json(update)
        assert json.loads(kept) == raw
        assert Update.model_validate(json.loads(kept)) == update


async def test_a_flood_wait_in_one_chat_lets_others_through_even_one_slot_wide(
    start_bot: StartBot, one_slot: None
) -> None:
    bot: RunningBot = await start_bot()
    bot.fake.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    waiting = bot.fake.push(private_text("/help", user=SLOW))
    await bot.fake.wait_until(
        lambda: any(c.outcome == "error 429" for c in bot.fake.calls_of("sendMessage"))
    )
    other = bot.fake.push(private_text("/help", user=OTHER))
    await bot.wait_handled(waiting, other)
    answered = [c.params["chat_id"] for c in bot.fake.calls_of("sendMessage") if c.outcome == "ok"]
    assert answered == [OTHER["id"], SLOW["id"]]
