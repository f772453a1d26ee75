"""The National Bank of Kazakhstan's rates feeds, parsed into Rate records.

Two formats, both real (samples in tests/data/nbk/):

- `rates_all.xml`: RSS 2.0. Every item carries its own `pubDate` (DD.MM.YY) and the feed
  still lists currencies that stopped being quoted years ago (LVL 31.12.13, TRL 05.01.05).
- `get_rates.cfm?fdate=DD.MM.YYYY`: a `<rates>` document with one `<date>` for all items;
  a day without data has `<info>` instead of items.

In both, `description` is tenge for `quant` units (10 HUF, 100 KRW, 1000 IRR) with dot
decimals and trailing zeros dropped ("179.5", "3"); `change` is signed and for the same
`quant`. Anything else — HTML, an empty or cut-off body, a number that is not a number — is
a FeedError: it is better to show yesterday's rates than a wrong one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from storage.rates import Rate

_NUMBER_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")
_CODE_RE = re.compile(r"[A-Z]{3}")
_DAY_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_TRENDS = {"UP": "UP", "DOWN": "DOWN"}


class FeedError(ValueError):
    """The body is not a rates feed that can be trusted."""


@dataclass(frozen=True, slots=True)
class Feed:
    """What one body of the feed says."""

    #: The day the feed's rates are set for; None when it lists no rates at all.
    day: date | None
    #: Rates set for `day`: the ones to show and store.
    rates: list[Rate]
    #: Items dated otherwise: currencies the National Bank no longer quotes.
    outdated: list[Rate] = field(default_factory=list)

    def by_code(self) -> dict[str, Rate]:
        return {rate.code: rate for rate in self.rates}


def parse_day(text: str) -> date:
    """A date as the feeds write it, "18.04.16" or "01.04.2026".

    Two-digit years pivot as strptime's %y does: 69-99 are 1969-1999, the rest 2000s.
    """
    match = _DAY_RE.fullmatch(text.strip())
    if not match:
        raise FeedError(f"not a date: {text[:40]!r}")
    day, month, year = int(match[1]), int(match[2]), int(match[3])
    if len(match[3]) == 2:
        year += 2000 if year < 69 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        raise FeedError(f"not a date: {text[:40]!r}") from None


def _number(text: str | None, what: str) -> Decimal:
    value = (text or "").strip()
    # Decimal() alone would also take "NaN", "1e3" and "1_000".
    if not _NUMBER_RE.fullmatch(value):
        raise FeedError(f"{what} is not a number: {value[:40]!r}")
    return Decimal(value)


def _item(item: ET.Element, day: date | None) -> Rate:
    code = (item.findtext("title") or "").strip()
    if not _CODE_RE.fullmatch(code):
        raise FeedError(f"not a currency code: {code[:40]!r}")
    published = item.findtext("pubDate")
    if published is not None and published.strip():
        day = parse_day(published)
    if day is None:
        raise FeedError(f"{code}: no date")
    rate = _number(item.findtext("description"), f"{code} rate")
    if rate <= 0:
        raise FeedError(f"{code}: rate {rate} is not positive")
    quant_text = (item.findtext("quant") or "").strip() or "1"
    if not quant_text.isascii() or not quant_text.isdigit() or int(quant_text) <= 0:
        raise FeedError(f"{code}: quant {quant_text[:40]!r} is not a positive whole number")
    change_text = (item.findtext("change") or "").strip()
    change = _number(change_text, f"{code} change") if change_text else None
    trend = _TRENDS.get((item.findtext("index") or "").strip().upper(), "")
    return Rate(code, day, rate, int(quant_text), change, trend)


def _current(items: Iterable[Rate]) -> Feed:
    items = list(items)
    if not items:
        return Feed(None, [])
    # The feed's day is the one most items share (the latest on a tie): a dead currency's
    # old date, or one odd item, cannot pass for today's.
    counts = Counter(item.day for item in items)
    day = max(counts, key=lambda d: (counts[d], d))
    rates = [item for item in items if item.day == day]
    codes = Counter(rate.code for rate in rates)
    twice = sorted(code for code, n in codes.items() if n > 1)
    if twice:
        raise FeedError(f"listed twice for {day}: {', '.join(twice)}")
    return Feed(day, rates, [item for item in items if item.day != day])


def parse_feed(body: bytes | str) -> Feed:
    """Parse either format; raise FeedError for anything that is not a whole, sane feed."""
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError) as error:
        # LookupError: an encoding declaration Python does not know.
        raise FeedError(f"not XML: {error}") from None
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise FeedError("RSS without a channel")
        return _current(_item(item, None) for item in channel.findall("item"))
    if root.tag == "rates":
        date_text = root.findtext("date")
        day = parse_day(date_text) if date_text and date_text.strip() else None
        feed = _current(_item(item, day) for item in root.findall("item"))
        if feed.day is None:
            # A day without data: the document's date, no rates.
            return Feed(day, [])
        return feed
    raise FeedError(f"unexpected document <{root.tag[:40]}>")
