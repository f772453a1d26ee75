"""Exchange offices' rates through the whole bot: fake Bot API → aiogram → the market and
rates services → kurs.kz's page (the real capture) and the National Bank's feed on
127.0.0.1, at a fixed clock half an hour after the capture's newest quote."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks import MarketView
from bot.services import scheduler as scheduler_module
from bot.services.fetching import READER_BUDGET_SECONDS
from bot.services.market.compute import market_rates
from bot.services.market.kurskz import parse_page
from storage import Storage
from storage.market import MarketRepository
from storage.rates import Rate
from tests.conftest import RunningBot
from tests.market_server import NOW, MarketServer, capture_page, dumps, page, punkts
from tests.rates_server import HANG, HTML, RatesServer, day_capture, with_body
from tests.test_market import expected
from tests.updates import ADMIN, READER, callback_query, private_text

StartBot = Callable[..., Any]
RU_USER, EN_USER = ADMIN, READER
NBSP = "\u00a0"
WITHIN = READER_BUDGET_SECONDS * 2
ZONE = ZoneInfo("Asia/Almaty")


class FixedClock:
    def __init__(self, moment: datetime = NOW) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def astana_page() -> bytes:
    """Astana's offices: Almaty's capture two tenge dearer each way."""
    offices = punkts()
    for office in offices:
        for pair in office["data"].values():
            pair[:] = [price + 2 if price else price for price in pair]
    return page(dumps(offices))


@pytest.fixture(autouse=True)
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "TICK_SECONDS", 0.02)


@pytest.fixture
async def market() -> AsyncIterator[MarketServer]:
    pages = {"almaty": capture_page(), "astana": astana_page()}
    async with MarketServer(pages=pages) as server:
        yield server


@pytest.fixture
async def feed() -> AsyncIterator[RatesServer]:
    async with RatesServer(current=day_capture("03.04.2026")) as server:
        yield server


async def _bot(
    start_bot: StartBot, market: MarketServer, feed: RatesServer, **overrides: Any
) -> RunningBot:
    options: dict[str, Any] = {
        "clock": FixedClock(),
        "market_rates_url": market.market_url,
        "rates_url": feed.rates_url,
        "rates_history_url": feed.history_url,
    }
    options.update(overrides)
    bot: RunningBot = await start_bot(**options)
    return bot


async def _ask(bot: RunningBot, text: str, user: dict[str, Any] = RU_USER) -> str:
    before = len(bot.fake.sent_texts(user["id"]))
    await bot.send(private_text(text, user=user))
    sent = bot.fake.sent_texts(user["id"])
    assert len(sent) == before + 1, sent[before:]
    return sent[-1]


async def _press(bot: RunningBot, data: str, user: dict[str, Any] = RU_USER) -> str:
    before = len(bot.fake.sent_texts(user["id"]))
    await bot.send(callback_query(data, user=user))
    sent = bot.fake.sent_texts(user["id"])
    assert len(sent) == before + 1, sent[before:]
    return sent[-1]


def _keyboard(bot: RunningBot) -> list[list[dict[str, Any]]]:
    markup: dict[str, Any] = bot.fake.calls_of("sendMessage")[-1].params["reply_markup"]
    rows: list[list[dict[str, Any]]] = markup["inline_keyboard"]
    return rows


def _ru(value: Decimal) -> str:
    """The outlet's form, computed here: kopecks at most, trailing zeros dropped."""
    text = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


# -- /rates ------------------------------------------------------------------------------


async def test_rates_show_the_market_beside_the_official_rate(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)

    ru = await _ask(bot, "/rates")

    usd, eur, rub = expected("USD"), expected("EUR"), expected("RUB")
    assert (_ru(usd["buy"]), _ru(usd["sell"])) == ("377,05", "379")
    assert "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78 · обменники 377,05 / 379" in ru
    assert (
        f"1 EUR = <b>543,72 ₸</b>  ▼ -7,34 · обменники {_ru(eur['buy'])} / {_ru(eur['sell'])}" in ru
    )
    assert (
        f"1 RUB = <b>5,86 ₸</b>  ▼ -0,01 · обменники {_ru(rub['buy'])} / {_ru(rub['sell'])}" in ru
    )
    assert (
        "🏦 Обменники — Алматы: покупка / продажа, медиана по 24 обменникам (kurs.kz), "
        "котировки на 08:34 13.03.2019"
    ) in ru
    assert "⚠️" not in ru
    rows = _keyboard(bot)
    assert [b["text"] for b in rows[0]] == ["✓ Алматы", "Астана", "Шымкент"]
    assert rows[0][1]["callback_data"] == MarketView(c="astana", v="r").pack()
    assert rows[1][0]["callback_data"] == MarketView(c="almaty", v="m").pack()

    en = await _ask(bot, "/rates", EN_USER)
    assert "🇺🇸 1 USD = <b>472.31 ₸</b>  ▼ -2.78 · exchange offices 377.05 / 379" in en
    assert "Exchange offices — Almaty: buy / sell, median of 24 offices (kurs.kz)" in en
    # One fetch of the page for every reader of the period.
    assert market.cities_asked() == ["almaty"]
    assert market.requests[0].headers["User-Agent"].startswith("newsmirror-bot/")


