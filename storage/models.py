"""Plain records that storage takes and returns. Nothing here knows about Telegram."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: A formatting entity as Telegram describes it: type, offset, length (UTF-16 units) and
#: the type's extra fields (url, user, language, custom_emoji_id).
Entity = dict[str, Any]


class Source(enum.StrEnum):
    CHANNEL = "channel"
    FORWARD = "forward"
    IMPORT = "import"


class SaveOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    #: Another message of an album that was already stored: the post grew.
    PART_ADDED = "part_added"


@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # photo, video, document, audio, animation, voice, video_note, sticker
    file_id: str | None
    file_unique_id: str | None = None

    def same_as(self, other: Media | None) -> bool:
        if other is None or other.kind != self.kind:
            return False
        if self.file_unique_id and other.file_unique_id:
            return self.file_unique_id == other.file_unique_id
        return self.file_id == other.file_id


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One channel message as it reached the bot: a post, or one part of an album."""

    channel_id: int
    message_id: int
    date: datetime
    source: Source
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    media: Media | None = None
    media_group_id: str | None = None
    edit_date: datetime | None = None
    channel_title: str = ""
    channel_username: str | None = None
    forwarded_by: int | None = None
    #: The message's reaction total when the source tells it (an export does); None
    #: leaves the stored count alone, which reaction count updates keep.
    reactions: int | None = None


@dataclass(frozen=True, slots=True)
class PostPart:
    message_id: int
    text: str
    entities: list[Entity]
    media: Media | None
    edit_date: datetime | None


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    channel_id: int
    message_id: int
    channel_title: str
    channel_username: str | None
    date: datetime
    edit_date: datetime | None
    text: str
    entities: list[Entity]
    source: Source
    media_group_id: str | None = None
    forwarded_by: int | None = None
    reactions: int = 0
    opens: int = 0
    deleted: bool = False
    parts: list[PostPart] = field(default_factory=list)

    @property
    def media(self) -> list[Media]:
        return [part.media for part in self.parts if part.media is not None]


@dataclass(frozen=True, slots=True)
class PostSummary:
    """What a list of posts shows: enough for a headline, a date and a link."""

    id: int
    channel_id: int
    message_id: int
    channel_title: str
    channel_username: str | None
    date: datetime
    text: str
    media_kinds: list[str]
    reactions: int = 0
    opens: int = 0

    @property
    def score(self) -> int:
        return self.reactions + self.opens


@dataclass(frozen=True, slots=True)
class PostStats:
    total: int
    recent: int
    by_channel: list[tuple[str, int]]
    by_source: dict[str, int]


@dataclass(frozen=True, slots=True)
class SearchHit:
    post: PostSummary
    rank: float


@dataclass(frozen=True, slots=True)
class SaveResult:
    outcome: SaveOutcome
    post_id: int
