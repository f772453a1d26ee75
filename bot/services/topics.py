"""Topics readers follow: what a topic is, and matching a new post against all of them.

A topic is a set of Snowball stems (the same stemming as /search: ё = е, any word form).
A post matches a topic when the post's stems include every stem of the topic.

Matching is done in memory, without a query per topic. Every distinct stem set is kept
once, with the readers who follow it, and is filed in an inverted index under one of its
stems only: the one whose list was shortest when the set was filed (an "anchor"). For a
post, the lists of the post's own stems give the candidates, and a candidate matches when
its stems are a subset of the post's (a C-level set operation). A topic is looked at only
when its anchor is in the post, so the work grows with the topics whose rarest word the
post holds, not with all topics. The index is built from SQLite at start and kept in step
by /follow and /unfollow; the database stays the record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.services.ingest import clean_text
from storage import FollowOutcome, Storage, Topic, TopicMatches
from storage.search_text import query_terms, stems

#: How many topics one reader may follow, and how many words one topic may have.
MAX_TOPICS = 20
MAX_TOPIC_WORDS = 5
#: A topic as typed is at most this long (it is shown in bold in each alert).
MAX_TOPIC_CHARS = 100

#: Quiet hours in TIMEZONE: alerts matched between these go out at QUIET_END.
QUIET_START = time(23, 0)
QUIET_END = time(7, 0)


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    text: str
    stems: tuple[str, ...]


class TopicError(ValueError):
    """What is wrong with a topic a reader typed: "empty", "too_many_words", "too_long"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_topic(raw: str) -> ParsedTopic:
    """A topic from what a reader typed, cleaned as /search cleans a query."""
    text = clean_text(" ".join(raw.split())[:300])
    terms = query_terms(text)
    if not terms:
        raise TopicError("empty")
    if len(terms) > MAX_TOPIC_WORDS:
        raise TopicError("too_many_words")
    if len(text) > MAX_TOPIC_CHARS:
        raise TopicError("too_long")
    return ParsedTopic(text, tuple(sorted(set(terms))))


def quiet_until(now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the quiet hours that `now` falls in end (QUIET_END local), or None in the day."""
    local = now.astimezone(tz)
    at = local.time()
    if QUIET_END <= at < QUIET_START:
        return None
    day = local.date() if at < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=tz)


class _Group:
    """Everyone following one stem set: chat id → the topic's text as they typed it.

    The stems are a tuple and the readers a dict of ints to strings: the garbage
    collector stops tracking such containers, so a large index adds little to each of
    its passes over the heap.
    """

    __slots__ = ("anchor", "readers", "stems")

    def __init__(self, stems: tuple[str, ...], anchor: str) -> None:
        self.stems = stems
        self.anchor = anchor
        self.readers: dict[int, str] = {}


class TopicIndex:
    def __init__(self) -> None:
        self._groups: dict[tuple[str, ...], _Group] = {}
        self._by_anchor: defaultdict[str, list[_Group]] = defaultdict(list)
        self._count = 0

    def __len__(self) -> int:
        """How many topics (a reader's topic each) are indexed."""
        return self._count

    def load(self, topics: Iterable[Topic]) -> None:
        for topic in topics:
            self.add(topic)

    def add(self, topic: Topic) -> None:
        key = tuple(sorted(set(topic.stems)))
        group = self._groups.get(key)
        if group is None:
            anchor = min(key, key=lambda stem: len(self._by_anchor.get(stem, ())))
            group = self._groups[key] = _Group(key, anchor)
            self._by_anchor[anchor].append(group)
        if topic.chat_id not in group.readers:
            self._count += 1
        group.readers[topic.chat_id] = topic.text

    def remove(self, topic: Topic) -> None:
        key = tuple(sorted(set(topic.stems)))
        group = self._groups.get(key)
        if group is None or group.readers.pop(topic.chat_id, None) is None:
            return
        self._count -= 1
        if not group.readers:
            del self._groups[key]
            filed = self._by_anchor[group.anchor]
            filed.remove(group)
            if not filed:
                del self._by_anchor[group.anchor]

    def match_stems(self, post_stems: set[str] | frozenset[str]) -> TopicMatches:
        """Every reader with a topic the stems satisfy, once, with all of their topics
        that matched.

        A popular word matches thousands of readers. The answer is one dict of ints to
        strings (a reader's topics one per line), not an object per reader: objects
        that live through a match would be promoted by the garbage collector and set
        off full collections of the whole heap every few posts (measured: p99 of 436 ms
        against 7 ms at the median, with 100,000 topics).
        """
        found: TopicMatches = {}
        by_anchor = self._by_anchor
        superset = post_stems.issuperset
        for stem in post_stems:
            groups = by_anchor.get(stem)
            if groups is None:
                continue
            for group in groups:
                if superset(group.stems):
                    for chat_id, text in group.readers.items():
                        prior = found.get(chat_id)
                        found[chat_id] = text if prior is None else f"{prior}\n{text}"
        return found

    def match(self, text: str) -> TopicMatches:
        if not self._groups or not text:
            return {}
        return self.match_stems(set(stems(text)))


@dataclass(frozen=True, slots=True)
class FollowResult:
    outcome: FollowOutcome
    topic: Topic | None
    #: How many topics the reader follows now.
    count: int


class TopicService:
    """Following and unfollowing, with the database and the matching index in step."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        self.index = TopicIndex()
        self._version = -1

    def _now(self) -> int:
        return int(self.clock().timestamp())

    async def load(self) -> int:
        """Build the index from the database (at start); returns how many topics."""
        # The version first: a change made while the topics are read shows as a newer one.
        version = await self.storage.topics.version()
        index = TopicIndex()
        index.load(await self.storage.topics.all())
        self.index, self._version = index, version
        return len(index)

    async def current(self) -> TopicIndex:
        """The index, rebuilt first if topics changed since it was built, in this process
        or in another sharing the database."""
        if await self.storage.topics.version() != self._version:
            await self.load()
        return self.index

    async def follow(self, chat_id: int, topic: ParsedTopic, lang: str) -> FollowResult:
        outcome, stored = await self.storage.topics.follow(
            chat_id, topic.text, topic.stems, lang=lang, limit=MAX_TOPICS, now=self._now()
        )
        if outcome is FollowOutcome.ADDED and stored is not None:
            self.index.add(stored)
        count = len(await self.storage.topics.of_reader(chat_id))
        return FollowResult(outcome, stored, count)

    async def unfollow(self, chat_id: int, topic: ParsedTopic) -> Topic | None:
        dropped = await self.storage.topics.unfollow(chat_id, topic.stems)
        if dropped is not None:
            self.index.remove(dropped)
        return dropped

    async def drop(self, chat_id: int, topic_id: int) -> Topic | None:
        dropped = await self.storage.topics.drop(chat_id, topic_id)
        if dropped is not None:
            self.index.remove(dropped)
        return dropped

    async def end_reader(self, chat_id: int, reason: str) -> list[Topic]:
        ended = await self.storage.topics.end_reader(chat_id, reason, now=self._now())
        for topic in ended:
            self.index.remove(topic)
        return ended
