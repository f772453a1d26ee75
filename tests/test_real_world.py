"""The bot against Telegram as it really answers: through the strict fake Bot API.

Each test is a way the real world differs from a tidy fake — a message Telegram refuses
for its formatting, a proxy's HTML page at start-up, an answer whose body cannot be read,
a long flood wait, an update this version cannot read, a server that does not long-poll,
a webhook Telegram does not confirm — and real Bot API payloads fed as updates.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from bot.telegram_errors import retry_after_in
from bot.telegram_retry import RetryAnswers
from storage import IncomingMessage, Source, Storage
from tests.bot_process import bot_env
from tests.conftest import SECRET, WEBHOOK_URL, RunningBot, StartWebhook, eventually, free_port
from tests.fake_telegram import FakeTelegram
from tests.updates import ADMIN, NEWS_CHANNEL, READER, channel_post, private_text

StartBot = Callable[..., Any]
DATA = Path(__file__).parent / "data" / "telegram" / "real-botapi"
ERRORS = Path(__file__).parent / "data" / "telegram" / "errors"
NEWS_ID = cast(int, NEWS_CHANNEL["id"])
READER_ID = cast(int, READER["id"])
APOLOGIES = (
    "Something went wrong. Please try again a little later.",
    "Что-то пошло не так. Попробуйте ещё раз чуть позже.",
)
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)
FLOOD = "Too Many Requests: retry after 1"


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _apologies(fake: FakeTelegram) -> list[str]:
    return [t for t in fake.sent_texts() if t in APOLOGIES]


def _real(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["result"]


# -- the fake itself is as strict as Telegram ---------------------------------------------


async def test_the_fake_refuses_what_telegram_refuses(fake_telegram: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:

        async def call(method: str, **params: Any) -> tuple[int, dict[str, Any]]:
            url = f"{fake_telegram.url}/bot1:x/{method}"
            async with http.post(url, json=params) as answer:
                return answer.status, await answer.json()

        assert await call("sendMessag", chat_id=1, text="x") == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
        status, body = await call("sendMessage", chat_id=1)
        assert (status, body["description"]) == (400, "Bad Request: message text is empty")
        status, body = await call(
            "sendMessage", chat_id=1, text='<tg-emoji emoji-id="a/b.webp">🙂</tg-emoji>',
            parse_mode="HTML",
        )  # fmt: skip
        assert status == 400
        assert "Invalid custom emoji identifier specified" in body["description"]
        status, body = await call(
            "sendMessage",
            chat_id=1,
            text="🙂 ok",
            entities=[{"type": "bold", "offset": 3, "length": 3}],
        )
        assert status == 400
        assert "ends after the end of the text" in body["description"]
        status, body = await call("sendMessage", chat_id=1, text="a <x> b", parse_mode="HTML")
        assert status == 400
        assert 'Unsupported start tag "x"' in body["description"]
        status, _ = await call(
            "sendMessage",
            chat_id=1,
            text='<b>🙂</b> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;ok&gt;',
            parse_mode="HTML",
        )
        assert status == 200


# -- 1. a stored post whose formatting Telegram refuses -----------------------------------


async def _stored_post(
    storage: Storage, message_id: int, text: str, entities: list[Any], source: Source
) -> int:
    result = await storage.posts.save(
        IncomingMessage(
            channel_id=NEWS_ID,
            message_id=message_id,
            date=datetime(2025, 12, 17, 6, tzinfo=UTC),
            source=source,
            text=text,
            entities=entities,
            channel_title=str(NEWS_CHANNEL["title"]),
            channel_username=str(NEWS_CHANNEL["username"]),
        )
    )
    return result.post_id


def _sent_to_reader(fake: FakeTelegram) -> list[str]:
    return [
        c.params["text"]
        for c in fake.calls_of("sendMessage")
        if c.params["chat_id"] == READER_ID and c.outcome == "ok"
    ]


async def test_a_post_with_an_unknown_custom_emoji_still_opens(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # As an older import stored it: the export's sticker path where the id should be.
    text = "🔥 Акимат Алматы объявил о ремонте дорог"
    post_id = await _stored_post(
        storage,
        77,
        text,
        [
            {
                "type": "custom_emoji",
                "offset": 0,
                "length": 2,
                "custom_emoji_id": "stickers/sticker.webp",
            },
            {"type": "bold", "offset": 3, "length": 6},
        ],
        Source.IMPORT,
    )
    bot: RunningBot = await start_bot()
    await bot.send(private_text(f"/post_{post_id}"))

    # Refused once with the custom emoji; then sent with the rest of its formatting.
    assert [m for m, _ in bot.fake.refusals] == ["sendMessage"]
    assert _sent_to_reader(bot.fake) == ["🔥 <b>Акимат</b> Алматы объявил о ремонте дорог"]
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


async def test_a_post_refused_as_too_long_opens_unformatted(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram counts a message after parsing its formatting; whatever it counts, a post
    # it finds too long formatted goes out as its plain words, not as an apology.
    text = "Акимат Алматы объявил о ремонте дорог"
    post_id = await _stored_post(
        storage, 78, text, [{"type": "bold", "offset": 0, "length": 6}], Source.CHANNEL
    )
    bot: RunningBot = await start_bot()
    bot.fake.fail("sendMessage", 400, "Bad Request: message is too long", times=2)
    await bot.send(private_text(f"/post_{post_id}"))

    assert _sent_to_reader(bot.fake) == [text]
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


# -- 2. a start-up call answered with something that is not the Bot API's ----------------


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [(HTML_502, 502, "text/html"), ("Internal Server Error", 500, "text/plain")],
    ids=["html-502", "500-without-json"],
)
async def test_a_command_menu_answered_by_a_proxy_does_not_stop_the_start(
    start_bot: StartBot,
    fake_telegram: FakeTelegram,
    body: str,
    status: int,
    content_type: str,
) -> None:
    fake_telegram.garbage("setMyCommands", body, status=status, content_type=content_type, times=4)
    bot: RunningBot = await start_bot()
    await bot.send(private_text("/latest"))
    assert not bot.task.done()
    assert bot.fake.sent_texts(READER_ID)


async def test_a_webhook_start_survives_a_proxy_page_on_the_command_menu(
    start_webhook: StartWebhook, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.garbage("setMyCommands", HTML_502, status=502, content_type="text/html", times=4)
    fake_telegram.garbage("getMe", HTML_502, status=502, content_type="text/html")
    hook = await start_webhook()
    assert await hook.post(channel_post(5, "Новость после сбоя")) == 200
    assert not hook.task.done()


# -- 4. a flood wait longer than a few seconds --------------------------------------------


async def test_an_answer_waits_out_a_five_second_flood(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot: RunningBot = await start_bot()
    await bot.send(channel_post(1, "Новость дня"))
    bot.fake.fail_for(None, 429, FLOOD, seconds=5, retry_after=1)
    await bot.wait_handled(bot.fake.push(private_text("/latest")), within=30)

    answers = [c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == READER_ID]
    assert [c.outcome for c in answers][-1] == "ok"
    assert len([c for c in answers if c.outcome == "ok"]) == 1
    assert str(answers[-1].params["text"]).startswith("📰 <b>Latest news</b>")
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


@pytest.fixture
def short_flood_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers wait out at most 2 s of flood control (in the bot, 30 s)."""
    defaults = RetryAnswers.__init__.__kwdefaults__
    assert defaults is not None
    assert "max_flood_wait" in defaults, "RetryAnswers(max_flood_wait=…) has changed"
    monkeypatch.setitem(defaults, "max_flood_wait", 2.0)


