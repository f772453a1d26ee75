"""Importing a channel's history from a Telegram Desktop export (result.json).

Telegram Desktop ("Export chat history", format JSON) writes

    {"name": "…", "type": "public_channel", "id": 1487851422, "messages": [ … ]}

Each message has `text_entities`: the text cut into consecutive typed segments ("plain",
"bold", "text_link" with "href", …) without offsets. Gluing the segments back gives the
message text, and each segment's position, counted in UTF-16 code units, is the offset
Telegram's own entity had: the exporter cut the text at those offsets. (Where Telegram
had nested entities the exporter kept only the first of them; so does the import.)

An export has no file ids, so media are recorded by kind only. Service messages (a pin, a
new title) are not posts and are skipped, as the bot skips them live.

What an export writes differently from the Bot API:

- A custom emoji's `document_id` is the path of a downloaded sticker file, or "(File not
  included…)", not the number Telegram needs; Telegram refuses a message whose custom
  emoji id is not a number. Such an entity is dropped and its emoji stays as plain text.
- There is no `media_group_id`: an album is a run of messages (see `AlbumJoiner`), and is
  stored as one post, as a live album is.
- `reactions` lists counts by reaction; their sum is the post's reaction total, as
  message_reaction_count updates keep it live.

The file is read as a stream: one message (or one album's items) in memory at a time,
whatever the export's size.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import Entity, IncomingMessage, Media, SaveOutcome, Source, Storage

#: Export segment type -> Bot API entity type. "plain" is no entity; types the Bot API
#: does not have (bank_card, unknown) stay plain text.
ENTITY_TYPES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strikethrough",
    "spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "text_link": "text_link",
    "link": "url",
    "mention": "mention",
    "mention_name": "text_mention",
    "hashtag": "hashtag",
    "cashtag": "cashtag",
    "bot_command": "bot_command",
    "email": "email",
    "phone": "phone_number",
    "custom_emoji": "custom_emoji",
    "blockquote": "blockquote",
}

#: Export `media_type` -> the bot's media kind; a file without one is a document.
MEDIA_TYPES = {
    "animation": "animation",
    "video_file": "video",
    "video_message": "video_note",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}

UTC_ZONE = ZoneInfo("UTC")

CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})

# Content the bot does not store, by the key Telegram Desktop writes for it.
_UNSTORED_CONTENT = {
    "poll": "poll",
    "location_information": "location",
    "place_name": "venue",
    "contact_information": "contact",
    "game_title": "game",
    "invoice_information": "invoice",
}
# Top-level keys of a whole-account export ("Export Telegram data"), not of one chat.
_ACCOUNT_EXPORT_KEYS = frozenset({"about", "chats", "left_chats", "personal_information"})
_CHUNK = 1 << 20
# A message bigger than this is not a message: stop instead of buffering the whole file.
_MAX_MESSAGE_CHARS = 64 << 20


class ExportError(Exception):
    """The file is not a Telegram Desktop channel export the import can read."""


# -- reading the file --------------------------------------------------------------------


class ExportReader:
    """Streams the messages of a result.json; the other top-level keys go to `header`.

    The top level is parsed by hand and each message with json's raw_decode, so memory
    holds one chunk of the file and one message, not the whole export. Telegram Desktop
    writes "name", "type" and "id" before "messages", so they are known before the first
    message is.
    """

    def __init__(self, file: IO[bytes], *, chunk_size: int = _CHUNK) -> None:
        self._file = file
        self._chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buf = ""  # text read and not yet parsed, from _pos on
        self._pos = 0
        self._eof = False
        self._top = ""  # "{" for a whole result.json, "[" for a bare message list
        self.header: dict[str, Any] = {}
        self.bytes_read = 0
        self.messages_read = 0

    def _fill(self) -> bool:
        """Read the next chunk; False when the file has nothing more."""
        if self._eof:
            return False
        data = self._file.read(self._chunk_size)
        self.bytes_read += len(data)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ExportError("the file is not UTF-8 text, so not a Telegram export") from None
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        self._eof = not data
        return True

    def _peek(self) -> str:
        """The next non-blank character, not consumed ("" at the end of the file)."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def _expect(self, chars: str, where: str) -> str:
        char = self._peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            wanted = " or ".join(repr(c) for c in chars)
            raise ExportError(f"not valid JSON: expected {wanted} {where}, found {found}")
        self._pos += 1
        return char

    def _value(self, where: str) -> Any:
        self._peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError:
                end = -1
            # A value that reaches the end of the buffer may go on in the next chunk
            # (a number), and one that failed may just be cut by the chunk's end.
            if end != -1 and (end < len(self._buf) or self._eof):
                self._pos = end
                return value
            if len(self._buf) - self._pos > _MAX_MESSAGE_CHARS or not self._fill():
                raise ExportError(f"not valid JSON {where}")

    def open(self) -> None:
        """Read up to the first message; raise ExportError if this is no chat export."""
        self._top = self._peek()
        if self._top == "":
            raise ExportError("the file is empty")
        if self._top not in "{[":
            raise ExportError("not JSON, or not a Telegram Desktop export")
        self._pos += 1
        if self._top == "{" and not self._keys(first=True):
            raise ExportError('no "messages" list: not a Telegram Desktop chat export')

    def _keys(self, *, first: bool) -> bool:
        """Read top-level keys into `header`; True when inside the message list."""
        while True:
            if self._expect('"}' if first else ",}", "between top-level keys") == "}":
                return False
            if first:
                self._pos -= 1  # the quote belongs to the key
            first = False
            key = self._value("in a top-level key")
            if not isinstance(key, str):
                raise ExportError("not valid JSON: a top-level key is not a string")
            self._expect(":", f"after the key {key!r}")
            if key in _ACCOUNT_EXPORT_KEYS:
                raise ExportError(
                    "this is a whole-account export; export the channel itself: open it "
                    "in Telegram Desktop, ⋮ → Export chat history, format JSON"
                )
            if key == "messages":
                self._expect("[", 'after "messages"')
                return True
            self.header[key] = self._value(f"in the value of {key!r}")

    def messages(self) -> Iterator[Any]:
        """Each element of the message list, as parsed JSON."""
        if self._peek() == "]":
            self._pos += 1
        else:
            while True:
                yield self._value(f"in message #{self.messages_read + 1}")
                self.messages_read += 1
                if self._expect(",]", f"after message #{self.messages_read}") == "]":
                    break
        if self._top == "{" and self._keys(first=False):
            raise ExportError('two "messages" lists: not a Telegram Desktop chat export')


