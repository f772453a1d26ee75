"""Log lines: one per event, time/level/logger/key=value, LOG_LEVEL, and never the token."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from bot.logging_setup import REDACTED, configure_logging
from storage import Storage
from tests.fake_telegram import TOKEN
from tests.updates import NEWS_CHANNEL, channel_post

SECRET_PART = TOKEN.split(":", 1)[1]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+ .*$")


@pytest.fixture
def configure() -> Iterator[Callable[..., io.StringIO]]:
    """configure_logging into a buffer; the root logger is put back afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    names = ("aiogram.event", "aiohttp.access", "aiosqlite")
    saved_levels = {name: logging.getLogger(name).level for name in names}

    def setup(level: str = "INFO", **kwargs: Any) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(level, secrets=[TOKEN, "hook-secret-value"], stream=stream, **kwargs)
        return stream

    yield setup
    for handler in root.handlers[:]:
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


def test_a_line_has_time_level_logger_message_and_extra_context(
    configure: Callable[..., io.StringIO],
) -> None:
    stream = configure()

    logging.getLogger("bot.test").info(
        "imported channel_id=%s", -100123, extra={"new": 5, "title": "Новости дня"}
    )

    [line] = stream.getvalue().splitlines()
    assert LINE.match(line)
    assert ' INFO bot.test imported channel_id=-100123 new=5 title="Новости дня"' in line


def test_an_event_stays_on_one_line_even_with_a_traceback(
    configure: Callable[..., io.StringIO],
) -> None:
    stream = configure()

    try:
        raise RuntimeError("first\nsecond")
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed update_id=%s\nhere", 7)

    [line] = stream.getvalue().splitlines()
    assert LINE.match(line)
    assert "failed update_id=7\\nhere" in line
    assert 'exc="Traceback (most recent call last):\\n' in line
    assert "RuntimeError: first\\nsecond" in line


def test_the_token_is_redacted_in_message_args_exceptions_and_extra(
    configure: Callable[..., io.StringIO],
) -> None:
    stream = configure()
    log = logging.getLogger("aiogram.client")

    log.warning("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
    log.warning("url=%s", f"https://api.telegram.org/bot7000000001%3A{SECRET_PART}/getMe")
    log.error("webhook secret %s", "hook-secret-value")
    log.info("context", extra={"url": f"/bot{TOKEN}/sendMessage"})
    try:
        raise aiohttp.ClientError(f"Cannot connect to /bot{TOKEN}/getUpdates")
    except aiohttp.ClientError:
        log.exception("network")

    text = stream.getvalue()
    assert TOKEN not in text
    assert SECRET_PART not in text
    assert "hook-secret-value" not in text
    assert text.count(REDACTED) == 5
    assert len(text.splitlines()) == 5


def test_log_level_sets_what_is_written(configure: Callable[..., io.StringIO]) -> None:
    stream = configure("WARNING")
    log = logging.getLogger("bot.test")

    log.info("routine")
    log.warning("attention")

    assert [line.split(" ", 3)[1:3] for line in stream.getvalue().splitlines()] == [
        ["WARNING", "bot.test"]
    ]


def test_routine_library_chatter_is_kept_for_debug(configure: Callable[..., io.StringIO]) -> None:
    stream = configure("INFO")
    logging.getLogger("aiogram.event").info("Update id=1 is handled")
    logging.getLogger("aiosqlite").debug("executing SELECT text")
    assert stream.getvalue() == ""

    stream = configure("DEBUG")
    logging.getLogger("aiogram.event").info("Update id=1 is handled")
    logging.getLogger("aiosqlite").debug("executing SELECT text")
    assert "Update id=1 is handled" in stream.getvalue()
    # Every SQL statement with its parameters is too much even for DEBUG.
    assert "executing" not in stream.getvalue()


def test_configuring_twice_does_not_double_lines(configure: Callable[..., io.StringIO]) -> None:
    configure()
    stream = configure()
    logging.getLogger("bot.test").warning("once")
    assert len(stream.getvalue().splitlines()) == 1


async def test_message_texts_are_not_logged_at_info(
    start_bot: Callable[..., Any], storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = await start_bot()
    text = "Секретная формулировка пресс-релиза"

    await bot.send(channel_post(10, text))

    assert await storage.posts.find(NEWS_CHANNEL["id"], 10) is not None
    assert caplog.records
    assert not [r for r in caplog.records if text in r.getMessage() and r.levelno >= logging.INFO]