async def test_a_flood_past_the_budget_leaves_the_update_for_later_not_lost(
    short_flood_budget: None, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot: RunningBot = await start_bot()
    await bot.send(channel_post(1, "Новость дня"))
    bot.fake.fail_for("sendMessage", 429, FLOOD, seconds=4, retry_after=1)
    update_id = bot.fake.push(private_text("/latest"))
    # Past the budget the update is kept, not answered with an apology…

    async def kept() -> bool:
        return any("update kept for later" in r.getMessage() for r in caplog.records)

    await eventually(kept)
    # …and answered once the flood is over.
    await bot.wait_handled(update_id, within=30)
    answers = [c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == READER_ID]
    assert len([c for c in answers if c.outcome == "ok"]) == 1
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


async def test_a_webhook_update_past_the_flood_budget_is_left_for_telegram_to_resend(
    short_flood_budget: None, start_webhook: StartWebhook, fake_telegram: FakeTelegram
) -> None:
    hook = await start_webhook()
    fake_telegram.fail_for("sendMessage", 429, FLOOD, seconds=3, retry_after=1)
    command = private_text("/latest")
    assert await hook.post({"update_id": 50, **command}) == 503
    assert not _apologies(fake_telegram)
    # Telegram sends it again, a little later each time, until it is taken.
    async with asyncio.timeout(30):
        while await hook.post({"update_id": 50, **command}) != 200:  # noqa: ASYNC110 - Telegram's resends
            await asyncio.sleep(0.5)
    answers = [c for c in fake_telegram.calls_of("sendMessage") if c.outcome == "ok"]
    assert len(answers) == 1


# -- 5. an update this version cannot read ------------------------------------------------


async def test_an_unreadable_update_is_set_aside_and_the_batch_goes_on(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot: RunningBot = await start_bot()
    missing_date = channel_post(2, "Без даты")
    del missing_date["channel_post"]["date"]
    wrong_type = channel_post(3, "Не тот тип")
    wrong_type["channel_post"]["message_id"] = "третий"
    # A kind of update a newer Bot API might send, that this version knows nothing of.
    future_kind = {"story_reaction_of_2030": {"from": READER, "emoji": "🔥"}}
    ids = bot.fake.push_many(
        [
            channel_post(1, "Первая новость"),
            missing_date,
            wrong_type,
            future_kind,
            channel_post(4, "Четвёртая новость"),
        ]
    )
    await bot.wait_handled(*ids)

    assert not bot.task.done()
    assert await storage.posts.find(NEWS_ID, 1) is not None
    assert await storage.posts.find(NEWS_ID, 4) is not None
    assert await storage.posts.count() == 2
    kept = {update_id: payload for update_id, payload, _ in await storage.inbox.unreadable()}
    assert sorted(kept) == [ids[1], ids[2], ids[3]]
    assert json.loads(kept[ids[1]])["channel_post"]["text"] == "Без даты"
    assert "story_reaction_of_2030" in json.loads(kept[ids[3]])
    logged = _errors(caplog)
    assert len(logged) == 3
    assert f"update_id={ids[1]}" in logged[0]
    assert "unreadable_updates" in logged[0]
    assert "no kind of update this version knows: story_reaction_of_2030" in logged[2]
    # Confirmed with the rest: Telegram does not send it again.
    await bot.fake.wait_confirmed(ids[-1])


async def test_a_webhook_update_that_cannot_be_read_is_kept_and_answered_200(
    start_webhook: StartWebhook, storage: Storage
) -> None:
    hook = await start_webhook()
    unreadable = channel_post(2, "Без даты")
    del unreadable["channel_post"]["date"]
    assert await hook.post({"update_id": 70, **unreadable}) == 200
    assert await hook.post({"update_id": 71, "story_reaction_of_2030": {"id": 1}}) == 200
    assert await hook.post({"update_id": 72, **channel_post(3, "Следом")}) == 200
    assert [row[0] for row in await storage.inbox.unreadable()] == [70, 71]
    assert await storage.posts.find(NEWS_ID, 3) is not None


# -- 6. a server that answers getUpdates at once with nothing ----------------------------


async def test_a_server_without_long_polling_is_asked_a_few_times_a_second(
    fake_telegram: FakeTelegram, start_bot: StartBot
) -> None:
    fake_telegram.long_poll = False
    bot: RunningBot = await start_bot()
    started = time.monotonic()
    before = len(fake_telegram.calls_of("getUpdates"))
    await fake_telegram.wait_until(lambda: len(fake_telegram.calls_of("getUpdates")) >= before + 6)
    # Six empty answers, each asked no sooner than 0.5 s after the one before.
    assert time.monotonic() - started >= 2.4
    # It still takes what comes at once.
    await bot.send(channel_post(1, "Новость"))


# -- 7. webhook mode stopping for any reason but a signal --------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ('{"ok": true, "result": false}', 200),
        ('{"ok": true}', 200),
        ('{"ok": false, "error_code": 404, "description": "Not Found"}', 404),
    ],
    ids=["false", "no-result", "not-found"],
)
async def test_webhook_mode_exits_non_zero_when_set_webhook_is_not_confirmed(
    fake_telegram: FakeTelegram, tmp_path: Path, answer: str, status: int
) -> None:
    # (A proxy's error page is waited out instead: setWebhook can be asked again.)
    fake_telegram.garbage("setWebhook", answer, status=status, times=100)
    env = bot_env(
        fake_telegram.url,
        tmp_path / "bot.db",
        WEBHOOK_URL=WEBHOOK_URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(free_port()),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode not in (0, None), err.decode()
    assert "setWebhook" in err.decode()


# -- real Bot API payloads as updates -----------------------------------------------------

REAL_CHANNEL = -1001893407333


async def test_real_payloads_fed_as_updates(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    owner = {"id": 461699897, "is_bot": False, "first_name": "Anton", "language_code": "ru"}
    bot: RunningBot = await start_bot(
        source_channels=[REAL_CHANNEL], admin_ids=[owner["id"], ADMIN["id"]]
    )
    # A real getUpdates answer: a pin in the channel, a service message, not a post.
    [pinned] = _real("getupdates_channel_post_pinned.json")
    await bot.send({k: v for k, v in pinned.items() if k != "update_id"})
    assert await storage.posts.count() == 0

    # A real edited channel message: first as it was posted, then its edit.
    edited = _real("editmessagetext_markup_channel.json")
    original = {k: v for k, v in edited.items() if k != "edit_date"}
    original["text"], original["entities"] = "Обычный текст", []
    await bot.send({"channel_post": original})
    await bot.send({"edited_channel_post": edited})
    post = await storage.posts.find(REAL_CHANNEL, edited["message_id"])
    assert post is not None
    assert post.text == "Полужирный текст"
    assert post.entities == [{"type": "bold", "offset": 0, "length": 16}]
    assert post.edit_date is not None

    # A real forward from the channel, sent to the bot by an admin (the capture's sender
    # is the bot that forwarded it; here it is the person in that chat).
    forwarded = copy.deepcopy(_real("forwardmessage_from_channel.json"))
    forwarded["from"] = owner
    await bot.send({"message": forwarded})
    stored = await storage.posts.find(REAL_CHANNEL, forwarded["forward_origin"]["message_id"])
    assert stored is not None
    assert stored.text == "Полужирный текст"
    assert bot.fake.sent_texts(owner["id"])[-1].startswith("✅")

    # A real album (a photo in five sizes and a video) posted in the channel: one post.
    album = copy.deepcopy(_real("sendmediagroup_private.json"))
    channel = {"id": REAL_CHANNEL, "title": "Тестовый канал", "username": "testsichee"}
    for item in album:
        item.pop("from")
        item["chat"] = item["sender_chat"] = {**channel, "type": "channel"}
    await bot.send_all([{"channel_post": item} for item in album])
    await eventually(lambda: _has_parts(storage, album[0]["message_id"], 2))
    album_post = await storage.posts.find(REAL_CHANNEL, album[0]["message_id"])
    assert album_post is not None
    assert album_post.text == "Строковое значение"
    largest = album[0]["photo"][-1]
    assert [m.kind for m in album_post.media] == ["photo", "video"]
    assert album_post.media[0].file_id == largest["file_id"]

    # Opened by a reader, through the strict fake: nothing refused, no apology.
    for post_id in (post.id, stored.id, album_post.id):
        await bot.send(private_text(f"/post_{post_id}"))
    assert bot.fake.refusals == []
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


async def _has_parts(storage: Storage, message_id: int, count: int) -> bool:
    post = await storage.posts.find(REAL_CHANNEL, message_id)
    return post is not None and len(post.parts) == count


# -- what a reader typed, quoted back -----------------------------------------------------


@pytest.mark.parametrize("command", ["/rates", "/convert"])
async def test_a_huge_word_is_quoted_back_cut_not_refused(
    start_bot: StartBot, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot: RunningBot = await start_bot()
    await bot.send(private_text(f"{command} {'щ' * 5000}"))
    [answer] = bot.fake.sent_texts(READER_ID)
    assert "щ" * 60 in answer
    assert len(answer) < 1000
    assert bot.fake.refusals == []
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


# -- a 429 that says its wait only in words -----------------------------------------------


async def test_a_429_without_retry_after_parameters_is_waited_out(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram's own answer of 2016, captured: the wait is only in the description.
    body = (ERRORS / "429-no-parameters-2016.json").read_text(encoding="utf-8")
    assert "parameters" not in json.loads(body)
    bot: RunningBot = await start_bot()
    bot.fake.garbage("sendMessage", body, status=429, times=2)
    await bot.send(
        private_text("/latest"),
    )
    answers = [c for c in bot.fake.calls_of("sendMessage") if c.params["chat_id"] == READER_ID]
    assert [c.outcome for c in answers] == ["garbage", "garbage", "ok"]
    assert answers[2].at - answers[1].at >= 2.9  # "retry after 3": waited as told
    assert not _apologies(bot.fake)
    assert _errors(caplog) == []


@pytest.mark.parametrize(
    ("description", "seconds"),
    [
        ("Too Many Requests: retry after 3", 3),
        ("Too Many Requests: Retry After 34", 34),
        ("Too Many Requests", 1),
        ("Too Many Requests: retry after 99999999", 3600),
    ],
)
def test_the_wait_a_429_tells_in_words(description: str, seconds: int) -> None:
    assert retry_after_in(description) == seconds


async def test_a_batch_with_things_that_are_not_updates_is_read_item_by_item(
    start_bot: StartBot, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    bot: RunningBot = await start_bot()
    good = {"update_id": 900, **channel_post(9, "Новость из странного ответа")}
    body = json.dumps({"ok": True, "result": [None, 7, "x", good]})
    bot.fake.garbage("getUpdates", body)
    await bot.send(channel_post(10, "Следующая новость"))
    # The long poll in flight may take update 10 first: the odd batch comes with the next.

    async def stored_9() -> bool:
        return await storage.posts.find(NEWS_ID, 9) is not None

    await eventually(stored_9)
    assert await storage.posts.find(NEWS_ID, 10) is not None
    assert len([m for m in _errors(caplog) if "without an update_id" in m]) == 3
