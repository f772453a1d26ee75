"""Filters that routers use to pick who and what a handler is for."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Chat, Message, MessageReactionCountUpdated, TelegramObject, User

from bot.config import Settings
from bot.services.ingest import ChannelPolicy


class IsAdmin(BaseFilter):
    """Whoever sent the update (a message, a button press) is in ADMIN_IDS."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and settings.is_admin(event_from_user.id)


class FromSourceChannel(BaseFilter):
    """The update comes from a channel whose posts are stored."""

    async def __call__(
        self, event: Message | MessageReactionCountUpdated, channel_policy: ChannelPolicy
    ) -> bool:
        chat: Chat = event.chat
        return channel_policy.accepts(chat)
