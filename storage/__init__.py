"""SQLite storage. The only code that speaks SQL; it knows nothing of Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.db import Database, StorageUnavailable
from storage.models import (
    Entity,
    IncomingMessage,
    Media,
    Post,
    PostPart,
    SaveOutcome,
    SaveResult,
    Source,
)
from storage.posts import PostRepository

__all__ = [
    "Database",
    "Entity",
    "IncomingMessage",
    "Media",
    "Post",
    "PostPart",
    "PostRepository",
    "SaveOutcome",
    "SaveResult",
    "Source",
    "Storage",
    "StorageUnavailable",
]


@dataclass(slots=True)
class Storage:
    """Every repository over one open database."""

    db: Database
    posts: PostRepository

    @classmethod
    async def open(cls, path: Path | str) -> Storage:
        db = await Database.open(path)
        return cls(db=db, posts=PostRepository(db))

    async def close(self) -> None:
        await self.db.close()
