"""`python -m bot import`: a Telegram Desktop export becomes stored posts, once."""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import MessageEntity

from bot.__main__ import parser
from bot.render import post_headline
from bot.services.export_import import (
    Channel,
    ExportError,
    ExportReader,
    Skip,
    convert,
    import_export,
    rich_text,
)
from storage import IncomingMessage, Media, Source, Storage
from tests.conftest import make_settings
from tests.fake_telegram import TOKEN

EXPORT = Path(__file__).parent / "data" / "export" / "result.json"
CHANNEL = -1001487851422
TITLE = "TR Facts Deals🔥🔥🔥"

# Message 90001 of the fixture, counted by hand in UTF-16 code units: the flag 🇰🇿 is two
# regional indicators of two units each, 🤝 and 😀 are two units each, Cyrillic is one.
RICH_TEXT_ENTITIES: list[dict[str, Any]] = [
    {"type": "bold", "offset": 5, "length": 6},
    {"type": "text_link", "offset": 45, "length": 11, "url": "https://example.kz/news/1"},
    {"type": "italic", "offset": 58, "length": 25},
    {"type": "hashtag", "offset": 84, "length": 8},
    {"type": "pre", "offset": 93, "length": 14, "language": "python"},
    {
        "type": "text_mention",
        "offset": 108,
        "length": 6,
        "user": {"id": 111, "is_bot": False, "first_name": "Айгуль"},
    },
    {"type": "custom_emoji", "offset": 116, "length": 2, "custom_emoji_id": "5368324170671202286"},
    # 125-144 is a bank card number: the Bot API has no such entity, it stays plain text.
    {"type": "spoiler", "offset": 145, "length": 6},
    {"type": "blockquote", "offset": 152, "length": 10},
    {"type": "strikethrough", "offset": 163, "length": 6},
    {"type": "underline", "offset": 170, "length": 5},
    {"type": "code", "offset": 176, "length": 3},
    {"type": "cashtag", "offset": 180, "length": 4},
    {"type": "bot_command", "offset": 185, "length": 6},
    {"type": "email", "offset": 192, "length": 15},
    {"type": "phone_number", "offset": 208, "length": 16},
    {"type": "url", "offset": 225, "length": 17},
    {"type": "mention", "offset": 243, "length": 8},
]


def _messages() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(EXPORT.read_text(encoding="utf-8"))
    return list(data["messages"])


def _message(message_id: int) -> dict[str, Any]:
    return next(m for m in _messages() if m["id"] == message_id)


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# -- conversion ---------------------------------------------------------------------------


def test_rich_text_entities_have_telegram_utf16_offsets() -> None:
    converted = convert(_message(90001), Channel(CHANNEL))
    assert not isinstance(converted, Skip)

    assert converted.text.startswith("🇰🇿 Токаев встретился с премьером Японии 🤝 Подробности\n\n")
    assert converted.entities == RICH_TEXT_ENTITIES
    # Every entity is one the Bot API accepts, and each covers the text it was cut from.
    for entity in converted.entities:
        MessageEntity.model_validate(entity)
    utf16 = converted.text.encode("utf-16-le")
    bold = RICH_TEXT_ENTITIES[0]
    start, end = 2 * bold["offset"], 2 * (bold["offset"] + bold["length"])
    assert utf16[start:end].decode("utf-16-le") == "Токаев"


