"""Copying source posts to the mirror chats, and keeping the copies in step.

Work is durable: the handler that stores a post only records what the mirror owes
(storage/mirror.py) and the worker here does it, through the delivery service and its
limits. A restart picks up where the last run stopped.

Albums: Telegram never says how many parts an album has. Every part that arrives moves
the album's copy a few seconds later (ALBUM_SETTLE_SECONDS); once no part has come for
that long, the album is complete and goes out as one album (copyMessages). A part later
still is copied alone when it comes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InputMediaAnimation,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)

from bot.config import Settings
from bot.services.delivery import Delivery, Job, Outcome, Result
from bot.services.ingest import entities_from_records
from bot.services.worker import Worker
from bot.telegram_errors import not_modified, refused_formatting
from storage import CopyStatus, CopyTask, Post, PostPart, SaveOutcome, Source, Storage
from storage.mirror import CopiedMessage

log = logging.getLogger(__name__)

ALBUM_SETTLE_SECONDS = 3.0
TICK_SECONDS = 1.0

_INPUT_MEDIA = {
    "photo": InputMediaPhoto,
    "video": InputMediaVideo,
    "document": InputMediaDocument,
    "audio": InputMediaAudio,
    "animation": InputMediaAnimation,
}


def content_hash(part: PostPart) -> str:
    raw = json.dumps([part.text, part.entities], ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


class Mirror(Worker):
    task_name = "mirror"
    log = log
    failure_message = "mirror pass failed"

    def __init__(
        self,
        storage: Storage,
        delivery: Delivery,
        settings: Settings,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.storage = storage
        self.delivery = delivery
        self.targets = list(settings.mirror_chat_ids)
        self.mirror_forwards = settings.mirror_forwards
        self.now = now

    # -- what handlers call ------------------------------------------------------------

    async def on_saved(
        self, post_id: int, outcome: SaveOutcome, *, source: Source, album: bool
    ) -> None:
        """A source post was stored (again): make sure the mirror owes what it should."""
        if not self.targets or (source is Source.FORWARD and not self.mirror_forwards):
            return
        if source is Source.IMPORT:
            return  # history is not news: imports are never mirrored
        settle = ALBUM_SETTLE_SECONDS if album else 0.0
        ready = self.now() + settle
        # A redelivered post (UNCHANGED) whose copy a crash interrupted is owed still;
        # enqueue() is idempotent, and moves an album's start while it is pending. An
        # edit of a post from before the mirror was set up copies nothing.
        if outcome is not SaveOutcome.UPDATED:
            await self.storage.mirror.enqueue(post_id, self.targets, ready_at=ready)
        if outcome in (SaveOutcome.UPDATED, SaveOutcome.PART_ADDED):
            await self.storage.mirror.request_edit(post_id, ready_at=ready)
        self.wake()

    async def delete(self, post_id: int) -> None:
        await self.storage.mirror.request_delete(post_id)
        self.wake()

    async def retry(self) -> int:
        count = await self.storage.mirror.retry_failed()
        self.wake()
        return count

    # -- the worker ----------------------------------------------------------------------

    def tick_seconds(self) -> float:
        return TICK_SECONDS

    async def prepare(self) -> None:
        unknown = await self.storage.mirror.resolve_in_flight()
        if unknown:
            log.warning("mirror copies in flight when the bot stopped: %s, marked unknown", unknown)

    async def work_once(self) -> int:
        """Do everything that is due now; returns how many tasks were handled."""
        tasks = await self.storage.mirror.due(self.now())
        if not tasks:
            return 0
        jobs = [Job(task.target_chat_id, self._sender(task)) for task in tasks]
        by_job = {id(job): task for job, task in zip(jobs, tasks, strict=True)}

        async def before(job: Job) -> None:
            task = by_job[id(job)]
            if task.status is CopyStatus.PENDING and not task.delete_pending:
                await self.storage.mirror.set_status(
                    task.post_id, task.target_chat_id, CopyStatus.SENDING
                )

        async def after(job: Job, result: Result) -> None:
            await self._record(by_job[id(job)], result)

        await self.delivery.run(jobs, after, before_send=before, stop=self._stop)
        return len(tasks)

    def _sender(self, task: CopyTask) -> Callable[[Bot, int], Awaitable[object]]:
        async def send(bot: Bot, chat_id: int) -> object:
            post = await self.storage.posts.get(task.post_id)
            if post is None:
                return None
            if task.delete_pending:
                await self._delete(bot, post, chat_id)
                return "deleted"
            if task.status is CopyStatus.PENDING:
                return await self._copy(bot, post, chat_id)
            await self._edit(bot, post, chat_id)
            return "edited"

        return send

    async def _record(self, task: CopyTask, result: Result) -> None:
        post_id, target = task.post_id, task.target_chat_id
        if result.outcome is Outcome.SENT:
            if result.value == "deleted":
                await self.storage.mirror.set_status(post_id, target, CopyStatus.DELETED)
            elif result.value == "edited":
                await self.storage.mirror.edit_done(post_id, target, None)
            elif isinstance(result.value, list):
                await self.storage.mirror.record_copies(post_id, target, result.value)
            return
        error = result.error or result.outcome.value
        if result.outcome is Outcome.IN_DOUBT and task.status is CopyStatus.PENDING:
            # The copy may be in the chat: never copied again by itself (/mirror retry
            # leaves it too), shown in /stats as in doubt.
            await self.storage.mirror.set_status(post_id, target, CopyStatus.UNKNOWN, error)
            log.warning("mirror copy in doubt post_id=%s chat_id=%s: %s", post_id, target, error)
        elif task.status is CopyStatus.PENDING and not task.delete_pending:
            await self.storage.mirror.set_status(post_id, target, CopyStatus.FAILED, error)
            log.warning("mirror copy failed post_id=%s chat_id=%s: %s", post_id, target, error)
        elif task.delete_pending:
            await self.storage.mirror.set_status(post_id, target, CopyStatus.DELETED, error)
        elif await self.storage.mirror.edit_done(post_id, target, error):
            log.warning(
                "mirror copy could not be edited post_id=%s chat_id=%s: %s", post_id, target, error
            )

    # -- Telegram calls ------------------------------------------------------------------

    async def _copy(self, bot: Bot, post: Post, chat_id: int) -> list[CopiedMessage]:
        parts = post.parts
        if post.source is Source.FORWARD:
            # The bot may not see the origin channel: send what was stored instead.
            return await self._resend(bot, post, chat_id)
        if len(parts) > 1:
            ids = await bot.copy_messages(
                chat_id, from_chat_id=post.channel_id, message_ids=[p.message_id for p in parts]
            )
            copies = [m.message_id for m in ids]
        else:
            copied = await bot.copy_message(chat_id, post.channel_id, parts[0].message_id)
            copies = [copied.message_id]
        return [_copied(part, copy) for part, copy in zip(parts, copies, strict=False)]

    async def _resend(self, bot: Bot, post: Post, chat_id: int) -> list[CopiedMessage]:
        result = []
        for part in post.parts:
            try:
                sent = await self._resend_part(bot, part, chat_id, formatted=True)
            except TelegramBadRequest as error:
                if not refused_formatting(error):
                    raise
                # Formatting Telegram will not take (a custom emoji id it does not know):
                # the words matter more than the bold.
                log.warning(
                    "mirror: formatting refused, sent plain post_id=%s chat_id=%s: %s",
                    post.id,
                    chat_id,
                    error.message,
                )
                sent = await self._resend_part(bot, part, chat_id, formatted=False)
            if sent is not None:
                result.append(_copied(part, sent.message_id))
        return result

    async def _resend_part(
        self, bot: Bot, part: PostPart, chat_id: int, *, formatted: bool
    ) -> Message | None:
        entities = (entities_from_records(part.entities) or None) if formatted else None
        media = part.media
        if media is not None and media.file_id and media.kind in _INPUT_MEDIA:
            sender = getattr(bot, f"send_{media.kind}")
            sent: Message = await sender(
                chat_id,
                media.file_id,
                caption=part.text or None,
                caption_entities=entities,
                parse_mode=None,
            )
            return sent
        if part.text:
            return await bot.send_message(chat_id, part.text, entities=entities, parse_mode=None)
        return None

    async def _edit(self, bot: Bot, post: Post, chat_id: int) -> None:
        copies = await self.storage.mirror.copies(post.id, chat_id)
        for part in post.parts:
            copy = copies.get(part.message_id)
            if copy is None:
                # A part of an album that came after the album was copied.
                if post.source is not Source.FORWARD:
                    sent = await bot.copy_message(chat_id, post.channel_id, part.message_id)
                    await self.storage.mirror.record_copies(
                        post.id, chat_id, [*copies.values(), _copied(part, sent.message_id)]
                    )
                continue
            new = _copied(part, copy.copy_message_id)
            if new == copy:
                continue
            try:
                await self._edit_part(bot, chat_id, part, copy)
            except TelegramBadRequest as error:
                if refused_formatting(error):
                    log.warning(
                        "mirror: formatting refused, edited plain post_id=%s chat_id=%s: %s",
                        post.id,
                        chat_id,
                        error.message,
                    )
                    await self._edit_part(bot, chat_id, part, copy, formatted=False)
                elif not not_modified(error):
                    raise
            await self.storage.mirror.update_copy(post.id, chat_id, new)

    async def _edit_part(
        self,
        bot: Bot,
        chat_id: int,
        part: PostPart,
        copy: CopiedMessage,
        *,
        formatted: bool = True,
    ) -> None:
        entities = (entities_from_records(part.entities) or None) if formatted else None
        media = part.media
        if media is None:
            await bot.edit_message_text(
                text=part.text,
                chat_id=chat_id,
                message_id=copy.copy_message_id,
                entities=entities,
                parse_mode=None,
            )
            return
        if (
            media.file_unique_id != copy.media_unique_id
            and media.file_id
            and (media.kind in _INPUT_MEDIA)
        ):
            input_media = _INPUT_MEDIA[media.kind](
                media=media.file_id,
                caption=part.text or None,
                caption_entities=entities,
                parse_mode=None,
            )
            await bot.edit_message_media(
                media=input_media, chat_id=chat_id, message_id=copy.copy_message_id
            )
            return
        await bot.edit_message_caption(
            chat_id=chat_id,
            message_id=copy.copy_message_id,
            caption=part.text,
            caption_entities=entities,
            parse_mode=None,
        )

    async def _delete(self, bot: Bot, post: Post, chat_id: int) -> None:
        copies = await self.storage.mirror.copies(post.id, chat_id)
        ids = sorted(c.copy_message_id for c in copies.values())
        if not ids:
            return
        try:
            await bot.delete_messages(chat_id, ids)
        except TelegramBadRequest as error:
            # Already gone, or too old to delete (48 hours in groups): nothing to undo.
            log.info("mirror copy not deleted post_id=%s chat_id=%s: %s", post.id, chat_id, error)


def _copied(part: PostPart, copy_id: int) -> CopiedMessage:
    return CopiedMessage(
        source_message_id=part.message_id,
        copy_message_id=copy_id,
        media_unique_id=part.media.file_unique_id if part.media else None,
        content_hash=content_hash(part),
    )
