"""Property-based fuzzing of the real dispatcher with odd, malformed and hostile updates.

Each example builds a fresh world (a new SQLite file, the app's own dispatcher with its
digest scheduler and mirror worker) and feeds updates straight into `dp.feed_update`,
with a `Bot` pointed at the fake Bot API server so that every call a handler makes
succeeds. Afterwards:

- no exception escaped `feed_update`, and nothing was logged at ERROR: the errors router
  turns a handler's crash into an ERROR record and an apology, so such a record for
  input that is merely odd is a bug;
- the stored data is consistent (see `check_consistency`).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import MessageEntity, Update
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from bot.app import create_bot, create_dispatcher
from bot.clock import system_clock
from bot.lifecycle import start_scheduler, stop_scheduler
from bot.services import mirror as mirror_module
from bot.services.delivery import RateLimiter
from bot.services.ingest import STORED_CONTENT
from bot.texts import LANGUAGES, template
from storage import Storage
from tests.conftest import make_settings
from tests.fake_telegram import BOT_ID, FakeTelegram
from tests.rates_server import RatesServer
from tests.updates import (
    ADMIN,
    AGENCY_CHANNEL,
    GROUP,
    NEWS_CHANNEL,
    OTHER_CHANNEL,
    READER,
    SUPERGROUP,
    photo,
)

# A failing example of many long updates has a repr of 100 kB; Hypothesis warns about its
# size while reporting it, and the warnings-as-errors setting must not swap the bot's
# failure for that warning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)

# Hypothesis keeps its caches (and would keep its example database) outside the repo.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "newsmirror-bot-hypothesis")

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    # CI explores the same examples each run; a developer's runs explore new ones, after
    # the explicit examples (the known edges), which every run tries first.
    derandomize=bool(os.environ.get("CI")),
    # A world takes as long as its updates take; only a wrong answer is a failure.
    deadline=None,
    database=None,
    # With no example database, a failure found at random is replayed from the blob
    # printed with it (@reproduce_failure).
    print_blob=True,
    # Checks of how examples are generated, not of the bot: none of them may fail a run.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

NOW = int(time.time())
NEWS = int(NEWS_CHANNEL["id"])
OTHER = int(OTHER_CHANNEL["id"])
MIRROR_CHAT = -1005550000001
BOT_USERNAME = "test_news_bot"

RU_READER = {"id": 333, "is_bot": False, "first_name": "Айдар", "language_code": "ru"}
NO_LANGUAGE = {"id": 444, "is_bot": False, "first_name": "‮Anon"}
ODD_LANGUAGE = {"id": 555, "is_bot": False, "first_name": "x", "language_code": "zz-\u200dQ"}
USERS = [ADMIN, READER, RU_READER, NO_LANGUAGE, ODD_LANGUAGE]

# -- edges every run tries -------------------------------------------------------------
#
# Hypothesis finds an out-of-range number only when it happens to draw one, so the edges
# of every number a person can send (in a command, a deep link, a button's data) are
# listed here: the strategies below sample them, and each property has them as explicit
# examples, tried on every run before anything random.

HUGE = "99999999999999999999"  # beyond SQLite's 64 bits
EDGE_NUMBERS = [
    HUGE,
    "-" + HUGE,
    "0",
    "-1",
    "00000000000000000003",
    str(2**31 - 1),
    str(2**31),
    str(2**52),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "-" + str(2**63),
    "9" * 60,
    "٣",
    "²",
    "𝟏",
    "1e3",
    "1.0",
    "1_0",
    "+1",
    " ",
    "",
    "\ud800",  # a lone surrogate: never in real text, but JSON can carry one
]

# -- strategies: text ---------------------------------------------------------------------

ODD_PIECES = [
    "\u0301",  # combining acute
    "e\u0301\u0301\u0301",
    "\u0336",  # combining long stroke
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u202e",  # RLO
    "\u2066",  # LRI
    "\u200d",  # ZWJ
    "\u200b",  # ZWSP
    "\ufeff",
    "\u00ad",
    "\u2028",
    "🇰🇿",
    "🇯🇵🇰🇿",
    "👨‍👩‍👧‍👦",
    "👍🏽",
    "1️⃣",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "ё",
    "Ё",
    "İ",
    "ß",
    "ﬁ",
    "²",
    "①",
    "٣",
    "𝟏",
    "Ⅻ",
    "\x00",
    "\x7f",
    "\t",
    "\n",
    "\r\n",
    "   ",
    "<",
    ">",
    "&",
    '"',
    "'",
    "&amp;",
    "&lt;b&gt;",
    "<b>",
    "</i>",
    "<a href='x'>",
    "\\",
    "/",
    "@",
    "#",
    "$",
    "*",
    "_",
    "`",
    "|",
    ":",
    "NEAR",
    "AND",
    "OR",
    "NOT",
    '"',
    "(",
    ")",
    "*",
    "^",
    "-",
    "+",
]
WORDS = [
    "Токаев",
    "Токаева",
    "ярмарка",
    "Астана",
    "новости",
    "курс",
    "тенге",
    "USD",
    "eur",
    "рублей",
    "Alatau",
    "post_1",
    "t.me/kz_news/1",
    "https://t.me/c/1234567890/2",
    "/start",
    "/latest",
    "@kz_news",
    "#хэштег",
]
pieces = st.one_of(st.sampled_from(ODD_PIECES), st.sampled_from(WORDS), st.text(max_size=6))
short_texts = st.lists(pieces, max_size=10).map(" ".join) | st.lists(pieces, max_size=10).map(
    "".join
)
LONG_SIZES = [1023, 1024, 1025, 4095, 4096, 4097, 6000]
long_texts = st.builds(
    lambda seed, size: (seed * (size // len(seed) + 1))[:size],
    short_texts.filter(bool),
    st.sampled_from(LONG_SIZES),
)
texts = st.one_of(st.just(""), short_texts, long_texts)
# Numbers in updates: odd, but within what the Bot API's Integer fields carry (52 bits).
ints = st.one_of(st.integers(-3, 60), st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**52]))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


ENTITY_TYPES = [
    "mention",
    "hashtag",
    "cashtag",
    "bot_command",
    "url",
    "email",
    "phone_number",
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "blockquote",
    "expandable_blockquote",
    "code",
    "pre",
    "text_link",
    "text_mention",
    "custom_emoji",
    "date_time",
    "a_type_from_the_future",
]
URLS = [
    "https://example.kz/news/1?a=1&b=2",
    'https://example.kz/"><script>alert(1)</script>',
    "javascript:alert(1)",
    "tg://user?id=1",
    "",
    "http://[::1]:80/ü",
]


@st.composite
def entities_for(draw: st.DrawFn, text: str) -> list[dict[str, Any]]:
    """Entities for a text: in range, nested, overlapping, past the end, zero, negative."""
    size = utf16_len(text)
    found = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(ENTITY_TYPES))
        offset = draw(
            st.one_of(
                st.integers(0, max(size, 0)),
                st.sampled_from([size, size + 1, size + 100, -1, -5, 2**31]),
            )
        )
        length = draw(
            st.one_of(
                st.integers(1, max(size - min(max(offset, 0), size), 1)),
                st.sampled_from([0, -1, -3, size + 1, 2**31]),
            )
        )
        entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
        if kind == "text_link" and draw(st.booleans()):
            entity["url"] = draw(st.sampled_from(URLS) | st.text(max_size=20))
        if kind == "text_mention" and draw(st.booleans()):
            entity["user"] = draw(st.sampled_from(USERS))
        if kind == "pre" and draw(st.booleans()):
            entity["language"] = draw(st.sampled_from(["python", 'x"><b>', ""]) | st.text())
        if kind == "custom_emoji" and draw(st.booleans()):
            entity["custom_emoji_id"] = draw(st.text(max_size=12))
        if kind == "date_time" and draw(st.booleans()):
            entity["unix_time"] = draw(ints)
        if draw(st.integers(0, 9)) == 0:
            entity["field_from_the_future"] = {"nested": [1, "x"]}
        found.append(entity)
    if found and draw(st.booleans()):
        # Nested and overlapping copies of the first entity.
        first = found[0]
        found.append({**first, "type": "italic", "length": first["length"] + 1})
        found.append({**first, "type": "bold", "offset": first["offset"] + 1})
    return found


# -- strategies: media and channel posts ------------------------------------------------


def media_payload(kind: str, unique: str) -> Any:
    file = {"file_id": f"F-{kind}-{unique}", "file_unique_id": unique}
    sized = {**file, "width": 640, "height": 360}
    return {
        "photo": photo(unique),
        "video": {**sized, "duration": 12},
        "animation": {**sized, "duration": 3},
        "document": {**file, "file_name": "доклад‮fdp.exe", "mime_type": "x/y"},
        "audio": {**file, "duration": 100, "title": "\u200f"},
        "voice": {**file, "duration": 4},
        "video_note": {**file, "length": 240, "duration": 5},
        "sticker": {**sized, "type": "regular", "is_animated": False, "is_video": False},
        "poll": {
            "id": "1",
            "question": "?",
            "options": [{"persistent_id": "0", "text": "a", "voter_count": 0}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        },
        "location": {"latitude": 51.1, "longitude": 71.4},
        "dice": {"emoji": "🎲", "value": 6},
        "pinned_message": {"message_id": 1, "date": 0, "chat": NEWS_CHANNEL},
        "new_chat_title": "Новое название",
    }[kind]


MEDIA_KINDS = [
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
    "poll",
    "location",
    "dice",
    "pinned_message",
    "new_chat_title",
]
CHANNELS = [
    NEWS_CHANNEL,
    NEWS_CHANNEL,
    NEWS_CHANNEL,
    {"id": NEWS, "type": "channel"},  # no title, no username
    {**NEWS_CHANNEL, "title": "‮ʎɐɹʇ\u200d", "username": "KZ_NEWS"},
    OTHER_CHANNEL,
    {"id": OTHER, "type": "channel", "username": "kz_news_"},
]


@st.composite
def channel_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A channel post or an edit, with odd text, entities, media, albums and fields."""
    chat = draw(st.sampled_from(CHANNELS))
    message_id = draw(st.integers(1, 12) | st.sampled_from([2**31 - 1, 2**31 + 5]))
    message: dict[str, Any] = {
        "message_id": message_id,
        "chat": chat,
        "date": draw(st.integers(NOW - 3 * 86_400, NOW) | st.sampled_from([1, NOW + 86_400])),
    }
    if draw(st.booleans()):
        message["sender_chat"] = chat
    kinds = draw(st.lists(st.sampled_from(MEDIA_KINDS), max_size=3, unique=True))
    for kind in kinds:
        message[kind] = media_payload(kind, draw(st.sampled_from(["u1", "u2", "u3", ""])))
    body = draw(texts)
    where = draw(st.sampled_from(["text", "caption", "none"]))
    if where != "none":
        message[where] = body
        if draw(st.booleans()):
            key = "entities" if where == "text" else "caption_entities"
            message[key] = draw(entities_for(body))
    if draw(st.integers(0, 2)) == 0:
        message["media_group_id"] = draw(st.sampled_from(["g1", "g2", "13870000000000001"]))
    if draw(st.integers(0, 4)) == 0:
        message["from_the_future"] = {"type": "🆕", "payload": [None, 1.5, "\u200d"]}
    if draw(st.booleans()):
        message["author_signature"] = draw(short_texts)
    kind = draw(st.sampled_from(["channel_post", "channel_post", "edited_channel_post"]))
    if kind == "edited_channel_post":
        message["edit_date"] = draw(st.integers(NOW - 86_400, NOW + 10) | st.just(0))
    return {kind: message}


