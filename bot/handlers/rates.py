"""/rates, /rates chart and /convert: the tenge's official rates, for readers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import Menu
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
    parse_request,
)
from bot.services.rates import RatesService, RatesSnapshot
from bot.texts import t
from storage.rates import Rate

CHART_WORDS = frozenset({"chart", "график", "graph"})
CHART_PERIODS = (30, 90, 365)
DEFAULT_CURRENCY = "USD"


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(rates_command, Command("rates"))
    router.message.register(convert_command, Command("convert"))
    router.callback_query.register(menu_rates, Menu.filter(F.a == "rates"))
    router.shutdown.register(stop_fetching)
    return router


async def stop_fetching(rates: RatesService | None = None) -> None:
    """At shutdown a fetch may still wait on a hanging feed (readers stopped waiting for
    it): end it while the HTTP client and the database it would write to are open."""
    if rates is not None:
        await rates.aclose()


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


# -- /rates ---------------------------------------------------------------------------


async def rates_command(
    message: Message,
    command: CommandObject,
    lang: str,
    rates: RatesService,
    settings: Settings,
) -> None:
    args = (command.args or "").split()
    if args and args[0].casefold() in CHART_WORDS:
        await _chart(message, args[1:], lang, rates, settings)
        return
    codes = _shown(settings)
    if args:
        wanted = [currency_code(arg) for arg in args]
        unknown = [arg for arg, code in zip(args, wanted, strict=True) if code is None]
        if unknown:
            await message.answer(t(lang, "rates_usage", word=shorten(unknown[0], ECHO_LIMIT)))
            return
        # Each currency once, however often it was typed.
        codes = list(dict.fromkeys(c for c in wanted if c is not None and c != TENGE)) or codes
    await message.answer(await rates_text(rates, codes, lang))


async def menu_rates(
    query: CallbackQuery, lang: str, rates: RatesService, settings: Settings
) -> None:
    """The "Exchange rates" button under the greeting: what /rates answers."""
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(await rates_text(rates, _shown(settings), lang))


async def rates_text(rates: RatesService, codes: Sequence[str], lang: str) -> str:
    """What /rates answers (also printed by `python -m bot preview rates`)."""
    snapshot = await rates.current()
    if snapshot.day is None:
        return t(lang, "rates_unavailable")
    lines = [t(lang, "rates_title", date=_day(snapshot.day)), ""]
    for code in codes:
        rate = snapshot.rates.get(code)
        if rate is None:
            lines.append(t(lang, "rates_missing", code=code))
            continue
        change = _change(await rates.change(rate), lang)
        lines.append(
            t(
                lang,
                "rates_line",
                flag=_flag(code),
                quant=rate.quant,
                code=code,
                rate=format_number(rate.rate, lang),
                change=change,
            ).rstrip()
        )
    text = "\n".join(lines) + _stale_note(snapshot, lang)
    return text + "\n\n" + t(lang, "rates_footer")


async def _chart(
    message: Message, args: Sequence[str], lang: str, rates: RatesService, settings: Settings
) -> None:
    # matplotlib takes seconds to import: only when someone asks for a chart.
    from bot.charts import render_chart, series

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
    # Asked first so that today's quote is stored and drawn.
    await rates.current()
    history = await rates.history(code, days)
    points = series(history)
    if len(points) < 2:
        await message.answer(t(lang, "chart_no_history", code=code, days=len(points)))
        return
    quant = history[-1].quant

    def number(value: float) -> str:
        return format_number(Decimal(f"{value:.4f}"), lang)

    png = await asyncio.to_thread(
        render_chart,
        points,
        title=t(lang, "chart_title", quant=quant, code=code, days=days),
        ylabel=t(lang, "chart_axis", quant=quant, code=code),
        number=number,
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
    await message.answer_photo(BufferedInputFile(png, f"{code}-{days}.png"), caption=caption)


# -- /convert -------------------------------------------------------------------------


async def convert_command(
    message: Message,
    command: CommandObject,
    lang: str,
    rates: RatesService,
    settings: Settings,
) -> None:
    try:
        request = parse_request(command.args or "")
    except ConvertError as error:
        detail = shorten(error.detail, ECHO_LIMIT)
        await message.answer(t(lang, f"convert_{error.problem.value}", text=detail))
        return
    snapshot = await rates.current()
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
    await message.answer("\n".join(lines) + _stale_note(snapshot, lang))
