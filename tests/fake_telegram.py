"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

The bot talks to it through aiogram's real aiohttp session, over real HTTP. It serves
getUpdates from a queue with Telegram's offset semantics (an update is confirmed when a
later call asks for an offset past it), records every call, and answers with Telegram's
error bodies on demand (429 with retry_after, 403, 400, 5xx). It also misbehaves as a
network does: it holds a request past the client's timeout, cuts the connection without
an answer, answers with a broken body, or fails every call for a few seconds.

It is as strict as Telegram where the bot depends on it: an unknown method gets
Telegram's 404, a missing required parameter a 400, and a message Telegram would refuse
is refused with Telegram's words: HTML it cannot parse (a tag it does not know, tags not
closed in order, a custom emoji whose id is not a number, a link without href), entities
past the end of the text or with a bad custom emoji id, text over 4096 characters or a
caption over 1024 after parsing, an empty text, callback data over 64 bytes, an album of
fewer than 2 or more than 10 items. Such refusals are counted in `refusals`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import socket
import struct
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000000001
TOKEN = f"{BOT_ID}:TEST-token-not-real"

# Parameters aiogram sends JSON-encoded in its form data.
_JSON_PARAMS = {
    "allowed_updates",
    "caption_entities",
    "commands",
    "entities",
    "link_preview_options",
    "media",
    "message_ids",
    "reply_markup",
    "reply_parameters",
    "scope",
}
_SEND_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendVideo",
    "sendDocument",
    "sendAnimation",
    "sendAudio",
    "sendVoice",
    "sendVideoNote",
    "sendSticker",
}
_INT_PARAMS = {"chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout"}

#: Every method the Bot API has that a news bot may call; any other gets Telegram's 404.
KNOWN_METHODS = _SEND_METHODS | {
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMediaGroup",
    "sendChatAction",
    "sendLocation",
    "sendPoll",
    "forwardMessage",
    "forwardMessages",
    "copyMessage",
    "copyMessages",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "setChatMenuButton",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "getFile",
    "pinChatMessage",
    "unpinChatMessage",
    "leaveChat",
}

#: Parameters without which Telegram refuses a call (400), as the Bot API lists them.
REQUIRED: dict[str, tuple[str, ...]] = {
    **{name: ("chat_id",) for name in _SEND_METHODS},
    "sendMessage": ("chat_id", "text"),
    "sendPhoto": ("chat_id", "photo"),
    "sendVideo": ("chat_id", "video"),
    "sendDocument": ("chat_id", "document"),
    "sendAnimation": ("chat_id", "animation"),
    "sendAudio": ("chat_id", "audio"),
    "sendVoice": ("chat_id", "voice"),
    "sendVideoNote": ("chat_id", "video_note"),
    "sendSticker": ("chat_id", "sticker"),
    "sendMediaGroup": ("chat_id", "media"),
    "sendChatAction": ("chat_id", "action"),
    "forwardMessage": ("chat_id", "from_chat_id", "message_id"),
    "copyMessage": ("chat_id", "from_chat_id", "message_id"),
    "copyMessages": ("chat_id", "from_chat_id", "message_ids"),
    "editMessageText": ("text",),
    "deleteMessage": ("chat_id", "message_id"),
    "deleteMessages": ("chat_id", "message_ids"),
    "answerCallbackQuery": ("callback_query_id",),
    "setMyCommands": ("commands",),
    "setWebhook": ("url",),
}

#: HTML tags Telegram reads (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)>")
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024


class Refused(Exception):
    """What Telegram answers a call it will not carry out: 400 and its description."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The text Telegram shows for HTML `text`, or Refused as Telegram words it."""
    out: list[str] = []
    open_tags: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        offset = len(text[: match.start()].encode())
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise Refused(
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{offset}, expected "</{open_tags[-1] if open_tags else ""}>", found '
                    f'"</{name}>"'
                )
            open_tags.pop()
            continue
        if name not in _HTML_TAGS:
            raise Refused(
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte '
                f"offset {offset}"
            )
        values = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                  for m in _ATTR.finditer(attrs)}  # fmt: skip
        if name == "tg-emoji" and not html.unescape(values.get("emoji-id", "")).isdigit():
            raise Refused(
                "Bad Request: can't parse entities: Invalid custom emoji identifier specified"
            )
        if name == "a" and not values.get("href"):
            raise Refused("Bad Request: can't parse entities: Can't find href in a tag")
        open_tags.append(name)
    if open_tags:
        raise Refused(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"'
        )
    out.append(text[pos:])
    plain = "".join(out)
    if "<" in plain:
        offset = len(text[: text.find("<", 0)].encode())
        raise Refused(
            f"Bad Request: can't parse entities: Unsupported start tag at byte offset {offset}"
        )
    return html.unescape(plain)