def test_real_export_segments_after_emoji_keep_their_place() -> None:
    converted = convert(_message(85097), Channel(CHANNEL))
    assert not isinstance(converted, Skip)
    utf16 = converted.text.encode("utf-16-le")

    pieces = [
        utf16[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in converted.entities
    ]
    assert pieces == [
        "▶️ Collect Here\n\n",
        "https://amzn.to/42oyZtm",
        "Pay Using UPI To Get Cashback.\n\n▶️ Redmi 12C 4GB RAM, 64GB @ ₹7,999\n\n",
        "https://amzn.to/42zLNgl",
    ]
    assert [e["type"] for e in converted.entities] == ["bold", "url", "bold", "url"]


def test_text_as_plain_string_and_missing_entities() -> None:
    assert rich_text("Просто текст") == ("Просто текст", [])
    assert rich_text(["a", {"type": "bold", "text": ""}, {"type": "unknown", "text": "b"}]) == (
        "ab",
        [],
    )


@pytest.mark.parametrize(
    ("message_id", "media"),
    [
        (85087, Media("photo", None)),
        (85132, None),
        (90004, Media("video", None)),
        (90007, Media("document", None)),
        (90008, Media("voice", None)),
    ],
)
def test_media_are_recorded_by_kind_without_file_ids(message_id: int, media: Media | None) -> None:
    converted = convert(_message(message_id), Channel(CHANNEL))
    assert not isinstance(converted, Skip)
    assert converted.media == media


@pytest.mark.parametrize(
    ("message_id", "reason"),
    [
        (90002, "service message"),
        (90003, "service message"),
        (90005, "poll (not stored)"),
        (90009, "unsupported message"),
    ],
)
def test_messages_that_are_not_posts_are_skipped_with_a_reason(
    message_id: int, reason: str
) -> None:
    assert convert(_message(message_id), Channel(CHANNEL)) == Skip(reason)


def test_dates_come_from_unixtime_and_edits_are_kept() -> None:
    converted = convert(_message(90006), Channel(CHANNEL, "Новости", "kz_news"))
    assert not isinstance(converted, Skip)
    assert converted.date == datetime(2025, 12, 17, 6, 0, 6, tzinfo=UTC)
    assert converted.edit_date == datetime(2025, 12, 17, 6, 10, tzinfo=UTC)
    assert converted.source is Source.IMPORT
    assert (converted.channel_id, converted.channel_username) == (CHANNEL, "kz_news")


# -- reading the file ---------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1 << 20])
def test_streamed_messages_equal_the_whole_file_parsed_at_once(chunk_size: int) -> None:
    raw = EXPORT.read_bytes()
    reader = ExportReader(io.BytesIO(raw), chunk_size=chunk_size)
    reader.open()
    streamed = list(reader.messages())

    whole = json.loads(raw)
    assert streamed == whole["messages"]
    assert reader.header == {"name": TITLE, "type": "public_channel", "id": 1487851422}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"<html>", "not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"about": "", "chats": {"list": []}}', "whole-account export"),
        (b'{"name": "x", "type": "public_channel", "id": 1}', 'no "messages" list'),
        (b'{"name": "x", "messages": [{"id": 1}, {"id": ', "not valid JSON in message #2"),
    ],
)
def test_unreadable_files_raise_a_readable_error(content: bytes, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        _read_all(content)


def _read_all(content: bytes) -> list[Any]:
    reader = ExportReader(io.BytesIO(content), chunk_size=5)
    reader.open()
    return list(reader.messages())


# -- the import into storage --------------------------------------------------------------


async def test_import_stores_posts_with_headlines_and_skips_the_rest(
    storage: Storage,
) -> None:
    summary = await import_export(storage, EXPORT, username="trfacts")

    assert summary.channel == Channel(CHANNEL, TITLE, "trfacts")
    assert (summary.messages, summary.created, summary.updated) == (17, 13, 0)
    assert summary.skipped == {
        "service message": 2,
        "poll (not stored)": 1,
        "unsupported message": 1,
    }
    assert await storage.posts.count() == 13

    rich = await storage.posts.find(CHANNEL, 90001)
    assert rich is not None
    assert rich.entities == RICH_TEXT_ENTITIES
    assert rich.source is Source.IMPORT
    assert (rich.channel_title, rich.channel_username) == (TITLE, "trfacts")
    assert post_headline(rich, "ru") == "🇰🇿 Токаев встретился с премьером Японии 🤝 Подробности"

    deal = await storage.posts.find(CHANNEL, 85097)
    assert deal is not None
    assert (
        post_headline(deal, "ru")
        == "Get Flat ₹800 CashBack On Min Order ₹8,799 On REDMI 12C Mobiles"
    )
    assert deal.date == datetime.fromtimestamp(1686201929, UTC)
    assert deal.edit_date == datetime.fromtimestamp(1686201951, UTC)

    photo_only = await storage.posts.find(CHANNEL, 85242)
    assert photo_only is not None
    assert photo_only.text == ""
    assert photo_only.media == [Media("photo", None)]
    assert post_headline(photo_only, "ru") == "Фото"

    voice = await storage.posts.find(CHANNEL, 90008)
    assert voice is not None
    assert post_headline(voice, "ru") == "Голосовое сообщение"

    rates = await storage.posts.find(CHANNEL, 90006)
    assert rates is not None
    assert post_headline(rates, "ru") == "Курс доллара на бирже KASE вырос до 519,9 тенге."
    # Imported posts are searchable like the ones the bot received.
    assert rates.id in await storage.posts.search_ids("курс")


async def test_importing_twice_changes_nothing(storage: Storage) -> None:
    await import_export(storage, EXPORT)
    before = [await storage.posts.get(post_id) for post_id in range(1, 14)]

    again = await import_export(storage, EXPORT)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 13)
    assert [await storage.posts.get(post_id) for post_id in range(1, 14)] == before
    assert await storage.posts.count() == 13


