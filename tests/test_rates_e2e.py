"""/rates, /rates chart and /convert through the whole bot: fake Bot API → aiogram → the
rates service → a local rates feed on 127.0.0.1 serving the real captures."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.callbacks import Menu
from bot.services.nbk import parse_feed
from bot.services.rates import READER_BUDGET_SECONDS
from storage import Storage
from storage.rates import Rate
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.rates_server import (
    ERROR_500,
    HANG,
    HTML,
    Misbehaviour,
    RatesServer,
    day_capture,
    with_body,
)
from tests.updates import ADMIN, READER, callback_query, private_text

StartBot = Callable[..., Any]
NBSP = "\u00a0"
RU_USER, EN_USER = ADMIN, READER  # language_code "ru" and "en"


@pytest.fixture
async def feed() -> AsyncIterator[RatesServer]:
    async with RatesServer(current=day_capture("03.04.2026")) as server:
        yield server


async def _bot(start_bot: StartBot, feed: RatesServer, **overrides: Any) -> RunningBot:
    bot: RunningBot = await start_bot(
        rates_url=feed.rates_url, rates_history_url=feed.history_url, **overrides
    )
    return bot


async def _ask(bot: RunningBot, text: str, user: dict[str, Any] = RU_USER) -> str:
    before = len(bot.fake.sent_texts(user["id"]))
    await bot.send(private_text(text, user=user))
    sent = bot.fake.sent_texts(user["id"])
    assert len(sent) == before + 1, sent[before:]
    return sent[-1]


async def test_rates_in_russian_and_english(start_bot: StartBot, feed: RatesServer) -> None:
    bot = await _bot(start_bot, feed)

    ru = await _ask(bot, "/rates")
    assert "03.04.2026" in ru
    assert "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78" in ru
    assert "1 EUR = <b>543,72 ₸</b>  ▼ -7,34" in ru
    assert "1 RUB = <b>5,86 ₸</b>  ▼ -0,01" in ru
    assert ru.index("USD") < ru.index("EUR") < ru.index("RUB")
    assert "устарев" not in ru

    en = await _ask(bot, "/rates", EN_USER)
    assert "1 USD = <b>472.31 ₸</b>  ▼ -2.78" in en
    assert "National Bank" in en
    assert len(feed.requests) == 1  # the second reader was served from the cache


async def test_rates_for_chosen_currencies_with_quant(
    start_bot: StartBot, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, feed)

    text = await _ask(bot, "/rates krw gbp")

    assert "100 KRW = <b>31,15 ₸</b>  ▼ -0,40" in text
    assert "1 GBP = <b>622,74 ₸</b>" in text
    assert "USD" not in text.split("\n\n")[1]


async def test_rates_stale_and_unavailable(start_bot: StartBot, feed: RatesServer) -> None:
    feed.current = day_capture("01.04.2026")
    feed.script(HTML)
    bot = await _bot(start_bot, feed, rates_cache_seconds=0)

    apology = await _ask(bot, "/rates")
    assert "Не удалось получить курсы" in apology
    assert "₸" not in apology

    fresh = await _ask(bot, "/rates")
    assert "478,77" in fresh

    feed.current = day_capture("03.04.2026")
    feed.script(HTML, HTML)
    stale = await _ask(bot, "/rates")
    assert "478,77" in stale
    assert "472,31" not in stale
    assert "на 01.04.2026; они могут быть устаревшими" in stale
    stale_en = await _ask(bot, "/convert 100 usd", EN_USER)
    assert "47,877.00 ₸" in stale_en
    assert "for 01.04.2026; they may be out of date" in stale_en

    converted = await _ask(bot, "/convert 100 usd")
    assert f"47{NBSP}231,00 ₸" in converted  # the feed is back: 3 April's rate
    assert "устарев" not in converted


CONVERSIONS = [
    ("/convert 100 usd", f"100 USD = <b>47{NBSP}231,00 ₸</b>"),
    ("/convert 100 USD KZT", f"100 USD = <b>47{NBSP}231,00 ₸</b>"),
    ("/convert 5000 тенге в рублях", f"5{NBSP}000 ₸ = <b>853,24 RUB</b>"),
    ("/convert 1 000,50 eur", f"1{NBSP}000,50 EUR = <b>543{NBSP}991,86 ₸</b>"),
    ("/convert $100", f"100 USD = <b>47{NBSP}231,00 ₸</b>"),
    ("/convert 100 долларов", f"100 USD = <b>47{NBSP}231,00 ₸</b>"),
    ("/convert 100 eur usd", "100 EUR = <b>115,12 USD</b>"),
    ("/convert 100 krw", "100 KRW = <b>31,15 ₸</b>"),
]


async def test_convert_every_form(start_bot: StartBot, feed: RatesServer) -> None:
    bot = await _bot(start_bot, feed)

    for command, expected in CONVERSIONS:
        text = await _ask(bot, command)
        assert text.startswith(expected), (command, text)
        assert "на 03.04.2026" in text, command

    cross = await _ask(bot, "/convert 100 eur usd")
    assert "1 EUR = 543,72 ₸; 1 USD = 472,31 ₸" in cross
    tenge = await _ask(bot, "/convert 5000 тенге")
    assert tenge.splitlines()[:3] == [
        f"5{NBSP}000 ₸ = <b>10,59 USD</b>",
        f"5{NBSP}000 ₸ = <b>9,20 EUR</b>",
        f"5{NBSP}000 ₸ = <b>853,24 RUB</b>",
    ]
    english = await _ask(bot, "/convert 1,000.50 eur", EN_USER)
    assert english.startswith("1,000.50 EUR = <b>543,991.86 ₸</b>")
    assert len(feed.requests) == 1


BAD_INPUTS = [
    ("/convert", "Напишите сумму и валюту"),
    ("/convert сто долларов", "Не понял сумму"),
    ("/convert -5 usd", "больше нуля"),
    ("/convert 0 usd", "больше нуля"),
    ("/convert 5000000000000 usd", "Слишком большая сумма"),
    ("/convert 1,000 usd", "тысячи или дробь"),
    ("/convert 100", "Какая валюта?"),
    ("/convert 100 зайцев", "Не знаю валюту «зайцев»"),
    ("/convert 100 xyz", "не публикует курс XYZ"),
    ("/convert 100 lvl", "не публикует курс LVL"),
    ("/convert 100 usd eur rub", "не больше двух валют"),
    ("/convert <b>5</b> usd", "Не знаю валюту «&lt;b&gt;»"),
]


async def test_convert_bad_inputs_get_an_example(start_bot: StartBot, feed: RatesServer) -> None:
    bot = await _bot(start_bot, feed)

    for command, expected in BAD_INPUTS:
        text = await _ask(bot, command)
        assert expected in text, (command, text)
        assert "/convert " in text, (command, text)

    english = await _ask(bot, "/convert 100 rabbits", EN_USER)
    assert "I don't know the currency “rabbits”" in english


def _keep_uploads(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read uploaded files while the request is open (the fake keeps only closed handles)."""
    original = fake._params

    async def params(request: web.Request) -> dict[str, Any]:
        values = await original(request)
        return {k: v.file.read() if hasattr(v, "file") else v for k, v in values.items()}

    monkeypatch.setattr(fake, "_params", params)


