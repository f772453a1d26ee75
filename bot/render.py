"""How posts look in the bot's messages."""

from __future__ import annotations

from bot.texts import t
from storage import Post

HEADLINE_LIMIT = 90


def shorten(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters on a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


def headline(post: Post, lang: str, limit: int = HEADLINE_LIMIT) -> str:
    """The post's first non-empty line, or what its media is when it has no text."""
    for line in post.text.splitlines():
        if line.strip():
            return shorten(line, limit)
    media = post.media
    if len(media) > 1:
        return t(lang, "media_album")
    if media:
        return t(lang, f"media_{media[0].kind}")
    return t(lang, "media_none")