@st.composite
def reaction_updates(draw: st.DrawFn) -> dict[str, Any]:
    reactions = [
        {"type": {"type": "emoji", "emoji": "👍"}, "total_count": draw(ints)},
        {"type": {"type": "custom_emoji", "custom_emoji_id": "5"}, "total_count": draw(ints)},
        {"type": {"type": "paid"}, "total_count": draw(st.integers(0, 10))},
    ]
    return {
        "message_reaction_count": {
            "chat": draw(st.sampled_from(CHANNELS)),
            "message_id": draw(st.integers(1, 12)),
            "date": NOW,
            "reactions": draw(st.lists(st.sampled_from(reactions), max_size=3)),
        }
    }


# -- strategies: messages from people ------------------------------------------------------

COMMANDS = [
    "latest",
    "top",
    "search",
    "digest",
    "subscribe",
    "unsubscribe",
    "rates",
    "convert",
    "start",
    "help",
    "stats",
    "delete",
    "senddigest",
    "mirror",
    "follow",
    "following",
    "unfollow",
    "post_1",
    "post1",
    "post_",
    "nonsense",
]
ARGUMENTS = [
    "",
    "0",
    "-5",
    "1",
    "50",
    "51",
    "99999999999999999999999",
    "²",
    "①",
    "٣",
    "𝟏",
    "1e3",
    "0x10",
    "NaN",
    "inf",
    "24h",
    "7d",
    "неделя",
    "WEEK",
    "вчера",
    "позавчера",
    "31.02.2025",
    "29.02.2024",
    "01.01.0001",
    "31.12.9999",
    "32.13.2025",
    "2025-12-17",
    "00:00",
    "23:59",
    "24:00",
    "7:5",
    "99:99",
    "-1:30",
    "chart",
    "chart usd 90",
    "chart xau 365",
    "chart kzt",
    "chart 30 30 30",
    "chart ²",
    "chart ① usd",
    "chart ٣٠",
    "график евро 91",
    "100 usd",
    "5000 тенге в рублях",
    "100 eur usd",
    "1e308 usd",
    "-100 usd",
    "0 usd",
    "100,5 usd",
    "100.5.5 usd",
    "1 000 000 usd",
    "100 xxx",
    "100 usd usd usd",
    "retry",
    "RETRY ",
    "quiet off",
    "quiet ON",
    "quiet " + HUGE,
    "метро Алматы",
    "раз два три четыре пять шесть",
    "https://t.me/kz_news/1",
    "t.me/c/1234567890/1",
    "t.me/kz_news/99999999999999999999999",
    "post_99999999999999999999",
    "post_1",
    "/post_2",
    "post_٣",
    "post_²",
    "post_-1",
    # Numbers out of range, in each place a command takes one.
    *EDGE_NUMBERS,
    "9" * 4000,
    *(f"post_{n}" for n in EDGE_NUMBERS),
    "t.me/kz_news/" + str(2**63),
    "t.me/c/" + HUGE + "/1",
    "https://t.me/c/1234567890/" + HUGE,
    "t.me/c/" + "9" * 4000 + "/1",
    "0001-01-01",
    "01.01.0001",
    "17.12.0023",
    "13.08.2013",
    "9999-12-31",
    HUGE + ".12",
    "٢٠٢٥-١٢-١٧",
    HUGE + ":00",
    "00:" + HUGE,
    "٠٧:٣٠",
    HUGE + "h",
    "-7d",
    "chart usd " + HUGE,
    "chart usd " + "9" * 4000,
    HUGE + " usd",
]