async def test_rates_chart(
    start_bot: StartBot, feed: RatesServer, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await storage.rates.save(
        [
            Rate("USD", date(2026, 3, 30), Decimal("481.02")),
            Rate("USD", date(2026, 3, 31), Decimal("481.54")),
        ]
    )
    bot = await _bot(start_bot, feed)
    _keep_uploads(bot.fake, monkeypatch)

    await bot.send(private_text("/rates chart usd 30", user=RU_USER))

    (call,) = bot.fake.calls_of("sendPhoto")
    caption = call.params["caption"]
    assert caption.splitlines() == [
        "1 USD в тенге с 30.03.2026 по 03.04.2026",
        "Первый: 481,02 ₸ · последний: 472,31 ₸",
        "Мин: 472,31 ₸ (03.04.2026) · макс: 481,54 ₸ (31.03.2026)",
    ]
    # aiogram uploads the file as a separate part and names it in the parameter.
    png = call.params[call.params["photo"].removeprefix("attach://")]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 800)

    few = await _ask(bot, "/rates chart eur 90")
    assert "мало данных" in few
    usage = await _ask(bot, "/rates chart usd 45")
    assert "/rates chart [валюта] [30|90|365]" in usage


# -- a feed that hangs or fails: readers are answered within the budget -----------------

#: Generous, for a busy machine; the old behaviour (three tries of 10 s) took over 30 s.
WITHIN = READER_BUDGET_SECONDS * 2
STALE_RU = "на 01.04.2026; они могут быть устаревшими"
STALE_EN = "for 01.04.2026; they may be out of date"


async def _store_april_1(storage: Storage) -> None:
    await storage.rates.save(parse_feed(day_capture("01.04.2026")).rates)


