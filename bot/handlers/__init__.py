"""The bot's routers, in the order that decides which handler wins."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import channel, errors, forwards, start


def routers() -> list[Router]:
    """Fresh routers each call, so that tests can build many dispatchers in one process."""
    return [
        errors.create_router(),
        channel.create_router(),
        # Forwards before commands: a forwarded "/start" text is a post, not a command.
        forwards.create_router(),
        start.create_router(),  # last: its catch-all answers unknown commands
    ]
