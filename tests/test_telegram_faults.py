"""Telegram misbehaving: the bot keeps running, recovers by itself, and loses nothing.

Each test runs the whole bot against the fake Bot API server and gives it the same work
while a fault lasts: channel posts, a reader's /latest, /search and two button presses,
an admin's forward. Afterwards the outcome must be what it is without a fault: every post
stored once, every answer delivered once, no apology, no ERROR in the log.

Faults on getUpdates are the Poller's to ride out; faults on the answers a handler sends
are retried by bot/telegram_retry.py. Bulk sending (digest, mirror) keeps its own 429
handling in Delivery, which must still see its 429s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, GetUpdates, SendMessage, TelegramMethod

from bot.app import run_polling
from bot.polling import Poller
from bot.services import scheduler as scheduler_module
from bot.telegram_errors import UnreadableAnswer
from bot.telegram_retry import AnswerInDoubt, AnswerScope, RetryAnswers
from storage import Storage
from tests.conftest import RunningBot, eventually, make_settings
from tests.fake_telegram import Call, FakeTelegram
from tests.updates import (
    ADMIN,
    AGENCY_CHANNEL,
    NEWS_CHANNEL,
    READER,
    callback_query,
    channel_post,
    forward,
    private_text,
)

StartBot = Callable[..., Any]
NEWS_ID = cast(int, NEWS_CHANNEL["id"])
AGENCY_ID = cast(int, AGENCY_CHANNEL["id"])
ADMIN_ID = cast(int, ADMIN["id"])
READER_ID = cast(int, READER["id"])

NOW = int(time.time())
ANSWERS = ("sendMessage", "sendPhoto", "editMessageText")
APOLOGIES = (
    "Something went wrong. Please try again a little later.",
    "Что-то пошло не так. Попробуйте ещё раз чуть позже.",
)
STATEMENT = "Заявление пресс-службы\nПолный текст заявления"
FLOOD = "Too Many Requests: retry after 1"

TRUNCATED = '{"ok": true, "result": [{"update_id": 1, "message": {"message_id'
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)
OK_WITHOUT_RESULT = '{"ok": true}'


def _post(i: int) -> dict[str, Any]:
    return channel_post(i, f"Новость номер {i}: акимат сообщил о ремонте", date=NOW - 3600 + i)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def warnings_of(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and text in r.getMessage()
    ]


# -- the work, and what it owes -----------------------------------------------------------


class Work:
    """Fifteen posts and a /latest before the fault; the rest pushed while it lasts."""

    def __init__(self, bot: RunningBot) -> None:
        self.bot = bot
        self.fake = bot.fake
        self.start = 0
        self.pushed: list[int] = []
        self.older = ""
        self.open = ""

    async def prepare(self) -> None:
        await self.bot.send_all([_post(i) for i in range(1, 16)])
        await self.bot.send(private_text("/latest", user=READER, message_id=700))
        markup = self.fake.calls_of("sendMessage")[-1].params["reply_markup"]
        data = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        self.older = next(d for d in data if d.startswith("f:o:"))
        self.open = next(d for d in data if d.startswith("p:"))
        self.start = len(self.fake.calls)

    def push(self) -> int:
        ids = self.fake.push_many(
            [
                _post(16),
                private_text("/latest", user=READER, message_id=701),
                private_text("/search ремонт", user=READER, message_id=702),
                callback_query(self.older, user=READER, query_id="cq-older"),
                _post(17),
                callback_query(self.open, user=READER, query_id="cq-open"),
                forward(5, STATEMENT, message_id=900),
                _post(18),
            ]
        )
        self.pushed = ids
        return max(ids)

    def calls(self, *, delivered: tuple[str, ...] = ("ok", "held")) -> list[Call]:
        """Calls since the fault began that Telegram carried out."""
        return [c for c in self.fake.calls[self.start :] if c.outcome in delivered]

    async def check(
        self, storage: Storage, last: int, *, delivered: tuple[str, ...] = ("ok", "held")
    ) -> None:
        """Everything pushed was handled as it is without a fault."""
        await self.fake.wait_confirmed(last, within=30)
        await self.bot.wait_handled(*self.pushed, within=30)
        assert not self.bot.task.done(), "the bot stopped"
        assert await storage.posts.count() == 19
        for i in (16, 17, 18):
            post = await storage.posts.find(NEWS_ID, i)
            assert post is not None
            assert post.text.startswith(f"Новость номер {i}:")
        assert await storage.posts.find(AGENCY_ID, 5) is not None

        calls = self.calls(delivered=delivered)
        to_reader = [
            c for c in calls if c.method in ANSWERS and c.params.get("chat_id") == READER_ID
        ]
        assert [c.method for c in to_reader] == [
            "sendMessage",
            "sendMessage",
            "editMessageText",
            "sendMessage",
        ]
        latest, found, page, opened = (str(c.params["text"]) for c in to_reader)
        assert latest.startswith("📰 <b>Latest news</b>")
        assert found.startswith("🔎 <b>Search:</b> ремонт")
        assert page.startswith("📰 <b>Latest news</b>")
        assert opened.startswith("Новость номер ")
        answered = [
            c.params["callback_query_id"] for c in calls if c.method == "answerCallbackQuery"
        ]
        assert sorted(answered) == ["cq-older", "cq-open"]
        to_admin = [
            c.params["text"]
            for c in calls
            if c.method == "sendMessage" and c.params.get("chat_id") == ADMIN_ID
        ]
        assert to_admin == ["✅ Сохранено: «Заявление пресс-службы»"]
        sent = [str(c.params.get("text")) for c in self.fake.calls if c.method == "sendMessage"]
        assert not [t for t in sent if t in APOLOGIES]


@pytest.fixture
async def work(start_bot: StartBot) -> Work:
    bot = await start_bot()
    prepared = Work(bot)
    await prepared.prepare()
    return prepared


@pytest.fixture
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """getUpdates long-polls 1 s and the client gives up 1 s after that (in the bot, 30 s
    and 60 s), so that a request the server holds times out within a test.

    Test-only: the Poller's default long-poll timeout, and aiohttp's timeout for
    getUpdates alone; the Poller's handling of the timeout is the code under test.
    """
    defaults = Poller.__init__.__kwdefaults__
    assert defaults is not None
    assert "timeout" in defaults, "Poller(timeout=…) has changed"
    monkeypatch.setitem(defaults, "timeout", 1)
    original = AiohttpSession.make_request

    async def make_request(
        self: AiohttpSession,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        if method.__api_method__ == "getUpdates" and timeout is not None:
            timeout = min(timeout, (method.timeout or 0) + 1)
        return await original(self, bot, method, timeout)

    monkeypatch.setattr(AiohttpSession, "make_request", make_request)


# -- getUpdates -----------------------------------------------------------------------


async def test_getupdates_502_for_a_while(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    work.fake.fail_for("getUpdates", 502, "Bad Gateway", seconds=2.5)
    last = work.push()
    await work.check(storage, last)
    failed = [c for c in work.fake.calls_of("getUpdates") if c.outcome == "error 502"]
    assert len(failed) >= 2
    first_served = next(
        c for c in work.fake.calls[work.start :] if c.method == "getUpdates" and c.outcome == "ok"
    )
    assert first_served.at > failed[-1].at
    assert warnings_of(caplog, "getUpdates failed error=TelegramServerError")
    assert errors(caplog) == []


async def test_getupdates_that_time_out(
    short_polls: None, start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    work = Work(bot)
    await work.prepare()
    bot.fake.hold("getUpdates", 2.5, times=2)
    await bot.fake.wait_until(
        lambda: any(c.outcome == "held" for c in bot.fake.calls_of("getUpdates"))
    )
    last = work.push()
    await work.check(storage, last)
    assert len(warnings_of(caplog, "Request timeout error")) == 2
    assert errors(caplog) == []


async def test_getupdates_connection_resets(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    work.fake.reset_connections("getUpdates", times=3)
    last = work.push()
    await work.check(storage, last)
    assert len([c for c in work.fake.calls_of("getUpdates") if c.outcome == "reset"]) == 3
    assert len(warnings_of(caplog, "getUpdates failed error=TelegramNetworkError")) == 3
    assert errors(caplog) == []


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        (TRUNCATED, 200, "application/json"),
        (HTML_502, 502, "text/html"),
        (HTML_502, 200, "text/html"),
        (OK_WITHOUT_RESULT, 200, "application/json"),
    ],
    ids=["truncated", "html-502", "html-200", "ok-without-result"],
)
async def test_getupdates_broken_bodies(
    work: Work,
    storage: Storage,
    caplog: pytest.LogCaptureFixture,
    body: str,
    status: int,
    content_type: str,
) -> None:
    work.fake.garbage("getUpdates", body, status=status, content_type=content_type, times=2)
    last = work.push()
    await work.check(storage, last)
    assert len([c for c in work.fake.calls_of("getUpdates") if c.outcome == "garbage"]) == 2
    assert errors(caplog) == []


# -- the answers ----------------------------------------------------------------------


async def test_flood_control_on_every_call_for_a_while(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # Pushed first: the long poll in flight takes the batch, the answers meet the 429s.
    last = work.push()
    work.fake.fail_for(None, 429, FLOOD, seconds=1.5, retry_after=1)
    await work.check(storage, last)
    refused = [c for c in work.fake.calls[work.start :] if c.outcome == "error 429"]
    assert {c.method for c in refused} >= {"sendMessage"}
    _assert_waited(work.fake.calls[work.start :], seconds=1.0)
    assert errors(caplog) == []


@pytest.mark.parametrize("method", ["sendMessage", "editMessageText", "answerCallbackQuery"])
async def test_flood_control_on_answers_is_waited_out(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    work.fake.fail(method, 429, FLOOD, retry_after=1, times=2)
    last = work.push()
    await work.check(storage, last)
    calls = work.fake.calls[work.start :]
    assert len([c for c in calls if c.method == method and c.outcome == "error 429"]) == 2
    _assert_waited(calls, seconds=1.0)
    assert errors(caplog) == []


@pytest.mark.parametrize(
    ("status", "description"),
    [(502, "Bad Gateway"), (500, "Internal Server Error: restart")],
)
async def test_server_errors_on_answers_are_retried(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture, status: int, description: str
) -> None:
    work.fake.fail("sendMessage", status, description, times=2)
    work.fake.fail("editMessageText", status, description)
    work.fake.fail("answerCallbackQuery", status, description)
    last = work.push()
    await work.check(storage, last)
    assert errors(caplog) == []


async def test_connection_resets_on_answers_that_change_nothing_when_repeated(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    work.fake.reset_connections("editMessageText")
    work.fake.reset_connections("answerCallbackQuery")
    last = work.push()
    await work.check(storage, last)
    assert len(work.calls(delivered=("reset",))) == 2
    assert errors(caplog) == []


async def test_a_message_whose_connection_dropped_after_sending_is_not_sent_again(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # The request went out and no answer came: Telegram may have delivered it. Sent again,
    # the reader could get it twice; an apology would contradict it.
    work.fake.reset_connections("sendMessage", times=2)
    last = work.push()
    await work.fake.wait_confirmed(last, within=30)
    await work.bot.wait_handled(*work.pushed, within=30)
    sends = [c for c in work.fake.calls[work.start :] if c.method == "sendMessage"]
    dropped = [c for c in sends if c.outcome == "reset"]
    assert len(dropped) == 2
    for call in dropped:
        again = [c for c in sends if c.params == call.params and c is not call]
        assert again == [], "a message in doubt was sent again"
    sent = [str(c.params.get("text")) for c in work.fake.calls if c.method == "sendMessage"]
    assert not [t for t in sent if t in APOLOGIES]
    assert len(warnings_of(caplog, "answer may have arrived, not sent again")) == 2
    assert errors(caplog) == []


async def test_an_error_page_on_answers_is_retried(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy's 502 page: the request did not get through, so it is asked again.
    work.fake.garbage("sendMessage", HTML_502, status=502, content_type="text/html", times=2)
    work.fake.garbage("editMessageText", HTML_502, status=502, content_type="text/html")
    last = work.push()
    await work.check(storage, last)
    assert len(work.calls(delivered=("garbage",))) == 3
    assert errors(caplog) == []


async def test_an_unreadable_ok_answer_is_not_sent_again(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # HTTP 200 with a body cut short: Telegram carried the request out, so each answer is
    # in the chat once, with no apology after it.
    work.fake.garbage("sendMessage", TRUNCATED, times=2)
    last = work.push()
    await work.check(storage, last, delivered=("ok", "garbage"))
    assert len(work.calls(delivered=("garbage",))) == 2
    assert errors(caplog) == []


async def test_ok_without_result_on_an_answer_counts_as_sent(
    work: Work, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram said ok: the message went out, only its description is missing.
    work.fake.garbage("sendMessage", OK_WITHOUT_RESULT, times=2)
    last = work.push()
    await work.check(storage, last, delivered=("ok", "garbage"))
    assert errors(caplog) == []


def _assert_waited(calls: list[Call], *, seconds: float) -> None:
    """Every call that met a 429 was asked again no sooner than retry_after later."""
    for i, refused in enumerate(calls):
        if refused.outcome != "error 429":
            continue
        key = _identity(refused)
        again = next((c for c in calls[i + 1 :] if _identity(c) == key), None)
        assert again is not None, f"{refused.method} was never asked again"
        assert again.at - refused.at >= seconds, f"{refused.method} retried too soon"


def _identity(call: Call) -> tuple[str, object, object]:
    p = call.params
    return call.method, p.get("chat_id") or p.get("callback_query_id"), p.get("text")


# -- start-up and bulk sending ----------------------------------------------------------


async def test_start_rides_out_an_unreachable_api(
    fake_telegram: FakeTelegram, start_bot: StartBot, storage: Storage
) -> None:
    fake_telegram.fail("getMe", 502, "Bad Gateway")
    fake_telegram.reset_connections("getMe")
    fake_telegram.fail("deleteWebhook", 429, FLOOD, retry_after=1)
    bot = await start_bot()
    await bot.send(_post(1))
    assert await storage.posts.count() == 1


async def test_start_rides_out_a_failing_set_my_commands(
    fake_telegram: FakeTelegram, tmp_path: Path, storage: Storage
) -> None:
    fake_telegram.fail("setMyCommands", 502, "Bad Gateway")
    update_id = fake_telegram.push(_post(1))
    stop = asyncio.Event()
    bot = asyncio.create_task(
        run_polling(make_settings(fake_telegram.url, tmp_path / "bot.db"), stop=stop)
    )

    async def stored() -> bool:
        return await storage.posts.count() == 1 and fake_telegram.confirmed_offset > update_id

    confirmed = asyncio.create_task(eventually(stored))
    try:
        await asyncio.wait({bot, confirmed}, return_when=asyncio.FIRST_COMPLETED)
        if bot.done():
            bot.result()  # what stopped the bot
        assert await storage.posts.count() == 1
    finally:
        stop.set()
        confirmed.cancel()
        await asyncio.wait_for(asyncio.gather(bot, confirmed, return_exceptions=True), 15)


ALMATY = ZoneInfo("Asia/Almaty")
DAY = date(2025, 12, 17)


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def test_scheduled_digest_429_is_left_to_delivery(
    start_bot: StartBot,
    storage: Storage,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler_module, "TICK_SECONDS", 0.02)
    bot = await start_bot(clock=FixedClock(datetime.combine(DAY, clock_time(8, 1), ALMATY)))
    bot.fake.fail("sendMessage", 429, FLOOD, retry_after=1)
    await storage.subscribers.subscribe(5002, lang="ru", send_time=clock_time(8, 0), first_day=DAY)

    async def paused() -> bool:
        return bool(warnings_of(caplog, "flood control: all sending paused"))

    await eventually(paused)
    await bot.fake.wait_until(lambda: len(_sent_to(bot.fake, 5002)) == 2)
    assert [c.outcome for c in _sent_to(bot.fake, 5002)] == ["error 429", "ok"]
    assert not warnings_of(caplog, "retrying")


async def test_senddigest_from_a_button_leaves_its_429_to_delivery(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # The broadcast is a task started by a handler: it is not an answer to that update.
    bot = await start_bot(clock=FixedClock(datetime.combine(DAY, clock_time(6, 0), ALMATY)))
    await storage.subscribers.subscribe(7001, lang="ru", send_time=clock_time(8, 0), first_day=DAY)
    await bot.send(private_text("/senddigest", user=ADMIN))
    bot.fake.fail("sendMessage", 429, FLOOD, retry_after=1)
    await bot.send(callback_query("sd:1", user=ADMIN))
    await bot.fake.wait_until(
        lambda: any(
            "Рассылка завершена" in str(c.params.get("text"))
            for c in bot.fake.calls_of("editMessageText")
        )
    )
    assert warnings_of(caplog, "flood control: all sending paused")
    assert [c.outcome for c in _sent_to(bot.fake, 7001)] == ["error 429", "ok"]
    assert not warnings_of(caplog, "retrying")


def _sent_to(fake: FakeTelegram, chat_id: int) -> list[Call]:
    return [c for c in fake.calls_of("sendMessage") if c.params.get("chat_id") == chat_id]


# -- the retry middleware alone -----------------------------------------------------------


class Attempts:
    """make_request that fails with `error` every time; counts the attempts."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.count = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.count += 1
        raise self.error


