"""Turning Telegram messages into storage records, and deciding which channels count."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from aiogram.enums import ContentType
from aiogram.types import Chat, Message, MessageEntity, MessageOriginChannel, ReactionCount

from storage import Entity, IncomingMessage, Media, Source

log = logging.getLogger(__name__)

# Order matters only for messages that carry several (a video's thumbnail is not media).
_MEDIA_KINDS = (
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
)

#: Content worth storing; service messages (a pin, a new title) and polls are not news.
STORED_CONTENT = frozenset({ContentType.TEXT, *(ContentType(kind) for kind in _MEDIA_KINDS)})


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text SQLite can store: a lone UTF-16 surrogate (possible in JSON, never in real
    text) becomes U+FFFD, which is one UTF-16 unit too, so entity offsets still fit."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _cleaned(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def entities_to_records(entities: Sequence[MessageEntity] | None) -> list[Entity]:
    """Entities as Telegram sent them (UTF-16 offsets), ready to be stored as JSON."""
    return [
        {k: _cleaned(v) for k, v in e.model_dump(mode="json", exclude_none=True).items()}
        for e in entities or ()
    ]


def entities_from_records(records: Sequence[Entity]) -> list[MessageEntity]:
    return [MessageEntity.model_validate(record) for record in records]


def media_of(message: Message) -> Media | None:
    for kind in _MEDIA_KINDS:
        value = getattr(message, kind, None)
        if not value:
            continue
        if kind == "photo":
            # Telegram sends every size of a photo; the last is the largest.
            value = value[-1]
        return Media(
            kind=kind,
            file_id=clean_text(value.file_id),
            file_unique_id=clean_text(value.file_unique_id) or None,
        )
    return None


def to_incoming(
    message: Message,
    *,
    chat: Chat,
    message_id: int,
    source: Source,
    forwarded_by: int | None = None,
) -> IncomingMessage:
    """A channel message (or a forward of one) as storage sees it.

    `chat` and `message_id` are the post's identity: the channel's own, even when the
    message reached the bot as a forward in a private chat.
    """
    if message.text is not None:
        text, entities = message.text, message.entities
    else:
        text, entities = message.caption or "", message.caption_entities
    return IncomingMessage(
        channel_id=chat.id,
        message_id=message_id,
        date=message.date,
        edit_date=None
        if message.edit_date is None
        else datetime.fromtimestamp(message.edit_date, UTC),
        source=source,
        text=clean_text(text),
        entities=entities_to_records(entities),
        media=media_of(message),
        media_group_id=clean_text(message.media_group_id) if message.media_group_id else None,
        channel_title=clean_text(chat.title or ""),
        channel_username=clean_text(chat.username) if chat.username else None,
        forwarded_by=forwarded_by,
    )


def from_channel(message: Message) -> IncomingMessage:
    return to_incoming(
        message, chat=message.chat, message_id=message.message_id, source=Source.CHANNEL
    )


def from_forward(message: Message, origin: MessageOriginChannel) -> IncomingMessage:
    incoming = to_incoming(
        message,
        chat=origin.chat,
        message_id=origin.message_id,
        source=Source.FORWARD,
        forwarded_by=message.from_user.id if message.from_user else None,
    )
    # The message's own date is when it was forwarded; the post's is the origin's.
    return replace(incoming, date=origin.date, edit_date=None)


def reaction_total(reactions: Sequence[ReactionCount]) -> int:
    return sum(r.total_count for r in reactions)


class ChannelPolicy:
    """Which channels' posts are stored: SOURCE_CHANNELS, or every channel when empty.

    Posts of other channels are ignored, and each such channel is logged once.
    """

    def __init__(self, sources: Sequence[int | str]) -> None:
        self._ids = {s for s in sources if isinstance(s, int)}
        self._usernames = {s.lower() for s in sources if isinstance(s, str)}
        self._logged: set[int] = set()

    @property
    def accepts_all(self) -> bool:
        return not self._ids and not self._usernames

    def accepts(self, chat: Chat) -> bool:
        if self.accepts_all or chat.id in self._ids:
            return True
        if chat.username and chat.username.lower() in self._usernames:
            return True
        if chat.id not in self._logged:
            self._logged.add(chat.id)
            log.info(
                "ignoring posts of channel outside SOURCE_CHANNELS chat_id=%s username=%s",
                chat.id,
                chat.username,
            )
        return False


class AlbumNotices:
    """Remembers which forwarded albums an admin has been answered about.

    Bounded, and only in memory: after a restart an album may be answered twice, which
    costs a line of text, not a post.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._seen: OrderedDict[tuple[int, str], None] = OrderedDict()
        self._capacity = capacity

    def first(self, chat_id: int, media_group_id: str) -> bool:
        key = (chat_id, media_group_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True
