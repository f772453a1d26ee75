"""Who may do what, through the whole bot over real HTTP: admin commands, admin forwards
and admin buttons are refused to everyone else, in private chats and in groups; admin
output never lands in a group; channels outside SOURCE_CHANNELS change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.services import mirror as mirror_module
from bot.texts import LANGUAGES, t, template
from storage import Storage
from tests.conftest import RunningBot, eventually
from tests.fake_telegram import FakeTelegram
from tests.updates import (
    ADMIN,
    AGENCY_CHANNEL,
    GROUP,
    NEWS_CHANNEL,
    OTHER_CHANNEL,
    READER,
    SUPERGROUP,
    callback_query,
    channel_post,
    edited_channel_post,
    forward,
    group_callback_query,
    group_text,
    photo_post,
    private_text,
    reaction_count,
)

StartBot = Callable[..., Any]
NEWS = NEWS_CHANNEL["id"]
MIRROR = -1005550009001
SUBSCRIBER = {"id": 7101, "is_bot": False, "first_name": "Подписчик", "language_code": "ru"}
# 15:00 in Almaty: the day's digest time (08:00) and its catch-up window are behind, so
# the scheduler sends nothing by itself while a test runs.
AFTERNOON = datetime(2025, 12, 17, 10, 0, tzinfo=UTC)

ADMIN_COMMANDS = [
    "/stats",
    "/senddigest",
    "/delete https://t.me/kz_news/1",
    "/delete post_1",
    "/delete",
    "/mirror retry",
    "/stats@test_news_bot",
]
CHATS = {"private": None, "group": GROUP, "supergroup": SUPERGROUP}

#: The longest fixed words of every text that only an admin may see, in every language.
ADMIN_OUTPUT = [
    max(re.split(r"\{\w*\}", template(lang, key)), key=len)
    for lang in LANGUAGES
    for key in (
        "stats",
        "senddigest_confirm",
        "senddigest_started",
        "senddigest_cancelled",
        "delete_usage",
        "delete_not_found",
        "delete_confirm",
        "delete_done",
        "delete_already",
        "delete_cancelled",
        "mirror_usage",
        "mirror_retry_done",
        "forward_created",
        "forward_updated",
        "forward_unchanged",
    )
]


@pytest.fixture(autouse=True)
def quick_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "ALBUM_SETTLE_SECONDS", 0.3)
    monkeypatch.setattr(mirror_module, "TICK_SECONDS", 0.02)


def clock() -> datetime:
    return AFTERNOON


def message_to(chat_kind: str, text: str, user: dict[str, Any]) -> dict[str, Any]:
    chat = CHATS[chat_kind]
    if chat is None:
        return private_text(text, user=user)
    return group_text(text, user=user, chat=chat)


def chat_id_of(chat_kind: str, user: dict[str, Any]) -> int:
    chat = CHATS[chat_kind]
    return int(user["id"] if chat is None else chat["id"])


def texts_since(fake: FakeTelegram, start: int, chat_id: int | None = None) -> list[str]:
    return [
        str(c.params.get("text", c.params.get("caption", "")))
        for c in fake.calls[start:]
        if c.method in ("sendMessage", "editMessageText", "sendPhoto")
        and (chat_id is None or c.params.get("chat_id") == chat_id)
    ]


def admin_output_since(fake: FakeTelegram, start: int) -> list[str]:
    return [
        text for text in texts_since(fake, start) if any(words in text for words in ADMIN_OUTPUT)
    ]


def admin_buttons_since(fake: FakeTelegram, start: int) -> list[str]:
    """Callback data of confirmation buttons (send the digest, delete a post) sent."""
    found = []
    for call in fake.calls[start:]:
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data", ""))
                if data.startswith(("sd:", "dp:")):
                    found.append(data)
    return found


async def prepared(start_bot: StartBot, storage: Storage) -> tuple[RunningBot, int]:
    """A bot with a live post, a failed mirror copy (for /mirror retry) and a subscriber
    (for a digest sent by mistake)."""
    bot: RunningBot = await start_bot(clock=clock, mirror_chat_ids=[MIRROR])
    bot.fake.fail("copyMessage", 400, "Bad Request: message to copy not found")
    await bot.send(channel_post(1, "Токаев прибыл в Астану"))
    await bot.send(private_text("/subscribe", user=SUBSCRIBER))

    async def copy_failed() -> bool:
        return (await storage.mirror.summary())["failed"] == 1

    await eventually(copy_failed)
    post = await storage.posts.find(NEWS, 1)
    assert post is not None
    return bot, post.id


async def assert_nothing_done(bot: RunningBot, storage: Storage, post_id: int, start: int) -> None:
    """No admin action ran: the post is live, the failed copy was not retried, nobody got a
    digest, and no admin output or admin button went anywhere."""
    post = await storage.posts.get(post_id)
    assert post is not None
    assert not post.deleted
    summary = await storage.mirror.summary()
    assert summary["failed"] == 1
    assert not bot.fake.calls_of("copyMessage")[1:]  # only the first, failed, copy
    assert not texts_since(bot.fake, start, SUBSCRIBER["id"])
    assert not admin_output_since(bot.fake, start)
    assert not admin_buttons_since(bot.fake, start)
    assert not [c for c in bot.fake.calls[start:] if c.method == "deleteMessage"]


# -- admin commands -------------------------------------------------------------------


@pytest.mark.parametrize("chat_kind", list(CHATS))
@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_admin_commands_are_refused_to_a_reader(
    start_bot: StartBot, storage: Storage, command: str, chat_kind: str
) -> None:
    bot, post_id = await prepared(start_bot, storage)
    start = len(bot.fake.calls)

    await bot.send(message_to(chat_kind, command, READER))

    await assert_nothing_done(bot, storage, post_id, start)
    answers = texts_since(bot.fake, start, chat_id_of(chat_kind, READER))
    if chat_kind == "private":
        assert answers == [t("en", "admin_only")]
    else:
        # A refusal (or silence) in a group, and nothing else.
        assert set(answers) <= {t("en", "admin_only")}
    assert texts_since(bot.fake, start) == answers


@pytest.mark.parametrize("chat_kind", ["group", "supergroup"])
@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_an_admins_commands_in_a_group_leak_nothing(
    start_bot: StartBot, storage: Storage, command: str, chat_kind: str
) -> None:
    bot, post_id = await prepared(start_bot, storage)
    start = len(bot.fake.calls)

    await bot.send(message_to(chat_kind, command, ADMIN))

    await assert_nothing_done(bot, storage, post_id, start)
    group_texts = texts_since(bot.fake, start, chat_id_of(chat_kind, ADMIN))
    assert not any("Статистика" in text or "Statistics" in text for text in group_texts)


async def test_the_same_commands_work_for_the_admin_in_private(
    start_bot: StartBot, storage: Storage
) -> None:
    """The refusals above are about who asks, not about commands that do not work."""
    bot, post_id = await prepared(start_bot, storage)
    start = len(bot.fake.calls)
    await bot.send(private_text("/stats", user=ADMIN))
    await bot.send(private_text("/delete https://t.me/kz_news/1", user=ADMIN))
    await bot.send(private_text("/mirror retry", user=ADMIN))
    sent = texts_since(bot.fake, start, ADMIN["id"])
    assert sent[0].startswith("📊 <b>Статистика</b>")
    assert sent[1].startswith("Удалить пост «Токаев прибыл в Астану»")
    assert sent[2] == "🔁 Повторю копирование: 1."
    assert admin_buttons_since(bot.fake, start) == [f"dp:{post_id}:1", f"dp:{post_id}:0"]


# -- admin forwards -------------------------------------------------------------------


@pytest.mark.parametrize("chat_kind", list(CHATS))
async def test_a_readers_forward_is_not_stored(
    start_bot: StartBot, storage: Storage, chat_kind: str
) -> None:
    bot = await start_bot(clock=clock)
    start = len(bot.fake.calls)
    update = forward(77, "Пресс-релиз агентства", user=READER)
    chat = CHATS[chat_kind]
    if chat is not None:
        update["message"]["chat"] = chat

    await bot.send(update)

    assert await storage.posts.find(AGENCY_CHANNEL["id"], 77) is None
    assert await storage.posts.count() == 0
    assert not admin_output_since(bot.fake, start)
    answers = texts_since(bot.fake, start)
    if chat_kind == "private":
        assert answers == [t("en", "forward_not_admin")]
    else:
        assert not answers


@pytest.mark.parametrize("chat_kind", ["group", "supergroup"])
async def test_an_admins_forward_in_a_group_is_not_stored(
    start_bot: StartBot, storage: Storage, chat_kind: str
) -> None:
    bot = await start_bot(clock=clock)
    start = len(bot.fake.calls)
    update = forward(78, "Пресс-релиз агентства", user=ADMIN)
    update["message"]["chat"] = CHATS[chat_kind]

    await bot.send(update)

    assert await storage.posts.count() == 0
    assert not texts_since(bot.fake, start, chat_id_of(chat_kind, ADMIN))


# -- admin buttons --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["private", "group"])
@pytest.mark.parametrize("data", ["sd:1", "sd:0", "dp:{id}:1", "dp:{id}:0"])
async def test_admin_buttons_pressed_by_a_reader_do_nothing(
    start_bot: StartBot, storage: Storage, data: str, where: str
) -> None:
    bot, post_id = await prepared(start_bot, storage)
    start = len(bot.fake.calls)
    pressed = data.format(id=post_id)
    if where == "private":
        await bot.send(callback_query(pressed, user=READER))
    else:
        await bot.send(group_callback_query(pressed, user=READER))

    await assert_nothing_done(bot, storage, post_id, start)
    assert not [c for c in bot.fake.calls[start:] if c.method.startswith("edit")]
    assert not texts_since(bot.fake, start)
    answers = [c.params for c in bot.fake.calls[start:] if c.method == "answerCallbackQuery"]
    assert len(answers) == 1
    assert answers[0]["text"] == t("en", "admin_only")
    assert answers[0].get("show_alert") in (True, "true")


# -- channels outside SOURCE_CHANNELS -------------------------------------------------

LOOKALIKE = {"id": -1001111111111, "title": NEWS_CHANNEL["title"], "type": "channel"}
LOOKALIKE_NAME = {**LOOKALIKE, "id": -1001111111112, "username": "kz_news_"}


def other_channel_updates(chat: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything a channel can send: posts, an album, edits, reactions, a "command".

    Message ids repeat the source channel's post 5, which must stay as it is."""
    return [
        channel_post(5, "Чужая новость", chat=chat),
        channel_post(6, "/stats", chat=chat),
        photo_post(7, "o7", "Чужой альбом", media_group_id="99", chat=chat),
        photo_post(8, "o8", media_group_id="99", chat=chat),
        edited_channel_post(5, "Чужая правка", chat=chat, edit_date=1_765_960_000),
        edited_channel_post(1, "Правка без поста", chat=chat, edit_date=1_765_960_000),
        reaction_count(5, [10, 20], chat=chat),
    ]


