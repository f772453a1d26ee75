"""Importing a Telegram Desktop export: posts per second, beside raw SQLite, and memory.

A 100,000-post channel export (Russian news texts, a third of them rich-text arrays with
bold, links and hashtags, half with photo placeholders, a few service messages) is
written in Telegram Desktop's format. `python -m bot import`'s code then imports it in a
child process, whose peak resident memory (ru_maxrss) is the import's.

In the same run the same rows (posts, post_parts, posts_fts: what the import writes) go
into an empty database of the same schema straight through sqlite3, already built, with
executemany, in transactions of the import's batch size: the ceiling the import is
measured against. A second child parses the same file with json.load, to show what
streaming saves.

    python -m bench.import_export [--posts 100000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.services.export_import import Channel, ExportReader, Skip, convert, import_export
from storage import IncomingMessage, Storage
from storage.db import migrations as _migrations
from storage.db import statements as _statements
from storage.search_text import index_body

ROOT = Path(__file__).resolve().parent.parent
CHANNEL_ID = 1487851422
BATCH = 500
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

_WHO = [
    "Глава государства",
    "Премьер-министр",
    "Аким Алматы",
    "Министр энергетики",
    "Национальный банк",
    "Мажилис",
    "Министерство здравоохранения",
    "Акимат Астаны",
    "Комитет по чрезвычайным ситуациям",
    "Агентство по статистике",
]
_DID = [
    "провёл встречу с делегацией Японии",
    "объявил о новых мерах поддержки малого бизнеса",
    "сообщил о росте экспорта зерна на 12 процентов",
    "утвердил план строительства школ до 2027 года",
    "предупредил о сильном снегопаде и гололёде",
    "повысил базовую ставку до 16,5 процента",
    "открыл новую ярмарку сельхозпродукции",
    "рассказал о ходе отопительного сезона",
    "подписал соглашение о сотрудничестве в сфере транспорта",
    "опубликовал данные об инфляции за ноябрь",
]
_WHERE = [
    "в Астане",
    "в Алматы",
    "в Шымкенте",
    "в Караганде",
    "в Актобе",
    "в Усть-Каменогорске",
    "в Павлодаре",
    "в Туркестанской области",
]
_MORE = [
    "По словам представителей ведомства, работы завершат до конца года.",
    "Жителей просят по возможности не выезжать на трассы без необходимости.",
    "Подробности будут опубликованы на официальном сайте ведомства.",
    "Эксперты связывают изменения с ростом цен на продовольствие и услуги.",
    "В мероприятии приняли участие представители бизнеса и общественности.",
    "Ранее сообщалось, что проект обсуждался на заседании правительства.",
    "Курс доллара на бирже KASE на закрытии торгов составил 519,9 тенге.",
    "Жалобы горожан можно оставить по номеру 109 или в приложении eGov.",
]
_EMOJI = ["🇰🇿", "⚡️", "📌", "❗️", "🇰🇿🇯🇵", "📈", "❄️", ""]
_TAGS = ["#новости", "#Казахстан", "#экономика", "#Астана", "#погода"]


def _post_text(rng: random.Random) -> tuple[str, list[Any]]:
    """(plain text, rich-text array or []) of one news post."""
    emoji = rng.choice(_EMOJI)
    title = f"{rng.choice(_WHO)} {rng.choice(_DID)} {rng.choice(_WHERE)}"
    body = " ".join(rng.sample(_MORE, rng.randint(2, 5)))
    if rng.random() < 0.35:
        parts: list[Any] = [
            f"{emoji} " if emoji else "",
            {"type": "bold", "text": title},
            "\n\n" + body + "\n\n",
            {
                "type": "text_link",
                "text": "Подробнее",
                "href": "https://example.kz/news/" + str(rng.randint(1, 10**6)),
            },
            " ",
            {"type": "hashtag", "text": rng.choice(_TAGS)},
        ]
        return "", [p for p in parts if p]
    return f"{emoji} {title}\n\n{body}".strip(), []


def _message(number: int, rng: random.Random) -> dict[str, Any]:
    date = 1_700_000_000 + number * 97
    if rng.random() < 0.01:
        return {
            "id": number,
            "type": "service",
            "date": "2023-11-14T22:13:20",
            "date_unixtime": str(date),
            "actor": "Новости Казахстана",
            "actor_id": f"channel{CHANNEL_ID}",
            "action": "pin_message",
            "message_id": number - 1,
            "text": "",
            "text_entities": [],
        }
    text, rich = _post_text(rng)
    message: dict[str, Any] = {
        "id": number,
        "type": "message",
        "date": "2023-11-14T22:13:20",
        "date_unixtime": str(date),
        "from": "Новости Казахстана",
        "from_id": f"channel{CHANNEL_ID}",
    }
    if rng.random() < 0.5:
        message.update(photo=NOT_INCLUDED, width=1280, height=853)
    if rich:
        message["text"] = rich
        message["text_entities"] = [
            {"type": "plain", "text": p} if isinstance(p, str) else p for p in rich
        ]
    else:
        message["text"] = text
        message["text_entities"] = [{"type": "plain", "text": text}]
    return message


def write_export(path: Path, posts: int, seed: int = 2025) -> None:
    """A result.json as Telegram Desktop writes it, one message at a time."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Новости Казахстана",\n "type": "public_channel",\n')
        out.write(f' "id": {CHANNEL_ID},\n "messages": [')
        for number in range(1, posts + 1):
            out.write(",\n  " if number > 1 else "\n  ")
            out.write(json.dumps(_message(number, rng), ensure_ascii=False, indent=1))
        out.write("\n ]\n}\n")


