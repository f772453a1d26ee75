"""/rates, /rates market, /rates chart and /convert: the tenge's official rates beside what
the exchange offices of the reader's city pay and ask."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import MarketView, Menu
from bot.clock import Clock
from bot.config import Settings
from bot.render import ECHO_LIMIT, shorten
from bot.services.convert import (
    TENGE,
    ConvertError,
    convert,
    currency_code,
    format_amount,
    format_money,
    format_number,
    format_short,
    parse_request,
)
from bot.services.market import MarketService, MarketSnapshot
from bot.services.market.cities import city_list, city_name, city_slug
from bot.services.rates import RatesService, RatesSnapshot
from bot.texts import N_, t, tn
from storage.market import MarketPoint, MarketRate
from storage.rates import Rate

#: Words readers type for the chart and the exchange offices, in each language.
CHART_WORDS = frozenset({"chart", "график", "графигі", "graph"})
MARKET_WORDS = frozenset(
    {"market", "обменники", "обменник", "offices", "айырбастау", "пункттер", "пункттері"}
)
#: Currencies one /rates answer lists at most: any three letters pass as a code, and a
#: line for each of hundreds would not fit in a message.
MAX_CODES = 12
CHART_PERIODS = (30, 90, 365)
DEFAULT_CURRENCY = "USD"


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(rates_command, Command("rates"))
    router.message.register(convert_command, Command("convert"))
    router.callback_query.register(menu_rates, Menu.filter(F.a == "rates"))
    router.callback_query.register(market_view, MarketView.filter())
    router.shutdown.register(stop_fetching)
    return router


async def stop_fetching(
    rates: RatesService | None = None, market: MarketService | None = None
) -> None:
    """At shutdown a fetch may still wait on a hanging source (readers stopped waiting for
    it): end it while the HTTP client and the database it would write to are open."""
    if rates is not None:
        await rates.aclose()
    if market is not None:
        await market.aclose()


# -- formatting -----------------------------------------------------------------------


def _day(day: date) -> str:
    # The National Bank's own notation, familiar to readers in both languages.
    return day.strftime("%d.%m.%Y")


def _flag(code: str) -> str:
    """🇺🇸 for USD, 🇪🇺 for EUR: ISO 4217 codes begin with the country's ISO 3166 code."""
    if code.startswith("X") or not code.isascii() or not code.isalpha():
        return ""  # XDR, XAU: no country
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code[:2]) + " "


def _unit(code: str) -> str:
    return "₸" if code == TENGE else code


def _change(change: Decimal | None, lang: str) -> str:
    if change is None:
        return ""
    if change > 0:
        return "▲ +" + format_number(change, lang)
    if change < 0:
        return "▼ " + format_number(change, lang)
    return "= " + format_number(change, lang)


def _rate_text(rate: Rate, lang: str) -> str:
    """The rate as the National Bank publishes it, with its quant: "100 KRW = 31,15 ₸"."""
    return f"{rate.quant} {rate.code} = {format_number(rate.rate, lang)} ₸"


def _shown(settings: Settings) -> list[str]:
    """The currencies /rates shows when it is not told which."""
    return list(settings.rates_currencies) or [DEFAULT_CURRENCY]


def _stale_note(snapshot: RatesSnapshot, lang: str) -> str:
    if not snapshot.stale or snapshot.day is None:
        return ""
    return "\n\n" + t(lang, "rates_stale", date=_day(snapshot.day))


