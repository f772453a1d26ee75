"""What every source of exchange offices' quotes gives: offices with their quotes.

A source is a URL template and a parser. kurs.kz is the one in use (kurskz.py); another
(a bank's JSON, the mig.kz widget) is one more module with a class of this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class SourceError(ValueError):
    """The body is not the page the parser knows (its layout changed, or it is garbage)."""


@dataclass(frozen=True, slots=True)
class Quote:
    """What one office pays for one unit of a currency (`buy`) and asks for it (`sell`),
    in tenge; None where the office gives no quote."""

    buy: Decimal | None
    sell: Decimal | None


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    name: str
    address: str
    #: When the office last set its quotes (aware, UTC).
    quoted_at: datetime
    #: The source marks the quotes as current (kurs.kz greys out old ones).
    current: bool
    #: Wholesale prices, not for a person with cash at the window.
    wholesale: bool
    quotes: dict[str, Quote] = field(default_factory=dict)


class MarketSource(Protocol):
    #: Named beside the numbers, as the source's terms of use ask of anyone showing them.
    name: str

    def url(self, template: str, city: str) -> str:
        """The page of `city`'s offices."""
        ...

    def parse(self, body: bytes) -> list[Office]:
        """Every office the page lists; SourceError when the page cannot be trusted."""
        ...
