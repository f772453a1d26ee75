"""Webhook mode: the real aiohttp server on 127.0.0.1, the bot talking to the fake Bot API.

Telegram's side is played by an aiohttp client posting updates with (or without) the
secret header; the answer's status is what Telegram would act on (non-200: send again).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import ALLOWED_UPDATES, create_bot, create_dispatcher
from bot.webhook import SECRET_HEADER, WebhookError, create_webhook_app, run_webhook
from storage import IncomingMessage, PostRepository, SaveResult, Storage, StorageUnavailable
from tests.conftest import SECRET, WEBHOOK_URL, StartWebhook, free_port, webhook_settings
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.updates import ADMIN, NEWS_CHANNEL, channel_post, forward

NEWS = NEWS_CHANNEL["id"]


async def test_start_sets_the_webhook_with_secret_and_allowed_updates(
    start_webhook: StartWebhook, fake_telegram: FakeTelegram
) -> None:
    await start_webhook()

    [call] = fake_telegram.calls_of("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ALLOWED_UPDATES
    # Polling's deleteWebhook must not run in webhook mode, nor getUpdates.
    assert not fake_telegram.calls_of("deleteWebhook")
    assert not fake_telegram.calls_of("getUpdates")


async def test_start_waits_out_an_unreachable_bot_api(
    start_webhook: StartWebhook, fake_telegram: FakeTelegram, storage: Storage
) -> None:
    fake_telegram.fail("getMe", 502, "Bad Gateway")
    fake_telegram.fail("setWebhook", 429, "Too Many Requests: retry after 1", retry_after=1)

    hook = await start_webhook()
    await fake_telegram.wait_for_call("setWebhook", count=2)

    assert len(fake_telegram.calls_of("getMe")) == 2
    assert await hook.post(channel_post(13, "После сбоя")) == 200
    assert await storage.posts.find(NEWS, 13) is not None


async def test_a_refused_webhook_url_stops_with_a_clear_error(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    fake_telegram.fail("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided")
    settings = webhook_settings(fake_telegram, tmp_path / "bot.db")

    with pytest.raises(WebhookError, match=r"Telegram refused WEBHOOK_URL .*HTTPS url must be"):
        await asyncio.wait_for(run_webhook(settings, stop=asyncio.Event()), 15)


async def test_update_with_the_right_secret_is_stored_before_the_answer(
    start_webhook: StartWebhook, storage: Storage
) -> None:
    hook = await start_webhook()

    assert await hook.post(channel_post(10, "Токаев прибыл в Токио")) == 200

    post = await storage.posts.find(NEWS, 10)
    assert post is not None
    assert post.text == "Токаев прибыл в Токио"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused_and_not_processed(
    start_webhook: StartWebhook, storage: Storage, secret: str | None
) -> None:
    hook = await start_webhook()

    assert await hook.post(channel_post(11, "Подделка"), secret=secret) == 401

    assert await storage.posts.find(NEWS, 11) is None


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", [], {"message": "no update_id"}, {"update_id": "x"}],
)
async def test_a_body_that_is_not_an_update_gets_400_and_the_bot_goes_on(
    start_webhook: StartWebhook, storage: Storage, body: Any
) -> None:
    hook = await start_webhook()

    assert await hook.post(body=body) == 400

    assert await hook.post(channel_post(12, "После мусора")) == 200
    assert await storage.posts.find(NEWS, 12) is not None


async def test_storage_failure_is_not_answered_200_and_the_resend_is_stored(
    start_webhook: StartWebhook,
    storage: Storage,
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = await start_webhook(admin_ids=[ADMIN["id"]])
    real_save = PostRepository.save

    async def failing_save(self: PostRepository, msg: IncomingMessage) -> SaveResult:
        raise StorageUnavailable("database is locked")

    monkeypatch.setattr(PostRepository, "save", failing_save)
    update = {"update_id": 77, **forward(31, "Пресс-релиз агентства")}
    # Telegram sends the same update again while the answer is not 200.
    assert [await hook.post(update) for _ in range(3)] == [503, 503, 503]
    assert await storage.posts.count() == 0
    # The admin hears about the failure once, not once per resend.
    assert fake_telegram.sent_texts(ADMIN["id"]) == [
        "Что-то пошло не так. Попробуйте ещё раз чуть позже."
    ]

    monkeypatch.setattr(PostRepository, "save", real_save)
    assert await hook.post(update) == 200
    assert await storage.posts.count() == 1


async def test_stop_finishes_the_update_in_hand(
    start_webhook: StartWebhook, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = await start_webhook()
    entered, release = asyncio.Event(), asyncio.Event()
    real_save = PostRepository.save

    async def slow_save(self: PostRepository, msg: IncomingMessage) -> SaveResult:
        entered.set()
        await release.wait()
        return await real_save(self, msg)

    stopping = asyncio.Event()
    real_cleanup = web.AppRunner.cleanup

    async def cleanup(self: web.AppRunner) -> None:
        stopping.set()
        await real_cleanup(self)

    monkeypatch.setattr(PostRepository, "save", slow_save)
    monkeypatch.setattr(web.AppRunner, "cleanup", cleanup)
    request = asyncio.create_task(hook.post(channel_post(40, "В обработке при остановке")))
    await entered.wait()

    hook.stop_event.set()
    # The server is shutting down while the update is still being stored.
    await stopping.wait()
    release.set()

    assert await request == 200
    await asyncio.wait_for(hook.task, 15)
    assert await storage.posts.find(NEWS, 40) is not None


async def test_healthz_reflects_whether_the_database_answers(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    settings = webhook_settings(fake_telegram, tmp_path / "bot.db")
    storage = await Storage.open(settings.database_path)
    bot = create_bot(settings)
    app = create_webhook_app(settings, create_dispatcher(settings, storage), bot, storage)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            answer = await client.get("/healthz")
            assert (answer.status, await answer.text()) == (200, "ok")

            await storage.close()

            answer = await client.get("/healthz")
            assert answer.status == 503
    finally:
        await bot.session.close()


async def test_sigterm_stops_webhook_mode_cleanly(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=fake_telegram.url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        WEBHOOK_URL=WEBHOOK_URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="INFO",
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
        await fake_telegram.wait_for_call("setWebhook", within=30)
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{port}/tg/webhook",
                json={"update_id": 1, **channel_post(60, "Перед остановкой")},
                headers={SECRET_HEADER: SECRET},
            ) as answer,
        ):
            assert answer.status == 200
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log
    assert "started mode=webhook" in log
    assert "stopped" in log
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log
    assert SECRET not in log