def _moment(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M %d.%m.%Y")


def _buy_sell(rate: MarketRate, lang: str) -> tuple[str, str]:
    return format_short(rate.buy, lang), format_short(rate.sell, lang)


def _market_note(snapshot: MarketSnapshot, codes: Sequence[str], lang: str, tz: ZoneInfo) -> str:
    """Under /rates: whose market rates these are and as of when, or why there are none."""
    city = city_name(snapshot.city, lang)
    picked = snapshot.pick(codes)
    if not picked or snapshot.fetched_at is None:
        return t(lang, "market_unavailable", city=city, source=snapshot.source)
    newest = max(rate.newest for rate in picked)
    offices = max(rate.offices for rate in picked)
    text = tn(
        lang,
        "market_source",
        offices,
        city=city,
        offices=offices,
        source=snapshot.source,
        time=_moment(newest, tz),
    )
    if snapshot.stale:
        text += "\n" + t(
            lang, "market_stale", source=snapshot.source, time=_moment(snapshot.fetched_at, tz)
        )
    return text


def city_buttons(
    cities: Sequence[str], current: str, view: str, lang: str
) -> list[list[InlineKeyboardButton]]:
    buttons = [
        InlineKeyboardButton(
            text=("✓ " if city == current else "") + city_name(city, lang),
            callback_data=MarketView(c=city, v="m" if view == "m" else "r").pack(),
        )
        for city in cities
    ]
    return [buttons[i : i + 3] for i in range(0, len(buttons), 3)]


def rates_keyboard(cities: Sequence[str], city: str, lang: str) -> InlineKeyboardMarkup:
    switch = InlineKeyboardButton(
        text=t(lang, "market_button"), callback_data=MarketView(c=city, v="m").pack()
    )
    rows = city_buttons(cities, city, "r", lang) if len(cities) > 1 else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [switch]])


def market_keyboard(cities: Sequence[str], city: str, lang: str) -> InlineKeyboardMarkup:
    switch = InlineKeyboardButton(
        text=t(lang, "market_rates_button"), callback_data=MarketView(c=city, v="r").pack()
    )
    rows = city_buttons(cities, city, "m", lang) if len(cities) > 1 else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [switch]])


async def _both(
    rates: RatesService, market: MarketService | None, city: str | None
) -> tuple[RatesSnapshot, MarketSnapshot | None]:
    """Both sources side by side: each waits at most the reader's budget, together too."""
    if market is None:
        return await rates.current(), None
    official, snapshot = await asyncio.gather(rates.current(), market.current(city))
    return official, snapshot


# -- /rates ---------------------------------------------------------------------------


async def rates_command(
    message: Message,
    command: CommandObject,
    lang: str,
    rates: RatesService,
    market: MarketService,
    settings: Settings,
    clock: Clock,
) -> None:
    args = (command.args or "").split()
    if args and args[0].casefold() in CHART_WORDS:
        await _chart(message, args[1:], lang, rates, market, settings, clock)
        return
    chat_id = message.chat.id
    if args and args[0].casefold() in MARKET_WORDS:
        # "айырбастау пункттері Алматы": the words of a two-word name, then the city.
        words = list(itertools.dropwhile(lambda w: w.casefold() in MARKET_WORDS, args))
        await _market_command(message, words, lang, market, settings)
        return
    codes = _shown(settings)
    wanted: list[str] = []
    city: str | None = None
    for arg in args:
        found_city = city_slug(arg, market.cities)
        code = None if found_city else currency_code(arg)
        if found_city is not None:
            city = found_city
        elif code is not None:
            wanted.append(code)
        else:
            await message.answer(
                t(
                    lang,
                    "rates_unknown_word",
                    word=shorten(arg, ECHO_LIMIT),
                    cities=city_list(market.cities, lang),
                    example=city_name(market.cities[-1], lang),
                )
            )
            return
    # Each currency once, however often it was typed.
    codes = list(dict.fromkeys(c for c in wanted if c != TENGE)) or codes
    capped = len(codes) > MAX_CODES
    codes = codes[:MAX_CODES]
    if city is not None:
        await market.set_city(chat_id, city)
    else:
        city = await market.city_of(chat_id)
    text = await rates_text(rates, codes, lang, market=market, city=city, tz=settings.timezone)
    if capped:
        text += "\n\n" + tn(lang, "rates_capped", MAX_CODES, max=MAX_CODES)
    await message.answer(text, reply_markup=rates_keyboard(market.cities, city, lang))


async def menu_rates(
    query: CallbackQuery,
    lang: str,
    rates: RatesService,
    market: MarketService,
    settings: Settings,
) -> None:
    """The "Exchange rates" button under the greeting: what /rates answers."""
    await query.answer()
    if isinstance(query.message, Message):
        city = await market.city_of(query.message.chat.id)
        text = await rates_text(
            rates, _shown(settings), lang, market=market, city=city, tz=settings.timezone
        )
        await query.message.answer(text, reply_markup=rates_keyboard(market.cities, city, lang))


