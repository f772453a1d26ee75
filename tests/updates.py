"""Builders of Bot API update payloads, in the shapes Telegram sends (see tests/data/)."""

from __future__ import annotations

from typing import Any

NEWS_CHANNEL = {
    "id": -1001234567890,
    "title": "Новости Казахстана",
    "username": "kz_news",
    "type": "channel",
}
OTHER_CHANNEL = {
    "id": -1009876543210,
    "title": "Чужой канал",
    "username": "elsewhere",
    "type": "channel",
}
AGENCY_CHANNEL = {"id": -1002496072246, "title": "Пресс-служба", "type": "channel"}

ADMIN = {"id": 111, "is_bot": False, "first_name": "Айгуль", "language_code": "ru"}
READER = {"id": 222, "is_bot": False, "first_name": "Reader", "language_code": "en"}

BASE_DATE = 1_765_951_200  # 2025-12-17 06:00 UTC


def _private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "first_name": user["first_name"], "type": "private"}


def channel_message(
    message_id: int,
    text: str | None = None,
    *,
    chat: dict[str, Any] = NEWS_CHANNEL,
    entities: list[dict[str, Any]] | None = None,
    date: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": date if date is not None else BASE_DATE + message_id,
    }
    if text is not None:
        message["text"] = text
    if entities:
        message["entities"] = entities
    message.update(extra)
    return message


def channel_post(message_id: int, text: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return {"channel_post": channel_message(message_id, text, **kwargs)}


def edited_channel_post(
    message_id: int, text: str | None = None, *, edit_date: int, **kwargs: Any
) -> dict[str, Any]:
    return {"edited_channel_post": channel_message(message_id, text, edit_date=edit_date, **kwargs)}


def photo(unique: str) -> list[dict[str, Any]]:
    """Every size of one photo, smallest first, as Telegram sends them."""
    return [
        {"file_id": f"AgAC-{unique}-s", "file_unique_id": f"{unique}-s", "width": 90, "height": 90},
        {
            "file_id": f"AgAC-{unique}-m",
            "file_unique_id": f"{unique}-m",
            "width": 320,
            "height": 320,
        },
        {"file_id": f"AgAC-{unique}", "file_unique_id": unique, "width": 1280, "height": 1280},
    ]


def photo_post(
    message_id: int,
    unique: str,
    caption: str | None = None,
    *,
    media_group_id: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    extra: dict[str, Any] = {"photo": photo(unique)}
    if caption is not None:
        extra["caption"] = caption
    if media_group_id is not None:
        extra["media_group_id"] = media_group_id
    return channel_post(message_id, None, **extra, **kwargs)


def forward(
    origin_message_id: int,
    text: str | None = None,
    *,
    user: dict[str, Any] = ADMIN,
    origin_chat: dict[str, Any] = AGENCY_CHANNEL,
    message_id: int = 500,
    **extra: Any,
) -> dict[str, Any]:
    """A private message forwarded from a channel (forward_origin plus legacy fields)."""
    origin_date = BASE_DATE + origin_message_id
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": _private_chat(user),
        "date": BASE_DATE + 86_400,
        "forward_origin": {
            "type": "channel",
            "chat": origin_chat,
            "message_id": origin_message_id,
            "date": origin_date,
        },
        "forward_from_chat": origin_chat,
        "forward_from_message_id": origin_message_id,
        "forward_date": origin_date,
    }
    if text is not None:
        message["text"] = text
    message.update(extra)
    return {"message": message}


def forward_from_user(text: str, *, user: dict[str, Any] = ADMIN) -> dict[str, Any]:
    """A forward of a person's message: origin type "user", not a channel post."""
    return {
        "message": {
            "message_id": 600,
            "from": user,
            "chat": _private_chat(user),
            "date": BASE_DATE,
            "forward_origin": {
                "type": "user",
                "sender_user": {"id": 999, "is_bot": False, "first_name": "Someone"},
                "date": BASE_DATE - 100,
            },
            "text": text,
        }
    }


def private_text(
    text: str, *, user: dict[str, Any] = READER, message_id: int = 700
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": _private_chat(user),
        "date": BASE_DATE,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}


def reaction_count(
    message_id: int, counts: list[int], *, chat: dict[str, Any] = NEWS_CHANNEL
) -> dict[str, Any]:
    emojis = ["👍", "🔥", "😢", "🗿"]
    return {
        "message_reaction_count": {
            "chat": chat,
            "message_id": message_id,
            "date": BASE_DATE + 3600,
            "reactions": [
                {"type": {"type": "emoji", "emoji": emojis[i % len(emojis)]}, "total_count": n}
                for i, n in enumerate(counts)
            ],
        }
    }


def callback_query(
    data: str,
    *,
    user: dict[str, Any] = READER,
    message_id: int = 1,
    query_id: str = "cq-1",
) -> dict[str, Any]:
    """A press of an inline button under the bot's message `message_id`."""
    return {
        "callback_query": {
            "id": query_id,
            "from": user,
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": message_id,
                "from": {"id": 7000000001, "is_bot": True, "first_name": "News"},
                "chat": _private_chat(user),
                "date": BASE_DATE,
                "text": "…",
            },
        }
    }


GROUP = {"id": -4001234567, "title": "Обсуждение новостей", "type": "group"}
SUPERGROUP = {
    "id": -1004001234567,
    "title": "Читатели",
    "type": "supergroup",
    "username": "kz_readers",
}


def group_text(
    text: str,
    *,
    user: dict[str, Any] = READER,
    chat: dict[str, Any] = GROUP,
    message_id: int = 800,
) -> dict[str, Any]:
    """A message in a group or supergroup: `from` is the person, the chat's id negative."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": chat,
        "date": BASE_DATE,
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}


def group_callback_query(
    data: str,
    *,
    user: dict[str, Any] = READER,
    chat: dict[str, Any] = GROUP,
    message_id: int = 1,
    query_id: str = "cq-g1",
) -> dict[str, Any]:
    """A press of an inline button under the bot's message in a group."""
    update = callback_query(data, user=user, message_id=message_id, query_id=query_id)
    update["callback_query"]["message"]["chat"] = chat
    return update
