"""Settings: every contract variable, read from the environment and .env, checked at start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import MAX_SEND_RATE, Settings, describe_errors
from tests.fake_telegram import TOKEN

CONTRACT = [
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "ADMIN_IDS",
    "SOURCE_CHANNELS",
    "MIRROR_CHAT_IDS",
    "TIMEZONE",
    "DIGEST_TIME",
    "RATES_URL",
    "RATES_CURRENCIES",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_HOST",
    "WEBHOOK_PORT",
    "RATES_HISTORY_URL",
    "RATES_CACHE_SECONDS",
    "DIGEST_CATCHUP_HOURS",
    "SEND_RATE",
    "MIRROR_FORWARDS",
    "LOG_LEVEL",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def error_text(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_errors(caught.value)


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = Settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_path == Path("data/bot.db")
    assert settings.admin_ids == []
    assert settings.source_channels == []
    assert settings.timezone.key == "Asia/Almaty"
    assert settings.digest_time == time(8, 0)
    assert settings.rates_currencies == ["USD", "EUR", "RUB"]
    assert settings.rates_cache_seconds == 1800
    assert settings.digest_catchup_hours == 3
    assert settings.send_rate == 29
    assert settings.mirror_forwards is False
    assert settings.webhook_url is None
    assert settings.log_level == "INFO"


def test_values_from_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\n"
        "ADMIN_IDS=111, 222\n"
        "SOURCE_CHANNELS=-1001234567890,@Kz_News\n"
        "MIRROR_CHAT_IDS=-1005550001\n"
        "TIMEZONE=Asia/Tashkent\n"
        "DIGEST_TIME=7:30\n"
        "DATABASE_URL=sqlite:////var/lib/newsbot/bot.db\n"
        "RATES_CURRENCIES=usd,cny\n"
        "MIRROR_FORWARDS=true\n"
        "LOG_LEVEL=debug\n",
        encoding="utf-8",
    )
    settings = Settings()
    assert settings.bot_token.get_secret_value() == TOKEN
    assert settings.admin_ids == [111, 222]
    assert settings.source_channels == [-1001234567890, "kz_news"]
    assert settings.mirror_chat_ids == [-1005550001]
    assert settings.timezone.key == "Asia/Tashkent"
    assert settings.digest_time == time(7, 30)
    assert settings.database_path == Path("/var/lib/newsbot/bot.db")
    assert settings.rates_currencies == ["USD", "CNY"]
    assert settings.mirror_forwards is True
    assert settings.log_level == "DEBUG"
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ADMIN_IDS": "111,abc"}, "ADMIN_IDS: expected comma-separated numeric ids, got 'abc'"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ({"TIMEZONE": "Europe"}, "TIMEZONE: unknown time zone 'Europe'"),
        ({"DIGEST_TIME": "25:99"}, "DIGEST_TIME: '25:99' is not a time of day"),
        ({"DIGEST_TIME": "morning"}, "DIGEST_TIME: expected a time as HH:MM"),
        ({"DATABASE_URL": "mysql://db/news"}, "DATABASE_URL: expected sqlite:///path/to/bot.db"),
        ({"DATABASE_URL": "postgresql://"}, "DATABASE_URL: expected sqlite:///path/to/bot.db"),
        ({"SOURCE_CHANNELS": "news channel"}, "SOURCE_CHANNELS: expected a channel id"),
        ({"SEND_RATE": "45"}, "SEND_RATE: 45 messages a second trips Telegram's limit of 30"),
        ({"SEND_RATE": "0"}, "SEND_RATE: Input should be greater than 0"),
        ({"TELEGRAM_API_URL": "localhost:8081"}, "TELEGRAM_API_URL: expected an http://"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ({"WEBHOOK_URL": "https://bot.example.kz/hook"}, "WEBHOOK_SECRET is required"),
        ({"BOT_TOKEN": "not a token"}, "BOT_TOKEN: does not look like a token"),
    ],
)
def test_invalid_setting_is_named_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    text = error_text(monkeypatch, **env)
    assert text.startswith("Invalid settings:")
    assert expected in text


@pytest.mark.parametrize("rate", ["30", "29.6", "inf"])
def test_send_rate_that_trips_telegrams_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    # Telegram's documented 30 a second is itself refused: at a steady 30 the least jitter
    # puts a 31st message within a second, and each 429 pauses every sender.
    text = error_text(monkeypatch, SEND_RATE=rate)
    assert f"SEND_RATE: {float(rate):g} messages a second trips Telegram's limit of 30" in text
    assert f"use at most {MAX_SEND_RATE:g}" in text


@pytest.mark.parametrize("rate", [str(MAX_SEND_RATE), "29", "0.5"])
def test_send_rate_up_to_the_bound_is_accepted(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SEND_RATE", rate)
    assert Settings().send_rate == float(rate)
    assert MAX_SEND_RATE < 30


def test_several_invalid_settings_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    text = error_text(monkeypatch, ADMIN_IDS="x", TIMEZONE="Nowhere/City")
    assert "ADMIN_IDS" in text
    assert "TIMEZONE" in text


def test_a_mistyped_token_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    text = error_text(monkeypatch, BOT_TOKEN="123456:secret part with spaces")
    assert "secret part" not in text


def _run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONTRACT}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_token_explains_where_to_get_one(tmp_path: Path) -> None:
    result = _run_bot(tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "@BotFather" in result.stderr
    assert ".env" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_invalid_setting_stops_before_starting(tmp_path: Path) -> None:
    result = _run_bot(tmp_path, BOT_TOKEN=TOKEN, DIGEST_TIME="25:99")
    assert result.returncode == 2
    assert "DIGEST_TIME" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was created


def test_run_with_send_rate_30_stops_before_starting(tmp_path: Path) -> None:
    result = _run_bot(tmp_path, BOT_TOKEN=TOKEN, SEND_RATE="30")
    assert result.returncode == 2
    assert "SEND_RATE: 30 messages a second trips Telegram's limit" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
