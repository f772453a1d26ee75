"""Callback data of inline buttons. Each says all a button needs, so buttons keep working
after a restart; each packs into Telegram's 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class FeedPage(CallbackData, prefix="f"):
    """A page of /latest: `n` posts older ("o") or newer ("n") than post (t, i)."""

    d: str
    t: int
    i: int
    n: int


class OpenPost(CallbackData, prefix="p"):
    id: int


class SearchPage(CallbackData, prefix="s"):
    """Results of stored search `q` from offset `o`."""

    q: int
    o: int


class Menu(CallbackData, prefix="m"):
    """A main-menu button: latest, top, digest, rates, subscribe."""

    a: str


class SendDigest(CallbackData, prefix="sd"):
    """The admin's answer to "send the digest now?": go (1) or cancel (0)."""

    go: int


class DeletePost(CallbackData, prefix="dp"):
    """The admin's answer to "delete this post?": go (1) or cancel (0)."""

    id: int
    go: int
