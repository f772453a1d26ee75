"""Posts, edits and reaction counts from the channels the bot administers."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import Message, MessageReactionCountUpdated

from bot.filters import FromSourceChannel
from bot.services.alerts import AlertWorker
from bot.services.ingest import STORED_CONTENT, from_channel, reaction_total
from bot.services.mirror import Mirror
from storage import Source, Storage

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name=__name__)
    for observer in (router.channel_post, router.edited_channel_post):
        observer.filter(FromSourceChannel())
        observer.register(store_channel_post, F.content_type.in_(STORED_CONTENT))
    router.message_reaction_count.filter(FromSourceChannel())
    router.message_reaction_count.register(store_reactions)
    return router


async def store_channel_post(
    message: Message,
    storage: Storage,
    mirror: Mirror | None = None,
    alerts: AlertWorker | None = None,
) -> None:
    incoming = from_channel(message)
    result = await storage.posts.save(incoming)
    if mirror is not None:
        await mirror.on_saved(
            result.post_id,
            result.outcome,
            source=Source.CHANNEL,
            album=message.media_group_id is not None,
        )
    if alerts is not None:
        # Readers following a matching topic are owed an alert (a first store only).
        await alerts.on_saved(
            result, incoming.text, edited=message.edit_date is not None, date=message.date
        )
    log.info(
        "channel post %s chat_id=%s message_id=%s post_id=%s",
        result.outcome,
        message.chat.id,
        message.message_id,
        result.post_id,
    )


async def store_reactions(update: MessageReactionCountUpdated, storage: Storage) -> None:
    total = reaction_total(update.reactions)
    post_id = await storage.posts.set_reactions(update.chat.id, update.message_id, total)
    log.debug(
        "reactions chat_id=%s message_id=%s total=%s post_id=%s",
        update.chat.id,
        update.message_id,
        total,
        post_id,
    )