async def test_a_readers_city_is_remembered_across_a_restart(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)
    astana = await _ask(bot, "/rates Астана")
    assert "обменники 379,05 / 381" in astana
    assert "🏦 Обменники — Астана" in astana
    assert [b["text"] for b in _keyboard(bot)[0]] == ["Алматы", "✓ Астана", "Шымкент"]
    again = await _ask(bot, "/rates usd")
    assert "обменники 379,05 / 381" in again
    await bot.stop()

    bot = await _bot(start_bot, market, feed)
    after = await _ask(bot, "/rates")
    assert "🏦 Обменники — Астана" in after
    assert "обменники 379,05 / 381" in after
    # Another reader still has the default city.
    assert "Exchange offices — Almaty" in await _ask(bot, "/rates", EN_USER)


async def test_a_city_button_changes_the_readers_city(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)

    text = await _press(bot, MarketView(c="astana", v="r").pack())
    assert "🏦 Обменники — Астана" in text
    offices = await _press(bot, MarketView(c="shymkent", v="m").pack())
    # kurs.kz's Shymkent page here lists no offices: a polite answer, no numbers.
    assert offices.startswith("😔 Курсов обменников (Шымкент) сейчас нет")
    assert "Шымкент" in await _ask(bot, "/rates")

    # A forged city is "this button no longer works", not a city.
    await bot.send(callback_query("mk:atlantis:r", user=RU_USER))
    answer = bot.fake.calls_of("answerCallbackQuery")[-1].params
    assert answer["text"].startswith("Эта кнопка больше не работает")


async def test_unknown_words_name_the_known_cities(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)

    ru = await _ask(bot, "/rates Караганда")
    assert ru.startswith("Не знаю валюту или город «Караганда». Города: Алматы, Астана, Шымкент.")
    market_ru = await _ask(bot, "/rates market <b>Тараз</b>")
    assert market_ru.startswith(
        "Не знаю город «&lt;b&gt;Тараз&lt;/b&gt;». Курсы обменников есть для городов: "
        "Алматы, Астана, Шымкент."
    )
    en = await _ask(bot, "/rates market Taraz", EN_USER)
    assert en.startswith("I don't know the city “Taraz”. Exchange office rates are there for: ")
    assert "Almaty, Astana, Shymkent" in en
    assert market.requests == []


# -- /rates market -----------------------------------------------------------------------


async def test_rates_market_lists_the_best_offices(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)

    text = await _ask(bot, "/rates market")

    usd = expected("USD")
    assert usd["best_buy"] == ("ЗАМАН ОП", Decimal("378.5"))
    assert usd["best_sell"] == ('"Limpopo" (ТОО "ОП АННА")', Decimal("378.7"))
    lines = text.splitlines()
    assert lines[0] == (
        "🏦 <b>Обменники — Алматы</b>: где выгоднее (kurs.kz, котировки на 08:34 13.03.2019)"
    )
    assert lines[2:5] == [
        "🇺🇸 <b>USD</b>: покупка 377,05 / продажа 379 ₸ (медиана по 24 обменникам)",
        "   💰 продать: ЗАМАН ОП — <b>378,5 ₸</b>, Айнабулак 4-й микрорайон,178",
        '   🛒 купить: "Limpopo" (ТОО "ОП АННА") — <b>378,7 ₸</b>, '
        "ул.Сейфуллина 534, уг. ул.Курмангазы",
    ]
    for code in ("EUR", "RUB"):
        want = expected(code)
        name, price = want["best_buy"]
        assert f"   💰 продать: {name} — <b>{_ru(price)} ₸</b>" in text
        name, price = want["best_sell"]
        assert f"   🛒 купить: {name} — <b>{_ru(price)} ₸</b>" in text
    assert [b["text"] for b in _keyboard(bot)[-1]] == ["💱 Все курсы"]

    english = await _ask(bot, "/rates market astana", EN_USER)
    assert "🇺🇸 <b>USD</b>: buy 379.05 / sell 381 ₸ (median of 24 offices)" in english
    assert "   💰 sell at: ЗАМАН ОП — <b>380.5 ₸</b>" in english
    # In Kazakh, "exchange offices" are two words, the city after them.
    assert await _ask(bot, "/rates айырбастау пункттері Астана") == await _ask(
        bot, "/rates market astana"
    )