@st.composite
def command_texts(draw: st.DrawFn) -> str:
    command = draw(st.sampled_from(COMMANDS))
    if command.startswith("post") and draw(st.booleans()):
        command += draw(st.sampled_from(["9" * 25, "0", "٣", "𝟏", "3"]))
    mention = draw(st.sampled_from(["", "", f"@{BOT_USERNAME}", "@other_bot", "@"]))
    args = draw(st.sampled_from(ARGUMENTS) | short_texts | long_texts)
    separator = draw(st.sampled_from([" ", " ", "\n", "\u00a0", "  ", ""]))
    return f"/{command}{mention}{separator}{args}" if args else f"/{command}{mention}"


def chat_of(user: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "group":
        return GROUP
    if kind == "supergroup":
        return SUPERGROUP
    return {"id": user["id"], "first_name": user["first_name"], "type": "private"}


@st.composite
def people_messages(draw: st.DrawFn, text: st.SearchStrategy[str]) -> dict[str, Any]:
    user = draw(st.sampled_from(USERS))
    body = draw(text)
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 10_000)),
        "chat": chat_of(user, draw(st.sampled_from(["private", "private", "group", "supergroup"]))),
        "date": NOW,
        "text": body,
    }
    if draw(st.integers(0, 5)) > 0:
        message["from"] = user
    if body.startswith("/") and draw(st.integers(0, 3)) > 0:
        command = body.split()[0] if body.split() else body
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    elif draw(st.booleans()):
        message["entities"] = draw(entities_for(body))
    if draw(st.integers(0, 3)) == 0:
        message["reply_to_message"] = draw(replied_messages())
    return {draw(st.sampled_from(["message", "message", "edited_message"])): message}


@st.composite
def replied_messages(draw: st.DrawFn) -> dict[str, Any]:
    """What a /delete may be a reply to: a forward, a bot's post view, anything."""
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 100)),
        "chat": {"id": ADMIN["id"], "first_name": "A", "type": "private"},
        "date": NOW,
    }
    variant = draw(st.sampled_from(["forward", "button", "text", "bare"]))
    if variant == "forward":
        message["forward_origin"] = {
            "type": "channel",
            "chat": draw(st.sampled_from(CHANNELS)),
            "message_id": draw(st.integers(1, 12) | st.just(2**31)),
            "date": NOW,
        }
    elif variant == "button":
        url = draw(st.sampled_from(["https://t.me/kz_news/1", "https://t.me/c/1234567890/2"]))
        message["reply_markup"] = {"inline_keyboard": [[{"text": "↗", "url": url}]]}
    elif variant == "text":
        message["text"] = draw(st.sampled_from(ARGUMENTS) | short_texts)
    return message


ORIGINS = [
    {"type": "channel", "chat": AGENCY_CHANNEL},
    {"type": "channel", "chat": NEWS_CHANNEL},
    {"type": "channel", "chat": {"id": -1002000000001, "type": "channel"}},
    {"type": "user", "sender_user": {"id": 999, "is_bot": False, "first_name": "S"}},
    {"type": "hidden_user", "sender_user_name": "‮Hidden"},
    {"type": "chat", "sender_chat": GROUP},
]


@st.composite
def forwards(draw: st.DrawFn) -> dict[str, Any]:
    """A forward to the bot: by an admin or not, of a channel post or of anything else."""
    user = draw(st.sampled_from([ADMIN, ADMIN, READER, NO_LANGUAGE]))
    origin = {
        **draw(st.sampled_from(ORIGINS)),
        "date": draw(st.integers(NOW - 86_400, NOW)),
    }
    if origin["type"] == "channel":
        origin["message_id"] = draw(st.integers(1, 12) | st.just(2**31))
    message = draw(channel_messages())
    inner = next(iter(message.values()))
    inner.pop("sender_chat", None)
    inner.pop("edit_date", None)
    inner.update(
        message_id=draw(st.integers(1, 10_000)),
        chat=chat_of(user, draw(st.sampled_from(["private", "private", "group"]))),
        date=NOW,
        forward_origin=origin,
    )
    inner["from"] = user
    return {"message": inner}


# -- strategies: button presses --------------------------------------------------------

#: The search every world with `seed` has stored, so that search pages find one.
SEARCH_ID = 1

