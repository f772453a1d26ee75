"""The operator's commands as an editor uses them: import an export, preview, stats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_telegram import TOKEN

EXPORT = Path(__file__).parent / "data" / "export" / "result.json"


def bot_command(
    tmp_path: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'bot.db'}",
        RATES_URL="http://127.0.0.1:9/rss/rates_all.xml",
        MARKET_RATES_URL="http://127.0.0.1:9/site/index?city={city}",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_then_preview_latest_prints_the_headlines(tmp_path: Path) -> None:
    imported = bot_command(tmp_path, "import", str(EXPORT))
    assert imported.returncode == 0, imported.stderr
    preview = bot_command(tmp_path, "preview", "latest", "50")
    assert preview.returncode == 0, preview.stderr
    out = preview.stdout
    assert out.startswith("📰 Последние новости")
    assert "<" not in out.replace("<<", "")  # plain text, no HTML tags
    assert "🇰🇿 Токаев встретился с премьером Японии 🤝 Подробности (https://t.me/" in out
    assert "Курс доллара на бирже KASE вырос до 519,9 тенге." in out
    english = bot_command(tmp_path, "preview", "latest", "2", "--lang", "en")
    assert english.stdout.startswith("📰 Latest news")


def test_preview_digest_top_and_stats(tmp_path: Path) -> None:
    assert bot_command(tmp_path, "import", str(EXPORT)).returncode == 0
    digest = bot_command(tmp_path, "preview", "digest", "18.12.2025")
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith(
        "☀️ Доброе утро! Предлагаем обзор главных новостей за 18 декабря"
    )
    kazakh = bot_command(tmp_path, "preview", "digest", "18.12.2025", "--lang", "kk")
    assert kazakh.returncode == 0, kazakh.stderr
    assert kazakh.stdout.startswith(
        "☀️ Қайырлы таң! 2025 жылғы 18 желтоқсандағы басты жаңалықтарға шолу"
    )
    top = bot_command(tmp_path, "preview", "top", "7d")
    assert top.returncode == 0
    stats = bot_command(tmp_path, "stats")
    assert stats.returncode == 0
    assert "импортом 13" in stats.stdout
    rates = bot_command(tmp_path, "preview", "rates")
    assert rates.returncode == 0
    assert "Traceback" not in rates.stderr


def test_preview_bad_input_is_one_line(tmp_path: Path) -> None:
    assert bot_command(tmp_path, "import", str(EXPORT)).returncode == 0
    bad = bot_command(tmp_path, "preview", "digest", "31.02")
    assert bad.returncode == 2
    assert bad.stderr.startswith("preview: Не понял дату.")
    kazakh = bot_command(tmp_path, "preview", "digest", "31.02", "--lang", "kk")
    assert kazakh.returncode == 2
    assert kazakh.stderr.startswith("preview: Күнді түсінбедім.")


@pytest.mark.parametrize("command", [["stats"], ["preview", "latest"]])
def test_a_postgresql_server_that_cannot_be_reached_is_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    # Nothing listens on port 1 of loopback.
    url = "postgresql://newsbot:s3cret-pass@127.0.0.1:1/news"
    result = bot_command(tmp_path, *command, database_url=url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"{command[0]}: the database cannot be used: cannot connect")
    assert "Connection refused" in result.stderr
    assert "s3cret-pass" not in result.stderr


def test_preview_without_a_database_says_so(tmp_path: Path) -> None:
    result = bot_command(tmp_path, "preview", "latest")
    assert result.returncode == 2
    assert result.stderr.strip() == f"preview: no database at {tmp_path / 'bot.db'} (DATABASE_URL)"
