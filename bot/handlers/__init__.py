"""The bot's routers, in the order that decides which handler wins."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    admin,
    channel,
    digest,
    errors,
    forwards,
    language,
    news,
    rates,
    start,
    topics,
)


def routers() -> list[Router]:
    """Fresh routers each call, so that tests can build many dispatchers in one process."""
    return [
        errors.create_router(),
        channel.create_router(),
        # Forwards before commands: a forwarded "/start" text is a post, not a command.
        forwards.create_router(),
        # Before start: a /start post_ID deep link opens the post instead of greeting.
        news.create_router(),
        digest.create_router(),
        topics.create_router(),
        admin.create_router(),
        rates.create_router(),
        language.create_router(),
        start.create_router(),  # last: its catch-all answers unknown commands
    ]