async def market_view(
    query: CallbackQuery,
    callback_data: MarketView,
    lang: str,
    rates: RatesService,
    market: MarketService,
    settings: Settings,
) -> None:
    """A city button (the reader's city from now on), or the switch between the rates and
    the best offices."""
    if callback_data.c not in market.cities or not isinstance(query.message, Message):
        # A city taken out of MARKET_CITIES since the button was sent, or a forged press.
        await query.answer(t(lang, "unknown_button"))
        return
    await query.answer()
    city = callback_data.c
    await market.set_city(query.message.chat.id, city)
    if callback_data.v == "m":
        text = await market_text(market, _shown(settings), city, lang, settings.timezone)
        await query.message.answer(text, reply_markup=market_keyboard(market.cities, city, lang))
        return
    text = await rates_text(
        rates, _shown(settings), lang, market=market, city=city, tz=settings.timezone
    )
    await query.message.answer(text, reply_markup=rates_keyboard(market.cities, city, lang))


async def rates_text(
    rates: RatesService,
    codes: Sequence[str],
    lang: str,
    *,
    market: MarketService | None = None,
    city: str | None = None,
    tz: ZoneInfo | None = None,
) -> str:
    """What /rates answers (also printed by `python -m bot preview rates`): the official
    rate with its change and, beside it, what the city's exchange offices pay / ask."""
    tz = tz or ZoneInfo("Asia/Almaty")
    snapshot, offices = await _both(rates, market, city)
    market_rates = offices.rates if offices is not None else {}
    if snapshot.day is None:
        if offices is None or not offices.pick(codes):
            return t(lang, "rates_unavailable")
        # The National Bank cannot be read, the offices can: the apology, then the market.
        lines = [t(lang, "rates_unavailable"), ""]
        for only in offices.pick(codes):
            buy, sell = _buy_sell(only, lang)
            lines.append(
                f"{_flag(only.code)}{only.code}" + t(lang, "market_line", buy=buy, sell=sell)
            )
        return "\n".join(lines) + "\n\n" + _market_note(offices, codes, lang, tz)
    lines = [t(lang, "rates_title", date=_day(snapshot.day)), ""]
    for code in codes:
        quoted = market_rates.get(code)
        beside = ""
        if quoted is not None:
            buy, sell = _buy_sell(quoted, lang)
            beside = t(lang, "market_line", buy=buy, sell=sell)
        rate = snapshot.rates.get(code)
        if rate is None:
            lines.append(t(lang, "rates_missing", code=code) + beside)
            continue
        change = _change(await rates.change(rate), lang)
        line = t(
            lang,
            "rates_line",
            flag=_flag(code),
            quant=rate.quant,
            code=code,
            rate=format_number(rate.rate, lang),
            change=change,
        ).rstrip()
        lines.append(line + beside)
    text = "\n".join(lines) + _stale_note(snapshot, lang)
    if offices is not None:
        text += "\n\n" + _market_note(offices, codes, lang, tz)
    return text + "\n\n" + t(lang, "rates_footer")


# -- /rates market --------------------------------------------------------------------


async def _market_command(
    message: Message, args: Sequence[str], lang: str, market: MarketService, settings: Settings
) -> None:
    city: str | None = None
    if args:
        word = " ".join(args)
        city = city_slug(word, market.cities)
        if city is None:
            await message.answer(
                t(
                    lang,
                    "market_unknown_city",
                    word=shorten(word, ECHO_LIMIT),
                    cities=city_list(market.cities, lang),
                    example=city_name(market.cities[-1], lang),
                )
            )
            return
        await market.set_city(message.chat.id, city)
    else:
        city = await market.city_of(message.chat.id)
    text = await market_text(market, _shown(settings), city, lang, settings.timezone)
    await message.answer(text, reply_markup=market_keyboard(market.cities, city, lang))


def _address(address: str) -> str:
    return f", {address}" if address else ""


