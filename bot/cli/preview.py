"""`python -m bot preview latest|top|digest [DATE]|rates`: what the bot would send, as text.

The same rendering as in Telegram, printed as plain text, so that an editor can check
tomorrow's digest before it goes out."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.clock import system_clock
from bot.config import Settings
from bot.render import plain_text
from bot.services import feed
from bot.services.digest import DateError, DigestService, parse_day
from bot.texts import DEFAULT_LANGUAGE, LANGUAGES, t
from storage import Storage

WHAT = ("latest", "top", "digest", "rates")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "preview",
        help="print what the bot would send: latest, top, digest [DATE] or rates",
        description=__doc__,
    )
    parser.add_argument("what", choices=WHAT, help="which answer to show")
    parser.add_argument(
        "arg", nargs="?", help="latest: how many; top: 24h or 7d; digest: a date (17.12)"
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE, help=f"language ({DEFAULT_LANGUAGE})"
    )
    parser.set_defaults(handler=run)


async def render(args: argparse.Namespace, settings: Settings, storage: Storage) -> str:
    from bot.app import create_http_client
    from bot.handlers.news import parse_window, render_feed, top_text
    from bot.handlers.rates import rates_text
    from bot.services.market import MarketService
    from bot.services.rates import RatesService
    from storage.market import MarketRepository

    lang, now = args.lang, system_clock()
    if args.what == "latest":
        count, _ = feed.parse_count(args.arg)
        if count is None:
            raise ValueError(t(lang, "latest_bad_count", max=feed.MAX_COUNT))
        page = await feed.first_page(storage.posts, count)
        if not page.posts:
            return t(lang, "latest_empty")
        return render_feed(page, count, lang, settings, now)[0]
    if args.what == "top":
        window = parse_window(args.arg)
        if window is None:
            raise ValueError(t(lang, "top_bad_period"))
        return (await top_text(storage, settings, now, lang, window))[0]
    async with create_http_client() as http:
        rates = RatesService.from_settings(settings, http, storage.rates)
        market = MarketService.from_settings(settings, http, MarketRepository(storage.db))
        try:
            if args.what == "rates":
                return await rates_text(
                    rates,
                    settings.rates_currencies,
                    lang,
                    market=market,
                    city=market.default_city,
                    tz=settings.timezone,
                )
            today = now.astimezone(settings.timezone).date()
            try:
                day = parse_day(args.arg, today)
            except DateError as error:
                raise ValueError(t(lang, str(error))) from None
            digests = DigestService(
                storage.posts,
                rates,
                digest_time=settings.digest_time,
                tz=settings.timezone,
                market=market,
            )
            return await digests.text(day, lang, today=today)
        finally:
            # A fetch still waiting on a hanging feed ends before its HTTP client closes.
            await rates.aclose()
            await market.aclose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.uses_postgres and not settings.database_path.is_file():
        print(f"preview: no database at {settings.database_path} (DATABASE_URL)", file=sys.stderr)
        return 2

    async def main() -> str:
        storage = await Storage.open(settings.database)
        try:
            return await render(args, settings, storage)
        finally:
            await storage.close()

    try:
        print(plain_text(asyncio.run(main())))
    except ValueError as error:
        print(f"preview: {plain_text(str(error))}", file=sys.stderr)
        return 2
    return 0
