"""Filters that routers use to pick who and what a handler is for."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Chat, Message, MessageReactionCountUpdated

from bot.config import Settings
from bot.services.ingest import ChannelPolicy


class IsAdmin(BaseFilter):
    """The message's sender is in ADMIN_IDS."""

    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and settings.is_admin(message.from_user.id)


class FromSourceChannel(BaseFilter):
    """The update comes from a channel whose posts are stored."""

    async def __call__(
        self, event: Message | MessageReactionCountUpdated, channel_policy: ChannelPolicy
    ) -> bool:
        chat: Chat = event.chat
        return channel_policy.accepts(chat)