def _peer_id(value: object) -> int | None:
    """'channel1487851422' -> -1001487851422."""
    if isinstance(value, str) and value.startswith("channel") and value[7:].isdigit():
        return -(10**12) - int(value[7:])
    return None


def channel_id_of(export_id: object) -> int | None:
    """The export's bare "id" (1487851422) as the Bot API chat id (-1001487851422)."""
    if isinstance(export_id, int) and not isinstance(export_id, bool) and export_id > 0:
        return -(10**12) - export_id
    return None


# -- converting one message --------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def rich_text(segments: str | Iterable[str | Mapping[str, Any]]) -> tuple[str, list[Entity]]:
    """An export's text (a string, or a list of strings and typed segments) as text plus
    Bot API entities with UTF-16 offsets."""
    if isinstance(segments, str):
        return segments, []
    pieces: list[str] = []
    entities: list[Entity] = []
    offset = 0
    for segment in segments:
        if isinstance(segment, str):
            kind, text = "plain", segment
        elif isinstance(segment, Mapping):
            kind, text = str(segment.get("type", "plain")), str(segment.get("text", ""))
        else:
            continue
        if not text:
            continue
        length = utf16_len(text)
        entity = _entity(kind, segment, offset, length) if kind != "plain" else None
        if entity is not None:
            entities.append(entity)
        pieces.append(text)
        offset += length
    return "".join(pieces), entities


