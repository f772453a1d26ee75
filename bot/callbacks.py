"""Callback data of inline buttons. Each says all a button needs, so buttons keep working
after a restart; each packs into Telegram's 64 bytes."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.services.feed import MAX_COUNT
from storage.search_index import SEARCH_WINDOW

# Anyone can send a button press with made-up data. Every number here is bounded by what
# the bot itself ever packs, so a forged one (beyond SQLite's 64 bits, a moment past year
# 9999, a page of a million posts) is refused by the filter like any other mismatch, and
# the press gets "this button no longer works" instead of reaching SQLite.

#: A stored row's id: SQLite hands out 1 and up, within 64 bits.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
#: A post's date as Unix seconds, up to the last second of year 9999 (datetime's limit).
Timestamp = Annotated[int, Field(ge=0, le=253_402_300_799)]
#: The answer to a yes/no question.
YesNo = Annotated[int, Field(ge=0, le=1)]


class FeedPage(CallbackData, prefix="f"):
    """A page of /latest: `n` posts older ("o") or newer ("n") than post (t, i)."""

    d: Literal["o", "n"]
    t: Timestamp
    i: RowId
    n: Annotated[int, Field(ge=1, le=MAX_COUNT)]


class OpenPost(CallbackData, prefix="p"):
    id: RowId


class SearchPage(CallbackData, prefix="s"):
    """Results of stored search `q` from offset `o`.

    Search ranks only the SEARCH_WINDOW newest matches, so no page starts past it.
    """

    q: RowId
    o: Annotated[int, Field(ge=0, le=SEARCH_WINDOW)]


class Menu(CallbackData, prefix="m"):
    """A main-menu button: latest, top, digest, rates, subscribe."""

    a: str


class SendDigest(CallbackData, prefix="sd"):
    """The admin's answer to "send the digest now?": go (1) or cancel (0)."""

    go: YesNo


class DeletePost(CallbackData, prefix="dp"):
    """The admin's answer to "delete this post?": go (1) or cancel (0)."""

    id: RowId
    go: YesNo


class FollowSearch(CallbackData, prefix="fw"):
    """Follow the words of stored search `q` as a topic."""

    q: RowId


class DropTopic(CallbackData, prefix="uf"):
    """Stop following topic `id` (only the reader's own)."""

    id: RowId


class MarketView(CallbackData, prefix="mk"):
    """A city's rates ("r", as /rates shows them) or its best exchange offices ("m", as
    /rates market does). Pressing it also makes `c` the reader's city."""

    # A slug as MARKET_CITIES allows; whether it is still configured, the handler checks.
    c: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
    v: Literal["r", "m"]


class ChooseLanguage(CallbackData, prefix="lg"):
    """A /language button: the code of the language chosen (one of the catalogs')."""

    c: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
