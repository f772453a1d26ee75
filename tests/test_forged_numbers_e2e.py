"""Numbers from people, through the whole bot: forged button data, command arguments and
deep links with numbers out of range get a polite answer or "this button no longer
works", never an exception (an ERROR in the log and an apology)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.texts import t
from storage import Storage
from tests.conftest import RunningBot
from tests.fake_telegram import FakeTelegram
from tests.updates import (
    ADMIN,
    NEWS_CHANNEL,
    READER,
    callback_query,
    channel_post,
    private_text,
)

StartBot = Callable[..., Any]
RU_READER = {"id": 333, "is_bot": False, "first_name": "Айдар", "language_code": "ru"}
NOW = int(time.time())
HUGE = "99999999999999999999"  # beyond SQLite's 64 bits: OverflowError if it got there
GONE = t("ru", "unknown_button")
NOT_FOUND = t("ru", "post_not_found")


@pytest.fixture
async def bot(start_bot: StartBot, caplog: pytest.LogCaptureFixture) -> AsyncIterator[RunningBot]:
    """A bot with 15 posts; whatever a test does, nothing may be logged at ERROR and
    nobody may get the apology for a failed handler."""
    running: RunningBot = await start_bot()
    await running.send_all(
        [channel_post(i, f"Ремонт дорог, участок {i}", date=NOW - 1000 + i) for i in range(1, 16)]
    )
    with caplog.at_level(logging.WARNING):
        yield running
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert t("ru", "error") not in running.fake.sent_texts()
    assert t("en", "error") not in running.fake.sent_texts()


def toast(fake: FakeTelegram, query_id: str) -> str | None:
    """What the answer to a button press said."""
    answers = [
        c.params
        for c in fake.calls_of("answerCallbackQuery")
        if c.params["callback_query_id"] == query_id
    ]
    assert len(answers) == 1, answers
    return answers[0].get("text")


def last_text(fake: FakeTelegram, chat_id: int) -> str:
    return fake.sent_texts(chat_id)[-1]


def callback_datas(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [
        str(b["callback_data"])
        for row in markup["inline_keyboard"]
        for b in row
        if "callback_data" in b
    ]


async def search_id(bot: RunningBot) -> int:
    """The id of a stored search with two pages, from its "next" button."""
    await bot.send(private_text("/search ремонт", user=RU_READER))
    params = bot.fake.calls_of("sendMessage")[-1].params
    paging = [d for d in callback_datas(params) if d.startswith("s:")]
    assert paging == [paging[0]]
    return int(paging[0].split(":")[1])


async def a_post_id(storage: Storage) -> int:
    post = await storage.posts.find(int(NEWS_CHANNEL["id"]), 15)
    assert post is not None
    return post.id


# -- buttons ----------------------------------------------------------------------------


async def test_the_forged_search_page_press_gets_the_notice(bot: RunningBot) -> None:
    q = await search_id(bot)
    await bot.send(callback_query(f"s:{q}:{HUGE}", user=RU_READER, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.calls_of("editMessageText")


@pytest.mark.parametrize(
    "data",
    [
        "s:{q}:-1",
        "s:{q}:1001",  # past the window search ranks in
        "s:{q}:9223372036854775807",
        "s:{q}:18446744073709551616",
        "s:{q}:1.5",
        "s:{q}:",
        "s:{q}:٣",
        "s:0:0",
        "s:-1:0",
        "s:9223372036854775808:0",
        "s:" + HUGE + ":0",
        "s:1:" + "9" * 60,  # 64 bytes, Telegram's most
    ],
)
async def test_search_pages_out_of_range(bot: RunningBot, data: str) -> None:
    q = await search_id(bot)
    await bot.send(callback_query(data.format(q=q), user=RU_READER, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.calls_of("editMessageText")


async def test_search_pages_in_range_still_page(bot: RunningBot) -> None:
    q = await search_id(bot)
    await bot.send(callback_query(f"s:{q}:10", user=RU_READER, query_id="next"))
    assert toast(bot.fake, "next") is None
    assert "11. " in bot.fake.calls_of("editMessageText")[-1].params["text"]
    # The last offset a button may carry: past the last result, an empty page.
    await bot.send(callback_query(f"s:{q}:1000", user=RU_READER, query_id="far"))
    assert toast(bot.fake, "far") is None


@pytest.mark.parametrize(
    "data",
    [
        "f:o:{t}:{i}:0",
        "f:o:{t}:{i}:51",
        "f:o:{t}:{i}:-1",
        "f:o:{t}:{i}:" + HUGE,
        "f:x:{t}:{i}:10",
        "f::{t}:{i}:10",
        "f:o:-1:{i}:10",
        "f:o:253402300800:{i}:10",  # a second past year 9999
        "f:n:" + HUGE + ":{i}:10",
        "f:o:{t}:0:10",
        "f:o:{t}:-1:10",
        "f:o:{t}:9223372036854775808:10",
        "f:o:{t}:" + HUGE + ":10",
        "f:o:{t}:{i}",
    ],
)
async def test_feed_pages_out_of_range(bot: RunningBot, storage: Storage, data: str) -> None:
    post_id = await a_post_id(storage)
    pressed = data.format(t=NOW, i=post_id)
    await bot.send(callback_query(pressed, user=RU_READER, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.calls_of("editMessageText")


async def test_feed_pages_at_the_edges_of_the_range_still_page(
    bot: RunningBot, storage: Storage
) -> None:
    post_id = await a_post_id(storage)
    await bot.send(callback_query(f"f:o:{NOW}:{post_id}:50", user=RU_READER, query_id="a"))
    assert toast(bot.fake, "a") is None
    assert "Ремонт дорог" in bot.fake.calls_of("editMessageText")[-1].params["text"]
    await bot.send(callback_query(f"f:o:253402300799:{2**63 - 1}:1", user=RU_READER, query_id="b"))
    assert toast(bot.fake, "b") is None
    # Nothing older than the Unix epoch: the page is gone.
    await bot.send(callback_query(f"f:o:0:{post_id}:1", user=RU_READER, query_id="c"))
    assert toast(bot.fake, "c") == t("ru", "page_gone")


@pytest.mark.parametrize(
    "data", ["p:0", "p:-1", "p:9223372036854775808", "p:" + HUGE, "p:", "p:1e3", "p:" + "9" * 62]
)
async def test_open_buttons_out_of_range(bot: RunningBot, data: str) -> None:
    await bot.send(callback_query(data, user=RU_READER, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.sent_texts(RU_READER["id"])


async def test_an_open_button_of_the_largest_id_finds_nothing(bot: RunningBot) -> None:
    await bot.send(callback_query(f"p:{2**63 - 1}", user=RU_READER, query_id="max"))
    assert toast(bot.fake, "max") is None
    assert last_text(bot.fake, RU_READER["id"]) == NOT_FOUND


@pytest.mark.parametrize("data", ["sd:2", "sd:-1", "sd:" + HUGE, "sd:", "sd:1:1"])
async def test_forged_send_digest_answers_send_nothing(bot: RunningBot, data: str) -> None:
    """Only 1 sends: "sd:2" was once read as yes."""
    await bot.send(callback_query(data, user=ADMIN, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.calls_of("editMessageText")


@pytest.mark.parametrize(
    "data",
    ["dp:{id}:2", "dp:{id}:-1", "dp:{id}:" + HUGE, "dp:0:1", "dp:-1:1", "dp:" + HUGE + ":1"],
)
async def test_forged_delete_answers_delete_nothing(
    bot: RunningBot, storage: Storage, data: str
) -> None:
    post_id = await a_post_id(storage)
    await bot.send(callback_query(data.format(id=post_id), user=ADMIN, query_id="forged"))
    assert toast(bot.fake, "forged") == GONE
    assert not bot.fake.calls_of("editMessageText")
    post = await storage.posts.get(post_id)
    assert post is not None
    assert not post.deleted


# -- commands and deep links ------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "items"),
    [
        ("/latest " + HUGE, 15),
        ("/latest 18446744073709551616", 15),
        ("/latest " + "9" * 4000, 15),
        ("/latest 00000000000000000003", 3),  # leading zeros are still 3
        ("/latest ٣", 3),
        ("/latest 50", 15),
    ],
)
async def test_latest_with_big_counts(bot: RunningBot, command: str, items: int) -> None:
    await bot.send(private_text(command, user=RU_READER))
    text = last_text(bot.fake, RU_READER["id"])
    assert text.startswith(t("ru", "latest_header"))
    assert f"\n\n{items}. " in text
    assert f"\n\n{items + 1}. " not in text


@pytest.mark.parametrize(
    "command",
    ["/latest 0", "/latest -1", "/latest 0000", "/latest ²", "/latest 1e3", "/latest -" + HUGE],
)
async def test_latest_with_counts_below_one(bot: RunningBot, command: str) -> None:
    await bot.send(private_text(command, user=RU_READER))
    assert last_text(bot.fake, RU_READER["id"]) == t("ru", "latest_bad_count", max=50)


@pytest.mark.parametrize(
    "command",
    [
        "/post_" + HUGE,
        "/post_9223372036854775808",  # 2**63
        "/post_18446744073709551616",  # 2**64
        "/post_9223372036854775807",
        "/post_0",
        "/post_" + "9" * 60,
        "/start post_" + HUGE,
        "/start post_0",
        "/start post_" + "9" * 59,  # a deep link's payload is at most 64 characters
    ],
)
async def test_post_ids_out_of_range_are_not_found(bot: RunningBot, command: str) -> None:
    await bot.send(private_text(command, user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [NOT_FOUND]


async def test_a_post_id_with_letters_after_it_is_no_post_command(bot: RunningBot) -> None:
    await bot.send(private_text("/post_1e5", user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [t("ru", "unknown_command")]


@pytest.mark.parametrize(
    ("argument", "key"),
    [
        ("0001-01-01", "digest_old_date"),  # the day before would not be a date
        ("01.01.0001", "digest_old_date"),
        ("13.08.2013", "digest_old_date"),
        ("17.12.0023", "digest_old_date"),  # year 23, not 2023
        ("31.12.9999", "digest_future_date"),
        ("9999-12-31", "digest_future_date"),
        (HUGE, "digest_bad_date"),
        ("99.99", "digest_bad_date"),
        ("-1.12", "digest_bad_date"),
        ("0.0", "digest_bad_date"),
    ],
)
async def test_digest_dates_out_of_range(bot: RunningBot, argument: str, key: str) -> None:
    await bot.send(private_text(f"/digest {argument}", user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [t("ru", key)]


async def test_the_first_digest_day_has_its_year(bot: RunningBot) -> None:
    await bot.send(private_text("/digest 14.08.2013", user=RU_READER))
    await bot.send(private_text("/digest 14.08.2013", user=READER))
    assert "14 августа 2013" in last_text(bot.fake, RU_READER["id"])
    assert "August 14, 2013" in last_text(bot.fake, READER["id"])


@pytest.mark.parametrize(
    "argument", ["24:00", "23:60", "99:99", HUGE + ":00", "00:" + HUGE, "-1:30", "7", "7:5"]
)
async def test_subscribe_times_out_of_range(
    bot: RunningBot, storage: Storage, argument: str
) -> None:
    await bot.send(private_text(f"/subscribe {argument}", user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [t("ru", "subscribe_bad_time")]
    assert await storage.subscribers.counts() == (0, 0)


@pytest.mark.parametrize("argument", [HUGE + "h", "-24h", "0d", "24", "9" * 100])
async def test_top_windows_out_of_range(bot: RunningBot, argument: str) -> None:
    await bot.send(private_text(f"/top {argument}", user=RU_READER))
    assert bot.fake.sent_texts(RU_READER["id"]) == [t("ru", "top_bad_period")]


@pytest.mark.parametrize(
    "link",
    [
        "https://t.me/c/" + HUGE + "/1",
        "https://t.me/c/1987654321/" + HUGE,
        "https://t.me/c/" + "9" * 4000 + "/1",
        "https://t.me/kz_news/" + HUGE,
        "https://t.me/kz_news/9223372036854775808",
        "https://t.me/kz_news/0",
        "post_" + HUGE,
        "post_0",
    ],
)
async def test_delete_links_out_of_range_find_nothing(bot: RunningBot, link: str) -> None:
    await bot.send(private_text(f"/delete {link}", user=ADMIN))
    assert bot.fake.sent_texts(ADMIN["id"]) == [t("ru", "delete_not_found")]


async def test_delete_links_in_range_still_find_the_post(bot: RunningBot, storage: Storage) -> None:
    post_id = await a_post_id(storage)
    internal = str(NEWS_CHANNEL["id"]).removeprefix("-100")
    for link in ("https://t.me/kz_news/15", f"t.me/c/{internal}/15", f"post_{post_id}"):
        await bot.send(private_text(f"/delete {link}", user=ADMIN))
        assert last_text(bot.fake, ADMIN["id"]).startswith("Удалить пост «Ремонт дорог"), link