def _entity(kind: str, segment: object, offset: int, length: int) -> Entity | None:
    api_type = ENTITY_TYPES.get(kind)
    if api_type is None or not isinstance(segment, Mapping):
        return None
    entity: Entity = {"type": api_type, "offset": offset, "length": length}
    if api_type == "text_link":
        href = segment.get("href")
        if not href:
            return None
        entity["url"] = str(href)
    elif api_type == "pre":
        if segment.get("language"):
            entity["language"] = str(segment["language"])
    elif api_type == "text_mention":
        user_id = segment.get("user_id")
        if not str(user_id).isdigit():
            return None
        # The Bot API's text_mention carries a User; the export has only the id, and the
        # mention's own text is the name that was shown.
        entity["user"] = {"id": int(str(user_id)), "is_bot": False, "first_name": segment["text"]}
    elif api_type == "custom_emoji":
        emoji_id = custom_emoji_id(segment.get("document_id"))
        if emoji_id is None:
            return None
        entity["custom_emoji_id"] = emoji_id
    elif api_type == "blockquote" and segment.get("collapsed"):
        entity["type"] = "expandable_blockquote"
    return entity


_DECIMAL = re.compile(r"[0-9]+")


def custom_emoji_id(document_id: object) -> str | None:
    """The Bot API's custom_emoji_id (a string of digits) from an export's document_id.

    Recent exports write the path of the sticker file they saved ("stickers/sticker.webp")
    or "(File not included…)" there; those name no emoji Telegram knows: None.
    """
    if isinstance(document_id, bool) or not isinstance(document_id, str | int):
        return None
    text = str(document_id)
    return text if _DECIMAL.fullmatch(text) else None


def reaction_total(message: Mapping[str, Any]) -> int | None:
    """The sum of the message's reaction counts, of every kind (emoji, custom emoji,
    paid), as the live total counts them; None when the export lists none.

    An export leaves `reactions` out both for a message nobody reacted to and in versions
    before reactions were exported; None keeps whatever count is stored.
    """
    reactions = message.get("reactions")
    if not isinstance(reactions, list):
        return None
    counts = (r.get("count") for r in reactions if isinstance(r, Mapping))
    return sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c > 0)


def media_of(message: Mapping[str, Any]) -> Media | None:
    """The message's media by kind; an export has no file ids."""
    if "photo" in message:
        return Media("photo", None)
    media_type = message.get("media_type")
    if isinstance(media_type, str) and media_type in MEDIA_TYPES:
        return Media(MEDIA_TYPES[media_type], None)
    if "file" in message:
        return Media("document", None)
    return None