async def test_a_newer_export_updates_an_edited_post(storage: Storage, tmp_path: Path) -> None:
    await import_export(storage, EXPORT)
    data = json.loads(EXPORT.read_text(encoding="utf-8"))
    edited = next(m for m in data["messages"] if m["id"] == 90006)
    edited["text"] = edited["text_entities"][0]["text"] = "Курс доллара: 520 тенге."
    edited["edited_unixtime"] = str(int(edited["edited_unixtime"]) + 60)

    summary = await import_export(storage, _write(tmp_path / "newer.json", data))

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 12)
    post = await storage.posts.find(CHANNEL, 90006)
    assert post is not None
    assert post.text == "Курс доллара: 520 тенге."


async def test_channel_id_comes_from_the_option_when_the_export_lacks_it(
    storage: Storage, tmp_path: Path
) -> None:
    bare = [dict(m, from_id="user42") for m in _messages()[:3]]
    path = _write(tmp_path / "messages.json", bare)

    with pytest.raises(ExportError, match="--channel-id"):
        await import_export(storage, path)
    summary = await import_export(storage, path, channel_id=-1005555555555)

    assert summary.created == 3
    assert await storage.posts.find(-1005555555555, 85087) is not None


async def test_an_export_of_another_kind_of_chat_is_refused(
    storage: Storage, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "group.json",
        {"name": "Семья", "type": "private_group", "id": 42, "messages": _messages()},
    )
    with pytest.raises(ExportError, match="export of a private_group, not of a channel"):
        await import_export(storage, path)
    assert await storage.posts.count() == 0


async def test_channel_id_option_must_match_the_export(storage: Storage) -> None:
    with pytest.raises(ExportError, match="is of channel -1001487851422"):
        await import_export(storage, EXPORT, channel_id=-1009999999999)


# -- the command --------------------------------------------------------------------------


def _run(tmp_path: Path, *argv: str) -> int:
    args: argparse.Namespace = parser().parse_args(["import", *argv])
    settings = make_settings("http://127.0.0.1:9", tmp_path / "bot.db")
    code: int = args.handler(args, settings)
    return code


