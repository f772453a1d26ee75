"""`python -m bot rates backfill FROM TO`: fill the stored rate history, politely."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, timedelta
from typing import TextIO

from bot.config import Settings
from bot.services.rates import FETCH_DEADLINE_SECONDS
from storage import Storage
from storage.engine import STORAGE_ERRORS

#: Ten years of days: a longer run is more likely a typo in a year than a wish.
MAX_DAYS = 3660


def parse_day(value: str) -> date:
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            # Only the date is kept, so the naive datetime's missing zone does not matter.
            return datetime.strptime(value.strip(), pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"expected a date as DD.MM.YYYY or YYYY-MM-DD, got {value!r}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("rates", help="exchange rates: fill the stored history")
    actions = parser.add_subparsers(dest="rates_action", metavar="ACTION", required=True)
    backfill = actions.add_parser(
        "backfill",
        help="fetch each day from FROM to TO from RATES_HISTORY_URL and store it",
        description=(
            "Fetch the National Bank's rates for each day from FROM to TO (inclusive) from "
            "RATES_HISTORY_URL, one request at a time with a pause between, and store them. "
            "Days already stored are skipped, so an interrupted run can be repeated. A day "
            f"the feed has not answered in full within {FETCH_DEADLINE_SECONDS:g} seconds is "
            "reported as failed and the run goes on."
        ),
    )
    backfill.add_argument("first", type=parse_day, metavar="FROM", help="DD.MM.YYYY")
    backfill.add_argument("last", type=parse_day, metavar="TO", help="DD.MM.YYYY")
    backfill.add_argument(
        "--pause", type=float, default=1.0, help="seconds between requests (default: 1)"
    )
    backfill.add_argument("--force", action="store_true", help="fetch stored days again")
    backfill.set_defaults(handler=backfill_command)


def backfill_command(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(
        run_backfill(settings, args.first, args.last, pause=args.pause, force=args.force)
    )


async def run_backfill(
    settings: Settings,
    first: date,
    last: date,
    *,
    pause: float = 1.0,
    force: bool = False,
    out: TextIO | None = None,
) -> int:
    from bot.app import create_http_client
    from bot.services.rates import RatesService

    out = out or sys.stdout
    err = sys.stderr if out is sys.stdout else out
    if first > last:
        print(f"FROM ({first:%d.%m.%Y}) is after TO ({last:%d.%m.%Y})", file=err)
        return 2
    if (last - first) >= timedelta(days=MAX_DAYS):
        print(f"at most {MAX_DAYS} days at a time; split the range", file=err)
        return 2
    if pause < 0:
        print("--pause cannot be negative", file=err)
        return 2

    def progress(day: date, what: str) -> None:
        print(f"{day:%d.%m.%Y} {what}", file=out, flush=True)

    storage = await Storage.open(settings.database)
    http = create_http_client()
    try:
        service = RatesService.from_settings(settings, http, storage.rates)
        report = await service.backfill(first, last, pause=pause, force=force, progress=progress)
    except STORAGE_ERRORS as error:
        print(f"the database cannot be written: {error}", file=err)
        return 1
    finally:
        await http.aclose()
        await storage.close()
    print(
        f"stored {len(report.stored)} days, skipped {len(report.skipped)} already stored, "
        f"{len(report.empty)} without rates, {len(report.failed)} failed",
        file=out,
    )
    return 1 if report.failed else 0