CALLBACK_LOOKALIKES = [
    "f:o:1:2:3",
    "f:n:1:2:3",
    "f:o:-1:-1:-1",
    "f:o:99999999999999999999:1:10",
    "f:n:253402300800:1:10",
    "f:x:0:0:0",
    "f:o:1:2",
    "p:abc",
    "p:",
    "p:-1",
    "p:0",
    "p:1",
    "p:2",
    "p:99999999999999999999",
    "s:1:-5",
    "s:1:0",
    "s:-1:0",
    "s:1:99999999999999999999",
    "s:99999999999999999999:0",
    "sd:2",
    "sd:1",
    "sd:0",
    "sd:-1",
    "sd:",
    "dp:x:1",
    "dp:1:1",
    "dp:1:0",
    "dp:2:1",
    "dp:99999999999999999999:1",
    "dp:1:1:1",
    "m:zzz",
    "m:latest",
    "m:top",
    "m:digest",
    "m:rates",
    "m:subscribe",
    "m:unsubscribe",
    "m:",
    ":",
    "",
    "::::",
    # Every number of every button at and past its bounds (bot/callbacks.py).
    *(f"s:{SEARCH_ID}:{n}" for n in EDGE_NUMBERS),
    f"s:{SEARCH_ID}:1000",  # the last offset search ranks in
    f"s:{SEARCH_ID}:1001",
    *(f"s:{n}:0" for n in EDGE_NUMBERS),
    *(f"f:o:{NOW}:1:{n}" for n in EDGE_NUMBERS),
    *(f"f:n:{NOW}:{n}:10" for n in EDGE_NUMBERS),
    *(f"f:o:{n}:1:10" for n in EDGE_NUMBERS),
    "f:o:253402300799:1:50",
    *(f"p:{n}" for n in EDGE_NUMBERS),
    *(f"sd:{n}" for n in EDGE_NUMBERS),
    *(f"dp:1:{n}" for n in EDGE_NUMBERS),
    *(f"dp:{n}:0" for n in EDGE_NUMBERS),
    f"s:{SEARCH_ID}:" + "9" * 60,  # 64 bytes, Telegram's most
    "x" * 64,
    "s:1:\udfff",
    "\ud83c",
]
callback_datas = st.one_of(
    st.sampled_from(CALLBACK_LOOKALIKES),
    st.builds(
        lambda prefix, parts: ":".join([prefix, *parts]),
        st.sampled_from(["f", "p", "s", "m", "sd", "dp"]),
        st.lists(
            st.one_of(st.integers().map(str), st.sampled_from(ODD_PIECES), st.text(max_size=4)),
            max_size=5,
        ),
    ),
    st.text(max_size=64),
)


@st.composite
def callback_queries(draw: st.DrawFn) -> dict[str, Any]:
    user = draw(st.sampled_from(USERS))
    query: dict[str, Any] = {
        "id": f"cq-{draw(st.integers(0, 10**6))}",
        "from": user,
        "chat_instance": "ci",
        "data": draw(callback_datas),
    }
    where = draw(st.sampled_from(["private", "private", "group", "inaccessible", "inline"]))
    if where == "inline":
        query["inline_message_id"] = "AAAA"
    else:
        chat = chat_of(user, "group" if where == "group" else "private")
        query["message"] = {
            "message_id": draw(st.integers(1, 100)),
            "chat": chat,
            "date": 0 if where == "inaccessible" else NOW,
        }
        if where != "inaccessible":
            query["message"]["from"] = {"id": BOT_ID, "is_bot": True, "first_name": "News"}
            query["message"]["text"] = "…"
    if draw(st.integers(0, 9)) == 0:
        query["game_short_name"] = "x"
    return {"callback_query": query}


# -- explicit examples: updates built by hand -------------------------------------------


def channel_update(message_id: int, text: str, **fields: Any) -> dict[str, Any]:
    """A source channel's post, as channel_messages() draws one."""
    message = {"message_id": message_id, "chat": NEWS_CHANNEL, "date": NOW - 60, "text": text}
    return {"channel_post": {**message, **fields}}


def reaction_update(message_id: int, count: int) -> dict[str, Any]:
    reaction = {"type": {"type": "emoji", "emoji": "👍"}, "total_count": count}
    return {
        "message_reaction_count": {
            "chat": NEWS_CHANNEL,
            "message_id": message_id,
            "date": NOW,
            "reactions": [reaction],
        }
    }


def said(text: str, user: dict[str, Any] = RU_READER, chat: str = "private") -> dict[str, Any]:
    """A message from a person, a command when it starts with "/"."""
    message: dict[str, Any] = {
        "message_id": 1,
        "from": user,
        "chat": chat_of(user, chat),
        "date": NOW,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
    return {"message": message}


def press(data: str, user: dict[str, Any] = RU_READER, where: str = "private") -> dict[str, Any]:
    """A button press under the bot's message, as callback_queries() draws one."""
    query: dict[str, Any] = {"id": "cq-example", "from": user, "chat_instance": "ci", "data": data}
    if where == "inline":
        query["inline_message_id"] = "AAAA"
    else:
        query["message"] = {
            "message_id": 9,
            "chat": chat_of(user, where),
            "date": NOW,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "News"},
            "text": "…",
        }
    return {"callback_query": query}


#: Every number a command or a deep link takes, at and past its bounds.
EDGE_COMMANDS = [
    f"/latest {HUGE}",
    f"/latest {2**64}",
    "/latest 0",
    "/latest -1",
    f"/post_{HUGE}",
    f"/post_{2**63}",
    f"/post_{2**63 - 1}",
    "/post_0",
    f"/start post_{HUGE}",
    f"/start post_{2**63}",
    "/start post_0",
    "/digest 0001-01-01",
    "/digest 01.01.0001",
    "/digest 31.12.9999",
    f"/digest {HUGE}",
    f"/subscribe {HUGE}:00",
    "/subscribe 24:00",
    f"/top {HUGE}h",
    f"/rates chart usd {HUGE}",
    f"/convert {HUGE} usd",
    f"/delete t.me/c/{HUGE}/1",
    f"/delete https://t.me/kz_news/{HUGE}",
    f"/delete post_{HUGE}",
    "/latest \ud800",
    "/post_\ud800",
]


# -- the world ------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    """Every ERROR record logged anywhere while a world runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass(repr=False)
class Env:
    """What examples share: the fake server, the HTTP session of the bot, the errors."""

    fake: FakeTelegram
    bot: Bot
    http: httpx.AsyncClient
    rates: RatesServer
    tmp: Path
    errors: ErrorRecords
    counter: Iterator[int] = field(default_factory=itertools.count)


