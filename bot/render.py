"""How posts and lists of posts look in the bot's messages (Telegram HTML)."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.text_decorations import HtmlDecoration

from bot.services.ingest import entities_from_records
from bot.texts import N_, t
from storage import Entity, Post, PostSummary
from storage.search_text import stems

log = logging.getLogger(__name__)

#: Telegram's limit for a message's text, after entities are parsed.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
HEADLINE_LIMIT = 90
SNIPPET_LIMIT = 160
#: What a reader typed, quoted back in an answer ("I don't know the currency «…»"), is cut
#: to this many characters: a whole pasted article would not fit in a message.
ECHO_LIMIT = 64
DEFAULT_EMOJI = "📰"

# A headline that starts with an emoji (or a flag, or a keycap) keeps it.
# Anything followed by the emoji selector U+FE0F is drawn as an emoji (ℹ️, ©️).
_LEADING_EMOJI = re.compile(
    r"^(?:[\U0001F1E6-\U0001F1FF]{2}|[0-9#*]\uFE0F?\u20E3"
    r"|(?:\S\uFE0F|[\u2600-\u27BF\U0001F000-\U0001FAFF])"
    r"[\uFE0F\u200D\U0001F3FB-\U0001F3FF\u2600-\u27BF\U0001F000-\U0001FAFF\U000E0020-\U000E007F]*)+"
)
# A character drawn as an emoji: a keycap (1️⃣) or one with the emoji selector (ℹ️). Its
# letter or digit is no word.
_EMOJI_PRESENTATION = re.compile(r".\uFE0F?\u20E3|.\uFE0F")


class _TelegramHtml(HtmlDecoration):
    """aiogram's HTML, with two fixes so that Telegram reads it as it was published.

    aiogram writes <pre><code language="language-x">, which Telegram ignores; the Bot
    API documents <pre><code class="language-x">. And it puts a link's URL into href
    unescaped, so an "&" or a quote in a URL would break the message.
    """

    def pre_language(self, value: str, language: str) -> str:
        return f'<pre><code class="language-{html.escape(language)}">{value}</code></pre>'

    def link(self, value: str, link: str) -> str:
        return f'<a href="{html.escape(link)}">{value}</a>'


html_decoration = _TelegramHtml()


def post_html(post: Post) -> str:
    """The post's text with every formatting entity where it was, as Telegram HTML.

    Formatting that cannot be rendered is left out with a warning naming the post, for
    whoever wonders where it went: the text is always there, once.
    """
    entities = _nested(_within(post.text, post.entities))
    if len(entities) < len(post.entities):
        # aiogram would repeat the text for a negative length or for entities that cross
        # or come wider-after-narrower, and write empty tags for an entity past the end.
        log.warning(
            "post formatting outside its text or crossing other formatting dropped "
            "post_id=%s entities=%s",
            post.id,
            len(post.entities) - len(entities),
        )
    try:
        return html_decoration.unparse(post.text, entities_from_records(entities))
    except (AttributeError, UnicodeDecodeError) as error:
        # Entities Telegram does not send (a link without its URL, an edge inside an
        # emoji's surrogate pair): the text unformatted rather than no post at all.
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        log.warning(
            "post formatting dropped post_id=%s: %s: %s", post.id, type(error).__name__, reason
        )
        return html.escape(post.text, quote=False)


def _nested(entities: list[Entity]) -> list[Entity]:
    """The entities in the order aiogram renders correctly (by offset, the wider first),
    without any that cross an enclosing one: Telegram nests formatting, it never lets two
    entities overlap in part."""
    ordered = sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    kept: list[Entity] = []
    open_ends: list[int] = []
    for entity in ordered:
        start = entity["offset"]
        end = start + entity["length"]
        while open_ends and open_ends[-1] <= start:
            open_ends.pop()
        if open_ends and end > open_ends[-1]:
            continue
        kept.append(entity)
        open_ends.append(end)
    return kept


def _within(text: str, entities: list[Entity]) -> list[Entity]:
    """The entities that lie wholly inside the text (offsets count UTF-16 code units)."""
    size = len(text.encode("utf-16-le", "surrogatepass")) // 2
    return [
        entity
        for entity in entities
        if isinstance(offset := entity.get("offset"), int)
        and isinstance(length := entity.get("length"), int)
        and offset >= 0
        and length > 0
        and offset + length <= size
    ]


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


def has_words(line: str) -> bool:
    """Whether a line has a letter or a digit that is not drawn as an emoji."""
    return any(c.isalnum() for c in _EMOJI_PRESENTATION.sub("", line))


def headline(text: str, media_kinds: Sequence[str], lang: str, limit: int = HEADLINE_LIMIT) -> str:
    """The post's first line with words (letters or digits), or what its media is when it
    has none.

    A line of only emoji above it ("🔥🔥🔥") is no headline, but its leading emoji is
    kept in front of one that has no emoji of its own, so that the feed shows it.
    """
    emoji, wordless = "", ""
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if has_words(line):
            if emoji and not _LEADING_EMOJI.match(line):
                line = f"{emoji} {line}"
            return shorten(line, limit)
        wordless = wordless or line
        if not emoji and (found := _LEADING_EMOJI.match(line)):
            emoji = found.group(0)
    if media_kinds:
        name = N_("media_album") if len(media_kinds) > 1 else _media_name(media_kinds[0])
        what = t(lang, name)
        return shorten(f"{emoji} {what}" if emoji else what, limit)
    # Text with no words at all ("🔥🔥🔥", "———") is its own headline.
    return shorten(wordless, limit) if wordless else t(lang, "media_none")


_MEDIA_NAMES = {
    "photo": N_("media_photo"),
    "video": N_("media_video"),
    "animation": N_("media_animation"),
    "document": N_("media_document"),
    "audio": N_("media_audio"),
    "voice": N_("media_voice"),
    "video_note": N_("media_video_note"),
    "sticker": N_("media_sticker"),
}


def _media_name(kind: str) -> str:
    """The message id naming a kind of media (a kind stored by a newer version: a file)."""
    return _MEDIA_NAMES.get(kind, N_("media_document"))


def post_headline(post: Post | PostSummary, lang: str) -> str:
    kinds = post.media_kinds if isinstance(post, PostSummary) else [m.kind for m in post.media]
    return headline(post.text, kinds, lang)


def split_emoji(title: str) -> tuple[str, str]:
    """('🇰🇿🇯🇵', 'Токаев прибыл…') from a headline; a default emoji when it has none, or
    when it is nothing but emoji (shown once, as the title, not twice)."""
    match = _LEADING_EMOJI.match(title)
    rest = title[match.end() :].strip() if match else ""
    if not match or not rest:
        return DEFAULT_EMOJI, title
    return match.group(0), rest


def post_link(channel_id: int, username: str | None, message_id: int) -> str:
    """t.me/USERNAME/ID for a public channel, t.me/c/INTERNAL_ID/ID for a private one."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    internal = str(channel_id).removeprefix("-100").removeprefix("-")
    return f"https://t.me/c/{internal}/{message_id}"


