"""The matching index of followed topics, topic parsing and quiet hours, without Telegram;
and a smoke run of the topics benchmark's generator (its figures: python -m bench topics)."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bench.topics import make_topics
from bot.services.topics import TopicError, TopicIndex, parse_topic, quiet_until
from storage import Topic
from storage.topics import matched_topics

ALMATY = ZoneInfo("Asia/Almaty")


def matches(index: TopicIndex, text: str) -> dict[int, list[str]]:
    return {chat_id: matched_topics(lines) for chat_id, lines in index.match(text).items()}


def topic(topic_id: int, chat_id: int, text: str) -> Topic:
    return Topic(topic_id, chat_id, text, parse_topic(text).stems)


def test_a_post_matches_topics_whose_every_word_it_holds_in_any_form() -> None:
    index = TopicIndex()
    index.load(
        [
            topic(1, 10, "тарифы"),
            topic(2, 10, "метро Алматы"),
            topic(3, 20, "Тарифов"),
            topic(4, 30, "метро Астаны"),
            topic(5, 40, "ёлка"),
        ]
    )
    assert matches(index, "С 1 января тариф на проезд в метро Алматы вырастет") == {
        10: ["метро Алматы", "тарифы"],
        20: ["Тарифов"],
    }
    assert matches(index, "Главная елка страны") == {40: ["ёлка"]}
    assert matches(index, "") == {}
    assert matches(index, "Метро — в Астане") == {30: ["метро Астаны"]}
    assert matches(index, "Метро — в Шымкенте") == {}


def test_removing_topics_keeps_the_others() -> None:
    index = TopicIndex()
    first, second, third = topic(1, 10, "тарифы"), topic(2, 20, "тарифы"), topic(3, 20, "метро")
    index.load([first, second, third])
    assert len(index) == 3
    index.remove(first)
    index.remove(first)  # twice is harmless
    assert len(index) == 2
    assert matches(index, "Тарифы в метро") == {20: ["метро", "тарифы"]}
    index.remove(second)
    index.remove(third)
    assert len(index) == 0
    assert matches(index, "Тарифы в метро") == {}


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("!!! ... ---", "empty"),
        ("раз два три четыре пять шесть", "too_many_words"),
        ("ж" * 101, "too_long"),
    ],
)
def test_topics_readers_cannot_have(typed: str, reason: str) -> None:
    with pytest.raises(TopicError) as raised:
        parse_topic(typed)
    assert raised.value.reason == reason


def test_a_topic_is_its_stems_whatever_the_order_spacing_and_form() -> None:
    one = parse_topic("  метро   Алматы ")
    assert one.text == "метро Алматы"
    assert parse_topic("Алматы, метро!").stems == one.stems
    assert parse_topic("тарифы тарифов тариф").stems == parse_topic("тариф").stems
    assert parse_topic("раз два три четыре пять").stems  # five words are fine
    assert parse_topic("\ud800 ярмарка").text == "\ufffd ярмарка"


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (datetime(2025, 12, 17, 22, 59, tzinfo=ALMATY), None),
        (datetime(2025, 12, 17, 23, 0, tzinfo=ALMATY), datetime(2025, 12, 18, 7, 0, tzinfo=ALMATY)),
        (datetime(2025, 12, 18, 0, 30, tzinfo=ALMATY), datetime(2025, 12, 18, 7, 0, tzinfo=ALMATY)),
        (
            datetime(2025, 12, 18, 6, 59, 59, tzinfo=ALMATY),
            datetime(2025, 12, 18, 7, 0, tzinfo=ALMATY),
        ),
        (datetime(2025, 12, 18, 7, 0, tzinfo=ALMATY), None),
        (datetime(2025, 12, 31, 23, 30, tzinfo=ALMATY), datetime(2026, 1, 1, 7, 0, tzinfo=ALMATY)),
    ],
)
def test_quiet_hours_end_at_seven_local(local: datetime, until: datetime | None) -> None:
    assert quiet_until(local, ALMATY) == until


def test_quiet_hours_follow_the_time_zone() -> None:
    # 23:30 in Almaty is 18:30 UTC: in London it is day.
    moment = datetime.combine(date(2025, 12, 17), time(23, 30), tzinfo=ALMATY)
    assert quiet_until(moment, ZoneInfo("Europe/London")) is None


def test_benchmark_topics_each_match_a_post_of_their_own_words() -> None:
    vocabulary = ["в", "и", *(f"слово{n}" for n in range(300)), "тарифы", "метро", "Алматы"]
    rows = make_topics(random.Random(1), vocabulary, 200, 20)
    assert len(rows) == 200
    assert len({row[0] for row in rows}) == 20
    index = TopicIndex()
    index.load(Topic(n, chat, text, tuple(key.split())) for n, (chat, text, key) in enumerate(rows))
    for chat_id, text, _ in rows[:50]:
        matched = matches(index, f"Новость: {text}.")
        assert text in matched[chat_id]