@dataclass(repr=False)
class World:
    env: Env
    dp: Dispatcher
    storage: Storage
    update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def feed(self, payload: dict[str, Any]) -> Update:
        update = Update.model_validate(
            {"update_id": next(self.update_ids), **payload}, context={"bot": self.env.bot}
        )
        await self.feed_update(update)
        return update

    async def feed_raw(self, raw: str) -> Update:
        """Parse a JSON text the way aiogram parses a getUpdates answer, then feed it."""
        update = Update.model_validate(json.loads(raw), context={"bot": self.env.bot})
        await self.feed_update(update)
        return update

    async def feed_update(self, update: Update) -> None:
        result = await self.dp.feed_update(self.env.bot, update)
        if isinstance(result, TelegramMethod):
            await self.dp.silent_call_request(self.env.bot, result)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    errors = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(errors)
    # A live rates feed (the National Bank's real capture): /rates and /convert do their
    # sums, and nothing waits for a dead feed's retries.
    async with FakeTelegram() as fake, RatesServer() as rates:
        settings = make_settings(fake.url, tmp_path / "unused.db")
        bot = create_bot(settings)
        http = httpx.AsyncClient()
        try:
            yield Env(fake, bot, http, rates, tmp_path, errors)
        finally:
            await http.aclose()
            await bot.session.close()
            root.removeHandler(errors)


@pytest.fixture(autouse=True)
def quick_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    # No pacing: the mirror's copies and the digests go out at once, so a world stops
    # in milliseconds instead of waiting out each chat's spacing.
    monkeypatch.setattr(mirror_module, "ALBUM_SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(mirror_module, "TICK_SECONDS", 0.01)


@asynccontextmanager
async def world(env: Env, **overrides: Any) -> AsyncIterator[World]:
    """A fresh database and dispatcher, with the scheduler and mirror running as in the
    app; on exit, the data is checked and no ERROR may have been logged."""
    env.errors.records.clear()
    env.fake.calls.clear()
    path = env.tmp / f"fuzz-{next(env.counter)}.db"
    settings = make_settings(
        env.fake.url,
        path,
        mirror_chat_ids=[MIRROR_CHAT],
        rates_url=env.rates.rates_url,
        rates_history_url=env.rates.history_url,
        **overrides,
    )
    storage = await Storage.open(path)
    dp = create_dispatcher(settings, storage, http=env.http)
    await start_scheduler(env.bot, dp, storage, settings, system_clock, dp["digests"])
    dp["delivery"].limiter = RateLimiter(None)  # shared by the scheduler and the mirror
    try:
        yield World(env, dp, storage)
        await check_consistency(storage)
    finally:
        await stop_scheduler(dp)
        await storage.close()
        path.unlink(missing_ok=True)
    problems = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in env.errors.records]
    for record in env.errors.records:
        if record.exc_info and not record.exc_text:
            problems.append(logging.Formatter().formatException(record.exc_info))
    assert not problems, "\n".join(problems)


async def _scalar(storage: Storage, sql: str) -> Any:
    async with storage.db.reading() as conn:
        cursor = await conn.execute(sql)
        row = await cursor.fetchone()
        assert row is not None
        return row[0]


async def _rows(storage: Storage, sql: str) -> list[Any]:
    async with storage.db.reading() as conn:
        cursor = await conn.execute(sql)
        return list(await cursor.fetchall())


async def check_consistency(storage: Storage) -> None:
    """Invariants of the posts tables, whatever arrived."""
    orphans = await _rows(
        storage,
        "SELECT id FROM posts WHERE NOT EXISTS "
        "(SELECT 1 FROM post_parts WHERE post_parts.post_id = posts.id)",
    )
    assert not orphans, f"posts without parts: {orphans}"
    strays = await _scalar(
        storage, "SELECT count(*) FROM post_parts WHERE post_id NOT IN (SELECT id FROM posts)"
    )
    assert strays == 0
    indexed = {r[0] for r in await _rows(storage, "SELECT rowid FROM posts_fts")}
    live = {
        r[0] for r in await _rows(storage, "SELECT id FROM posts WHERE deleted = 0 AND text != ''")
    }
    assert await _scalar(storage, "SELECT count(*) FROM posts_fts") == len(live)
    assert indexed == live
    twins = await _rows(
        storage,
        "SELECT channel_id, message_id FROM posts GROUP BY channel_id, message_id "
        "HAVING count(*) > 1",
    )
    assert not twins, f"posts sharing (channel_id, message_id): {twins}"
    # A post's message id is its first part's: the one links point to.
    off = await _rows(
        storage,
        "SELECT id FROM posts WHERE message_id != "
        "(SELECT min(message_id) FROM post_parts WHERE post_parts.post_id = posts.id)",
    )
    assert not off, f"posts whose message_id is not their first part's: {off}"
    for raw in [
        *(r[0] for r in await _rows(storage, "SELECT entities FROM posts")),
        *(r[0] for r in await _rows(storage, "SELECT entities FROM post_parts")),
    ]:
        loaded = json.loads(raw)
        assert isinstance(loaded, list)
        for entity in loaded:
            MessageEntity.model_validate(entity)
    foreign = await _scalar(
        storage, f"SELECT count(*) FROM posts WHERE source = 'channel' AND channel_id = {OTHER}"
    )
    assert foreign == 0, "a post of a channel outside SOURCE_CHANNELS was stored"


async def seed(w: World) -> None:
    """A few ordinary posts and a stored search (SEARCH_ID), so that reading commands and
    buttons, search pages included, have something."""
    assert await w.storage.posts.save_search("Токаев") == SEARCH_ID
    for message_id, text in enumerate(
        ["Токаев прибыл в Астану", "Ярмарка в субботу", "Курс тенге вырос"], start=1
    ):
        await w.feed(
            {
                "channel_post": {
                    "message_id": message_id,
                    "chat": NEWS_CHANNEL,
                    "sender_chat": NEWS_CHANNEL,
                    "date": NOW - 3600 * message_id,
                    "text": text,
                    "entities": [{"type": "bold", "offset": 0, "length": 6}],
                }
            }
        )


def admin_outputs() -> list[str]:
    """The longest fixed words of every text only an admin may see."""
    keys = [
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
    ]
    return [
        max(re.split(r"\{\w*\}", template(lang, key)), key=len)
        for lang in LANGUAGES
        for key in keys
    ]