def local_time(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """14:05 for today, 17.12 14:05 for another day of this year, 17.12.2024 otherwise."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%d.%m %H:%M")
    return local.strftime("%d.%m.%Y %H:%M")


def feed_item(
    number: int,
    post: PostSummary,
    lang: str,
    tz: ZoneInfo,
    now: datetime,
    *,
    extra: str = "",
    snippet: str = "",
) -> str:
    emoji, title = split_emoji(post_headline(post, lang))
    link = post_link(post.channel_id, post.channel_username, post.message_id)
    lines = [f'{number}. {emoji} <a href="{html.escape(link)}">{html.escape(title)}</a>']
    if snippet:
        lines.append(snippet)
    meta = f"{local_time(post.date, tz, now)} · {html.escape(post.channel_title or '—')}"
    lines.append(f"<i>{meta}</i>{extra}")
    return "\n".join(lines)


def fit(header: str, items: Sequence[str], limit: int = MESSAGE_LIMIT) -> tuple[str, int]:
    """The header and as many items as fit in one message; how many items fitted.

    Telegram counts the text without HTML tags; counting with them errs on the safe side.
    """
    text, count = header, 0
    for item in items:
        candidate = f"{text}\n\n{item}" if text else item
        if len(candidate) > limit and count > 0:
            break
        text, count = candidate, count + 1
    return text, count


def snippet(text: str, terms: Sequence[str], limit: int = SNIPPET_LIMIT) -> str:
    """A short piece of text around the first matching word, matches in bold (HTML)."""
    wanted = set(terms)
    flat = " ".join(text.split())
    spans = matching_words(flat, wanted)
    if not spans:
        return html.escape(shorten(flat, limit))
    start = max(0, spans[0][0] - limit // 3)
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(flat), start + limit)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > spans[0][1] else end
    pieces, cursor = [], start
    for begin, finish in spans:
        if begin < start or finish > end:
            continue
        pieces.append(html.escape(flat[cursor:begin]))
        pieces.append(f"<b>{html.escape(flat[begin:finish])}</b>")
        cursor = finish
    pieces.append(html.escape(flat[cursor:end]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    return prefix + "".join(pieces).strip() + suffix


def matching_words(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Where the words whose stem is wanted are in the text.

    Snowball's Russian stemmer only takes endings off, so a word can have a wanted stem
    only if it starts with it: only such words are stemmed, a few in a post instead of
    all of them (stemming every word cost more than the rest of a search).
    """
    prefixes = tuple(wanted)
    spans = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower().replace("ё", "е")
        if word.startswith(prefixes) and next(iter(stems(word)), "") in wanted:
            spans.append(match.span())
    return spans


_WORD = re.compile(r"\w+")


_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def plain_text(message_html: str) -> str:
    """A message as a person reads it, for a terminal: links as "text (url)", no tags."""
    with_links = _LINK.sub(lambda m: f"{m[2]} ({html.unescape(m[1])})", message_html)
    return html.unescape(_TAG.sub("", with_links))