# -- /convert ----------------------------------------------------------------------------


async def test_convert_gives_the_official_rate_and_what_an_office_pays(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    bot = await _bot(start_bot, market, feed)

    usd = await _ask(bot, "/convert 100 usd")
    assert usd.splitlines() == [
        f"100 USD = <b>47{NBSP}231,00 ₸</b>",
        "По курсу Нацбанка РК на 03.04.2026: 1 USD = 472,31 ₸",
        "",
        f"🏦 Обменник купит 100 USD за <b>37{NBSP}705,00 ₸</b>, продаст за <b>37{NBSP}900,00 ₸</b>",
        "Обменники — Алматы (kurs.kz), медианы на 08:34 13.03.2019: USD 377,05 / 379",
    ]
    tenge = await _ask(bot, "/convert 3790 тенге в долларах")
    assert (
        f"🏦 В обменнике на 3{NBSP}790 ₸ купите <b>10,00 USD</b>; "
        f"3{NBSP}790 ₸ выручите, продав <b>10,05 USD</b>"
    ) in tenge
    cross = await _ask(bot, "/convert 100 eur usd", EN_USER)
    eur, dollar = expected("EUR"), expected("USD")
    result = (100 * eur["buy"] / dollar["sell"]).quantize(Decimal("0.01"))
    assert f"🏦 At an exchange office, through the tenge: 100 EUR = <b>{result} USD</b>" in cross
    # A currency the offices do not quote: the official answer alone.
    brl = await _ask(bot, "/convert 100 brl")
    assert brl.startswith("100 BRL = ")
    assert "🏦" not in brl


# -- the digest --------------------------------------------------------------------------


DIGEST_LINE = "💵 USD 377,05/379 · EUR 425,03/428,4 · RUB 5,73/5,79 — обменники, Алматы (kurs.kz)"


async def test_the_digest_rates_line_in_the_outlets_form_for_each_readers_city(
    start_bot: StartBot, market: MarketServer, feed: RatesServer, storage: Storage
) -> None:
    eur, rub = expected("EUR"), expected("RUB")
    assert (_ru(eur["buy"]), _ru(eur["sell"]), _ru(rub["buy"]), _ru(rub["sell"])) == (
        "425,03",
        "428,4",
        "5,73",
        "5,79",
    )
    today = NOW.astimezone(ZONE).date()
    for chat in (5001, 5002):
        await storage.subscribers.subscribe(chat, lang="ru", send_time=time(8, 0), first_day=today)
    await MarketRepository(storage.db).set_city(5002, "astana")
    bot = await _bot(start_bot, market, feed)

    await bot.fake.wait_until(lambda: bool(bot.fake.sent_texts(5001) and bot.fake.sent_texts(5002)))

    (almaty,) = bot.fake.sent_texts(5001)
    assert almaty.splitlines()[-1] == DIGEST_LINE
    (astana,) = bot.fake.sent_texts(5002)
    assert astana.splitlines()[-1] == (
        "💵 USD 379,05/381 · EUR 427,03/430,4 · RUB 7,73/7,79 — обменники, Астана (kurs.kz)"
    )
    assert (await _ask(bot, "/digest")).splitlines()[-1] == DIGEST_LINE
    english = await _ask(bot, "/digest", EN_USER)
    assert english.splitlines()[-1] == (
        "💵 USD 377.05/379 · EUR 425.03/428.4 · RUB 5.73/5.79 — exchange offices, Almaty (kurs.kz)"
    )


@pytest.mark.parametrize(
    "script",
    [
        pytest.param([HTML], id="html-without-quotes"),
        pytest.param([with_body(page(b"[]"))], id="empty-array"),
        pytest.param([HANG], id="hanging"),
    ],
)
async def test_the_digest_falls_back_to_the_official_rates(
    start_bot: StartBot, market: MarketServer, feed: RatesServer, script: list[Any]
) -> None:
    market.script(*script)
    # At the capture's clock the official feed's 3 April is "today" for no one: the
    # official line needs a current feed, so the clock is the feed's day here.
    bot = await _bot(
        start_bot,
        market,
        feed,
        clock=FixedClock(datetime.now(UTC)),
        market_max_age_hours=24 * 7,
    )
    async with asyncio.timeout(WITHIN):
        digest = await _ask(bot, "/digest")
    assert digest.splitlines()[-1] == "💱 Курсы Нацбанка: USD 472,31 · EUR 543,72 · RUB 5,86"


async def test_every_quote_stale_gives_the_official_rates_in_the_digest(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    # A day after the capture: kurs.kz answers, but no quote is under 12 hours old.
    bot = await _bot(start_bot, market, feed, clock=FixedClock(datetime.now(UTC)))
    digest = await _ask(bot, "/digest")
    assert digest.splitlines()[-1] == "💱 Курсы Нацбанка: USD 472,31 · EUR 543,72 · RUB 5,86"
    rates = await _ask(bot, "/rates")
    assert "обменники" not in rates.split("\n\n")[1]
    assert "ℹ️ Курсов обменников (Алматы) сейчас нет: kurs.kz не отвечает" in rates


# -- failures ------------------------------------------------------------------------------


async def test_a_failing_source_gives_the_stored_market_rates_with_their_time(
    start_bot: StartBot, market: MarketServer, feed: RatesServer, storage: Storage
) -> None:
    # What an earlier fetch stored, two hours before the clock (the capture's numbers).
    earlier = NOW - timedelta(hours=2)
    rates = market_rates(
        parse_page(capture_page()), ["USD", "EUR", "RUB"], now=NOW, max_age=timedelta(hours=12)
    )
    await MarketRepository(storage.db).save("almaty", "kurs.kz", rates.values(), fetched_at=earlier)
    market.script(HTML)
    bot = await _bot(start_bot, market, feed)

    ru = await _ask(bot, "/rates")
    assert "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78 · обменники 377,05 / 379" in ru
    assert (
        "⚠️ kurs.kz сейчас не отвечает: курсы обменников — последние сохранённые, "
        "на 07:00 13.03.2019."
    ) in ru
    listing = await _ask(bot, "/rates market")
    assert "на 07:00 13.03.2019" in listing
    converted = await _ask(bot, "/convert 100 usd", EN_USER)
    assert "the exchange offices' rates are the last stored, as of 07:00 13.03.2019" in converted
    # Two hours old, within the quotes' age limit: the digest may still show them.
    assert (await _ask(bot, "/digest")).splitlines()[-1] == DIGEST_LINE
    assert len(market.requests) == 1


async def test_a_hanging_source_never_holds_a_reader_past_the_budget(
    start_bot: StartBot, market: MarketServer, feed: RatesServer
) -> None:
    market.script(HANG)
    bot = await _bot(start_bot, market, feed)

    async with asyncio.timeout(WITHIN):
        ru = await _ask(bot, "/rates")
        listing = await _ask(bot, "/rates market")
        converted = await _ask(bot, "/convert 100 usd")

    assert market.in_flight == 1
    assert "🇺🇸 1 USD = <b>472,31 ₸</b>  ▼ -2,78" in ru
    assert "ℹ️ Курсов обменников (Алматы) сейчас нет" in ru
    assert listing.startswith("😔 Курсов обменников (Алматы) сейчас нет")
    assert converted.startswith(f"100 USD = <b>47{NBSP}231,00 ₸</b>")
    assert "🏦" not in converted
    assert len(market.requests) == 1


# -- the chart -----------------------------------------------------------------------------


async def test_the_chart_draws_the_market_once_history_exists(
    start_bot: StartBot,
    market: MarketServer,
    feed: RatesServer,
    storage: Storage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_rates_e2e import _keep_uploads

    day = NOW.astimezone(ZONE).date()
    await storage.rates.save(
        [
            Rate("USD", day - timedelta(days=2), Decimal("376.10")),
            Rate("USD", day - timedelta(days=1), Decimal("376.80")),
        ]
    )
    earlier = NOW - timedelta(days=1)
    rates = market_rates(parse_page(capture_page()), ["USD"], now=NOW, max_age=timedelta(days=1))
    await MarketRepository(storage.db).save("almaty", "kurs.kz", rates.values(), fetched_at=earlier)
    feed.script(HTML)  # the official history is what is stored
    bot = await _bot(start_bot, market, feed)
    _keep_uploads(bot.fake, monkeypatch)

    await bot.send(private_text("/rates chart usd 30", user=RU_USER))

    (call,) = bot.fake.calls_of("sendPhoto")
    caption = call.params["caption"]
    assert caption.splitlines()[-1] == (
        "Обменники (Алматы, kurs.kz): покупка 377,05 ₸ / продажа 379 ₸"
    )
    png = call.params[call.params["photo"].removeprefix("attach://")]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