ADMIN_OUTPUTS = admin_outputs()


def admin_output_in(fake: FakeTelegram, chat_id: int) -> list[str]:
    leaked = []
    for call in fake.calls:
        if (
            call.method in ("sendMessage", "editMessageText")
            and call.params.get("chat_id") == chat_id
        ):
            text = str(call.params.get("text", ""))
            leaked += [text for words in ADMIN_OUTPUTS if words in text]
    return leaked


# -- properties ---------------------------------------------------------------------------


@FUZZ
@given(updates=st.lists(channel_messages() | reaction_updates(), min_size=1, max_size=8))
@example(
    updates=[
        # A first line of only emoji; an entity's edge inside 🔥's surrogate pair.
        channel_update(1, "🔥🔥🔥\nАкимат Алматы объявил конкурс"),
        channel_update(2, "🔥🔥🔥"),
        channel_update(3, "🔥x", entities=[{"type": "bold", "offset": 1, "length": 2}]),
        reaction_update(1, 2**52),
        reaction_update(2, -1),
        reaction_update(3, 0),
        # A negative length once made the opened post twice as long: refused as too long.
        channel_update(
            5,
            "\u0301" * 4095,
            entities=[{"type": "mention", "offset": 3, "length": -3}],
            media_group_id="g1",
        ),
    ]
)
@example(
    updates=[
        channel_update(2**31 - 1, "Последнее", date=1),
        channel_update(2**31 + 5, "Из будущего", date=NOW + 86_400),
        channel_update(
            4,
            "Края",
            entities=[
                {"type": "bold", "offset": 2**31, "length": 2**31},
                {"type": "italic", "offset": -1, "length": -1},
            ],
        ),
        reaction_update(2**31 - 1, 2**31),
    ]
)
@example(
    updates=[
        # A narrower mention listed before a wider one at the same offset: aiogram wrote
        # the text twice and Telegram refused the opened post as too long.
        channel_update(
            1,
            "\u0301" * 4095,
            entities=[
                {"type": "mention", "offset": 0, "length": 1},
                {"type": "mention", "offset": 0, "length": 3},
            ],
            media_group_id="g1",
        ),
    ]
)
async def test_channel_posts_edits_albums_and_reactions(
    env: Env, updates: list[dict[str, Any]]
) -> None:
    async with world(env) as w:
        stored_ids = set()
        for payload in updates:
            update = await w.feed(payload)
            message = update.channel_post or update.edited_channel_post
            if message is None:
                continue
            if message.chat.id == NEWS and message.content_type in STORED_CONTENT:
                post = await w.storage.posts.find(NEWS, message.message_id)
                assert post is not None, "a source channel's post was not stored"
                stored_ids.add(post.id)
        # Whatever was stored can be listed, searched and opened in full.
        reader = {"id": RU_READER["id"], "first_name": "A", "type": "private"}
        for text in ["/latest 50", "/top week", "/digest", "/search Токаев ярмарка"]:
            await w.feed(
                {
                    "message": {
                        "message_id": 1,
                        "from": RU_READER,
                        "chat": reader,
                        "date": NOW,
                        "text": text,
                        "entities": [
                            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
                        ],
                    }
                }
            )
        for post_id in sorted(stored_ids):
            await w.feed(
                {
                    "callback_query": {
                        "id": f"open-{post_id}",
                        "from": RU_READER,
                        "chat_instance": "ci",
                        "data": f"p:{post_id}",
                        "message": {"message_id": 9, "chat": reader, "date": NOW, "text": "…"},
                    }
                }
            )


def assert_no_admin_output_leaked(fake: FakeTelegram, updates: list[dict[str, Any]]) -> None:
    """Admin output goes only to an admin's private chat (whoever else wrote there: an
    update without a sender may come from the admin's chat too)."""
    for payload in updates:
        chat = next(iter(payload.values()))["chat"]
        if chat["type"] != "private" or chat["id"] != ADMIN["id"]:
            leaked = admin_output_in(fake, chat["id"])
            assert not leaked, f"admin output outside an admin's private chat: {leaked}"


def command_message(text: str, user: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    command = text.split()[0]
    return {
        "message": {
            "message_id": 1,
            "from": user,
            "chat": chat,
            "date": NOW,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}],
        }
    }


async def test_every_command_with_every_listed_argument(env: Env) -> None:
    """Each command with each of the odd arguments, from an admin and from a reader."""
    async with world(env) as w:
        await seed(w)
        sent = []
        for user in (ADMIN, READER):
            for command in COMMANDS:
                for argument in ARGUMENTS:
                    payload = command_message(
                        f"/{command} {argument}".strip(), user, chat_of(user, "private")
                    )
                    await w.feed(payload)
                    sent.append(payload)
        assert_no_admin_output_leaked(env.fake, sent)


@FUZZ
@given(
    argument=st.sampled_from(ARGUMENTS) | short_texts | long_texts,
    user=st.sampled_from(USERS),
    chat=st.sampled_from(["private", "private", "group", "supergroup"]),
    mention=st.sampled_from(["", f"@{BOT_USERNAME}", "@other_bot"]),
    separator=st.sampled_from([" ", "\n", "\u00a0", "  "]),
)
@example(argument=HUGE, user=ADMIN, chat="private", mention="", separator=" ")
@example(
    argument=str(2**63), user=READER, chat="private", mention=f"@{BOT_USERNAME}", separator=" "
)
@example(argument=str(2**64), user=RU_READER, chat="group", mention="", separator="\n")
@example(argument="-" + HUGE, user=ADMIN, chat="private", mention="", separator="\u00a0")
@example(argument="0", user=NO_LANGUAGE, chat="private", mention="", separator=" ")
@example(argument="", user=ADMIN, chat="private", mention="", separator=" ")
@example(argument="\ud800", user=ODD_LANGUAGE, chat="supergroup", mention="", separator=" ")
@example(argument="9" * 4000, user=ADMIN, chat="private", mention="", separator=" ")
@example(argument=f"post_{HUGE}", user=ADMIN, chat="private", mention="", separator=" ")
@example(argument=f"t.me/c/{HUGE}/1", user=ADMIN, chat="private", mention="", separator=" ")
async def test_every_command_with_a_random_argument(
    env: Env, argument: str, user: dict[str, Any], chat: str, mention: str, separator: str
) -> None:
    async with world(env) as w:
        await seed(w)
        sent = []
        for command in COMMANDS:
            text = f"/{command}{mention}{separator}{argument}"
            payload = command_message(text, user, chat_of(user, chat))
            await w.feed(payload)
            sent.append(payload)
        assert_no_admin_output_leaked(env.fake, sent)