@pytest.mark.parametrize("sources", [[NEWS], ["@kz_news"]], ids=["by_id", "by_username"])
@pytest.mark.parametrize(
    "other", [OTHER_CHANNEL, LOOKALIKE, LOOKALIKE_NAME], ids=["other", "same_title", "similar"]
)
async def test_channels_outside_source_channels_change_nothing(
    start_bot: StartBot, storage: Storage, sources: list[int | str], other: dict[str, Any]
) -> None:
    bot = await start_bot(clock=clock, source_channels=sources, mirror_chat_ids=[MIRROR])
    await bot.send(channel_post(5, "Наша новость"))
    await bot.fake.wait_for_call("copyMessage")  # the source post's copy, made and done
    before = await storage.posts.find(NEWS, 5)
    assert before is not None
    start = len(bot.fake.calls)

    for update in other_channel_updates(other):
        await bot.send(update)

    assert await storage.posts.find(NEWS, 5) == before
    assert await storage.posts.find(int(other["id"]), 5) is None
    assert await storage.posts.count() == 1
    async with storage.db.reading() as conn:
        cursor = await conn.execute("SELECT count(*) FROM mirror_copies")
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 1  # the source post's copy only: nothing else is owed to the mirror
    assert {c.method for c in bot.fake.calls[start:]} <= {"getUpdates"}


