"""The digest's pure logic: dates, windows in Almaty time, who is due, how it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.digest import DateError, compose, date_in_words, parse_day, window
from bot.services.scheduler import due
from storage import PostSummary, Subscriber

ALMATY = ZoneInfo("Asia/Almaty")
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (None, TODAY),
        ("", TODAY),
        ("сегодня", TODAY),
        ("вчера", date(2026, 11, 27)),
        ("Yesterday", date(2026, 11, 27)),
        ("17.11", date(2026, 11, 17)),
        ("17.12", date(2025, 12, 17)),  # no year: the latest 17 December so far
        ("17.12.2023", date(2023, 12, 17)),
        ("17.12.23", date(2023, 12, 17)),
        ("2023-12-17", date(2023, 12, 17)),
        ("28.11.2026", TODAY),
        ("14.08.2013", date(2013, 8, 14)),  # the first day there is
    ],
)
def test_digest_dates(arg: str | None, expected: date) -> None:
    assert parse_day(arg, TODAY) == expected


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("29.11.2026", "digest_future_date"),
        ("2027-01-01", "digest_future_date"),
        ("32.12", "digest_bad_date"),
        ("31.02.2024", "digest_bad_date"),
        ("2023-13-01", "digest_bad_date"),
        ("завтра", "digest_bad_date"),
        ("17/12", "digest_bad_date"),
        ("9" * 40, "digest_bad_date"),
        ("31.12.10000", "digest_bad_date"),
        ("0001-01-01", "digest_old_date"),
        ("01.01.0001", "digest_old_date"),
        ("13.08.2013", "digest_old_date"),
        ("17.12.0023", "digest_old_date"),
        ("31.12.9999", "digest_future_date"),
    ],
)
def test_digest_bad_dates(arg: str, reason: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_day(arg, TODAY)
    assert str(caught.value) == reason


def test_date_in_words() -> None:
    this_year = date(2025, 12, 31)
    assert date_in_words(date(2025, 12, 17), "ru", today=this_year) == "17 декабря"
    assert date_in_words(date(2025, 3, 1), "ru", today=this_year) == "1 марта"
    assert date_in_words(date(2025, 12, 17), "en", today=this_year) == "December 17"


@pytest.mark.parametrize(
    ("day", "lang", "expected"),
    [
        (date(2025, 12, 17), "ru", "17 декабря 2025"),
        (date(2025, 12, 17), "en", "December 17, 2025"),
        (date(2013, 8, 14), "ru", "14 августа 2013"),
        (date(2013, 8, 14), "en", "August 14, 2013"),
        (date(2027, 1, 1), "ru", "1 января 2027"),  # a scheduler's day may be ahead
    ],
)
def test_date_in_words_of_another_year_says_the_year(day: date, lang: str, expected: str) -> None:
    assert date_in_words(day, lang, today=TODAY) == expected


def test_window_uses_the_offset_of_the_day() -> None:
    # Kazakhstan moved from UTC+6 to UTC+5 on 1 March 2024.
    start, end = window(date(2023, 12, 17), time(8, 0), ALMATY)
    assert end.astimezone(UTC) == datetime(2023, 12, 17, 2, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=24)
    start, end = window(date(2025, 12, 17), time(8, 0), ALMATY)
    assert end.astimezone(UTC) == datetime(2025, 12, 17, 3, 0, tzinfo=UTC)
    # Across the change the "24 hours" are 25 real hours, as the clocks on the wall say.
    start, end = window(date(2024, 3, 1), time(8, 0), ALMATY)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)


def sub(chat_id: int, at: str, first: date = date(2026, 1, 1)) -> Subscriber:
    hour, minute = map(int, at.split(":"))
    return Subscriber(chat_id=chat_id, lang="ru", send_time=time(hour, minute), first_day=first)


def test_due_at_time_within_catchup_and_missed_after() -> None:
    now = datetime(2026, 11, 28, 9, 30, tzinfo=ALMATY)
    subs = [sub(1, "08:00"), sub(2, "09:30"), sub(3, "09:31"), sub(4, "06:00"), sub(5, "23:30")]
    found = due(subs, now, ALMATY, timedelta(hours=3))
    assert [s.chat_id for s in found.now[TODAY]] == [1, 2]
    assert 3 not in found.missed.get(TODAY, [])  # not yet due
    assert found.missed[TODAY] == [4]  # 3.5 hours late: past the window
    assert 5 in found.missed[date(2026, 11, 27)]  # yesterday 23:30, 10 hours ago


def test_late_time_caught_up_after_midnight() -> None:
    now = datetime(2026, 11, 29, 0, 40, tzinfo=ALMATY)
    found = due([sub(5, "23:30")], now, ALMATY, timedelta(hours=3))
    assert [s.chat_id for s in found.now[date(2026, 11, 28)]] == [5]


def test_new_subscriber_waits_for_first_day() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=ALMATY)
    found = due([sub(6, "08:00", first=date(2026, 11, 29))], now, ALMATY, timedelta(hours=3))
    assert found.now == {}
    assert found.missed == {}


def summary(i: int, text: str) -> PostSummary:
    return PostSummary(
        id=i,
        channel_id=-1001234567890,
        message_id=i,
        channel_title="Новости",
        channel_username="kz_news",
        date=datetime(2025, 12, 16, 10, tzinfo=UTC),
        text=text,
        media_kinds=[],
    )


def test_compose_digest_and_empty_day() -> None:
    day = date(2025, 12, 17)
    posts = [summary(1, "🥩Ярмарка & рынок\nтекст"), summary(2, "🔥🔥🔥\nАкимат объявил")]
    text = compose(day, posts, None, "ru", today=day)
    assert text == (
        "☀️ <b>Доброе утро! Предлагаем обзор главных новостей за 17 декабря</b>\n\n"
        '🥩 <a href="https://t.me/kz_news/1">Ярмарка &amp; рынок</a>\n'
        '🔥🔥🔥 <a href="https://t.me/kz_news/2">Акимат объявил</a>'
    )
    empty = compose(day, [], None, "en", today=day)
    assert empty == (
        "☀️ <b>Good morning!</b> There was no major news on December 17. Have a good day!"
    )


def test_compose_a_digest_of_last_year_says_the_year() -> None:
    text = compose(date(2025, 12, 17), [], None, "ru", today=date(2026, 1, 2))
    assert "За 17 декабря 2025 важных новостей не было" in text
    text = compose(date(2025, 12, 17), [], None, "en", today=date(2026, 1, 2))
    assert "no major news on December 17, 2025." in text
