"""Each chat's pace: one message a second, twenty a minute to a group; albums count whole."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, CopyMessages, SendMediaGroup, SendMessage
from aiogram.types import InputMediaPhoto

from bot.pace import GROUP, PRIVATE, ChatPace, Limit, SharedPace, messages_in
from storage import Storage, StorageUnavailable
from storage.turns import TurnRepository
from tests.conftest import RunningBot
from tests.updates import GROUP as GROUP_CHAT
from tests.updates import READER, private_text

StartBot = Callable[..., Any]
SECOND = Limit(gap=1.0)
MINUTE = Limit(gap=1.0, burst=20, window=60.0)
OTHER = {"id": 446, "is_bot": False, "first_name": "Other", "language_code": "ru"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limits_are_telegrams_with_a_margin() -> None:
    assert Limit(gap=1.1) == PRIVATE
    assert Limit(gap=1.1, burst=20, window=60.1) == GROUP


def test_a_private_chat_gets_one_message_a_second_the_first_at_once() -> None:
    clock = Clock()
    pace = ChatPace(private=SECOND, group=MINUTE, monotonic=clock)
    assert pace.reserve(5) == 0
    assert pace.reserve(5) == pytest.approx(1.0)
    assert pace.reserve(5) == pytest.approx(2.0)
    clock.now += 0.5
    assert pace.reserve(5) == pytest.approx(2.5)  # its turn: 3 s after the first
    assert pace.reserve(6) == 0  # another chat waits for nobody
    clock.now += 10
    assert pace.reserve(5) == 0


def test_the_gap_counts_from_when_the_last_message_was_sent() -> None:
    clock = Clock()
    pace = ChatPace(private=SECOND, group=MINUTE, monotonic=clock)
    assert pace.reserve(5) == 0
    clock.now += 0.4  # the request took a while to go out and come back
    pace.sent(5)
    assert pace.reserve(5) == pytest.approx(1.0)
    clock.now += 3.0
    pace.sent(5)
    assert pace.reserve(5) == pytest.approx(1.0)
    pace.sent(404)  # a chat never reserved: nothing to move


def test_a_group_gets_twenty_a_minute() -> None:
    clock = Clock()
    pace = ChatPace(private=SECOND, group=MINUTE, monotonic=clock)
    delays = [pace.reserve(GROUP_CHAT["id"]) for _ in range(21)]
    assert delays[:20] == pytest.approx([float(n) for n in range(20)])
    assert delays[20] == pytest.approx(60.0)  # the 21st waits for the first to be a minute old
    assert pace.limit_of("@channel") == MINUTE  # a username names a channel
    assert pace.limit_of(-100123) == MINUTE
    assert pace.limit_of(123) == SECOND


def test_albums_count_as_many_messages_as_they_hold() -> None:
    clock = Clock()
    pace = ChatPace(private=SECOND, group=Limit(gap=0.0, burst=20, window=60.0), monotonic=clock)
    chat = GROUP_CHAT["id"]
    assert pace.reserve(chat, 10) == 0
    assert pace.reserve(chat, 10) == 0
    assert pace.reserve(chat, 10) == pytest.approx(60.0)
    assert pace.reserve(chat, 1) == pytest.approx(60.0)


def test_the_window_is_kept_at_any_moment() -> None:
    """Whatever the arrival times, no 60-second window holds more than 20 messages to a
    group, and no two are closer than a second."""
    clock = Clock()
    pace = ChatPace(private=SECOND, group=MINUTE, monotonic=clock)
    turns: list[float] = []
    for step in itertools.islice(itertools.cycle([0.0, 0.2, 3.0, 0.0, 7.5]), 200):
        clock.now += step
        turns.append(clock.now + pace.reserve(GROUP_CHAT["id"]))
    assert turns == sorted(turns)
    assert min(b - a for a, b in itertools.pairwise(turns)) >= 1.0 - 1e-9
    for i in range(len(turns) - 20):
        assert turns[i + 20] - turns[i] >= 60.0 - 1e-9


def test_what_counts_as_messages() -> None:
    photo = InputMediaPhoto(media="file-id")
    assert messages_in(SendMessage(chat_id=1, text="x")) == 1
    assert messages_in(SendMediaGroup(chat_id=1, media=[photo, photo, photo])) == 3
    assert messages_in(CopyMessages(chat_id=1, from_chat_id=2, message_ids=[4, 5])) == 2
    assert messages_in(AnswerCallbackQuery(callback_query_id="q")) == 1


@pytest.mark.chat_pace
async def test_answers_to_one_reader_come_a_second_apart_and_others_do_not_wait(
    start_bot: StartBot, one_slot: None
) -> None:
    bot: RunningBot = await start_bot()
    first = await bot.send(private_text("/latest", user=READER))
    # The reader's next answer has to wait for its turn; the other reader's need not.
    ids = bot.fake.push_many(
        [private_text(command, user=READER) for command in ("/help", "/start")]
        + [private_text("/help", user=OTHER)]
    )
    ids.append(first)
    await bot.wait_handled(*ids, within=30)

    to_reader = [c.at for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == 222]
    to_other = [c.at for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == 446]
    assert len(to_reader) == 3
    assert len(to_other) == 1
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(to_reader))
    # The other reader came last and was answered while the first one waited for a turn.
    assert to_other[0] < to_reader[1]


# -- the pace several processes share (PostgreSQL) -----------------------------------------


async def test_shared_turns_space_a_chat_and_the_bot_across_callers(pg_database: str) -> None:
    """Two processes are two callers of one table: each reservation comes after the last
    one's span, on the server's clock."""
    storage = await Storage.open(pg_database)
    try:
        turns = TurnRepository(storage.db)
        assert await turns.take("5", 1.1, 0.01) == 0
        # The same chat again at once: its turn comes 1.1 s after the first.
        wait = await turns.take("5", 1.1, 0.01)
        assert 0.9 < wait <= 1.1
        # Another chat waits only for the bot's overall pace.
        assert await turns.take("6", 1.1, 0.01) < 0.1
        # Bulk sends reserve the overall pace alone; a chat's own send then waits for it
        # without moving it on.
        assert await turns.take(None, 0, 0.5) < 0.1
        assert 0.4 < await turns.take(None, 0, 0.5) <= 0.6
        assert 0.8 < await turns.take("8", 1.1, 0) <= 1.1
        # A 429 holds every chat back.
        await turns.hold(30)
        assert await turns.take("7", 1.1, 0.01) > 29
        assert await turns.forget(0) == 0  # "5", "6" and "7" have turns still to come
    finally:
        await storage.close()


class _Unreachable(TurnRepository):
    def __init__(self) -> None:
        pass

    async def take(self, chat: str | None, chat_span: float, overall_span: float) -> float:
        raise StorageUnavailable("connection refused")

    async def hold(self, seconds: float, chat: str = "*") -> None:
        raise StorageUnavailable("connection refused")


async def test_a_shared_pace_whose_database_is_away_keeps_the_local_one() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    clock = Clock()
    pace = SharedPace(_Unreachable(), private=SECOND, monotonic=clock, sleep=sleep)
    await pace.wait(5)
    await pace.wait(5)
    await pace.flooded(3.0)
    assert slept == [1.0]  # the local gap, and no error
