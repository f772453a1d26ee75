"""Two whole real Telegram Desktop exports, imported as `python -m bot import` imports them.

Every message is checked, not a sample, against what this file works out from the JSON on
its own: the glued text, each entity's UTF-16 place, the dates, the media kind, the albums
and the reactions. Both files are real (see tests/data/real-exports/README.md), so these
tests meet what Telegram Desktop actually writes, not what we think it writes.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError

from bot.__main__ import parser
from bot.post_view import send_post
from bot.services.export_import import ImportSummary, import_export
from bot.session import create_session
from storage import Post, Source, Storage
from tests.conftest import make_settings
from tests.fake_telegram import TOKEN, FakeTelegram

REAL = Path(__file__).parent / "data" / "real-exports"
SALAF = REAL / "salaf-result.json"
TG2MD = REAL / "tg2md-result.json"
EXPORTS = [SALAF, TG2MD]
#: tg2md's export has local dates only; the tests say it was made in Moscow.
TG2MD_ZONE = "Europe/Moscow"
READER = 222

#: Export segment type -> Bot API entity type, from the Bot API's MessageEntity and
#: Telegram Desktop's JSON writer. A type missing here fails the test, on purpose.
API_TYPES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strikethrough",
    "code": "code",
    "pre": "pre",
    "text_link": "text_link",
    "link": "url",
    "email": "email",
    "mention": "mention",
    "hashtag": "hashtag",
    "blockquote": "blockquote",
    "custom_emoji": "custom_emoji",
}
MEDIA_TYPES = {
    "sticker": "sticker",
    "audio_file": "audio",
    "video_file": "video",
    "voice_message": "voice",
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _channel_id(export: dict[str, Any]) -> int:
    return int(f"-100{export['id']}")


def _posts_of(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in export["messages"] if m["type"] != "service"]


# -- expectations, worked out from the JSON alone -----------------------------------------


def _units(text: str) -> int:
    """UTF-16 code units: characters beyond the Basic Multilingual Plane count two."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _segments(message: dict[str, Any]) -> list[dict[str, Any]]:
    raw = message.get("text_entities", message["text"])
    if isinstance(raw, str):
        raw = [raw]
    return [{"type": "plain", "text": s} if isinstance(s, str) else s for s in raw]


def _entity(segment: dict[str, Any], offset: int) -> dict[str, Any] | None:
    kind = segment["type"]
    if kind == "plain":
        return None
    assert kind in API_TYPES, f"a segment type this test does not know: {kind}"
    entity: dict[str, Any] = {
        "type": API_TYPES[kind],
        "offset": offset,
        "length": _units(segment["text"]),
    }
    if kind == "text_link":
        entity["url"] = segment["href"]
    elif kind == "pre" and segment.get("language"):
        entity["language"] = segment["language"]
    elif kind == "blockquote" and segment.get("collapsed"):
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        document_id = str(segment["document_id"])
        if not (document_id.isascii() and document_id.isdigit()):
            return None
        entity["custom_emoji_id"] = document_id
    return entity


