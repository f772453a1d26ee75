"""Reading the news: /latest with paging, /top, /search, and a post opened in full."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import FeedPage, FollowSearch, Menu, OpenPost, SearchPage
from bot.clock import Clock
from bot.config import Settings
from bot.handlers.editing import edit_in_place
from bot.post_view import send_post
from bot.render import feed_item, fit, snippet
from bot.services import feed
from bot.services.ingest import clean_text
from bot.services.links import stored_id
from bot.services.topics import MAX_TOPIC_WORDS
from bot.texts import N_, t, tn
from storage import PostSummary, Storage
from storage.search_text import query_terms

log = logging.getLogger(__name__)

SEARCH_PAGE = 10
TOP_COUNT = 10
NUMBERS_PER_ROW = 5
#: A /top window: the message id of its header, and its length.
_DAY = (N_("top_header_24h"), timedelta(hours=24))
_WEEK = (N_("top_header_7d"), timedelta(days=7))
_TOP_WINDOWS = {
    **dict.fromkeys(("24h", "24ч", "1d", "день", "сутки", "day", "тәулік", "күн"), _DAY),
    **dict.fromkeys(("7d", "7д", "неделя", "week", "апта"), _WEEK),
}


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(latest, Command("latest"))
    router.message.register(top, Command("top"))
    router.message.register(search, Command("search"))
    router.message.register(open_by_command, Command(re.compile(r"post_?(\d+)$")))
    router.message.register(
        open_by_deep_link, CommandStart(deep_link=True, magic=F.args.regexp(r"^post_\d+$"))
    )
    router.message.register(
        search_plain_text,
        F.chat.type == ChatType.PRIVATE,
        F.text,
        ~F.text.startswith("/"),
        ~F.forward_origin,
        ~F.via_bot,
    )
    router.callback_query.register(page_feed, FeedPage.filter())
    router.callback_query.register(open_by_button, OpenPost.filter())
    router.callback_query.register(page_search, SearchPage.filter())
    router.callback_query.register(menu_latest, Menu.filter(F.a == "latest"))
    router.callback_query.register(menu_top, Menu.filter(F.a == "top"))
    return router


# -- /latest ----------------------------------------------------------------------------


def _numbers(posts: list[PostSummary], start: int = 1) -> list[list[InlineKeyboardButton]]:
    """A button per listed post, numbered as in the text, that opens it."""
    buttons = [
        InlineKeyboardButton(text=str(n), callback_data=OpenPost(id=post.id).pack())
        for n, post in enumerate(posts, start)
    ]
    return [buttons[i : i + NUMBERS_PER_ROW] for i in range(0, len(buttons), NUMBERS_PER_ROW)]


def render_feed(
    page: feed.FeedPage, count: int, lang: str, settings: Settings, now: datetime, note: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    header = t(lang, "latest_header") + (f"\n<i>{note}</i>" if note else "")
    items = [
        feed_item(n, post, lang, settings.timezone, now) for n, post in enumerate(page.posts, 1)
    ]
    text, shown = fit(header, items)
    posts = page.posts[:shown]
    rows = _numbers(posts)
    nav = []
    if page.has_newer:
        d, i = feed.cursor(posts[0])
        nav.append(
            InlineKeyboardButton(
                text=t(lang, "nav_newer"), callback_data=FeedPage(d="n", t=d, i=i, n=count).pack()
            )
        )
    # A page cut short to fit 4096 characters continues from its last shown post.
    if page.has_older or shown < len(page.posts):
        d, i = feed.cursor(posts[-1])
        nav.append(
            InlineKeyboardButton(
                text=t(lang, "nav_older"), callback_data=FeedPage(d="o", t=d, i=i, n=count).pack()
            )
        )
    if nav:
        rows.append(nav)
    return text, InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def latest(
    message: Message,
    command: CommandObject,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    count, capped = feed.parse_count(command.args)
    if count is None:
        await message.answer(t(lang, "latest_bad_count", max=feed.MAX_COUNT))
        return
    await _answer_feed(message, storage, settings, clock, lang, count, capped)


async def _answer_feed(
    message: Message,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
    count: int,
    capped: bool = False,
) -> None:
    page = await feed.first_page(storage.posts, count)
    if not page.posts:
        await message.answer(t(lang, "latest_empty"))
        return
    note = tn(lang, "latest_capped", feed.MAX_COUNT, max=feed.MAX_COUNT) if capped else ""
    text, markup = render_feed(page, count, lang, settings, clock(), note)
    await message.answer(text, reply_markup=markup)


async def page_feed(
    query: CallbackQuery,
    callback_data: FeedPage,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    # The filter has bounded every number (bot/callbacks.py).
    count = callback_data.n
    moment = (datetime.fromtimestamp(callback_data.t, UTC), callback_data.i)
    if callback_data.d == "n":
        page = await feed.newer_page(storage.posts, count, moment)
    else:
        page = await feed.older_page(storage.posts, count, moment)
    if not page.posts:
        await query.answer(t(lang, "page_gone"), show_alert=True)
        return
    text, markup = render_feed(page, count, lang, settings, clock())
    await edit_in_place(query, text, markup)
    await query.answer()


async def menu_latest(
    query: CallbackQuery, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _answer_feed(query.message, storage, settings, clock, lang, feed.DEFAULT_COUNT)


# -- /top -------------------------------------------------------------------------------


def parse_window(arg: str | None) -> tuple[str, timedelta] | None:
    if arg is None or not arg.strip():
        return _DAY
    return _TOP_WINDOWS.get(arg.strip().lower())


async def top(
    message: Message,
    command: CommandObject,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    window = parse_window(command.args)
    if window is None:
        await message.answer(t(lang, "top_bad_period"))
        return
    await _answer_top(message, storage, settings, clock, lang, window)


async def menu_top(
    query: CallbackQuery, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _answer_top(query.message, storage, settings, clock, lang, _DAY)


async def _answer_top(
    message: Message,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
    window: tuple[str, timedelta],
) -> None:
    text, posts = await top_text(storage, settings, clock(), lang, window)
    markup = InlineKeyboardMarkup(inline_keyboard=_numbers(posts)) if posts else None
    await message.answer(text, reply_markup=markup)


async def top_text(
    storage: Storage,
    settings: Settings,
    now: datetime,
    lang: str,
    window: tuple[str, timedelta],
) -> tuple[str, list[PostSummary]]:
    """The /top answer and the posts it lists (also `python -m bot preview top`)."""
    header, span = window
    posts = await storage.posts.top(now - span, TOP_COUNT)
    if not posts:
        return t(lang, "top_empty"), []
    items = [
        feed_item(
            n,
            post,
            lang,
            settings.timezone,
            now,
            extra=t(lang, "top_counts", reactions=post.reactions, opens=post.opens),
        )
        for n, post in enumerate(posts, 1)
    ]
    text, shown = fit(t(lang, header), items)
    return text, posts[:shown]


# -- a post in full ---------------------------------------------------------------------


async def _open(
    bot: Bot, chat_id: int, user_id: int, post_id: int | None, storage: Storage, lang: str
) -> None:
    """Send the post in full; `post_id` None is one no post can have (typed out of range)."""
    post = None if post_id is None else await storage.posts.get(post_id)
    if post is None:
        await bot.send_message(chat_id, t(lang, "post_not_found"))
        return
    if post.deleted:
        await bot.send_message(chat_id, t(lang, "post_deleted"))
        return
    await send_post(bot, chat_id, post, lang)
    await storage.posts.record_open(post.id, user_id)


async def open_by_command(
    message: Message, command: CommandObject, bot: Bot, storage: Storage, lang: str
) -> None:
    assert command.regexp_match is not None
    post_id = stored_id(command.regexp_match.group(1))
    user_id = message.from_user.id if message.from_user else message.chat.id
    await _open(bot, message.chat.id, user_id, post_id, storage, lang)


async def open_by_deep_link(
    message: Message, command: CommandObject, bot: Bot, storage: Storage, lang: str
) -> None:
    assert command.args is not None
    post_id = stored_id(command.args.removeprefix("post_"))
    user_id = message.from_user.id if message.from_user else message.chat.id
    await _open(bot, message.chat.id, user_id, post_id, storage, lang)


async def open_by_button(
    query: CallbackQuery, callback_data: OpenPost, bot: Bot, storage: Storage, lang: str
) -> None:
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await _open(bot, chat_id, query.from_user.id, callback_data.id, storage, lang)


# -- /search ----------------------------------------------------------------------------


async def search(
    message: Message,
    command: CommandObject,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    await _answer_search(message, command.args or "", storage, settings, clock, lang)


async def search_plain_text(
    message: Message, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    """Words typed to the bot in a private chat are a search: what else would they be?"""
    await _answer_search(message, message.text or "", storage, settings, clock, lang)


async def _answer_search(
    message: Message, query: str, storage: Storage, settings: Settings, clock: Clock, lang: str
) -> None:
    text = clean_text(" ".join(query.split())[:300])
    if not query_terms(text):
        await message.answer(t(lang, "search_usage"))
        return
    search_id = await storage.posts.save_search(text)
    answer, markup = await _search_page(storage, settings, clock, lang, search_id, text, 0)
    if message.chat.type == ChatType.PRIVATE:
        markup = _with_follow(markup, search_id, text, lang)
    await message.answer(answer, reply_markup=markup)


async def page_search(
    query: CallbackQuery,
    callback_data: SearchPage,
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
) -> None:
    text = await storage.posts.get_search(callback_data.q)
    if text is None:
        await query.answer(t(lang, "search_gone"), show_alert=True)
        return
    answer, markup = await _search_page(
        storage, settings, clock, lang, callback_data.q, text, callback_data.o
    )
    if query.message is not None and query.message.chat.type == ChatType.PRIVATE:
        markup = _with_follow(markup, callback_data.q, text, lang)
    await edit_in_place(query, answer, markup)
    await query.answer()


def _with_follow(
    markup: InlineKeyboardMarkup | None, search_id: int, text: str, lang: str
) -> InlineKeyboardMarkup | None:
    """Search results with a "Follow" button for their words, when they can be a topic
    (1 to MAX_TOPIC_WORDS words); with no results yet too: news may come later."""
    if len(query_terms(text)) > MAX_TOPIC_WORDS:
        return markup
    button = InlineKeyboardButton(
        text=t(lang, "search_follow"), callback_data=FollowSearch(q=search_id).pack()
    )
    rows = list(markup.inline_keyboard) if markup is not None else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button]])


async def _search_page(
    storage: Storage,
    settings: Settings,
    clock: Clock,
    lang: str,
    search_id: int,
    text: str,
    offset: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    hits = await storage.posts.search(text, limit=SEARCH_PAGE + 1, offset=offset)
    if not hits:
        return t(lang, "search_empty", query=text[:100]), None
    terms = query_terms(text)
    now = clock()
    items = [
        feed_item(
            offset + n,
            hit.post,
            lang,
            settings.timezone,
            now,
            snippet=snippet(hit.post.text, terms),
        )
        for n, hit in enumerate(hits[:SEARCH_PAGE], 1)
    ]
    answer, shown = fit(t(lang, "search_header", query=text[:100]), items)
    rows = _numbers([hit.post for hit in hits[:shown]], start=offset + 1)
    nav = []
    if offset > 0:
        nav.append(
            InlineKeyboardButton(
                text=t(lang, "nav_prev"),
                callback_data=SearchPage(q=search_id, o=max(offset - SEARCH_PAGE, 0)).pack(),
            )
        )
    if len(hits) > shown:
        nav.append(
            InlineKeyboardButton(
                text=t(lang, "nav_next"),
                callback_data=SearchPage(q=search_id, o=offset + shown).pack(),
            )
        )
    if nav:
        rows.append(nav)
    return answer, InlineKeyboardMarkup(inline_keyboard=rows)
