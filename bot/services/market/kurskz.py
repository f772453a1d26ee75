"""kurs.kz: an aggregator of Kazakhstan's exchange offices.

Its page of a city (https://kurs.kz/site/index?city=almaty) embeds every office in a
script, `var punkts = [{...}, ...];` (a real capture: tests/data/kurs/). The array is read
with a JSON parser from where the assignment starts: the page's script is never run.

Each office: `id`, `name`, `mainaddress` (or `address`), `actual` (false: an old quote),
`wholesale`, `actualTime` (unix seconds of its last quote) and `data`, `{"USD": [buy,
sell], ...}` in tenge, 0 meaning "no quote". An office that does not read so is left out;
a page where most do not, or with no array at all, is a SourceError: better no market
numbers than a wrong one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.services.market.sources import Office, Quote, SourceError

_START = re.compile(rb"\bvar\s+punkts\s*=\s*")
_CODE = re.compile(r"[A-Z]{3}")
_SPACES = re.compile(r"\s+")
#: Unix seconds between 2000 and 2100: anything else is not a time kurs.kz writes.
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800


def _no_constants(name: str) -> Any:
    # json accepts NaN and Infinity by default; neither is a price.
    raise SourceError(f"{name} in the quotes")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)


class KursKz:
    name = "kurs.kz"

    def url(self, template: str, city: str) -> str:
        return template.replace("{city}", city)

    def parse(self, body: bytes) -> list[Office]:
        return parse_page(body)


def parse_page(body: bytes) -> list[Office]:
    match = _START.search(body)
    if match is None:
        raise SourceError("no `var punkts = [...]` in the page")
    try:
        # Only the array is read; a bad byte elsewhere in the page does not matter, and
        # one inside it breaks the JSON, which is refused below.
        text = body[match.end() :].decode("utf-8", "replace")
        punkts, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"punkts is not JSON: {error.msg} at {error.pos}") from None
    if not isinstance(punkts, list):
        raise SourceError(f"punkts is a {type(punkts).__name__}, not a list")
    offices = [office for item in punkts if (office := _office(item)) is not None]
    if len(offices) * 2 < len(punkts):
        # Most offices no longer read as they did: the layout changed under us.
        raise SourceError(f"only {len(offices)} of {len(punkts)} offices could be read")
    return offices


def _text(value: object) -> str:
    return _SPACES.sub(" ", value).strip() if isinstance(value, str) else ""


def _price(value: object) -> Decimal | None:
    """A price in tenge; None for "no quote" (0) and for anything that is not a price."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    price = Decimal(value)
    return price if price.is_finite() and price > 0 else None


def _office(item: object) -> Office | None:
    if not isinstance(item, dict):
        return None
    ident, stamp, data = item.get("id"), item.get("actualTime"), item.get("data")
    if isinstance(ident, bool) or not isinstance(ident, int | str) or not str(ident):
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not _EARLIEST <= stamp < _LATEST:
        return None
    if not isinstance(data, dict):
        return None
    actual, wholesale = item.get("actual"), item.get("wholesale")
    if not isinstance(actual, bool) or not isinstance(wholesale, bool):
        return None
    quotes = {}
    for code, pair in data.items():
        if not isinstance(code, str) or not _CODE.fullmatch(code.upper()):
            continue  # kurs.kz lists "" and "GOLD" beside the currencies
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        quotes[code.upper()] = Quote(_price(pair[0]), _price(pair[1]))
    return Office(
        id=str(ident),
        name=_text(item.get("name")) or f"#{ident}",
        address=_text(item.get("mainaddress")) or _text(item.get("address")),
        quoted_at=datetime.fromtimestamp(stamp, UTC),
        current=actual,
        wholesale=wholesale,
        quotes=quotes,
    )
