"""Alerts about new posts to the readers who follow a matching topic.

Durable, like the mirror: the handler that stores a channel post matches it against
every topic (bot/services/topics.py) and records in the ledger what is owed, one row per
(post, reader); the worker here sends it through the delivery service (the shared pace,
each chat's pace, 429 pauses). A row is 'sending' before its request and resolved after;
at start, rows left 'sending' become 'unknown' and are never sent again.

Quiet hours: a post matched between 23:00 and 07:00 (TIMEZONE) for a reader who keeps
them waits until 07:00; the night's alerts then go to that reader as one message.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import OpenPost
from bot.clock import Clock
from bot.render import fit, local_time, post_headline, post_link, split_emoji
from bot.services.delivery import Delivery, Job, Outcome, Result
from bot.services.topics import TopicService, quiet_until
from bot.services.worker import Worker
from bot.texts import plain, plain_n
from storage import AlertStatus, DueAlert, Post, SaveOutcome, SaveResult, Storage

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
#: A post Telegram delivers again (after a crash between storing and matching it) is
#: still matched if it is this recent; an older one is history, not news.
REDELIVERY_WINDOW = timedelta(days=1)
#: Posts listed in one morning message at most; the rest are counted.
NIGHT_ITEMS = 20
NUMBERS_PER_ROW = 5


@dataclass(frozen=True, slots=True)
class _Batch:
    """One message to one reader: a single alert, or the night's alerts together."""

    chat_id: int
    alerts: list[DueAlert]
    night: bool

    @property
    def post_ids(self) -> list[int]:
        return [alert.post_id for alert in self.alerts]


class AlertWorker(Worker):
    task_name = "topic-alerts"
    log = log
    failure_message = "topic alerts pass failed"
    # due() hands out at most 1000 rows a pass: a post that matches more readers sends the
    # rest straight after, not a tick later each.
    drain = True

    def __init__(
        self,
        storage: Storage,
        delivery: Delivery,
        topics: TopicService,
        *,
        tz: ZoneInfo,
        clock: Clock,
    ) -> None:
        super().__init__()
        self.storage = storage
        self.delivery = delivery
        self.topics = topics
        self.tz = tz
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock().timestamp())

    # -- what the channel handler calls ----------------------------------------------------

    async def on_saved(self, result: SaveResult, text: str, *, edited: bool, date: datetime) -> int:
        """A channel post of SOURCE_CHANNELS was stored: owe an alert to each reader with a
        matching topic. Only a first store counts (a new post, or a new part of an album);
        an edit never alerts. Returns how many alerts were added."""
        if edited:
            return 0
        if result.outcome is SaveOutcome.UNCHANGED:
            # Telegram delivered the post again: alert only if a crash came between
            # storing and matching it the first time.
            if self.clock() - date > REDELIVERY_WINDOW:
                return 0
            if await self.storage.topics.was_matched(result.post_id):
                return 0
        elif result.outcome not in (SaveOutcome.CREATED, SaveOutcome.PART_ADDED):
            return 0
        now = self.clock()
        matches = (await self.topics.current()).match(text)
        night = quiet_until(now, self.tz)
        added = await self.storage.topics.record_matches(
            result.post_id,
            matches,
            now=int(now.timestamp()),
            quiet_until=None if night is None else int(night.timestamp()),
        )
        if added:
            log.info("topic alerts owed post_id=%s readers=%s", result.post_id, added)
            self.wake()
        return added

    # -- the worker ----------------------------------------------------------------------

    def tick_seconds(self) -> float:
        return TICK_SECONDS

    async def prepare(self) -> None:
        unknown = await self.storage.topics.resolve_in_flight(now=self._now())
        if unknown:
            log.warning("topic alerts in flight when the bot stopped: %s, not sent again", unknown)
        loaded = await self.topics.load()
        log.info("topics loaded: %s", loaded)

    async def work_once(self) -> int:
        """Send every alert that is due now; returns how many ledger rows were handled."""
        due = await self.storage.topics.due(self._now())
        if not due:
            return 0
        batches: list[_Batch] = []
        night: dict[int, list[DueAlert]] = {}
        for alert in due:
            if alert.night:
                night.setdefault(alert.chat_id, []).append(alert)
            else:
                batches.append(_Batch(alert.chat_id, [alert], night=False))
        batches.extend(_Batch(chat_id, alerts, night=True) for chat_id, alerts in night.items())
        jobs = [Job(batch.chat_id, self._sender(batch)) for batch in batches]
        by_job = {id(job): batch for job, batch in zip(jobs, batches, strict=True)}

        async def before(job: Job) -> None:
            batch = by_job[id(job)]
            await self.storage.topics.mark(
                batch.chat_id, batch.post_ids, AlertStatus.SENDING, now=self._now()
            )

        async def after(job: Job, result: Result) -> None:
            await self._record(by_job[id(job)], result)

        await self.delivery.run(jobs, after, before_send=before, stop=self._stop)
        return len(due)

    async def _record(self, batch: _Batch, result: Result) -> None:
        chat_id, post_ids, now = batch.chat_id, batch.post_ids, self._now()
        if result.outcome is Outcome.SENT:
            status = AlertStatus.SKIPPED if result.value is None else AlertStatus.SENT
            await self.storage.topics.mark(chat_id, post_ids, status, now=now)
        elif result.outcome is Outcome.IN_DOUBT:
            # Telegram may have delivered it: never sent twice.
            await self.storage.topics.mark(
                chat_id, post_ids, AlertStatus.UNKNOWN, now=now, error=result.error
            )
            log.warning("topic alert in doubt chat_id=%s: %s", chat_id, result.error)
        elif result.outcome is Outcome.GONE:
            reason = result.error or "gone"
            await self.storage.topics.mark(
                chat_id, post_ids, AlertStatus.BLOCKED, now=now, error=reason
            )
            ended = await self.topics.end_reader(chat_id, reason)
            log.info("reader gone chat_id=%s topics ended=%s: %s", chat_id, len(ended), reason)
        else:
            await self.storage.topics.mark(
                chat_id, post_ids, AlertStatus.FAILED, now=now, error=result.error
            )
            log.warning("topic alert not delivered chat_id=%s: %s", chat_id, result.error)

    def _sender(self, batch: _Batch) -> Callable[[Bot, int], Awaitable[object]]:
        async def send(bot: Bot, chat_id: int) -> object:
            posts: list[tuple[Post, DueAlert]] = []
            for alert in batch.alerts:
                post = await self.storage.posts.get(alert.post_id)
                if post is not None and not post.deleted:
                    posts.append((post, alert))
            if not posts:
                return None  # deleted before its alert went out: nothing to say
            lang = batch.alerts[0].lang
            now = self.clock()
            if batch.night:
                text, markup = night_message(posts, lang, self.tz, now)
            else:
                text, markup = alert_message(*posts[0], lang, self.tz, now)
            return await bot.send_message(chat_id, text, reply_markup=markup)

        return send