async def test_hanging_feed_readers_get_stored_rates_within_the_budget(
    start_bot: StartBot, feed: RatesServer, storage: Storage
) -> None:
    await _store_april_1(storage)
    await storage.rates.save([Rate("USD", date(2026, 3, 31), Decimal("481.54"))])
    feed.script(HANG)
    bot = await _bot(start_bot, feed)

    async with asyncio.timeout(WITHIN):
        ru = await _ask(bot, "/rates")
    assert feed.in_flight == 1  # answered while the feed still hangs
    assert "🇺🇸 1 USD = <b>478,77 ₸</b>" in ru
    assert STALE_RU in ru

    # Every other way to the feed, while the same fetch still hangs: no wait, no new fetch.
    async with asyncio.timeout(WITHIN):
        en = await _ask(bot, "/convert 100 usd", EN_USER)
        button = await _ask_button(bot, "rates")
        await bot.send(private_text("/rates chart usd 30", user=RU_USER))
        digest = await _ask(bot, "/digest")
    assert "47,877.00 ₸" in en
    assert STALE_EN in en
    assert STALE_RU in button
    (chart,) = bot.fake.calls_of("sendPhoto")
    assert "с 31.03.2026 по 01.04.2026" in chart.params["caption"]
    assert "Доброе утро" in digest
    assert feed.in_flight == 1
    assert len(feed.requests) == 1


async def test_hanging_feed_and_nothing_stored_gets_the_apology_within_the_budget(
    start_bot: StartBot, feed: RatesServer
) -> None:
    feed.script(HANG)
    bot = await _bot(start_bot, feed)

    async with asyncio.timeout(WITHIN):
        ru = await _ask(bot, "/rates")
        en = await _ask(bot, "/convert 100 usd", EN_USER)

    assert feed.in_flight == 1
    assert "Не удалось получить курсы" in ru
    assert "₸" not in ru
    assert "rates are not available" in en
    assert len(feed.requests) == 1


async def test_digest_rates_line_from_stored_rates_while_the_feed_hangs(
    start_bot: StartBot, feed: RatesServer, storage: Storage
) -> None:
    today = datetime.now(ZoneInfo("Asia/Almaty")).date()
    await storage.rates.save(
        [Rate("USD", today, Decimal("478.77")), Rate("EUR", today, Decimal("548.62"))]
    )
    feed.script(HANG)
    bot = await _bot(start_bot, feed)

    async with asyncio.timeout(WITHIN):
        digest = await _ask(bot, "/digest")

    assert feed.in_flight == 1
    assert "💱 Курсы Нацбанка: USD 478,77 · EUR 548,62" in digest


async def test_the_slow_fetch_serves_the_next_reader_once_the_feed_answers(
    start_bot: StartBot, feed: RatesServer, storage: Storage
) -> None:
    await _store_april_1(storage)
    gate = feed.hold()  # the feed answers, 3 April's rates, only when the test says
    bot = await _bot(start_bot, feed)

    async with asyncio.timeout(WITHIN):
        stale = await _ask(bot, "/rates")
    assert feed.in_flight == 1
    assert "478,77" in stale
    assert STALE_RU in stale

    gate.set()
    answers: list[str] = []

    async def fresh() -> bool:
        answers.append(await _ask(bot, "/rates"))
        return "устарев" not in answers[-1]

    await eventually(fresh)
    assert "🇺🇸 1 USD = <b>472,31 ₸</b>" in answers[-1]
    # Until then readers had the stored rates; and it was the first reader's fetch.
    assert all("устарев" in text for text in answers[:-1])
    assert len(feed.requests) == 1


@pytest.mark.parametrize(
    "script",
    [
        pytest.param([HTML], id="html"),
        pytest.param([with_body(b"\x00\xff garbage \x89PNG")], id="garbage"),
        pytest.param([ERROR_500] * 3, id="500"),
    ],
)
async def test_failing_feed_gives_stored_rates_with_the_note(
    start_bot: StartBot, feed: RatesServer, storage: Storage, script: list[Misbehaviour]
) -> None:
    await _store_april_1(storage)
    feed.script(*script)
    bot = await _bot(start_bot, feed)

    async with asyncio.timeout(WITHIN):
        ru = await _ask(bot, "/rates")
        en = await _ask(bot, "/convert 100 usd", EN_USER)

    assert "🇺🇸 1 USD = <b>478,77 ₸</b>" in ru
    assert "472,31" not in ru
    assert STALE_RU in ru
    assert "47,877.00 ₸" in en
    assert STALE_EN in en
    assert len(feed.requests) == len(script)  # the failure is cached, not asked again


async def _ask_button(bot: RunningBot, action: str, user: dict[str, Any] = RU_USER) -> str:
    before = len(bot.fake.sent_texts(user["id"]))
    await bot.send(callback_query(Menu(a=action).pack(), user=user))
    sent = bot.fake.sent_texts(user["id"])
    assert len(sent) == before + 1, sent[before:]
    return sent[-1]