def _entities(message: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The entities the import must store, and the text each one covers."""
    entities, covered, offset = [], [], 0
    for segment in _segments(message):
        if not segment["text"]:
            continue
        entity = _entity(segment, offset)
        if entity is not None:
            entities.append(entity)
            covered.append(segment["text"])
        offset += _units(segment["text"])
    return entities, covered


def _date(message: dict[str, Any], key: str, zone: ZoneInfo) -> datetime | None:
    if f"{key}_unixtime" in message:
        return datetime.fromtimestamp(int(message[f"{key}_unixtime"]), UTC)
    if key in message:
        return datetime.fromisoformat(message[key]).replace(tzinfo=zone).astimezone(UTC)
    return None


def _media_kind(message: dict[str, Any]) -> str | None:
    if "photo" in message:
        return "photo"
    if "media_type" in message:
        return MEDIA_TYPES[message["media_type"]]
    return "document" if "file" in message else None


def _reactions(message: dict[str, Any]) -> int:
    return sum(int(r["count"]) for r in message.get("reactions", []))


def _album_items(messages: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The export's posts as Telegram had them: a run of messages sent in one second,
    ids in a row, each with photos or videos (or each with files, or each with music),
    the caption on the first only, is one album."""
    group: list[dict[str, Any]] = []
    for message in messages:
        if group and _joins(group, message):
            group.append(message)
            continue
        if group:
            yield group
        group = [message]
    if group:
        yield group


def _joins(group: list[dict[str, Any]], message: dict[str, Any]) -> bool:
    def family(m: dict[str, Any]) -> str | None:
        kind = _media_kind(m)
        return {"photo": "v", "video": "v", "document": "d", "audio": "a"}.get(kind or "")

    first, last = group[0], group[-1]
    return (
        len(group) < 10
        and message["id"] == last["id"] + 1
        and message["date"] == first["date"]
        and message.get("date_unixtime") == first.get("date_unixtime")
        and message.get("forwarded_from_id") == first.get("forwarded_from_id")
        and family(first) is not None
        and family(message) == family(first)
        and not "".join(s["text"] for s in _segments(message))
    )


@dataclass
class Expected:
    channel_id: int
    messages: list[dict[str, Any]]
    zone: ZoneInfo
    posts: list[list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.posts = list(_album_items(self.messages))

    @property
    def albums(self) -> list[list[int]]:
        return [[m["id"] for m in post] for post in self.posts if len(post) > 1]


def _zone(path: Path) -> ZoneInfo:
    """The zone each export is imported with (salaf's dates are exact; any zone would do)."""
    return ZoneInfo(TG2MD_ZONE if path == TG2MD else "Asia/Almaty")


def _expected(path: Path) -> Expected:
    export = _load(path)
    return Expected(_channel_id(export), _posts_of(export), _zone(path))


async def _import(storage: Storage, path: Path) -> ImportSummary:
    return await import_export(storage, path, zone=_zone(path))


async def _all_posts(storage: Storage, expected: Expected) -> list[Post]:
    found = []
    for items in expected.posts:
        post = await storage.posts.find(expected.channel_id, items[0]["id"])
        assert post is not None, f"message {items[0]['id']} was not stored"
        found.append(post)
    return found


# -- the import ----------------------------------------------------------------------------


def test_the_albums_are_those_of_the_exports() -> None:
    # What the exports show by eye, so the rule above is not only checked against itself.
    assert _expected(SALAF).albums == [[111, 112], [209, 210, 211, 212]]
    assert _expected(TG2MD).albums == [[23, 24, 25]]


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.stem)
async def test_every_message_of_a_real_export_is_stored_as_exported(
    storage: Storage, path: Path
) -> None:
    export, expected = _load(path), _expected(path)

    summary = await _import(storage, path)

    services = len(export["messages"]) - len(expected.messages)
    assert summary.messages == len(export["messages"])
    assert summary.skipped == Counter({"service message": services})
    assert (summary.created, summary.updated) == (len(expected.messages), 0)
    assert summary.joined == sum(len(album) - 1 for album in expected.albums)
    assert await storage.posts.count() == len(expected.posts)

    for items in expected.posts:
        post = await storage.posts.find(expected.channel_id, items[0]["id"])
        assert post is not None, f"message {items[0]['id']} was not stored"
        _check_post(post, items, expected)
        for item in items[1:]:
            holder = await storage.posts.find(expected.channel_id, item["id"])
            assert holder is not None
            assert holder.id == post.id, item["id"]


def _check_post(post: Post, items: list[dict[str, Any]], expected: Expected) -> None:
    where = f"message {items[0]['id']}"
    assert [part.message_id for part in post.parts] == [m["id"] for m in items], where
    assert (post.channel_id, post.message_id) == (expected.channel_id, items[0]["id"]), where
    assert post.source is Source.IMPORT
    assert post.date == _date(items[0], "date", expected.zone), where
    assert post.reactions == sum(_reactions(m) for m in items), where
    captioned = next((p for p in post.parts if p.text), post.parts[0])
    assert (post.text, post.entities) == (captioned.text, captioned.entities), where
    for part, message in zip(post.parts, items, strict=True):
        _check_part(part.text, part.entities, message)
        assert part.edit_date == _date(message, "edited", expected.zone), message["id"]
        kind = None if part.media is None else part.media.kind
        assert kind == _media_kind(message), message["id"]


def _check_part(text: str, entities: list[dict[str, Any]], message: dict[str, Any]) -> None:
    assert text == "".join(s["text"] for s in _segments(message)), message["id"]
    wanted, covered = _entities(message)
    assert entities == wanted, message["id"]
    utf16 = text.encode("utf-16-le")
    for entity, piece in zip(entities, covered, strict=True):
        start, end = 2 * entity["offset"], 2 * (entity["offset"] + entity["length"])
        assert utf16[start:end].decode("utf-16-le") == piece, message["id"]


async def test_custom_emoji_without_a_numeric_id_keep_their_emoji_and_lose_the_entity(
    storage: Storage,
) -> None:
    export = _load(SALAF)
    emoji = [
        (m["id"], s)
        for m in export["messages"]
        for s in m["text_entities"]
        if s["type"] == "custom_emoji"
    ]
    # The real export names a sticker file, never an id Telegram would take.
    assert len(emoji) == 11
    assert not any(str(s["document_id"]).isdigit() for _, s in emoji)

    for path in EXPORTS:
        await _import(storage, path)

    for message_id, segment in emoji:
        post = await storage.posts.find(_channel_id(export), message_id)
        assert post is not None
        part = next(p for p in post.parts if p.message_id == message_id)
        assert segment["text"] in part.text
    stored = [
        entity
        for path in EXPORTS
        for post in await _all_posts(storage, _expected(path))
        for entities in [post.entities, *(p.entities for p in post.parts)]
        for entity in entities
    ]
    assert stored
    assert [e for e in stored if e["type"] == "custom_emoji"] == []


async def test_the_three_photo_album_is_one_post_with_three_photos(storage: Storage) -> None:
    await _import(storage, TG2MD)

    post = await storage.posts.find(-1001292077344, 24)
    assert post is not None
    assert [p.message_id for p in post.parts] == [23, 24, 25]
    assert [m.kind for m in post.media] == ["photo", "photo", "photo"]
    assert post.message_id == 23
    assert post.text == "multiple photos"
    assert post.media_group_id is not None
    assert post.id in await storage.posts.search_ids("multiple photos")


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.stem)
async def test_importing_a_real_export_twice_changes_nothing(storage: Storage, path: Path) -> None:
    expected = _expected(path)
    await _import(storage, path)
    before = await _all_posts(storage, expected)

    again = await _import(storage, path)

    assert (again.created, again.joined, again.updated) == (0, 0, 0)
    assert again.unchanged == len(expected.messages)
    assert await _all_posts(storage, expected) == before
    assert await storage.posts.count() == len(expected.posts)


