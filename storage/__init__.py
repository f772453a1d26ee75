"""Storage in SQLite (the default) or PostgreSQL. The only code that speaks SQL; it knows
nothing of Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.db import Database, StorageUnavailable
from storage.inbox import Inbox
from storage.mirror import CopyStatus, CopyTask, MirrorRepository
from storage.models import (
    Entity,
    IncomingMessage,
    Media,
    Post,
    PostPart,
    PostStats,
    PostSummary,
    SaveOutcome,
    SaveResult,
    SearchHit,
    Source,
)
from storage.posts import PostRepository
from storage.rates import FetchRecord, Rate, RateRepository
from storage.readers import ReaderLanguages, ReaderRepository
from storage.subscribers import DeliveryLedger, DeliveryStatus, Subscriber, SubscriberRepository
from storage.topics import (
    AlertStatus,
    DueAlert,
    FollowOutcome,
    Topic,
    TopicMatches,
    TopicReader,
    TopicRepository,
    TopicStats,
)

__all__ = [
    "AlertStatus",
    "CopyStatus",
    "CopyTask",
    "Database",
    "DeliveryLedger",
    "DeliveryStatus",
    "DueAlert",
    "Entity",
    "FetchRecord",
    "FollowOutcome",
    "Inbox",
    "IncomingMessage",
    "Media",
    "MirrorRepository",
    "Post",
    "PostPart",
    "PostRepository",
    "PostStats",
    "PostSummary",
    "Rate",
    "RateRepository",
    "ReaderLanguages",
    "ReaderRepository",
    "SaveOutcome",
    "SaveResult",
    "SearchHit",
    "Source",
    "Storage",
    "StorageUnavailable",
    "Subscriber",
    "SubscriberRepository",
    "Topic",
    "TopicMatches",
    "TopicReader",
    "TopicRepository",
    "TopicStats",
]


@dataclass(slots=True)
class Storage:
    """Every repository over one open database."""

    db: Database
    posts: PostRepository
    rates: RateRepository
    subscribers: SubscriberRepository
    deliveries: DeliveryLedger
    mirror: MirrorRepository
    inbox: Inbox
    topics: TopicRepository
    readers: ReaderRepository

    @classmethod
    async def open(cls, url: Path | str) -> Storage:
        """A SQLite file (a path or `sqlite:///path`), or `postgresql://…`."""
        db = await Database.open(url)
        return cls(
            db=db,
            posts=PostRepository(db),
            rates=RateRepository(db),
            subscribers=SubscriberRepository(db),
            deliveries=DeliveryLedger(db),
            mirror=MirrorRepository(db),
            inbox=Inbox(db),
            topics=TopicRepository(db),
            readers=ReaderRepository(db),
        )

    async def close(self) -> None:
        await self.db.close()
