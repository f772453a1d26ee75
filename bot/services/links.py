"""Finding a stored post from what a person points at: a t.me link or a post id.

Every number here is typed by a person, so each is bounded before it reaches SQLite
(64-bit integers): a number out of range names no post, it is not an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aiogram.types import Message, MessageOriginChannel

#: The largest id SQLite stores (and hands out to rows).
MAX_ID = 2**63 - 1
#: Telegram's ids (of chats and users) have at most 52 significant bits.
MAX_TELEGRAM_ID = 2**52

_PUBLIC = re.compile(r"(?:https?://)?t\.me/([A-Za-z][A-Za-z0-9_]{3,31})/(\d+)")
_PRIVATE = re.compile(r"(?:https?://)?t\.me/c/(\d+)/(\d+)")
_POST_ID = re.compile(r"^/?post_?(\d+)$")


def whole_number(text: str, ceiling: int) -> int | None:
    """The number `text` writes in decimal digits (any script's, as int() reads them), or
    None when it is not one. A number above `ceiling` comes back as ceiling + 1, so that a
    caller knows it is too big without int() reading (or refusing) thousands of digits."""
    if not text.isdecimal():  # isdigit() would pass "²", which int() refuses
        return None
    digits = "".join(str(unicodedata.decimal(c)) for c in text).lstrip("0") or "0"
    if len(digits) > len(str(ceiling)):
        return ceiling + 1
    return min(int(digits), ceiling + 1)


def stored_id(text: str) -> int | None:
    """An id (of a post, of a message) from its digits; None when nothing stored can have
    it: 0, or more than 64 bits."""
    value = whole_number(text, MAX_ID)
    return value if value is not None and 1 <= value <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class PostRef:
    """A post as an admin named it: by storage id, or by channel and message id.

    A reference with none of them is a well-formed one to a post that cannot exist (a
    link with a message id beyond 64 bits): nothing is found.
    """

    post_id: int | None = None
    channel_id: int | None = None
    username: str | None = None
    message_id: int | None = None


NOWHERE = PostRef()


def parse_ref(text: str) -> PostRef | None:
    text = text.strip()
    if match := _PRIVATE.search(text):
        internal = whole_number(match[1], MAX_TELEGRAM_ID)
        message_id = stored_id(match[2])
        if internal is None or internal > MAX_TELEGRAM_ID or message_id is None:
            return NOWHERE
        # t.me/c/1987654321/5 is channel -1001987654321 (see render.post_link).
        return PostRef(channel_id=int(f"-100{internal}"), message_id=message_id)
    if match := _PUBLIC.search(text):
        message_id = stored_id(match[2])
        if message_id is None:
            return NOWHERE
        return PostRef(username=match[1].lower(), message_id=message_id)
    if match := _POST_ID.match(text):
        found = stored_id(match[1])
        return NOWHERE if found is None else PostRef(post_id=found)
    return None


def ref_from_reply(reply: Message) -> PostRef | None:
    """A reply to a forwarded channel post, or to a post the bot showed (its link button)."""
    origin = reply.forward_origin
    if isinstance(origin, MessageOriginChannel):
        return PostRef(channel_id=origin.chat.id, message_id=origin.message_id)
    markup = reply.reply_markup
    if markup is not None:
        for row in markup.inline_keyboard:
            for button in row:
                if button.url and (ref := parse_ref(button.url)):
                    return ref
    if reply.text:
        return parse_ref(reply.text)
    return None