# -- what the reader sees ----------------------------------------------------------------


def _pieces(post: Post, alert: DueAlert, lang: str, tz: ZoneInfo, now: datetime) -> dict[str, str]:
    """A post's headline, link, time and channel, and the reader's topics, as HTML."""
    emoji, title = split_emoji(post_headline(post, lang))
    link = post_link(post.channel_id, post.channel_username, post.message_id)
    meta = f"{local_time(post.date, tz, now)} · {post.channel_title or '—'}"
    return {
        "emoji": emoji,
        "link": html.escape(link),
        "title": html.escape(title),
        "meta": html.escape(meta, quote=False),
        "topics": html.escape(", ".join(alert.topics), quote=False),
    }


def alert_message(
    post: Post, alert: DueAlert, lang: str, tz: ZoneInfo, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """One post for a reader: the topic in bold, the headline linking to the original,
    and a button that opens the post in the bot."""
    text = plain(lang, "alert", **_pieces(post, alert, lang, tz, now))
    button = InlineKeyboardButton(
        text=plain(lang, "alert_open"), callback_data=OpenPost(id=post.id).pack()
    )
    return text, InlineKeyboardMarkup(inline_keyboard=[[button]])


def night_message(
    posts: list[tuple[Post, DueAlert]], lang: str, tz: ZoneInfo, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """The night's matches for one reader, numbered, with a button per post."""
    header = plain(lang, "alert_night", count=len(posts))
    items = [
        plain(lang, "alert_night_item", number=str(n), **_pieces(post, alert, lang, tz, now))
        for n, (post, alert) in enumerate(posts[:NIGHT_ITEMS], 1)
    ]
    more_room = len(plain_n(lang, "alert_night_more", len(posts), count=len(posts))) + 2
    text, shown = fit(header, items, limit=4096 - more_room)
    if shown < len(posts):
        text += "\n\n" + plain_n(
            lang, "alert_night_more", len(posts) - shown, count=len(posts) - shown
        )
    buttons = [
        InlineKeyboardButton(text=str(n), callback_data=OpenPost(id=post.id).pack())
        for n, (post, _) in enumerate(posts[:shown], 1)
    ]
    rows = [buttons[i : i + NUMBERS_PER_ROW] for i in range(0, len(buttons), NUMBERS_PER_ROW)]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)