# -- the posts reach a reader --------------------------------------------------------------


async def test_every_imported_post_opens_through_the_bot(
    storage: Storage, fake_telegram: FakeTelegram
) -> None:
    for path in EXPORTS:
        await _import(storage, path)
    posts = [post for path in EXPORTS for post in await _all_posts(storage, _expected(path))]
    bot = Bot(
        token=TOKEN,
        session=create_session(fake_telegram.url),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    refused: list[tuple[int, str]] = []
    silent: list[int] = []
    try:
        for post in posts:
            start = len(fake_telegram.calls)
            try:
                await send_post(bot, READER, post, "ru")
            except TelegramAPIError as error:
                refused.append((post.message_id, error.message))
            sends = [c for c in fake_telegram.calls[start:] if c.method.startswith("send")]
            if not sends:
                silent.append(post.message_id)
    finally:
        await bot.session.close()

    assert refused == []
    assert silent == []
    assert [(c.method, c.outcome) for c in fake_telegram.calls if c.outcome != "ok"] == []


# -- the exporting computer's time zone ----------------------------------------------------


def _run(tmp_path: Path, *argv: str) -> int:
    args: argparse.Namespace = parser().parse_args(["import", *argv])
    settings = make_settings("http://127.0.0.1:9", tmp_path / "bot.db", timezone="Asia/Almaty")
    code: int = args.handler(args, settings)
    return code


def _stored_dates(tmp_path: Path) -> dict[int, datetime]:
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        rows = conn.execute("SELECT message_id, date FROM posts").fetchall()
    return {int(message_id): datetime.fromtimestamp(date, UTC) for message_id, date in rows}


def _local_dates(path: Path, zone: str) -> dict[int, datetime]:
    expected = _expected(path)
    return {
        post[0]["id"]: datetime.fromisoformat(post[0]["date"]).replace(tzinfo=ZoneInfo(zone))
        for post in expected.posts
    }


@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York", "Asia/Kolkata"])
def test_the_timezone_option_reads_local_dates_in_that_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    assert _run(tmp_path, str(TG2MD), "--timezone", zone) == 0

    assert _stored_dates(tmp_path) == _local_dates(TG2MD, zone)
    out = capsys.readouterr().out
    assert "new             18  (2 of them album items, in the post of their album)" in out


def test_without_the_option_local_dates_are_read_in_timezone(tmp_path: Path) -> None:
    assert _run(tmp_path, str(TG2MD)) == 0

    # Almaty was UTC+6 in 2020-21: the setting's zone, not the machine's or UTC.
    dates = _stored_dates(tmp_path)
    assert dates == _local_dates(TG2MD, "Asia/Almaty")
    assert dates[2] == datetime(2020, 11, 12, 6, 54, 7, tzinfo=UTC)


def test_the_timezone_option_does_not_move_exact_dates(tmp_path: Path) -> None:
    assert _run(tmp_path, str(SALAF), "--timezone", "America/New_York") == 0

    expected = _expected(SALAF)
    assert _stored_dates(tmp_path) == {
        post[0]["id"]: datetime.fromtimestamp(int(post[0]["date_unixtime"]), UTC)
        for post in expected.posts
    }


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "utc+3", "", "../etc/passwd"])
def test_a_bad_timezone_is_refused_before_anything_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _run(tmp_path, str(TG2MD), "--timezone", zone)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --timezone: unknown time zone {zone!r}" in err
    assert "Asia/Almaty" in err
    assert "Traceback" not in err
    assert not (tmp_path / "bot.db").exists()