@FUZZ
@given(updates=st.lists(people_messages(command_texts()), min_size=1, max_size=6))
@example(updates=[said(text, ADMIN) for text in EDGE_COMMANDS])
@example(updates=[said(text) for text in EDGE_COMMANDS])
@example(updates=[said(text, READER, "group") for text in EDGE_COMMANDS])
async def test_commands_in_odd_messages(env: Env, updates: list[dict[str, Any]]) -> None:
    """Commands with odd mentions, separators, entities, replies, in any chat, edited."""
    async with world(env) as w:
        await seed(w)
        for payload in updates:
            await w.feed(payload)
        assert_no_admin_output_leaked(env.fake, updates)


@FUZZ
@given(updates=st.lists(people_messages(texts), min_size=1, max_size=6))
@example(updates=[said(n) for n in EDGE_NUMBERS])
@example(
    updates=[
        {
            "message": {
                **said("🔥 ярмарка")["message"],
                "entities": [
                    {"type": "bold", "offset": 2**31, "length": 2**31},
                    {"type": "bold", "offset": 1, "length": 1},
                    {"type": "italic", "offset": -5, "length": 0},
                ],
            }
        },
        {"edited_message": said(HUGE)["message"]},
    ]
)
async def test_plain_messages_with_odd_text_and_entities(
    env: Env, updates: list[dict[str, Any]]
) -> None:
    async with world(env) as w:
        for payload in updates:
            await w.feed(payload)


@FUZZ
@given(updates=st.lists(callback_queries(), min_size=1, max_size=8))
# The press that once reached SQLite with an OFFSET beyond 64 bits.
@example(updates=[press(f"s:{SEARCH_ID}:{HUGE}")])
@example(updates=[press(data) for data in CALLBACK_LOOKALIKES])
@example(updates=[press(data, ADMIN) for data in CALLBACK_LOOKALIKES])
@example(updates=[press(data, READER, "group") for data in CALLBACK_LOOKALIKES])
@example(updates=[press(f"s:{SEARCH_ID}:{HUGE}", NO_LANGUAGE, "inline")])
async def test_button_presses_with_random_callback_data(
    env: Env, updates: list[dict[str, Any]]
) -> None:
    async with world(env) as w:
        await seed(w)
        posts_before = await _scalar(w.storage, "SELECT count(*) FROM posts WHERE deleted = 0")
        for payload in updates:
            await w.feed(payload)
        pressed_by_admin = any(p["callback_query"]["from"]["id"] == ADMIN["id"] for p in updates)
        if not pressed_by_admin:
            # Only an admin's button deletes.
            after = await _scalar(w.storage, "SELECT count(*) FROM posts WHERE deleted = 0")
            assert after == posts_before


@FUZZ
@given(updates=st.lists(forwards(), min_size=1, max_size=6))
@example(
    updates=[
        {
            "message": {
                **said("🔥🔥🔥\nНовость агентства", ADMIN)["message"],
                "forward_origin": {
                    "type": "channel",
                    "chat": AGENCY_CHANNEL,
                    "message_id": message_id,
                    "date": NOW,
                },
            }
        }
        for message_id in (1, 2**31, 2**52)
    ]
)
async def test_forwards_from_admins_and_others(env: Env, updates: list[dict[str, Any]]) -> None:
    async with world(env) as w:
        for payload in updates:
            update = await w.feed(payload)
            message = update.message
            assert message is not None
            origin = payload["message"]["forward_origin"]
            by_admin = message.from_user is not None and message.from_user.id == ADMIN["id"]
            found = None
            if origin["type"] == "channel":
                found = await w.storage.posts.find(origin["chat"]["id"], origin["message_id"])
            if (
                by_admin
                and message.chat.type == "private"
                and origin["type"] == "channel"
                and message.content_type in STORED_CONTENT
            ):
                assert found is not None, "an admin's forward of a channel post was not stored"
        forwarded_by = {
            r[0]
            for r in await _rows(
                w.storage, "SELECT forwarded_by FROM posts WHERE source = 'forward'"
            )
        }
        assert forwarded_by <= {ADMIN["id"]}, "a forward by a non-admin was stored"


@settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 1))
@given(
    updates=st.lists(
        st.one_of(
            channel_messages(),
            reaction_updates(),
            forwards(),
            people_messages(command_texts()),
            people_messages(texts),
            callback_queries(),
        ),
        min_size=1,
        max_size=12,
    )
)
@example(updates=[said("/search Токаев"), press(f"s:{SEARCH_ID}:{HUGE}")])
@example(
    updates=[
        said("/latest 1"),
        press(f"f:o:{NOW}:1:{HUGE}"),
        said("/senddigest", ADMIN),
        press("sd:2", ADMIN),
        said("/delete post_1", ADMIN),
        press("dp:1:2", ADMIN),
        press(f"dp:{HUGE}:1", ADMIN),
    ]
)
async def test_a_mixed_stream_of_everything(env: Env, updates: list[dict[str, Any]]) -> None:
    """Posts, edits, deletions, searches and button presses interleaved: what one
    handler stores, the next one reads."""
    async with world(env) as w:
        await seed(w)
        await w.feed(command_message("/subscribe 00:00", READER, chat_of(READER, "private")))
        for payload in updates:
            await w.feed(payload)


# -- raw JSON: lone surrogates and unknown fields --------------------------------------------

#: JSON escapes that make valid text: surrogate pairs, NUL, marks, quotes, slashes.
ESCAPES = [
    r"\ud83c\uddf0\ud83c\uddff",  # 🇰🇿, a valid pair of pairs
    r"\ud83d\ude00",
    r"\uD83D\uDE00",
    r"\u0000",
    r"\u200f",
    r"\u0301",
    r"\"",
    r"\\",
    r"\/",
]


LONE_SURROGATES = [r"\ud800", r"\udfff", r"\udc00\ud800", r"\ud83c"]


@st.composite
def json_strings(draw: st.DrawFn, *, lone: bool) -> str:
    """A JSON string literal with escapes: valid pairs only, or at least one lone
    surrogate (\\ud800) when `lone`."""
    escapes = ESCAPES + (LONE_SURROGATES if lone else [])
    parts = draw(
        st.lists(st.sampled_from(escapes) | pieces.map(lambda s: json.dumps(s)[1:-1]), max_size=8)
    )
    if lone:
        parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(LONE_SURROGATES)))
    return '"' + "".join(parts) + '"'