def check_entities(text: str, entities: Any) -> None:
    """Refused as Telegram refuses entities it cannot place or read."""
    if not isinstance(entities, list):
        raise Refused("Bad Request: can't parse entities JSON object")
    size = utf16_len(text)
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise Refused("Bad Request: can't parse entities: wrong entity offset")
        if length <= 0 or offset + length > size:
            raise Refused(
                f"Bad Request: can't parse entities: entity beginning at UTF-16 offset "
                f"{offset} ends after the end of the text at UTF-16 offset {size}"
            )
        kind = entity.get("type")
        if kind == "custom_emoji" and not str(entity.get("custom_emoji_id", "")).isdigit():
            raise Refused(
                "Bad Request: can't parse entities: Invalid custom emoji identifier specified"
            )
        if kind == "text_link" and not entity.get("url"):
            raise Refused("Bad Request: can't parse entities: text_link without url")


def shown_text(params: dict[str, Any], text_key: str, entities_key: str) -> str | None:
    """The text (or caption) of a call as Telegram would show it, checked as it checks."""
    raw = params.get(text_key)
    if raw is None:
        return None
    raw = str(raw)
    if params.get(entities_key) is not None:
        check_entities(raw, params[entities_key])
        return raw
    if str(params.get("parse_mode", "")).upper() == "HTML":
        return parse_html(raw)
    return raw


