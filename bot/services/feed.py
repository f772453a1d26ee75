"""Pages of the news feed: which posts, and whether there are more either way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services.links import whole_number
from storage import PostRepository, PostSummary

DEFAULT_COUNT = 10
MAX_COUNT = 50


@dataclass(frozen=True, slots=True)
class FeedPage:
    posts: list[PostSummary]
    has_newer: bool
    has_older: bool


def parse_count(arg: str | None) -> tuple[int | None, bool]:
    """(count, capped) from /latest's argument; count None when it is not a number ≥ 1."""
    if arg is None or not arg.strip():
        return DEFAULT_COUNT, False
    value = whole_number(arg.split()[0], MAX_COUNT)
    if value is None or value < 1:
        return None, False
    if value > MAX_COUNT:
        return MAX_COUNT, True
    return value, False


async def first_page(posts: PostRepository, count: int) -> FeedPage:
    found = await posts.latest(count + 1)
    return FeedPage(found[:count], has_newer=False, has_older=len(found) > count)


async def older_page(posts: PostRepository, count: int, before: tuple[datetime, int]) -> FeedPage:
    found = await posts.latest(count + 1, before=before)
    return FeedPage(found[:count], has_newer=True, has_older=len(found) > count)


async def newer_page(posts: PostRepository, count: int, after: tuple[datetime, int]) -> FeedPage:
    found = await posts.newer(count + 1, after=after)
    if len(found) <= count:
        # Back at the top: the newest page, as /latest shows it.
        return await first_page(posts, count)
    page = found[1:]  # newest first; the extra one proves there are newer still
    return FeedPage(page, has_newer=True, has_older=True)


def cursor(post: PostSummary) -> tuple[int, int]:
    return int(post.date.timestamp()), post.id