# -- what admins are told they can do ---------------------------------------------------


async def test_mirror_retry_is_in_the_admins_menu_and_help_only(start_bot: StartBot) -> None:
    bot: RunningBot = await start_bot(clock=clock)
    menus = bot.fake.calls_of("setMyCommands")
    by_scope: dict[tuple[str, str | None], list[str]] = {
        (call.params["scope"]["type"], call.params.get("language_code")): [
            c["command"] for c in call.params["commands"]
        ]
        for call in menus
    }
    admin_menus = [c for c in menus if c.params["scope"].get("chat_id") == ADMIN["id"]]
    assert {c.params.get("language_code") for c in admin_menus} == {
        None,
        "ru",
        "kk",
        "en",
        "uk",
        "be",
    }
    for call in admin_menus:
        mirror = [c for c in call.params["commands"] if c["command"] == "mirror"]
        assert len(mirror) == 1
        assert "/mirror retry" in mirror[0]["description"]
    for language in (None, "ru", "kk", "en", "uk", "be"):
        assert "mirror" not in by_scope[("default", language)]

    await bot.send(private_text("/help", user=ADMIN))
    await bot.send(private_text("/help", user={**ADMIN, "language_code": "en"}))
    await bot.send(private_text("/help", user=READER))
    ru_admin, en_admin = bot.fake.sent_texts(ADMIN["id"])
    assert "/mirror retry — повторить неудавшиеся копии в зеркала" in ru_admin
    assert "/mirror retry — try failed mirror copies again" in en_admin
    assert "/mirror" not in bot.fake.sent_texts(READER["id"])[0]
