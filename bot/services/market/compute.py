"""The market rate of a currency in a city, from the offices' quotes.

Which quotes count:
- retail offices only (wholesale prices are not for a person with cash);
- quotes the source marks current, set within `max_age` before now (and not more than
  FUTURE_SLACK after it: a clock a little ahead is tolerated, a date years ahead is not);
- a price of 0 is "no quote"; an office that pays more than it asks (buy > sell) has a
  typo in one of the two, and neither is used.

Outliers. Buy and sell prices are judged apart: the median of the side's prices is taken,
and a price more than OUTLIER_BAND (10 %) away from it — below median / 1.1 or above
median × 1.1 — is dropped. The median is moved by no single typo, so a slipped decimal
point (37.7 for 377) or a euro price typed as the dollar's (12 % apart) is caught, while
the real spread between offices (under 2 % in the capture) stays well inside the band.
The median and the best office are then taken from what is left. A side with fewer than
MIN_OFFICES prices left gives no market rate for the currency: one office's price is no
market.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from bot.services.market.sources import Office
from storage.market import BestOffice, MarketRate

OUTLIER_BAND = Decimal("1.1")
MIN_OFFICES = 3
FUTURE_SLACK = timedelta(minutes=15)


def usable(offices: Iterable[Office], *, now: datetime, max_age: timedelta) -> list[Office]:
    """Retail offices whose quotes are current and within `max_age` of `now`."""
    return [
        office
        for office in offices
        if not office.wholesale
        and office.current
        and now - max_age <= office.quoted_at <= now + FUTURE_SLACK
    ]


def within_band(prices: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The lowest and highest price that is not an outlier among `prices`."""
    middle = statistics.median(prices)
    return middle / OUTLIER_BAND, middle * OUTLIER_BAND


def _side(pairs: list[tuple[Office, Decimal]]) -> list[tuple[Office, Decimal]]:
    if not pairs:
        return []
    low, high = within_band([price for _, price in pairs])
    return [(office, price) for office, price in pairs if low <= price <= high]


def _best(office: Office, price: Decimal) -> BestOffice:
    return BestOffice(office.name, office.address, price, office.quoted_at)


def market_rate(code: str, offices: Iterable[Office]) -> MarketRate | None:
    """The market rate of `code` over offices already found usable; None when too few
    offices quote it."""
    buys: list[tuple[Office, Decimal]] = []
    sells: list[tuple[Office, Decimal]] = []
    for office in offices:
        quote = office.quotes.get(code)
        if quote is None:
            continue
        if quote.buy is not None and quote.sell is not None and quote.buy > quote.sell:
            continue
        if quote.buy is not None:
            buys.append((office, quote.buy))
        if quote.sell is not None:
            sells.append((office, quote.sell))
    buys, sells = _side(buys), _side(sells)
    if len(buys) < MIN_OFFICES or len(sells) < MIN_OFFICES:
        return None
    # On a tie the fresher quote wins: it is the likelier to hold at the window.
    best_buy = max(buys, key=lambda pair: (pair[1], pair[0].quoted_at))
    best_sell = min(sells, key=lambda pair: (pair[1], -pair[0].quoted_at.timestamp()))
    used = {office.id: office for office, _ in buys + sells}
    return MarketRate(
        code=code,
        buy=statistics.median(price for _, price in buys),
        sell=statistics.median(price for _, price in sells),
        offices=len(used),
        best_buy=_best(*best_buy),
        best_sell=_best(*best_sell),
        newest=max(office.quoted_at for office in used.values()),
    )


def market_rates(
    offices: Iterable[Office], codes: Iterable[str], *, now: datetime, max_age: timedelta
) -> dict[str, MarketRate]:
    """The market rates of `codes` that the usable offices give, in the order of `codes`."""
    current = usable(offices, now=now, max_age=max_age)
    rates = {}
    for code in codes:
        rate = market_rate(code, current)
        if rate is not None:
            rates[code] = rate
    return rates
