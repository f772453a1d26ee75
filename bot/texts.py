"""Everything the bot says, per language: Russian first, English second.

Templates use str.format fields; values are HTML-escaped by the caller (`t()` escapes
every keyword argument), so a headline with "<" never breaks a message.
"""

from __future__ import annotations

import html
from typing import Final

DEFAULT_LANGUAGE: Final = "ru"

RU: Final[dict[str, str]] = {
    "start": (
        "Здравствуйте! Я бот новостей: храню посты канала и показываю их здесь.\n"
        "Последние новости, самое читаемое, поиск, утренний дайджест и курсы валют — "
        "команды в /help."
    ),
    "help": (
        "<b>Команды</b>\n"
        "/latest [N] — последние новости\n"
        "/top — самое читаемое\n"
        "/search СЛОВА — поиск по новостям\n"
        "/digest [дата] — обзор главных новостей\n"
        "/subscribe [ЧЧ:ММ] — получать дайджест каждое утро\n"
        "/unsubscribe — отписаться от дайджеста\n"
        "/rates — курсы тенге\n"
        "/convert СУММА ВАЛЮТА [ВАЛЮТА] — конвертер"
    ),
    "help_admin": (
        "\n\n<b>Для администраторов</b>\n"
        "Перешлите мне пост канала — я его сохраню.\n"
        "/stats — статистика\n"
        "/delete — удалить пост (ответом на него или ссылкой)\n"
        "/senddigest — разослать дайджест подписчикам"
    ),
    "forward_created": "✅ Сохранено: «{headline}»",
    "forward_updated": "✏️ Обновлено: «{headline}»",
    "forward_unchanged": "☑️ Уже есть: «{headline}»",
    "forward_not_admin": (
        "Сохранять пересланные посты могут только администраторы бота. "
        "Новости можно читать командой /latest."
    ),
    "forward_not_channel": (
        "Это не пост канала, сохранить его нельзя. Перешлите сообщение прямо из канала."
    ),
    "error": "Что-то пошло не так. Попробуйте ещё раз чуть позже.",
    "unknown_command": "Не знаю такой команды. Список команд — /help.",
    "media_photo": "Фото",
    "media_video": "Видео",
    "media_animation": "GIF",
    "media_document": "Документ",
    "media_audio": "Аудио",
    "media_voice": "Голосовое сообщение",
    "media_video_note": "Видеосообщение",
    "media_sticker": "Стикер",
    "media_album": "Альбом",
    "media_none": "Пост без текста",
}

EN: Final[dict[str, str]] = {
    "start": (
        "Hello! I am a news bot: I keep the channel's posts and show them here.\n"
        "Latest news, most read, search, the morning digest and exchange rates — "
        "see /help."
    ),
    "help": (
        "<b>Commands</b>\n"
        "/latest [N] — latest news\n"
        "/top — most read\n"
        "/search WORDS — search the news\n"
        "/digest [date] — the day's top stories\n"
        "/subscribe [HH:MM] — get the digest every morning\n"
        "/unsubscribe — stop the digest\n"
        "/rates — tenge exchange rates\n"
        "/convert AMOUNT CUR [CUR] — currency converter"
    ),
    "help_admin": (
        "\n\n<b>For admins</b>\n"
        "Forward me a channel post to store it.\n"
        "/stats — statistics\n"
        "/delete — delete a post (reply to it or give its link)\n"
        "/senddigest — send the digest to subscribers"
    ),
    "forward_created": "✅ Saved: “{headline}”",
    "forward_updated": "✏️ Updated: “{headline}”",
    "forward_unchanged": "☑️ Already there: “{headline}”",
    "forward_not_admin": (
        "Only the bot's admins can store forwarded posts. Read the news with /latest."
    ),
    "forward_not_channel": (
        "This is not a channel post, so it can't be stored. Forward a message straight "
        "from a channel."
    ),
    "error": "Something went wrong. Please try again a little later.",
    "unknown_command": "I don't know that command. See /help.",
    "media_photo": "Photo",
    "media_video": "Video",
    "media_animation": "GIF",
    "media_document": "Document",
    "media_audio": "Audio",
    "media_voice": "Voice message",
    "media_video_note": "Video message",
    "media_sticker": "Sticker",
    "media_album": "Album",
    "media_none": "Post without text",
}

LANGUAGES: Final[dict[str, dict[str, str]]] = {"ru": RU, "en": EN}


def language_of(code: str | None) -> str:
    """The bot's language for a Telegram language_code: English for en*, else Russian."""
    if code and code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang`, with every value HTML-escaped."""
    template = LANGUAGES.get(lang, RU)[key]
    if not values:
        return template
    return template.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})