async def _call_in_scope(
    middleware: RetryAnswers, make_request: Attempts, method: TelegramMethod[Any]
) -> None:
    """Call the middleware as a handler of an update would."""

    async def handler(event: Any, data: dict[str, Any]) -> None:
        await middleware(make_request, cast(Bot, None), method)

    await AnswerScope()(handler, cast(Any, None), {})


SEND = SendMessage(chat_id=1, text="x")


def _network_error(cause: Exception) -> TelegramNetworkError:
    """A network fault as aiogram raises it: its cause is aiohttp's own error."""
    error = TelegramNetworkError(SEND, f"{type(cause).__name__}: {cause}")
    error.__cause__ = cause
    return error


def _unreadable(status: int, body: str) -> UnreadableAnswer:
    return UnreadableAnswer(
        status, ClientDecodeError("Failed to decode object", ValueError(), body), SEND
    )


_NEVER_CONNECTED = aiohttp.ClientConnectorError(
    cast(Any, SimpleNamespace(ssl=None, host="127.0.0.1", port=9)), OSError(111, "refused")
)


@pytest.mark.parametrize(
    ("error", "sleeps", "raised"),
    [
        # Flood waits, each as long as Telegram asks, for up to 30 s in all.
        (TelegramRetryAfter(SEND, "flood", retry_after=2), [2.0] * 15, TelegramRetryAfter),
        (TelegramRetryAfter(SEND, "flood", retry_after=20), [20.0], TelegramRetryAfter),
        (TelegramRetryAfter(SEND, "flood", retry_after=31), [], TelegramRetryAfter),
        # Not carried out: asked again a few times.
        (TelegramServerError(SEND, "Bad Gateway"), [0.5, 1.0, 2.0], TelegramServerError),
        (_unreadable(502, "<html>"), [0.5, 1.0, 2.0], UnreadableAnswer),
        (_network_error(_NEVER_CONNECTED), [0.5, 1.0, 2.0], TelegramNetworkError),
        # May have been carried out: a message is not sent twice.
        (_unreadable(200, '{"ok": true, "res'), [], AnswerInDoubt),
        (_network_error(TimeoutError()), [], AnswerInDoubt),
        (_network_error(aiohttp.ServerDisconnectedError()), [], AnswerInDoubt),
        (ClientDecodeError("Failed to decode object", ValueError(), "<html>"), [], AnswerInDoubt),
        # Refused: asking again would be refused the same way.
        (TelegramBadRequest(SEND, "Bad Request: chat not found"), [], TelegramBadRequest),
        (
            TelegramForbiddenError(SEND, "Forbidden: bot was blocked by the user"),
            [],
            TelegramForbiddenError,
        ),
    ],
    ids=[
        "429",
        "429-long",
        "429-too-long",
        "5xx",
        "error-page",
        "never-connected",
        "unreadable-200",
        "timeout",
        "dropped",
        "not-json-unknown-status",
        "400",
        "403",
    ],
)
async def test_answer_retries_are_bounded(
    error: Exception, sleeps: list[float], raised: type[Exception]
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    attempts = Attempts(error)
    with pytest.raises(raised):
        await _call_in_scope(RetryAnswers(sleep=sleep), attempts, SEND)
    assert slept == sleeps
    assert attempts.count == len(sleeps) + 1


async def test_an_edit_in_doubt_is_asked_again() -> None:
    edit = EditMessageText(chat_id=1, message_id=2, text="x")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    attempts = Attempts(_network_error(TimeoutError()))
    with pytest.raises(TelegramNetworkError):
        await _call_in_scope(RetryAnswers(sleep=sleep), attempts, edit)
    assert slept == [0.5, 1.0, 2.0]


async def test_no_retries_outside_an_answer_or_for_getupdates() -> None:
    middleware = RetryAnswers(sleep=_never_sleep)
    flood = TelegramRetryAfter(SEND, "flood", retry_after=1)
    outside = Attempts(flood)
    with pytest.raises(TelegramRetryAfter):
        await middleware(outside, cast(Bot, None), SEND)
    assert outside.count == 1
    polling = Attempts(flood)
    with pytest.raises(TelegramRetryAfter):
        await _call_in_scope(middleware, polling, GetUpdates(offset=1, timeout=1))
    assert polling.count == 1

    # A task started by a handler inherits its context, but is not the handler's task.
    spawned = Attempts(flood)

    async def handler(event: Any, data: dict[str, Any]) -> None:
        task = asyncio.create_task(middleware(spawned, cast(Bot, None), SEND))
        with pytest.raises(TelegramRetryAfter):
            await task

    await AnswerScope()(handler, cast(Any, None), {})
    assert spawned.count == 1


async def _never_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s")