def test_command_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, str(EXPORT.parent), "--username", "@trfacts") == 0
    out = capsys.readouterr().out
    assert f'Imported "{TITLE}" ({CHANNEL})' in out
    assert "new             13" in out
    assert "skipped          4" in out
    assert "service message" in out

    assert _run(tmp_path, str(EXPORT)) == 0
    out = capsys.readouterr().out
    assert "new              0" in out
    assert "already stored, unchanged         13" in out


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "import: no such file:"),
        (b"not json at all", "not JSON"),
        (
            b'{"name": "A", "type": "personal_chat", "id": 5, "messages": [{"id": 1}]}',
            "not of a channel",
        ),
    ],
)
def test_command_operator_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, error: str
) -> None:
    path = tmp_path / "result.json"
    if content is not None:
        path.write_bytes(content)

    assert _run(tmp_path, str(path)) == 2

    err = capsys.readouterr().err
    assert error in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_module_entry_point_runs_import(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
    env.update(BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(EXPORT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "new             13" in done.stdout
    # Not a terminal: no progress bar.
    assert "%" not in done.stderr

    missing = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(tmp_path / "nope.json")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"import: no such file: {tmp_path / 'nope.json'}"


async def test_import_keeps_what_the_bot_received_live(storage: Storage) -> None:
    live = IncomingMessage(
        channel_id=CHANNEL,
        message_id=85242,
        date=datetime.fromtimestamp(1686210000, UTC),
        source=Source.CHANNEL,
        media=Media("photo", "AgAC-live", "live-unique"),
    )
    await storage.posts.save(live)

    await import_export(storage, EXPORT)

    post = await storage.posts.find(CHANNEL, 85242)
    assert post is not None
    assert post.media == [Media("photo", "AgAC-live", "live-unique")]


# -- what real exports write differently --------------------------------------------------

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
NOON = 1765951200  # 2025-12-17 06:00:00 UTC


@pytest.mark.parametrize(
    ("document_id", "kept"),
    [
        ("5368324170671202286", True),
        (5368324170671202286, True),
        ("stickers/sticker (4).webp", False),
        (NOT_INCLUDED, False),
        ("", False),
        ("٥٣٦٨", False),  # Arabic-Indic digits are digits to Python, not to Telegram
        ("5368324170671202286.webp", False),
    ],
)
def test_a_custom_emoji_is_kept_only_with_a_numeric_id(document_id: object, kept: bool) -> None:
    text, entities = rich_text(
        ["Salaf ", {"type": "custom_emoji", "text": "☪️", "document_id": document_id}, " 📚"]
    )

    # The emoji stays in the text either way; only the entity Telegram would refuse goes.
    assert text == "Salaf ☪️ 📚"
    wanted = {
        "type": "custom_emoji",
        "offset": 6,
        "length": 2,
        "custom_emoji_id": "5368324170671202286",
    }
    assert entities == ([wanted] if kept else [])


PHOTO: dict[str, Any] = {"photo": NOT_INCLUDED, "width": 1280, "height": 720}
VIDEO: dict[str, Any] = {"file": NOT_INCLUDED, "media_type": "video_file", "mime_type": "video/mp4"}
PDF: dict[str, Any] = {"file": NOT_INCLUDED, "file_name": "a.pdf", "mime_type": "application/pdf"}
STICKER: dict[str, Any] = {"file": NOT_INCLUDED, "media_type": "sticker", "sticker_emoji": "🌸"}


def _item(
    message_id: int, text: str = "", *, at: int = NOON, media: dict[str, Any] | None = PHOTO
) -> dict[str, Any]:
    """A channel message as Telegram Desktop writes it (media None: text alone)."""
    return {
        "id": message_id,
        "type": "message",
        "date": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(at),
        "from": TITLE,
        "from_id": "channel1487851422",
        **(media or {}),
        "text": text,
        "text_entities": [{"type": "plain", "text": text}] if text else [],
    }


def _forwarded(message: dict[str, Any], origin: int) -> dict[str, Any]:
    return dict(message, forwarded_from="Другой канал", forwarded_from_id=f"channel{origin}")


async def _import_messages(
    storage: Storage, tmp_path: Path, messages: list[dict[str, Any]], **options: Any
) -> Any:
    export = {"name": TITLE, "type": "public_channel", "id": 1487851422, "messages": messages}
    return await import_export(storage, _write(tmp_path / "result.json", export), **options)


async def _posts(storage: Storage, messages: list[dict[str, Any]]) -> list[list[int]]:
    """The stored posts, each as the ids of its messages."""
    posts: dict[int, list[int]] = {}
    for message in messages:
        post = await storage.posts.find(CHANNEL, message["id"])
        assert post is not None
        posts[post.id] = [part.message_id for part in post.parts]
    return list(posts.values())


@pytest.mark.parametrize(
    ("messages", "posts"),
    [
        ([_item(1, "Три фото"), _item(2), _item(3)], [[1, 2, 3]]),
        ([_item(1), _item(2, media=VIDEO)], [[1, 2]]),
        ([_item(1, "Файлы", media=PDF), _item(2, media=PDF)], [[1, 2]]),
        # Two posts of one second: a caption of its own, ids apart, another second.
        ([_item(1, "Первое"), _item(2, "Второе")], [[1], [2]]),
        ([_item(1), _item(3)], [[1], [3]]),
        ([_item(1), _item(2, at=NOON + 1)], [[1], [2]]),
        # Media that never share an album, and text without media.
        ([_item(1), _item(2, media=PDF)], [[1], [2]]),
        ([_item(1, media=STICKER), _item(2, media=STICKER)], [[1], [2]]),
        ([_item(1, "Текст", media=None), _item(2, "Ещё", media=None)], [[1], [2]]),
        # Forwards from two channels in one second.
        ([_forwarded(_item(1), 11), _forwarded(_item(2), 12)], [[1], [2]]),
        ([_forwarded(_item(1), 11), _forwarded(_item(2), 11)], [[1, 2]]),
        # Telegram's albums hold ten items at most.
        ([_item(i) for i in range(1, 12)], [list(range(1, 11)), [11]]),
    ],
)
async def test_an_album_is_one_post_and_neighbours_are_not(
    storage: Storage, tmp_path: Path, messages: list[dict[str, Any]], posts: list[list[int]]
) -> None:
    summary = await _import_messages(storage, tmp_path, messages)

    assert await _posts(storage, messages) == posts
    assert summary.created == len(messages)
    assert summary.joined == sum(len(post) - 1 for post in posts)
    assert await storage.posts.count() == len(posts)


async def test_an_album_is_never_stored_in_halves_by_batches(
    storage: Storage, tmp_path: Path
) -> None:
    messages = [
        _item(4, "До"),
        _item(5, "Альбом"),
        _item(6),
        _item(7, media=VIDEO),
        _item(8, "После"),
    ]
    committed: list[list[list[int]]] = []

    def after_batch(done: int, total: int, read: int) -> None:
        # What another reader of the database sees after each batch: an interrupted
        # import keeps these, so none may hold part of an album.
        with sqlite3.connect(f"file:{tmp_path / 'bot.db'}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT group_concat(message_id) FROM post_parts GROUP BY post_id ORDER BY post_id"
            ).fetchall()
        committed.append([sorted(int(i) for i in row[0].split(",")) for row in rows])

    summary = await _import_messages(
        storage, tmp_path, messages, batch_size=1, progress=after_batch
    )

    assert committed[0] == [[4]]
    assert all(state[1:2] in ([], [[5, 6, 7]]) for state in committed)
    assert await _posts(storage, messages) == [[4], [5, 6, 7], [8]]
    assert (summary.created, summary.joined) == (5, 2)
    post = await storage.posts.find(CHANNEL, 7)
    assert post is not None
    assert [m.kind for m in post.media] == ["photo", "photo", "video"]
    assert post_headline(post, "ru") == "Альбом"

    again = await _import_messages(storage, tmp_path, messages, batch_size=1)
    assert (again.created, again.unchanged) == (0, 5)
    assert await _posts(storage, messages) == [[4], [5, 6, 7], [8]]


def _reacted(message: dict[str, Any], *counts: tuple[str, int]) -> dict[str, Any]:
    reactions = [
        {"type": kind, "count": count, **({"emoji": "👍"} if kind == "emoji" else {})}
        for kind, count in counts
    ]
    return dict(message, reactions=reactions)


async def test_reactions_of_every_kind_are_the_posts_total_and_rank_it(
    storage: Storage, tmp_path: Path
) -> None:
    messages = [
        _reacted(_item(1, "Популярное"), ("emoji", 5), ("custom_emoji", 2), ("paid", 3)),
        _item(2, "Без реакций", at=NOON + 60),
        # An album: its items' reactions add up, as live counts of its parts do.
        _reacted(_item(3, "Альбом", at=NOON + 120), ("emoji", 4)),
        _reacted(_item(4, at=NOON + 120), ("emoji", 2)),
    ]

    await _import_messages(storage, tmp_path, messages)

    top = await storage.posts.top(datetime(2025, 12, 1, tzinfo=UTC), 3)
    assert [(p.message_id, p.reactions) for p in top] == [(1, 10), (3, 6), (2, 0)]


async def test_reimporting_sets_reactions_and_never_adds_them(
    storage: Storage, tmp_path: Path
) -> None:
    post = _reacted(_item(1, "Пост"), ("emoji", 5))
    await _import_messages(storage, tmp_path, [post])

    again = await _import_messages(storage, tmp_path, [post])
    assert (again.updated, again.unchanged) == (0, 1)
    stored = await storage.posts.find(CHANNEL, 1)
    assert stored is not None
    assert stored.reactions == 5

    # A later export: the count moved while the post was never edited.
    later = await _import_messages(storage, tmp_path, [_reacted(post, ("emoji", 3))])
    assert (later.updated, later.unchanged) == (1, 0)
    stored = await storage.posts.find(CHANNEL, 1)
    assert stored is not None
    assert stored.reactions == 3


async def test_an_export_without_reactions_keeps_the_live_count(
    storage: Storage, tmp_path: Path
) -> None:
    await _import_messages(storage, tmp_path, [_item(1, "Пост")])
    await storage.posts.set_reactions(CHANNEL, 1, 7)

    # Older Telegram Desktop versions export no reactions at all.
    summary = await _import_messages(storage, tmp_path, [_item(1, "Пост")])

    assert summary.unchanged == 1
    stored = await storage.posts.find(CHANNEL, 1)
    assert stored is not None
    assert stored.reactions == 7
