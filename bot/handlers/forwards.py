"""Channel posts that admins forward to the bot in a private chat."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message, MessageOriginChannel

from bot.filters import IsAdmin
from bot.render import post_headline
from bot.services.ingest import STORED_CONTENT, AlbumNotices, from_forward
from bot.services.mirror import Mirror
from bot.texts import N_, t
from storage import SaveOutcome, Source, Storage

log = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE, F.forward_origin)
    # Checked first: a non-admin's forward is refused whatever it is.
    router.message.register(refuse_non_admin, ~IsAdmin())
    router.message.register(
        store_forward, F.forward_origin.type == "channel", F.content_type.in_(STORED_CONTENT)
    )
    router.message.register(refuse_not_channel_post)
    return router


_REPLY = {
    SaveOutcome.CREATED: N_("forward_created"),
    SaveOutcome.UPDATED: N_("forward_updated"),
    SaveOutcome.PART_ADDED: N_("forward_updated"),
    SaveOutcome.UNCHANGED: N_("forward_unchanged"),
}


async def refuse_non_admin(message: Message, lang: str) -> None:
    log.info("forward refused: not an admin user_id=%s", message.from_user and message.from_user.id)
    await message.answer(t(lang, "forward_not_admin"))


async def store_forward(
    message: Message,
    storage: Storage,
    album_notices: AlbumNotices,
    lang: str,
    mirror: Mirror | None = None,
) -> None:
    origin = message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    result = await storage.posts.save(from_forward(message, origin))
    if mirror is not None:
        await mirror.on_saved(
            result.post_id,
            result.outcome,
            source=Source.FORWARD,
            album=message.media_group_id is not None,
        )
    log.info(
        "forward %s chat_id=%s message_id=%s post_id=%s",
        result.outcome,
        origin.chat.id,
        origin.message_id,
        result.post_id,
    )
    # An album arrives as one message per item: answer the first, not every photo.
    if message.media_group_id and not album_notices.first(message.chat.id, message.media_group_id):
        return
    post = await storage.posts.get(result.post_id)
    assert post is not None
    await message.answer(t(lang, _REPLY[result.outcome], headline=post_headline(post, lang)))


async def refuse_not_channel_post(message: Message, lang: str) -> None:
    await message.answer(t(lang, "forward_not_channel"))
