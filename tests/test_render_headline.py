"""Headlines of posts in lists (the first line with words, its emoji apart) and a post's
formatting when its entities cannot be rendered."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import headline, post_html, split_emoji
from storage import Entity, Post


@pytest.mark.parametrize(
    ("text", "emoji", "title"),
    [
        ("🔥🔥🔥\nАкимат Алматы объявил конкурс", "🔥🔥🔥", "Акимат Алматы объявил конкурс"),
        ("🔥🔥🔥\n\n🥩 Ярмарка в субботу", "🥩", "Ярмарка в субботу"),  # its own emoji wins
        ("⚡️ ⚡️ ⚡️\nСрочно", "⚡️", "Срочно"),
        ("———\n🔥\n\nТекст", "🔥", "Текст"),  # the first emoji line above, not a rule
        ("ℹ️\nСправка", "ℹ️", "Справка"),
        ("1️⃣2️⃣3️⃣\nТри новости дня", "1️⃣2️⃣3️⃣", "Три новости дня"),
        ("🇰🇿🇯🇵 Токаев прибыл", "🇰🇿🇯🇵", "Токаев прибыл"),
        ("🥩Мясная ярмарка", "🥩", "Мясная ярмарка"),
        ("  \n2025 год в цифрах", "📰", "2025 год в цифрах"),
        ("!!!\nВнимание", "📰", "Внимание"),
        ("Без эмодзи\n🔥 вторая строка", "📰", "Без эмодзи"),
    ],
)
def test_the_headline_is_the_first_line_with_words(text: str, emoji: str, title: str) -> None:
    assert split_emoji(headline(text, [], "ru")) == (emoji, title)


@pytest.mark.parametrize(
    ("text", "kinds", "emoji", "title"),
    [
        ("🔥🔥🔥", [], "📰", "🔥🔥🔥"),  # nothing but emoji: shown once
        ("———", [], "📰", "———"),
        ("🔥🔥🔥", ["photo"], "🔥🔥🔥", "Фото"),
        ("!!!", ["photo", "video"], "📰", "Альбом"),
        ("", [], "📰", "Пост без текста"),
    ],
)
def test_a_post_without_words(text: str, kinds: list[str], emoji: str, title: str) -> None:
    assert split_emoji(headline(text, kinds, "ru")) == (emoji, title)


def test_a_long_emoji_line_and_headline_are_cut_together() -> None:
    title = headline("🔥\n" + "слово " * 40, [], "ru", limit=30)
    assert len(title) <= 30
    assert title.startswith("🔥 слово")
    assert title.endswith("…")


def post(text: str, entities: list[Entity]) -> Post:
    return Post(
        id=4242,
        channel_id=-1001234567890,
        message_id=7,
        channel_title="Новости",
        channel_username="kz_news",
        date=datetime(2025, 12, 17, tzinfo=UTC),
        edit_date=None,
        text=text,
        entities=entities,
        source="channel",
    )


#: Kinds that render as tags, and two that render as the text itself.
ENTITY_KINDS = ["bold", "italic", "underline", "code", "spoiler", "mention", "hashtag"]


def span(kind: str, offset: int, length: int) -> Entity:
    return {"type": kind, "offset": offset, "length": length}


def bold(offset: int, length: int) -> Entity:
    return span("bold", offset, length)


def italic(offset: int, length: int) -> Entity:
    return span("italic", offset, length)


def mention(offset: int, length: int) -> Entity:
    return span("mention", offset, length)


@pytest.mark.parametrize(
    "entities",
    [
        [{"type": "bold", "offset": 1, "length": 2}],  # an edge inside 🔥's surrogate pair
        [{"type": "text_link", "offset": 0, "length": 2}],  # a link without its URL
    ],
)
def test_formatting_that_cannot_be_rendered_is_dropped_with_a_warning(
    entities: list[Entity], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.render"):
        assert post_html(post("🔥 <b>x", entities)) == "🔥 &lt;b&gt;x"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "post_id=4242" in warnings[0].getMessage()
    assert len(warnings[0].getMessage()) < 200  # one line, not the post's bytes


@pytest.mark.parametrize(
    "entity",
    [
        {"type": "bold", "offset": 1, "length": -1},  # aiogram would repeat the text
        {"type": "bold", "offset": 1, "length": 0},
        {"type": "bold", "offset": -1, "length": 2},
        {"type": "bold", "offset": 10, "length": 5},  # past the end: empty tags
        {"type": "bold", "offset": 2, "length": 2**31},
    ],
)
def test_formatting_outside_the_text_is_left_out_with_a_warning(
    entity: Entity, caplog: pytest.LogCaptureFixture
) -> None:
    italic = {"type": "italic", "offset": 0, "length": 1}
    with caplog.at_level(logging.WARNING, logger="bot.render"):
        assert post_html(post("a<c", [italic, entity])) == "<i>a</i>&lt;c"
    assert [r.getMessage() for r in caplog.records] == [
        "post formatting outside its text or crossing other formatting dropped "
        "post_id=4242 entities=1"
    ]


def test_a_long_post_with_a_negative_length_is_not_doubled() -> None:
    text = "\u0301" * 4095  # what the fuzz test found: 8190 characters, refused as too long
    assert len(post_html(post(text, [{"type": "mention", "offset": 3, "length": -3}]))) == 4095


@pytest.mark.parametrize(
    "entities",
    [
        # What a random fuzz example found: a narrower entity listed before a wider one at
        # the same offset; aiogram wrote the text twice, refused as too long.
        [mention(0, 1), mention(0, 3)],
        [bold(0, 1), italic(0, 3)],
        [bold(0, 3), italic(2, 3)],  # crossing: Telegram never sends it
        [bold(2, 2), italic(0, 6), mention(1, 4)],
    ],
)
def test_formatting_in_any_order_renders_the_text_once(entities: list[Entity]) -> None:
    rendered = post_html(post("abcdef", entities))
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)) == "abcdef"


@given(
    text=st.text(st.sampled_from("ab<&🔥\u0301 "), max_size=12),
    spans=st.lists(
        st.tuples(st.integers(-2, 14), st.integers(-2, 14), st.sampled_from(ENTITY_KINDS)),
        max_size=6,
    ),
)
def test_any_formatting_renders_the_text_once(text: str, spans: list[tuple[int, int, str]]) -> None:
    entities: list[Entity] = [
        {"type": kind, "offset": offset, "length": length} for offset, length, kind in spans
    ]
    rendered = post_html(post(text, entities))
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)) == text


def test_formatting_that_renders_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.render"):
        assert post_html(post("🔥 bold", [{"type": "bold", "offset": 3, "length": 4}])) == (
            "🔥 <b>bold</b>"
        )
    assert not caplog.records