async def market_text(
    market: MarketService, codes: Sequence[str], city: str, lang: str, tz: ZoneInfo
) -> str:
    """/rates market: per currency the medians and the best office to sell to and to buy
    from, with its address."""
    snapshot = await market.current(city)
    name = city_name(snapshot.city, lang)
    picked = snapshot.pick(codes)
    if not picked or snapshot.fetched_at is None:
        return t(lang, "market_none", city=name, source=snapshot.source)
    newest = max(rate.newest for rate in picked)
    lines = [
        t(lang, "market_title", city=name, source=snapshot.source, time=_moment(newest, tz)),
        "",
    ]
    for code in codes:
        rate = snapshot.rates.get(code)
        if rate is None:
            lines.append(t(lang, "market_missing", code=code))
            continue
        buy, sell = _buy_sell(rate, lang)
        lines.append(
            tn(
                lang,
                "market_currency",
                rate.offices,
                flag=_flag(code),
                code=code,
                buy=buy,
                sell=sell,
                offices=rate.offices,
            )
        )
        for key, best in (
            (N_("market_best_buy"), rate.best_buy),
            (N_("market_best_sell"), rate.best_sell),
        ):
            lines.append(
                t(
                    lang,
                    key,
                    name=best.name,
                    price=format_short(best.price, lang),
                    address=_address(best.address),
                )
            )
    text = "\n".join(lines)
    if snapshot.stale:
        text += "\n\n" + t(
            lang, "market_stale", source=snapshot.source, time=_moment(snapshot.fetched_at, tz)
        )
    return text + "\n\n" + t(lang, "market_footer")


def daily(points: Sequence[MarketPoint], tz: ZoneInfo) -> list[tuple[date, Decimal, Decimal]]:
    """One point per local day: the last fetch of the day, as the official rate is the
    day's one number."""
    by_day = {p.fetched_at.astimezone(tz).date(): (p.buy, p.sell) for p in points}
    return [(day, buy, sell) for day, (buy, sell) in sorted(by_day.items())]


async def _chart(
    message: Message,
    args: Sequence[str],
    lang: str,
    rates: RatesService,
    market: MarketService,
    settings: Settings,
    clock: Clock,
) -> None:
    # matplotlib takes seconds to import: only when someone asks for a chart.
    from bot.charts import Line, render_chart, series

    code = next((c for c in settings.rates_currencies if c != TENGE), DEFAULT_CURRENCY)
    days = CHART_PERIODS[0]
    for arg in args:
        if arg.isdecimal() and int(arg) in CHART_PERIODS:
            days = int(arg)
            continue
        found = currency_code(arg)
        if found is None or found == TENGE:
            await message.answer(t(lang, "chart_usage"))
            return
        code = found
    city = await market.city_of(message.chat.id)
    # Asked first so that today's quotes are stored and drawn.
    await _both(rates, market, city)
    history = await rates.history(code, days)
    points = series(history)
    if len(points) < 2:
        await message.answer(t(lang, "chart_no_history", code=code, days=len(points)))
        return
    quant = history[-1].quant
    tz = settings.timezone
    since = datetime.combine(points[0][0], clock_time.min, tzinfo=tz)
    until = max(clock(), datetime.combine(points[-1][0], clock_time.max, tzinfo=tz))
    offices = daily(await market.history(city, code, since, until + timedelta(seconds=1)), tz)
    name = city_name(city, lang)
    lines: list[Line] = []
    if offices:
        # The market's prices are per unit; scaled to the official line's quant.
        lines = [
            Line(
                t(lang, "chart_market_buy", city=name),
                [(day, buy * quant) for day, buy, _ in offices],
                "#2e7d32",
            ),
            Line(
                t(lang, "chart_market_sell", city=name),
                [(day, sell * quant) for day, _, sell in offices],
                "#c62828",
            ),
        ]

    def number(value: float) -> str:
        return format_number(Decimal(f"{value:.4f}"), lang)

    png = await asyncio.to_thread(
        render_chart,
        points,
        title=tn(lang, "chart_title", days, quant=quant, code=code, days=days),
        ylabel=t(lang, "chart_axis", quant=quant, code=code),
        number=number,
        label=t(lang, "chart_official"),
        others=lines,
    )
    low = min(points, key=lambda p: (p[1], p[0]))
    high = max(points, key=lambda p: (p[1], p[0]))
    caption = t(
        lang,
        "chart_caption",
        quant=quant,
        code=code,
        days=days,
        first=format_number(points[0][1], lang),
        first_date=_day(points[0][0]),
        last=format_number(points[-1][1], lang),
        last_date=_day(points[-1][0]),
        min=format_number(low[1], lang),
        min_date=_day(low[0]),
        max=format_number(high[1], lang),
        max_date=_day(high[0]),
    )
    if offices:
        _, buy, sell = offices[-1]
        caption += "\n" + t(
            lang,
            "chart_market_caption",
            city=name,
            source=market.source.name,
            buy=format_short(buy, lang),
            sell=format_short(sell, lang),
        )
    await message.answer_photo(BufferedInputFile(png, f"{code}-{days}.png"), caption=caption)


