"""Callback data of inline buttons. Each says all a button needs, so buttons keep working
after a restart; each packs into Telegram's 64 bytes."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Anyone can send a button press with made-up data: numbers out of range (beyond SQLite's
# 64 bits, or a moment past year 9999) are refused by the filter like any other mismatch.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Timestamp = Annotated[int, Field(ge=0, le=253_402_300_799)]


class FeedPage(CallbackData, prefix="f"):
    """A page of /latest: `n` posts older ("o") or newer ("n") than post (t, i)."""

    d: str
    t: Timestamp
    i: Int64
    n: int


class OpenPost(CallbackData, prefix="p"):
    id: Int64


class SearchPage(CallbackData, prefix="s"):
    """Results of stored search `q` from offset `o`."""

    q: Int64
    o: int


class Menu(CallbackData, prefix="m"):
    """A main-menu button: latest, top, digest, rates, subscribe."""

    a: str


class SendDigest(CallbackData, prefix="sd"):
    """The admin's answer to "send the digest now?": go (1) or cancel (0)."""

    go: int


class DeletePost(CallbackData, prefix="dp"):
    """The admin's answer to "delete this post?": go (1) or cancel (0)."""

    id: Int64
    go: int