RAW_TEMPLATES = [
    # A channel post whose text, title and entity URL carry the strings.
    '{"update_id": 1, "channel_post": {"message_id": 7, "date": %(now)d, '
    '"chat": {"id": %(news)d, "type": "channel", "title": @S1@, "username": "kz_news"}, '
    '"text": @S2@, "entities": [{"type": "text_link", "offset": 0, "length": 2, '
    '"url": @S3@}], "unknown_field": {"x": @S1@}}}',
    # Its edit, with a caption and a photo.
    '{"update_id": 2, "edited_channel_post": {"message_id": 7, "date": %(now)d, '
    '"edit_date": %(now)d, "chat": {"id": %(news)d, "type": "channel"}, '
    '"photo": [{"file_id": @S1@, "file_unique_id": @S2@, "width": 1, "height": 1}], '
    '"caption": @S3@, "media_group_id": @S1@, "is_from_offline": true}}',
    # An admin's forward of a post with such a text.
    '{"update_id": 3, "message": {"message_id": 2, "date": %(now)d, '
    '"from": {"id": 111, "is_bot": false, "first_name": "A", "language_code": "ru"}, '
    '"chat": {"id": 111, "type": "private", "first_name": "A"}, "text": @S1@, '
    '"forward_origin": {"type": "channel", "chat": {"id": -1002496072246, "type": "channel", '
    '"title": @S2@}, "message_id": 9, "date": %(now)d, "author_signature": @S3@}}}',
    # A command with the strings as its argument, from the admin or a reader.
    '{"update_id": 4, "message": {"message_id": 1, "date": %(now)d, '
    '"from": {"id": %(user)d, "is_bot": false, "first_name": @S1@, "language_code": @S2@}, '
    '"chat": {"id": %(user)d, "type": "private", "first_name": @S1@}, '
    '"text": "/%(command)s "+@S3@, '
    '"entities": [{"type": "bot_command", "offset": 0, "length": %(length)d}]}}',
    # Words typed in a private chat or in a group.
    '{"update_id": 5, "message": {"message_id": 1, "date": %(now)d, "text": @S3@, '
    '"from": {"id": %(user)d, "is_bot": false, "first_name": @S1@}, '
    '"chat": {"id": %(chat)d, "type": "%(chat_type)s", "title": @S2@}}}',
    # A button press with such callback data, and fields no Bot API version has.
    '{"update_id": 6, "callback_query": {"id": "q", "chat_instance": "c", "data": @S1@, '
    '"from": {"id": 222, "is_bot": false, "first_name": @S2@, "x_new": [1, {"y": null}]}, '
    '"message": {"message_id": 3, "date": %(now)d, "text": @S3@, "x_newer": @S2@, '
    '"chat": {"id": 222, "type": "private"}}}, "update_kind_from_the_future": {"a": 1}}',
]


def raw_update(
    template: str,
    strings: Sequence[str],
    *,
    command: str = "latest",
    user: dict[str, Any] = READER,
    chat: dict[str, Any] | None = None,
) -> str:
    """A RAW_TEMPLATES update with three JSON string literals in place of @S1@…@S3@."""
    where = chat or chat_of(user, "private")
    raw = template % {
        "now": NOW,
        "news": NEWS,
        "command": command,
        "length": len(command) + 1,
        "user": user["id"],
        "chat": where["id"],
        "chat_type": where["type"],
    }
    for marker, string in zip(("@S1@", "@S2@", "@S3@"), strings, strict=True):
        raw = raw.replace(marker, string)
    # The command and its argument make one JSON string.
    return raw.replace(f'"/{command} "+"', f'"/{command} ')


@st.composite
def raw_updates(draw: st.DrawFn, *, lone: bool = False) -> str:
    user = draw(st.sampled_from([ADMIN, READER]))
    return raw_update(
        draw(st.sampled_from(RAW_TEMPLATES)),
        [draw(json_strings(lone=lone)) for _ in range(3)],
        command=draw(st.sampled_from(COMMANDS)),
        user=user,
        chat=draw(st.sampled_from([chat_of(user, "private"), GROUP])),
    )


COMMAND_TEMPLATE, PRESS_TEMPLATE = RAW_TEMPLATES[3], RAW_TEMPLATES[5]
#: A search the presses below can page (the raw worlds have no `seed`): its id is 1.
RAW_SEARCH = raw_update(COMMAND_TEMPLATE, ['"A"', '"ru"', '"Токаев"'], command="search")


def raw_presses(*datas: str) -> list[str]:
    """Presses of buttons with these JSON string literals as their data, after a search."""
    return [RAW_SEARCH] + [raw_update(PRESS_TEMPLATE, [d, '"B"', '"…"']) for d in datas]


@FUZZ
@given(raws=st.lists(raw_updates(), min_size=1, max_size=5))
@example(raws=raw_presses(f'"s:1:{HUGE}"', f'"p:{2**64}"', f'"f:o:{NOW}:1:{HUGE}"'))
@example(
    raws=[
        raw_update(COMMAND_TEMPLATE, ['"A"', '"en"', f'"{n}"'], command=command, user=ADMIN)
        for command in ("latest", "post_" + HUGE, "digest", "subscribe", "delete", "top")
        for n in (HUGE, "0001-01-01", str(2**63))
    ]
)
async def test_raw_json_with_escapes_and_unknown_fields(env: Env, raws: list[str]) -> None:
    async with world(env) as w:
        for raw in raws:
            await w.feed_raw(raw)


@FUZZ
@given(raws=st.lists(raw_updates(lone=True), min_size=1, max_size=5))
@example(
    raws=raw_presses(
        *(
            f'"{prefix}{lone}"'
            for prefix in ("s:1:", "p:", "f:o:1:1:", "sd:", "dp:1:")
            for lone in LONE_SURROGATES
        )
    )
)
@example(
    raws=[
        raw_update(COMMAND_TEMPLATE, ['"A"', '"ru"', f'"{lone}"'], command=command)
        for command in ("latest", "post_1", "search", "digest", "subscribe", "top")
        for lone in LONE_SURROGATES
    ]
)
async def test_raw_json_with_lone_surrogates(env: Env, raws: list[str]) -> None:
    """Lone UTF-16 surrogates ("\\ud800" in the JSON, never in real text) in stored text,
    titles, entity URLs, file ids, commands, searches and callback data."""
    async with world(env) as w:
        for raw in raws:
            await w.feed_raw(raw)