# -- /convert -------------------------------------------------------------------------


async def convert_command(
    message: Message,
    command: CommandObject,
    lang: str,
    rates: RatesService,
    market: MarketService,
    settings: Settings,
) -> None:
    try:
        request = parse_request(command.args or "")
    except ConvertError as error:
        detail = shorten(error.detail, ECHO_LIMIT)
        await message.answer(t(lang, error.problem.value, text=detail))
        return
    snapshot, offices = await _both(rates, market, await market.city_of(message.chat.id))
    if snapshot.day is None:
        await message.answer(t(lang, "rates_unavailable"))
        return
    if request.target is not None:
        targets = [request.target]
    elif request.source != TENGE:
        targets = [TENGE]
    else:
        targets = [c for c in settings.rates_currencies if c != TENGE] or [DEFAULT_CURRENCY]
        targets = [c for c in targets if c in snapshot.rates] or targets
    for code in (request.source, *targets):
        if code != TENGE and code not in snapshot.rates:
            await message.answer(
                t(lang, "convert_not_quoted", code=code, codes=", ".join(sorted(snapshot.rates)))
            )
            return
    amount = format_amount(request.amount, lang)
    lines = []
    for target in targets:
        result = convert(request.amount, request.source, target, snapshot.rates)
        lines.append(
            t(
                lang,
                "convert_result",
                amount=amount,
                source=_unit(request.source),
                result=format_money(result, lang),
                target=_unit(target),
            )
        )
    used = [snapshot.rates[c] for c in dict.fromkeys((request.source, *targets)) if c != TENGE]
    if used:
        lines.append(
            t(
                lang,
                "convert_rates_used",
                date=_day(snapshot.day),
                rates="; ".join(_rate_text(rate, lang) for rate in used),
            )
        )
    text = "\n".join(lines) + _stale_note(snapshot, lang)
    if offices is not None:
        text += _market_conversion(request.amount, request.source, targets, offices, lang, settings)
    await message.answer(text)


def _market_conversion(
    amount: Decimal,
    source: str,
    targets: Sequence[str],
    offices: MarketSnapshot,
    lang: str,
    settings: Settings,
) -> str:
    """What an exchange office would pay or ask for the same conversion; "" when the
    offices do not quote a currency of it."""
    quoted = offices.rates
    if any(code != TENGE and code not in quoted for code in (source, *targets)):
        return ""
    shown = format_amount(amount, lang)
    lines = []
    for target in targets:
        if target == source:
            continue
        if target == TENGE:
            rate = quoted[source]
            lines.append(
                t(
                    lang,
                    "convert_market_pays",
                    amount=shown,
                    source=source,
                    pays=format_money(amount * rate.buy, lang),
                    asks=format_money(amount * rate.sell, lang),
                )
            )
        elif source == TENGE:
            rate = quoted[target]
            lines.append(
                t(
                    lang,
                    "convert_market_tenge",
                    amount=shown,
                    target=target,
                    buys=format_money(amount / rate.sell, lang),
                    sells=format_money(amount / rate.buy, lang),
                )
            )
        else:
            # Sell the one for tenge at what offices pay, buy the other at what they ask.
            result = amount * quoted[source].buy / quoted[target].sell
            lines.append(
                t(
                    lang,
                    "convert_market_cross",
                    amount=shown,
                    source=source,
                    result=format_money(result, lang),
                    target=target,
                )
            )
    if not lines or offices.fetched_at is None:
        return ""
    used = [quoted[c] for c in dict.fromkeys((source, *targets)) if c != TENGE]
    newest = max(rate.newest for rate in used)
    lines.append(
        t(
            lang,
            "convert_market_used",
            city=city_name(offices.city, lang),
            source=offices.source,
            time=_moment(newest, settings.timezone),
            rates="; ".join(f"{rate.code} {' / '.join(_buy_sell(rate, lang))}" for rate in used),
        )
    )
    if offices.stale:
        lines.append(
            t(
                lang,
                "market_stale",
                source=offices.source,
                time=_moment(offices.fetched_at, settings.timezone),
            )
        )
    return "\n\n" + "\n".join(lines)
