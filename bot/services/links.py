"""Finding a stored post from what an admin points at: a t.me link or a post id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.types import Message, MessageOriginChannel

_PUBLIC = re.compile(r"(?:https?://)?t\.me/([A-Za-z][A-Za-z0-9_]{3,31})/(\d+)")
_PRIVATE = re.compile(r"(?:https?://)?t\.me/c/(\d+)/(\d+)")
_POST_ID = re.compile(r"^/?post_?(\d+)$")


@dataclass(frozen=True, slots=True)
class PostRef:
    """A post as an admin named it: by storage id, or by channel and message id."""

    post_id: int | None = None
    channel_id: int | None = None
    username: str | None = None
    message_id: int | None = None


def parse_ref(text: str) -> PostRef | None:
    text = text.strip()
    if match := _PRIVATE.search(text):
        return PostRef(channel_id=int("-100" + match[1]), message_id=int(match[2][:18]))
    if match := _PUBLIC.search(text):
        return PostRef(username=match[1].lower(), message_id=int(match[2][:18]))
    if match := _POST_ID.match(text):
        return PostRef(post_id=int(match[1][:18]))
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