def _timestamp(message: Mapping[str, Any], key: str, zone: ZoneInfo) -> datetime | None:
    raw = message.get(f"{key}_unixtime")
    if isinstance(raw, str | int) and str(raw).isdigit():
        return datetime.fromtimestamp(int(raw), UTC)
    local = message.get(key)
    if isinstance(local, str):
        # Exports before 2021 carry only the exporting computer's local time.
        try:
            return datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Skip:
    """A message the import leaves out, and why (as the summary shows it)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    title: str = ""
    username: str | None = None


def convert(
    message: object, channel: Channel, *, zone: ZoneInfo = UTC_ZONE
) -> IncomingMessage | Skip:
    """One export message as storage takes it, or why it is skipped.

    `zone` is the exporting computer's time zone, used only by old exports that lack
    `date_unixtime`.
    """
    if not isinstance(message, Mapping):
        return Skip("not a message object")
    kind = message.get("type")
    if kind == "service":
        return Skip("service message")
    if kind != "message":
        return Skip(f"{kind} message" if isinstance(kind, str) else "no message type")
    message_id = message.get("id")
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id <= 0:
        return Skip("no message id")
    date = _timestamp(message, "date", zone)
    if date is None:
        return Skip("no date")
    segments = message.get("text_entities", message.get("text", ""))
    if not isinstance(segments, str | list):
        segments = ""
    text, entities = rich_text(segments)
    media = media_of(message)
    if not text and media is None:
        what = next((name for key, name in _UNSTORED_CONTENT.items() if key in message), None)
        return Skip(f"{what} (not stored)" if what else "no text or media")
    return IncomingMessage(
        channel_id=channel.id,
        message_id=message_id,
        date=date,
        edit_date=_timestamp(message, "edited", zone),
        source=Source.IMPORT,
        text=text,
        entities=entities,
        media=media,
        channel_title=channel.title,
        channel_username=channel.username,
        reactions=reaction_total(message),
    )


# -- albums --------------------------------------------------------------------------------

#: Which media may share an album: photos and videos mix; files and music each go only
#: with their own kind. Other kinds (stickers, voice, GIFs) are never album items.
_ALBUM_CLASS = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}
#: Telegram's limit on the items of one album.
ALBUM_LIMIT = 10


def album_id(first_message_id: int) -> str:
    """The media_group_id given to an exported album: stable, so a second import finds
    the same post, and never a number, so never one Telegram gave a live album."""
    return f"export-{first_message_id}"


@dataclass(frozen=True, slots=True)
class _AlbumKey:
    """What every item of one album shares."""

    date: datetime
    kind: str
    forwarded_from: object


class AlbumJoiner:
    """Gathers the items of an album, which an export writes as separate messages.

    Telegram Desktop writes no media_group_id, so an album is recognised as a run of
    messages where each next one

    - has the next message id (an album's items are sent at once, ids in a row),
    - has the same date (to the second) and, when forwarded, the same origin,
    - has media that may share an album with the first's (photo and video; files; music),
    - has no text: the caption is on the first item, as Telegram clients send it,

    up to 10 items. Two single-photo posts sent in the same second with ids in a row and
    no caption on the second are taken for one album; a run whose later item has a
    caption of its own stays separate posts. Items of one album get the same
    media_group_id (`album_id` of the first), so storage keeps them as one post.

    Memory holds one run at most: each message is handed back once the next one shows
    whether the run goes on.
    """

    def __init__(self) -> None:
        self._run: list[IncomingMessage] = []
        self._key: _AlbumKey | None = None

    def push(self, raw: Mapping[str, Any], message: IncomingMessage) -> list[IncomingMessage]:
        """Take the next message; return those now known to be complete."""
        key = _album_key(raw, message)
        if key is not None and self._continues(key, message):
            self._run.append(message)
            return []
        done = self.flush()
        if key is None:
            return [*done, message]
        self._run, self._key = [message], key
        return done

    def flush(self) -> list[IncomingMessage]:
        """The messages held so far (at the end of the export)."""
        run, self._run, self._key = self._run, [], None
        if len(run) < 2:
            return run
        group = album_id(run[0].message_id)
        return [replace(item, media_group_id=group) for item in run]

    def _continues(self, key: _AlbumKey, message: IncomingMessage) -> bool:
        return (
            key == self._key
            and not message.text
            and len(self._run) < ALBUM_LIMIT
            and message.message_id == self._run[-1].message_id + 1
        )


def _album_key(raw: Mapping[str, Any], message: IncomingMessage) -> _AlbumKey | None:
    kind = _ALBUM_CLASS.get(message.media.kind) if message.media is not None else None
    if kind is None:
        return None
    return _AlbumKey(message.date, kind, raw.get("forwarded_from_id", raw.get("forwarded_from")))


# -- the import ----------------------------------------------------------------------------


@dataclass
class ImportSummary:
    channel: Channel | None = None
    messages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Of `created`, album items stored into the post of their album's first item.
    joined: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return self.unchanged + sum(self.skipped.values())

    def count(self, outcome: SaveOutcome) -> None:
        if outcome in (SaveOutcome.CREATED, SaveOutcome.PART_ADDED):
            self.created += 1
            if outcome is SaveOutcome.PART_ADDED:
                self.joined += 1
        elif outcome is SaveOutcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1


#: Called after each batch: (bytes read, file size, messages read).
ProgressHook = Callable[[int, int, int], None]


def _channel(
    header: Mapping[str, Any],
    first: Mapping[str, Any] | None,
    channel_id: int | None,
    username: str | None,
) -> Channel:
    kind = header.get("type")
    if kind is not None and kind not in CHANNEL_TYPES:
        raise ExportError(f"this is the export of a {kind}, not of a channel")
    found = channel_id_of(header.get("id"))
    if found is None and first is not None:
        found = _peer_id(first.get("from_id"))
    if found is not None and channel_id is not None and found != channel_id:
        raise ExportError(f"the export is of channel {found}, not of --channel-id {channel_id}")
    resolved = found if found is not None else channel_id
    if resolved is None:
        raise ExportError("the export does not say which channel it is: pass --channel-id -100…")
    title = header.get("name")
    if not isinstance(title, str) and first is not None:
        title = first.get("from")
    return Channel(resolved, title if isinstance(title, str) else "", username)


def _batches(
    reader: ExportReader,
    summary: ImportSummary,
    *,
    channel_id: int | None,
    username: str | None,
    zone: ZoneInfo,
    size: int,
) -> Iterator[list[IncomingMessage]]:
    batch: list[IncomingMessage] = []
    albums = AlbumJoiner()
    channel: Channel | None = None
    for message in reader.messages():
        summary.messages += 1
        if channel is None:
            first = message if isinstance(message, Mapping) else None
            channel = summary.channel = _channel(reader.header, first, channel_id, username)
        converted = convert(message, channel, zone=zone)
        if isinstance(converted, Skip):
            summary.skipped[converted.reason] += 1
            continue
        # A finished album comes back whole and joins one batch (which may run past
        # `size` by its items): an interrupted import never keeps half an album.
        batch += albums.push(message, converted)
        if len(batch) >= size:
            yield batch
            batch = []
    if channel is None:
        summary.channel = _channel(reader.header, None, channel_id, username)
    batch += albums.flush()
    if batch:
        yield batch


async def import_export(
    storage: Storage,
    path: Path,
    *,
    channel_id: int | None = None,
    username: str | None = None,
    zone: ZoneInfo = UTC_ZONE,
    batch_size: int = 500,
    progress: ProgressHook | None = None,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Store every post of the export at `path`; a second run finds them all stored.

    Each batch is one transaction: an interrupted import keeps what it finished, and
    running it again picks up the rest. Raises ExportError for a file it cannot read as
    a channel export (before anything is stored, when the problem is at the start).
    Counts go into `summary` as batches are stored, so a caller sees them after a failure.
    """
    summary = summary if summary is not None else ImportSummary()
    with path.open("rb") as file:
        total = os.fstat(file.fileno()).st_size
        reader = ExportReader(file)
        reader.open()
        for batch in _batches(
            reader,
            summary,
            channel_id=channel_id,
            username=username,
            zone=zone,
            size=batch_size,
        ):
            for result in await storage.posts.save_many(batch):
                summary.count(result.outcome)
            if progress is not None:
                progress(reader.bytes_read, total, reader.messages_read)
    if progress is not None:
        progress(total, total, reader.messages_read)
    return summary


def parse_zone(value: str) -> ZoneInfo:
    """An IANA time zone name (Asia/Almaty) as a ZoneInfo; ValueError otherwise."""
    name = value.strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the zone database ("Europe") is no zone.
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Asia/Almaty"
        ) from None


_USERNAME_RE = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")


def parse_username(value: str) -> str:
    """`@kz_news` or `kz_news` -> `kz_news`; ValueError otherwise."""
    match = _USERNAME_RE.match(value.strip())
    if not match:
        raise ValueError(f"not a channel username: {value!r}")
    return match[1]
