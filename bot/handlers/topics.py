"""Topics a reader follows: /follow, /following, /unfollow, quiet hours, and the buttons
(drop a topic, follow a search). Alerts go to private chats, so these live there."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import DropTopic, FollowSearch
from bot.clock import Clock
from bot.render import ECHO_LIMIT, shorten
from bot.services.topics import (
    MAX_TOPIC_CHARS,
    MAX_TOPIC_WORDS,
    MAX_TOPICS,
    TopicError,
    TopicService,
    parse_topic,
)
from bot.texts import N_, plain, t, tn
from storage import FollowOutcome, Storage

#: A topic's text on its button is cut to this (the list above shows it whole).
BUTTON_CHARS = 40
_QUIET = {"on": True, "вкл": True, "қосу": True, "off": False, "выкл": False, "өшіру": False}
_COMMANDS = ("follow", "following", "unfollow")


def create_router() -> Router:
    router = Router(name=__name__)
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(follow, Command("follow"), private)
    router.message.register(following, Command("following"), private)
    router.message.register(unfollow, Command("unfollow"), private)
    router.message.register(private_only, Command(*_COMMANDS))
    router.callback_query.register(follow_search, FollowSearch.filter())
    router.callback_query.register(drop_topic, DropTopic.filter())
    return router


async def private_only(message: Message, lang: str) -> None:
    await message.answer(t(lang, "follow_private_only"))


# -- /follow ----------------------------------------------------------------------------


async def follow(
    message: Message,
    command: CommandObject,
    topics: TopicService,
    storage: Storage,
    clock: Clock,
    lang: str,
) -> None:
    words = (command.args or "").split()
    if words and words[0].lower() == "quiet" and len(words) <= 2:
        now = int(clock().timestamp())
        await message.answer(await _quiet(storage, message.chat.id, words[1:], lang, now))
        return
    await message.answer(await follow_text(topics, message.chat.id, command.args or "", lang))


async def follow_text(topics: TopicService, chat_id: int, raw: str, lang: str) -> str:
    """What /follow (or the search's follow button) answers to these words."""
    try:
        topic = parse_topic(raw)
    except TopicError as error:
        return _topic_error(error, lang)
    result = await topics.follow(chat_id, topic, lang)
    if result.outcome is FollowOutcome.LIMIT:
        return tn(lang, "follow_limit", MAX_TOPICS, max=MAX_TOPICS)
    shown = result.topic.text if result.topic is not None else topic.text
    if result.outcome is FollowOutcome.ALREADY:
        return t(lang, "follow_already", topic=shown)
    return t(lang, "follow_added", topic=shown, count=result.count, max=MAX_TOPICS)


def _topic_error(error: TopicError, lang: str) -> str:
    if error.reason == "too_many_words":
        return t(lang, "follow_too_many_words", max_words=MAX_TOPIC_WORDS)
    if error.reason == "too_long":
        return t(lang, "follow_too_long", max_chars=MAX_TOPIC_CHARS)
    return t(lang, "follow_usage", max_words=MAX_TOPIC_WORDS)


async def _quiet(storage: Storage, chat_id: int, words: list[str], lang: str, now: int) -> str:
    choice = _QUIET.get(words[0].lower()) if words else None
    if choice is None:
        reader = await storage.topics.reader(chat_id)
        on = reader is None or reader.quiet
        return t(lang, "quiet_usage", state=plain(lang, _quiet_state(on)))
    await storage.topics.set_quiet(chat_id, choice, lang=lang, now=now)
    done = N_("quiet_on") if choice else N_("quiet_off")
    return t(lang, done)


def _quiet_state(on: bool) -> str:
    return N_("quiet_state_on") if on else N_("quiet_state_off")


# -- /following and its buttons -----------------------------------------------------------


async def following_view(
    storage: Storage, chat_id: int, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    topics = await storage.topics.of_reader(chat_id)
    if not topics:
        return t(lang, "following_empty"), None
    reader = await storage.topics.reader(chat_id)
    on = reader is None or reader.quiet
    lines = [t(lang, "following_header", count=len(topics), max=MAX_TOPICS)]
    lines += [t(lang, "following_item", topic=topic.text) for topic in topics]
    state = plain(lang, _quiet_state(on))
    lines.append("\n" + t(lang, "following_footer", state=state))
    rows = [
        [
            InlineKeyboardButton(
                text=plain(lang, "following_drop", topic=shorten(topic.text, BUTTON_CHARS)),
                callback_data=DropTopic(id=topic.id).pack(),
            )
        ]
        for topic in topics
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def following(message: Message, storage: Storage, lang: str) -> None:
    text, markup = await following_view(storage, message.chat.id, lang)
    await message.answer(text, reply_markup=markup)


async def unfollow(
    message: Message, command: CommandObject, topics: TopicService, lang: str
) -> None:
    raw = command.args or ""
    try:
        topic = parse_topic(raw)
    except TopicError as error:
        if error.reason == "empty":
            await message.answer(t(lang, "unfollow_usage"))
        else:
            # Longer than any topic can be: it is none of theirs.
            shown = shorten(" ".join(raw.split()), ECHO_LIMIT)
            await message.answer(t(lang, "unfollow_none", topic=shown))
        return
    dropped = await topics.unfollow(message.chat.id, topic)
    if dropped is None:
        await message.answer(t(lang, "unfollow_none", topic=topic.text))
        return
    await message.answer(t(lang, "unfollow_done", topic=dropped.text))


async def drop_topic(
    query: CallbackQuery,
    callback_data: DropTopic,
    topics: TopicService,
    storage: Storage,
    lang: str,
) -> None:
    # Only the presser's own topic: a forged id of someone else's drops nothing.
    dropped = await topics.drop(query.from_user.id, callback_data.id)
    if dropped is None:
        await query.answer(t(lang, "unknown_button"), show_alert=True)
        return
    await query.answer(plain(lang, "topic_dropped", topic=shorten(dropped.text, ECHO_LIMIT)))
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    text, markup = await following_view(storage, query.from_user.id, lang)
    await message.edit_text(text, reply_markup=markup)


async def follow_search(
    query: CallbackQuery,
    callback_data: FollowSearch,
    bot: Bot,
    topics: TopicService,
    storage: Storage,
    lang: str,
) -> None:
    """The "Follow" button under search results: its words become a topic."""
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        await query.answer(t(lang, "follow_private_only"), show_alert=True)
        return
    words = await storage.posts.get_search(callback_data.q)
    if words is None:
        await query.answer(t(lang, "search_gone"), show_alert=True)
        return
    await query.answer()
    await bot.send_message(message.chat.id, await follow_text(topics, message.chat.id, words, lang))