def _converted(path: Path) -> Iterator[IncomingMessage]:
    channel = Channel(-(10**12) - CHANNEL_ID, "Новости Казахстана")
    with path.open("rb") as file:
        reader = ExportReader(file)
        reader.open()
        for message in reader.messages():
            converted = convert(message, channel)
            if not isinstance(converted, Skip):
                yield converted


Rows = list[tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]]


def raw_rows(messages: list[IncomingMessage]) -> Rows:
    """(posts row, post_parts row, posts_fts row) of each post: what the import writes."""
    rows: Rows = []
    for post_id, msg in enumerate(messages, start=1):
        entities = json.dumps(
            msg.entities, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
        media = msg.media.kind if msg.media else None
        date = int(msg.date.timestamp())
        rows.append(
            (
                (
                    post_id,
                    msg.channel_id,
                    msg.message_id,
                    msg.channel_title,
                    date,
                    msg.text,
                    entities,
                    "import",
                    date,
                ),
                (post_id, msg.channel_id, msg.message_id, msg.text, entities, media),
                (post_id, index_body(msg.text)),
            )
        )
    return rows


def raw_rate(messages: list[IncomingMessage], path: Path, *, prebuilt: bool) -> float:
    """Rows per second into a fresh database, executemany in transactions of BATCH rows.

    With `prebuilt`, the rows' values (entities as JSON, the index's stems) are computed
    before the clock starts: SQLite's own speed. Without, computing them is timed too:
    what any loader of these rows pays.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for _, _, sql in _migrations():
        for statement in _statements(sql):
            conn.execute(statement)
    rows = raw_rows(messages) if prebuilt else []
    started = time.perf_counter()
    if not prebuilt:
        rows = raw_rows(messages)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO posts (id, channel_id, message_id, channel_title, date, text, "
            "entities, source, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r[0] for r in batch],
        )
        conn.executemany(
            "INSERT INTO post_parts (post_id, channel_id, message_id, text, entities, "
            "media_kind) VALUES (?, ?, ?, ?, ?, ?)",
            [r[1] for r in batch],
        )
        conn.executemany(
            "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)", [r[2] for r in batch if r[2][1]]
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def _child(argv: list[str]) -> int:
    """In a fresh process: import (or json.load) the export; print figures as JSON."""
    mode, export, db = argv[0], Path(argv[1]), Path(argv[2])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if mode == "import":

        async def main() -> None:
            storage = await Storage.open(db)
            try:
                summary = await import_export(storage, export, batch_size=BATCH)
            finally:
                await storage.close()
            result.update(created=summary.created, skipped=summary.skipped_total)

        asyncio.run(main())
    else:
        with export.open(encoding="utf-8") as file:
            result["messages"] = len(json.load(file)["messages"])
    result["seconds"] = time.perf_counter() - started
    # Linux reports ru_maxrss in KiB.
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["baseline_mb"] = baseline / 1024
    print(json.dumps(result))
    return 0


def _run_child(mode: str, export: Path, db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.import_export", "--child", mode, str(export), str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def run(quick: bool = False, posts: int | None = None) -> dict[str, Any]:
    count = posts or (5_000 if quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        export = workdir / "result.json"
        write_export(export, count)
        size_mb = export.stat().st_size / 1_000_000
        imported = _run_child("import", export, workdir / "import.db")
        again = _run_child("import", export, workdir / "import.db")
        messages = list(_converted(export))
        raw = raw_rate(messages, workdir / "raw.db", prebuilt=False)
        sqlite_only = raw_rate(messages, workdir / "raw-prebuilt.db", prebuilt=True)
        del messages
        whole = _run_child("json.load", export, workdir / "unused.db")
    rate = imported["created"] / imported["seconds"]
    return {
        "posts_in_export": count,
        "export_mb": round(size_mb, 1),
        "posts_stored": imported["created"],
        "import_seconds": round(imported["seconds"], 2),
        "import_posts_per_s": round(rate),
        "raw_sqlite_same_rows_per_s": round(raw),
        "import_vs_raw": round(rate / raw, 3),
        "floor_import_vs_raw": 0.4,
        "raw_sqlite_prebuilt_rows_per_s": round(sqlite_only),
        "import_vs_raw_prebuilt": round(rate / sqlite_only, 3),
        "import_peak_memory_mb": round(imported["peak_mb"], 1),
        "interpreter_and_imports_mb": round(imported["baseline_mb"], 1),
        "floor_peak_memory_mb": 300,
        "reimport_seconds": round(again["seconds"], 2),
        "reimport_new_posts": again["created"],
        "json_load_whole_file_peak_mb": round(whole["peak_mb"], 1),
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        raise SystemExit(_child(sys.argv[2:]))
    parser = argparse.ArgumentParser(prog="python -m bench.import_export")
    parser.add_argument("--posts", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick, posts=args.posts), ensure_ascii=False, indent=2))
