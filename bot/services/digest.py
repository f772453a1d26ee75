"""The morning digest: which posts, for which day, and how it reads.

The digest for local date D covers the 24 hours from D−1 at DIGEST_TIME to D at
DIGEST_TIME in TIMEZONE, ranked as /top ranks, with a line of the day's rates: what the
exchange offices of the reader's city pay and ask, as the outlet's own widget shows them,
or the National Bank's official rates when there are no current market quotes.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.render import MESSAGE_LIMIT, post_headline, post_link, split_emoji
from bot.services.convert import format_number, format_short
from bot.services.market import MarketService, MarketSnapshot
from bot.services.market.cities import city_name
from bot.services.rates import RatesService
from bot.texts import N_, plain, t
from storage import PostRepository, PostSummary
from storage.engine import STORAGE_ERRORS
from storage.rates import Rate

DIGEST_SIZE = 10

#: The month as a date names it where a digest is "of" that day ("за 17 декабря",
#: "17 желтоқсандағы", "December 17").
MONTHS = (
    N_("month_of_1"),
    N_("month_of_2"),
    N_("month_of_3"),
    N_("month_of_4"),
    N_("month_of_5"),
    N_("month_of_6"),
    N_("month_of_7"),
    N_("month_of_8"),
    N_("month_of_9"),
    N_("month_of_10"),
    N_("month_of_11"),
    N_("month_of_12"),
)

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_YESTERDAY = {"вчера", "кеше", "yesterday"}
_TODAY = {"сегодня", "бүгін", "today"}


#: The earliest day a digest can be asked for: Telegram's launch. Nothing was posted
#: before it, and the day before year 1 (a digest's window starts the day before) would
#: not even be a date.
FIRST_DAY = date(2013, 8, 14)


class DateError(ValueError):
    """Why a date argument cannot be used: the key of a text for the reader."""


def date_in_words(day: date, lang: str, *, today: date) -> str:
    """17 декабря / 17 желтоқсандағы / December 17; with the year when it is not today's:
    17 декабря 2025 / 2025 жылғы 17 желтоқсандағы / December 17, 2025 (a digest of last
    December must not read as this one's)."""
    month = plain(lang, MONTHS[day.month - 1])
    if day.year == today.year:
        return plain(lang, "date_day_month", day=day.day, month=month)
    return plain(lang, "date_day_month_year", day=day.day, month=month, year=day.year)


def parse_day(arg: str | None, today: date) -> date:
    """17.12, 17.12.2023, 17.12.23, 2023-12-17, вчера/yesterday, сегодня/today, or nothing
    (today).

    A day and month without a year mean their latest occurrence up to today, so "17.12"
    in January is last December. Raises DateError("digest_bad_date",
    "digest_future_date" or "digest_old_date": before FIRST_DAY).
    """
    text = (arg or "").strip().lower()
    if not text or text in _TODAY:
        return today
    if text in _YESTERDAY:
        return today - timedelta(days=1)
    try:
        if match := _DOTTED.match(text):
            day_, month = int(match[1]), int(match[2])
            if match[3] is None:
                found = date(today.year, month, day_)
                if found > today:
                    found = date(today.year - 1, month, day_)
            else:
                # Two digits are this century's year; four are the year as written ("0023"
                # is year 23, refused below, not 2023).
                year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
                found = date(year, month, day_)
        elif match := _ISO.match(text):
            found = date(int(match[1]), int(match[2]), int(match[3]))
        else:
            raise DateError(N_("digest_bad_date"))
    except ValueError as error:
        if isinstance(error, DateError):
            raise
        raise DateError(N_("digest_bad_date")) from None
    if found > today:
        raise DateError(N_("digest_future_date"))
    if found < FIRST_DAY:
        raise DateError(N_("digest_old_date"))
    return found


def window(day: date, at: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[D−1 at `at`, D at `at`) in `tz`, as aware datetimes (historic offsets included)."""
    end = datetime.combine(day, at, tzinfo=tz)
    start = datetime.combine(day - timedelta(days=1), at, tzinfo=tz)
    return start, end


def rates_line(rates: Sequence[Rate], lang: str) -> str:
    parts = []
    for rate in rates:
        unit = f"{rate.quant} " if rate.quant != 1 else ""
        parts.append(f"{unit}{rate.code} {format_number(rate.rate, lang)}")
    return t(lang, "digest_rates", rates=" · ".join(parts))


def market_line(snapshot: MarketSnapshot, codes: Sequence[str], lang: str) -> str | None:
    """The market line: "💵 USD 517,3/519,9 · EUR 560/565 · RUB 5,5/5,8 — обменники, Алматы
    (kurs.kz)": what
    offices pay / ask, in the outlet's form; None when they quote none of `codes`."""
    parts = [
        f"{rate.code} {format_short(rate.buy, lang)}/{format_short(rate.sell, lang)}"
        for rate in snapshot.pick(codes)
    ]
    if not parts:
        return None
    return t(
        lang,
        "digest_market",
        rates=" · ".join(parts),
        city=city_name(snapshot.city, lang),
        source=snapshot.source,
    )


def compose(
    day: date,
    posts: Sequence[PostSummary],
    rates: Sequence[Rate] | None,
    lang: str,
    *,
    today: date,
    market: str | None = None,
) -> str:
    """The digest's HTML: greeting with the date in words, the posts, the rates (the
    market's line when there is one, else the official rates)."""
    when = date_in_words(day, lang, today=today)
    if not posts:
        text = t(lang, "digest_empty", date=when)
    else:
        lines = [t(lang, "digest_header", date=when), ""]
        for post in posts:
            emoji, title = split_emoji(post_headline(post, lang))
            link = post_link(post.channel_id, post.channel_username, post.message_id)
            lines.append(f'{emoji} <a href="{html.escape(link)}">{html.escape(title)}</a>')
        text = "\n".join(lines)
    if market:
        text += "\n\n" + market
    elif rates:
        text += "\n\n" + rates_line(rates, lang)
    return text[:MESSAGE_LIMIT]


class DigestService:
    def __init__(
        self,
        posts: PostRepository,
        rates: RatesService | None,
        *,
        digest_time: time,
        tz: ZoneInfo,
        market: MarketService | None = None,
    ) -> None:
        self.posts = posts
        self.rates = rates
        self.digest_time = digest_time
        self.tz = tz
        self.market = market

    async def posts_of(self, day: date) -> list[PostSummary]:
        start, end = window(day, self.digest_time, self.tz)
        return await self.posts.top_between(start, end, DIGEST_SIZE)

    async def text(self, day: date, lang: str, *, today: date, city: str | None = None) -> str:
        """The digest of `day` in `lang`, with the market rates of `city` (the default city
        when None)."""
        posts = await self.posts_of(day)
        # Side by side: each source has the reader's budget, and they share it.
        rates, market = await asyncio.gather(
            self._rates(day, today), self._market(day, today, city)
        )
        codes = self.rates.currencies if self.rates is not None else ["USD", "EUR", "RUB"]
        line = None if market is None else market_line(market, codes, lang)
        return compose(day, posts, rates, lang, today=today, market=line)

    async def cities_of(self, chat_ids: Sequence[int]) -> dict[int, str | None]:
        """Each chat's city for its digest; None everywhere without market rates."""
        if self.market is None:
            return dict.fromkeys(chat_ids)
        return dict(await self.market.cities_of(chat_ids))

    async def _market(self, day: date, today: date, city: str | None) -> MarketSnapshot | None:
        """Today's market rates if current; for a past day, the last stored by its digest
        hour and no older than the quotes' age limit. None: the official rates instead."""
        if self.market is None:
            return None
        city = city or self.market.default_city
        if day == today:
            snapshot = await self.market.current(city)
            return snapshot if self.market.current_enough(snapshot) else None
        _, end = window(day, self.digest_time, self.tz)
        snapshot = await self.market.stored(city, since=end - self.market.max_age, until=end)
        return snapshot if snapshot.rates else None

    async def _rates(self, day: date, today: date) -> list[Rate] | None:
        """Today's rates from the service; a past day's from what was stored that day."""
        if self.rates is None:
            return None
        if day == today:
            return await self.rates.current_rates()
        try:
            return await self.rates.repo.on_day(day, self.rates.currencies) or None
        except STORAGE_ERRORS:
            return None  # a digest never fails for want of rates
