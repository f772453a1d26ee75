"""What speaking the reader's language costs per update and per text.

Per update, the language middleware reads the reader's choice (and the languages of their
digest and alerts) with one SELECT on the bot's SQLite file. Per text, `t()` looks the
message up in a gettext catalog and fills it in. Each is timed beside its baseline in the
same run, interleaved, so that the machine's noise falls on both alike:

- `languages(user)` on a file with READERS readers who chose, against `SELECT 1` through
  the same connection (the least a read can cost);
- `t(lang, id, **values)` against `str.format` of the same template held in a dict (how
  texts were looked up before the catalogs).

Figures: median and p99 in microseconds, and the ratio of the medians.

    python -m bench.language [--readers 100000] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.texts import LANGUAGES, t, template
from storage import Storage

SEED = 20_251_217


def _figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6, 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] * 1e6, 2),
    }


async def _lookups(readers: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bot.db")
        try:
            async with storage.db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO reader_languages (user_id, lang, chosen_at) VALUES (?, ?, 0)",
                    [(user_id, rng.choice(LANGUAGES)) for user_id in range(1, readers + 1)],
                )

            async def baseline() -> None:
                async with storage.db.reading() as conn:
                    await conn.execute("SELECT 1")

            async def lookup() -> None:
                await storage.readers.languages(rng.randint(1, readers * 2))

            timed: dict[str, list[float]] = {"select_1": [], "languages": []}
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("select_1", baseline),
                ("languages", lookup),
            ]
            for _ in range(rounds):
                for name, step in steps:
                    started = time.perf_counter()
                    await step()
                    timed[name].append(time.perf_counter() - started)
        finally:
            await storage.close()
    result = {name: _figures(samples) for name, samples in timed.items()}
    result["ratio_of_medians"] = round(
        result["languages"]["median_us"] / result["select_1"]["median_us"], 2
    )
    return {"readers": readers, "rounds": rounds, **result}


def _texts(rounds: int) -> dict[str, Any]:
    key, values = "digest_market", {"rates": "USD 517,3/519,9", "city": "Алматы", "source": "x"}
    held = {lang: template(lang, key) for lang in LANGUAGES}

    def old_way(lang: str) -> str:
        return held[lang].format(**{k: html.escape(v, quote=False) for k, v in values.items()})

    timed: dict[str, list[float]] = {"dict_format": [], "catalog_t": []}
    for round_ in range(rounds):
        lang = LANGUAGES[round_ % len(LANGUAGES)]
        started = time.perf_counter()
        old_way(lang)
        middle = time.perf_counter()
        t(lang, key, **values)
        timed["dict_format"].append(middle - started)
        timed["catalog_t"].append(time.perf_counter() - middle)
    result = {name: _figures(samples) for name, samples in timed.items()}
    result["ratio_of_medians"] = round(
        result["catalog_t"]["median_us"] / result["dict_format"]["median_us"], 2
    )
    return {"rounds": rounds, **result}


def run(quick: bool = False) -> dict[str, Any]:
    readers, rounds = (10_000, 2_000) if quick else (100_000, 20_000)
    return {"lookup": asyncio.run(_lookups(readers, rounds)), "text": _texts(rounds * 5)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "lookup": asyncio.run(_lookups(args.readers, args.rounds)),
                "text": _texts(args.rounds * 5),
            },
            indent=2,
        )
    )