def check_call(method: str, params: dict[str, Any]) -> None:
    """Refused where Telegram refuses a call the bot makes."""
    if method not in KNOWN_METHODS:
        raise Refused("Not Found", status=404)
    for name in REQUIRED.get(method, ()):
        if params.get(name) in (None, ""):
            if name == "text":
                raise Refused("Bad Request: message text is empty")
            raise Refused(f"Bad Request: {name} is empty")
    if method == "editMessageText" and not (
        params.get("inline_message_id") or (params.get("chat_id") and params.get("message_id"))
    ):
        raise Refused("Bad Request: message identifier is not specified")
    text = shown_text(params, "text", "entities")
    if text is not None and method in ("sendMessage", "editMessageText"):
        if not text.strip():
            raise Refused("Bad Request: message text is empty")
        if len(text) > _TEXT_LIMIT:
            raise Refused("Bad Request: message is too long")
    caption = shown_text(params, "caption", "caption_entities")
    if caption is not None and len(caption) > _CAPTION_LIMIT:
        raise Refused("Bad Request: message caption is too long")
    if method == "sendMediaGroup":
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise Refused("Bad Request: wrong number of messages in the album")
        for item in media:
            item_caption = shown_text(
                {**item, "parse_mode": item.get("parse_mode", params.get("parse_mode"))},
                "caption",
                "caption_entities",
            )
            if item_caption is not None and len(item_caption) > _CAPTION_LIMIT:
                raise Refused("Bad Request: message caption is too long")
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise Refused("Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise Refused("Bad Request: text buttons are unallowed in the inline keyboard")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    #: How the call was answered: "ok", or the fault ("error 502", "flood", "held",
    #: "reset", "garbage"). A held call is answered normally once the hold ends.
    outcome: str = "ok"


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Fault:
    """A network's misbehaviour instead of the API's answer: hold, cut, or garble."""

    hold: float = 0.0
    reset: bool = False
    body: bytes | None = None
    status: int = 200
    content_type: str = "application/json"


@dataclass
class FailureWindow:
    """Every call of `method` (of any method when None) fails until `until`."""

    method: str | None
    failure: Failure
    until: float


class FakeTelegram:
    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.confirmed_offset = 0
        self._update_ids = itertools.count(1)
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._windows: list[FailureWindow] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._limit_per_second: int | None = None
        self._recent_sends: deque[float] = deque()
        self._chat_last_send: dict[int, float] = {}
        self.flood_errors = 0
        #: Calls refused because Telegram would have refused them (see check_call).
        self.refusals: list[tuple[str, str]] = []
        #: False: getUpdates answers at once, never holding the request (no long poll).
        self.long_poll = True
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripting ------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update; an update_id is assigned when it has none."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self.pending.append(update)
        self.pending.sort(key=lambda u: u["update_id"])
        asyncio.get_running_loop().create_task(self._notify())
        return int(update["update_id"])

    def push_many(self, updates: list[dict[str, Any]]) -> list[int]:
        return [self.push(u) for u in updates]

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with a Telegram error."""
        for _ in range(times):
            self._failures[method].append(Failure(status, description, retry_after))

    def fail_for(
        self,
        method: str | None,
        status: int,
        description: str,
        *,
        seconds: float,
        retry_after: int | None = None,
    ) -> None:
        """Answer every call of `method` (of every method when None) that arrives in the
        next `seconds` with a Telegram error: an outage, or flood control, for a while."""
        failure = Failure(status, description, retry_after)
        self._windows.append(FailureWindow(method, failure, time.monotonic() + seconds))

    def hold(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Keep the next `times` calls of `method` waiting `seconds` before answering them
        as usual (longer than the client's timeout: the request times out)."""
        self._faults[method].extend(Fault(hold=seconds) for _ in range(times))

    def reset_connections(self, method: str, *, times: int = 1) -> None:
        """Reset the connection (TCP RST) of the next `times` calls, without an answer."""
        self._faults[method].extend(Fault(reset=True) for _ in range(times))

    def garbage(
        self,
        method: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/json",
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (of any method: "*") with this raw body
        instead: JSON cut short, a proxy's HTML error page, `{"ok": true}` without a
        result."""
        raw = body.encode() if isinstance(body, str) else body
        self._faults[method].extend(
            Fault(body=raw, status=status, content_type=content_type) for _ in range(times)
        )

    def enforce_limits(self, per_second: int = 30) -> None:
        """Answer 429 as Telegram does past `per_second` messages in any second overall,
        or a second message to one private chat within a second."""
        self._limit_per_second = per_second

    def _flooded(self, method: str, params: dict[str, Any], now: float) -> bool:
        if self._limit_per_second is None or method not in _SEND_METHODS:
            return False
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        chat_id = int(params.get("chat_id", 0) or 0)
        last = self._chat_last_send.get(chat_id)
        if len(self._recent_sends) >= self._limit_per_second or (
            chat_id > 0 and last is not None and now - last < 1.0
        ):
            self.flood_errors += 1
            return True
        self._recent_sends.append(now)
        self._chat_last_send[chat_id] = now
        return False

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(c.params.get("text"))
            for c in self.calls_of("sendMessage")
            if chat_id is None or c.params.get("chat_id") == chat_id
        ]

    async def wait_confirmed(self, update_id: int, within: float = 15) -> None:
        """Until the bot has confirmed this update (asked getUpdates past it)."""
        await self.wait_until(lambda: self.confirmed_offset > update_id, within)

    async def wait_for_call(self, method: str, count: int = 1, within: float = 15) -> list[Call]:
        await self.wait_until(lambda: len(self.calls_of(method)) >= count, within)
        return self.calls_of(method)

    async def wait_until(self, predicate: Any, within: float = 15) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the API ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        await self._notify()
        if self._flooded(method, params, self.calls[-1].at):
            self.calls[-1].outcome = "flood"
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        try:
            check_call(method, params)
        except Refused as refusal:
            self.calls[-1].outcome = f"refused {refusal.status}"
            self.refusals.append((method, refusal.description))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": refusal.status,
                    "description": refusal.description,
                },
                status=refusal.status,
            )
        failures = self._failures.get(method)
        failure = failures.popleft() if failures else self._window_failure(method)
        if failure is not None:
            self.calls[-1].outcome = f"error {failure.status}"
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        faults = self._faults.get(method) or self._faults.get("*")
        if faults:
            fault = faults.popleft()
            if fault.reset:
                self.calls[-1].outcome = "reset"
                self._reset(request)
                return web.Response(status=500)  # never reaches the client
            if fault.body is not None:
                self.calls[-1].outcome = "garbage"
                return web.Response(
                    status=fault.status, body=fault.body, content_type=fault.content_type
                )
            self.calls[-1].outcome = "held"
            await self._hold(fault.hold)
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            result = self._result(method, params)
        return web.json_response({"ok": True, "result": result})

    def _window_failure(self, method: str) -> Failure | None:
        now = time.monotonic()
        self._windows = [w for w in self._windows if w.until > now]
        for window in self._windows:
            if window.method is None or window.method == method:
                return window.failure
        return None

    async def _hold(self, seconds: float) -> None:
        """Wait `seconds`, or until the server stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds), self._changed:
                await self._changed.wait_for(lambda: self._closing)

    @staticmethod
    def _reset(request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends RST, as a dropped proxy or a NAT timeout does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data: dict[str, Any] = await request.json()
            return data
        raw = await request.post() if request.can_read_body else request.query
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(value, str):
                params[key] = value  # an uploaded file
            elif key in _JSON_PARAMS:
                params[key] = json.loads(value)
            elif key in _INT_PARAMS and value.lstrip("-").isdigit():
                params[key] = int(value)
            else:
                params[key] = value
        return params

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        async with self._changed:
            if offset > 0:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self._changed.notify_all()
            if not self.pending and timeout > 0 and self.long_poll:
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(self.pending) or self._closing)
                except TimeoutError:
                    pass
            return self.pending[:limit]

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        now = int(time.time())
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "News",
                "username": "test_news_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        chat_id = int(params.get("chat_id", 0) or 0)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "channel", "title": "chat"}
        if method == "sendMediaGroup":
            return [
                {"message_id": next(self._message_ids[chat_id]), "date": now, "chat": chat}
                for _ in params.get("media", [])
            ]
        if method in _SEND_METHODS:
            message: dict[str, Any] = {
                "message_id": next(self._message_ids[chat_id]),
                "date": now,
                "chat": chat,
            }
            if "text" in params:
                message["text"] = params["text"]
            if "caption" in params:
                message["caption"] = params["caption"]
            return message
        if method == "editMessageText":
            return {
                "message_id": params.get("message_id", 0),
                "date": now,
                "chat": chat,
                "text": params.get("text", ""),
            }
        if method == "copyMessage":
            return {"message_id": next(self._message_ids[chat_id])}
        if method == "copyMessages":
            ids = params.get("message_ids", [])
            return [{"message_id": next(self._message_ids[chat_id])} for _ in ids]
        return True
