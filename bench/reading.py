"""Reading the news from an archive of a million posts: /latest, /search and a post in full.

A SQLite file is filled with generated Russian news posts (plain sqlite3, the bot's own
schema, the full-text body from storage.search_text.index_body, exactly as the bot builds
it). Then, on that file:

- storage calls, in this process, through the real PostRepository over aiosqlite: the
  first /latest page and deeper pages, a search for a rare word and for a common one, and
  opening a post by id;
- the same four requests end to end: a real `python -m bot` process polls the fake Bot
  API server, and the clock runs from pushing a reader's update to the fake's recording
  of the bot's answer in that reader's chat;
- the file's size per post.

Text: a vocabulary of tens of thousands of words, the frequent ones from
bench/data/frequent_words.txt and bench/data/seed_texts.txt (real news text), the rest
inflected forms and made-up stems, drawn with Zipf-like weights 1/rank^1.07. A few marker
words are planted in a known number of posts. Dates are spread over three years. No
ANALYZE is run: the bot never runs it, and it changes none of these queries' plans.

    python -m bench.reading [--posts 1000000] [--db PATH] [--reuse]

--db keeps the generated file (and a PATH.meta.json beside it); --reuse uses it again
when it was generated with the same number of posts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import Storage
from storage.db import migrations as _migrations
from storage.db import statements as _statements
from storage.search_text import index_body, query_terms, stems
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.updates import private_text

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

FULL_POSTS = 1_000_000
QUICK_POSTS = 50_000
SEED = 20_251_217
ZIPF_EXPONENT = 1.07
#: Distinct words of the vocabulary (inflected forms count apart).
VOCABULARY_SIZE = 80_000
WORDS_PER_POST = (20, 120)
YEARS = 3
#: Posts generated and inserted per executemany; a transaction holds several batches.
BATCH = 10_000
TRANSACTION = 100_000

#: Made-up words planted in exactly this many live posts each (none of the vocabulary
#: shares their stems). RARE_WORD is the one searched for.
MARKERS = {"ксилофонизация": 20, "гидроаэропоника": 3, "трансбайкальщина": 150}
RARE_WORD = "ксилофонизация"
#: A top-20 word of the vocabulary; searched as a reader would type it.
COMMON_WORD = "Казахстан"

#: Where the latest() pages start: after this many newer posts (0 is the first page);
#: one more page starts halfway through the archive.
FEED_DEPTHS = (0, 10, 1_000)

FLOOR_LATEST_P99_MS = 20.0
FLOOR_RARE_P99_MS = 20.0
FLOOR_COMMON_P99_MS = 100.0

CHANNELS = [
    (-1001234567890, "Новости Казахстана", "kz_news", 30),
    (-1001487851422, "Tengri Новости", "tengrinews_kz", 25),
    (-1001300200100, "Астана сегодня", "astana_today", 12),
    (-1001300200200, "Алматы LIVE", "almaty_live", 12),
    (-1001300200300, "Экономика KZ", "economy_kz", 8),
    (-1001300200400, "Спорт Казахстана", "sport_kz", 6),
    (-1001987654321, "Закрытый канал редакции", None, 4),
    (-1001300200500, "Погода и дороги", "pogoda_dorogi", 3),
]
EMOJI = (
    "🇰🇿 🇰🇿🇯🇵 🇰🇿🇷🇺 🇰🇿🇨🇳 🇰🇿🇺🇿 🇰🇿🇶🇦 🇺🇸 🇪🇺 ⚡️ 🔖 📌 ❄️ ⚠️ 🔝 🥩 🎄 💰 📈 📉 🚗 ✈️ 🏥 🏫 ⚽️ 🏆 🎭 🔥 ❗️"
).split()

_CONSONANTS = "бвгдзклмнпрстфхцчшжщ"
_VOWELS = "аеиоуяыю"
_NOUN = ("", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах")
_FEMININE = ("а", "ы", "е", "у", "ой", "ам", "ами", "ах")
_ADJECTIVE = ("ый", "ого", "ому", "ым", "ом", "ая", "ой", "ую", "ое", "ые", "ых", "ыми")
_VERB = ("ать", "ал", "ала", "али", "ает", "ают", "ание", "ания", "ания")
_CYRILLIC = re.compile(r"^[а-яё-]+$", re.IGNORECASE)


# -- the text -----------------------------------------------------------------------------


def _data_lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _forms(word: str) -> list[str]:
    """Rough inflected forms of a Russian word (enough to give the stemmer real work)."""
    w = word.lower()
    if len(w) < 4 or not _CYRILLIC.match(w):
        return []
    for ending in ("ого", "ому", "ыми", "ими", "ый", "ий", "ой", "ая", "ое", "ые", "ых", "ие"):
        if w.endswith(ending):
            return [w[: -len(ending)] + e for e in _ADJECTIVE]
    if w.endswith("ть"):
        return [w[:-3] + e for e in _VERB]
    if w[-1] in "ая":
        return [w[:-1] + e for e in _FEMININE]
    if w[-1] in _CONSONANTS:
        return [w + e for e in _NOUN]
    return []


def _made_up_words(rng: random.Random, taken: set[str], count: int) -> list[str]:
    """Words of made-up stems, each in one to four forms of a noun, adjective or verb."""
    found: list[str] = []
    while len(found) < count:
        stem = "".join(
            rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3))
        )
        if rng.random() < 0.5:
            stem += rng.choice(_CONSONANTS)
        paradigm = rng.choice((_NOUN, _NOUN, _FEMININE, _ADJECTIVE, _VERB))
        for ending in rng.sample(paradigm, min(len(paradigm), rng.randint(1, 4))):
            word = stem + ending
            if word not in taken:
                taken.add(word)
                found.append(word)
    return found[:count]


def build_vocabulary(rng: random.Random, size: int = VOCABULARY_SIZE) -> list[str]:
    """Words by rank: frequent words, then the seed texts' words by their frequency, then
    inflected forms and made-up words in random order."""
    ranked: dict[str, None] = {}
    for line in _data_lines("frequent_words.txt"):
        for word in line.split():
            ranked.setdefault(word, None)
    seed_words = Counter(
        word
        for line in _data_lines("seed_texts.txt")
        for word in re.findall(r"[\w-]+", line)
        if not word.isdigit()
    )
    for word, _ in seed_words.most_common():
        ranked.setdefault(word, None)
    forms = [form for word in list(ranked) for form in _forms(word) if form not in ranked]
    pool = list(dict.fromkeys(forms))
    taken = set(ranked) | set(pool)
    pool += _made_up_words(rng, taken, max(0, size - len(ranked) - len(pool)))
    rng.shuffle(pool)
    # No word of the vocabulary may match a marker, or the hit counts would be unknown.
    marker_stems = {stem for marker in MARKERS for stem in stems(marker)}
    words = [w for w in [*ranked, *pool] if not set(stems(w)) & marker_stems]
    return words[:size]


class TextMaker:
    """News-like posts: an optional headline line (often after an emoji or flags), then
    sentences of Zipf-distributed words, now and then a number or a real seed sentence."""

    def __init__(self, rng: random.Random, vocabulary: list[str]) -> None:
        self.rng = rng
        self.words = vocabulary
        weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, len(vocabulary) + 1)]
        self.cum_weights = list(itertools.accumulate(weights))
        self.seeds = _data_lines("seed_texts.txt")

    def number(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return str(self.rng.randint(2015, 2026))
        if r < 0.6:
            return str(self.rng.randint(1, 31))
        if r < 0.85:
            return str(self.rng.randint(100, 99_999))
        return f"{self.rng.randint(1, 999)},{self.rng.randint(1, 9)}"

    def text(self, words: int, marker: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        rng = self.rng
        drawn = rng.choices(self.words, cum_weights=self.cum_weights, k=words)
        if marker is not None:
            drawn.insert(rng.randrange(len(drawn)), marker)
        sentences: list[str] = []
        if rng.random() < 0.04:
            sentences.append(rng.choice(self.seeds))
        i = 0
        while i < len(drawn):
            chunk = drawn[i : i + rng.randint(5, 16)]
            i += len(chunk)
            if rng.random() < 0.3:
                chunk.insert(rng.randrange(len(chunk) + 1), self.number())
            if len(chunk) > 7:
                chunk[len(chunk) // 2] += ","
            first = chunk[0]
            chunk[0] = first[:1].upper() + first[1:]
            sentences.append(" ".join(chunk) + ".")
        entities: list[dict[str, Any]] = []
        kind = rng.random()
        if kind < 0.7 and len(sentences) > 1:
            headline = sentences.pop(0).removesuffix(".").replace(",", "")
            prefix = rng.choice(EMOJI) + " " if kind < 0.45 else ""
            if rng.random() < 0.5:
                entities.append(
                    {"length": _utf16(headline), "offset": _utf16(prefix), "type": "bold"}
                )
            return prefix + headline + "\n\n" + " ".join(sentences), entities
        return " ".join(sentences), entities


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _dump(entities: list[dict[str, Any]]) -> str:
    return json.dumps(entities, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# -- the database -------------------------------------------------------------------------

_INSERT_POST = """
    INSERT INTO posts (id, channel_id, message_id, media_group_id, channel_title,
                       channel_username, date, edit_date, text, entities, source,
                       forwarded_by, reactions, opens, deleted, stored_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
"""
_INSERT_PART = """
    INSERT INTO post_parts (post_id, channel_id, message_id, text, entities, media_kind,
                            file_id, file_unique_id, edit_date, reactions)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_FTS = "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".meta.json"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def generate(path: Path, count: int, *, seed: int = SEED) -> dict[str, Any]:
    """Fill a new SQLite file at `path` with `count` posts; return what a run needs to know."""
    started = time.perf_counter()
    rng = random.Random(seed)
    vocabulary = build_vocabulary(rng)
    maker = TextMaker(rng, vocabulary)
    deleted = set(rng.sample(range(1, count + 1), count // 500))
    live = [
        i for i in rng.sample(range(1, count + 1), sum(MARKERS.values()) * 2) if i not in deleted
    ]
    planted: dict[int, str] = {}
    for marker, hits in MARKERS.items():
        for post_id in live[:hits]:
            planted[post_id] = marker
        live = live[hits:]

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB, for the bulk load only
    conn.execute("BEGIN")
    version = 0
    for number, _, sql in _migrations():
        for statement in _statements(sql):
            conn.execute(statement)
        version = number
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("COMMIT")

    end = int(time.time()) - 600
    span = YEARS * 365 * 86_400
    start = end - span
    step = span / count
    channel_weights = [c[3] for c in CHANNELS]
    next_message = {c[0]: rng.randint(1_000, 50_000) for c in CHANNELS}
    low, high = WORDS_PER_POST
    generated_at = time.perf_counter()
    text_seconds = 0.0
    conn.execute("BEGIN")
    for first in range(1, count + 1, BATCH):
        t0 = time.perf_counter()
        posts, parts, bodies = [], [], []
        for post_id in range(first, min(first + BATCH, count + 1)):
            channel_id, title, username, _ = rng.choices(CHANNELS, weights=channel_weights)[0]
            date = start + int((post_id - 1) * step) + rng.randrange(max(1, int(step)))
            media = rng.random() < 0.05
            album = media and rng.random() < 0.2
            words = rng.randint(low, 60 if media else high)
            text, entities = maker.text(words, planted.get(post_id))
            if media:
                text = text[:1024]
            edit_date = date + rng.randint(60, 7200) if rng.random() < 0.03 else None
            reactions = int(rng.expovariate(1 / 8))
            message_id = next_message[channel_id]
            part_count = rng.randint(2, 4) if album else 1
            next_message[channel_id] += part_count
            source, forwarded_by = "channel", None
            if rng.random() < 0.02:
                source, forwarded_by = "forward", 111
            gone = post_id in deleted
            posts.append(
                (
                    post_id,
                    channel_id,
                    message_id,
                    f"1{post_id:012d}" if album else None,
                    title,
                    username,
                    date,
                    edit_date,
                    text,
                    _dump(entities),
                    source,
                    forwarded_by,
                    reactions,
                    int(gone),
                    date + rng.randint(1, 30),
                )
            )
            for n in range(part_count):
                kind = None
                if media:
                    kind = "photo" if album or rng.random() < 0.7 else "video"
                parts.append(
                    (
                        post_id,
                        channel_id,
                        message_id + n,
                        text if n == 0 else "",
                        _dump(entities) if n == 0 else "[]",
                        kind,
                        f"AgACAgIAAxkBAAI{post_id:09d}{n}-file" if kind else None,
                        f"AQAD{post_id:x}{n}" if kind else None,
                        edit_date if n == 0 else None,
                        reactions if n == 0 else 0,
                    )
                )
            if not gone:
                bodies.append((post_id, index_body(text)))
        t1 = time.perf_counter()
        text_seconds += t1 - t0
        conn.executemany(_INSERT_POST, posts)
        conn.executemany(_INSERT_PART, parts)
        conn.executemany(_INSERT_FTS, bodies)
        done = first + len(posts) - 1
        if done % TRANSACTION < BATCH or done == count:
            conn.execute("COMMIT")
            print(
                f"  {done:,} posts, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    loaded = time.perf_counter()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    finished = time.perf_counter()

    ranks = {word: rank for rank, word in enumerate(vocabulary, 1)}
    common_form = min(
        (w for w in vocabulary if query_terms(w) == query_terms(COMMON_WORD)), key=ranks.__getitem__
    )
    meta = {
        "posts": count,
        "seed": seed,
        "markers": MARKERS,
        "rare_word": RARE_WORD,
        "common_word": COMMON_WORD,
        "common_word_rank": ranks[common_form],
        "top_words": vocabulary[:20],
        "vocabulary_words": len(vocabulary),
        "deleted_posts": len(deleted),
        "newest_date": end,
        "generation_seconds": round(finished - started, 1),
        "generation_text_seconds": round(text_seconds, 1),
        "generation_sqlite_seconds": round(loaded - generated_at - text_seconds, 1),
        "generation_checkpoint_seconds": round(finished - loaded, 1),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _meta_path(path).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return meta


def prepare(path: Path, count: int, *, reuse: bool) -> tuple[dict[str, Any], bool]:
    """The metadata of a database of `count` posts at `path`, generating it unless reused."""
    meta_file = _meta_path(path)
    if path.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else None
        if reuse and meta is not None and meta.get("posts") == count:
            return meta, True
        if meta is None:
            raise SystemExit(f"{path} exists and was not made by this benchmark: not touching it")
        _remove_database(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return generate(path, count), False


def database_figures(path: Path, count: int) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes: dict[str, int] = {}
        try:
            for name, size in conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ):
                sizes[name] = int(size)
        except sqlite3.OperationalError:  # SQLite built without dbstat
            pass
        matches = {
            word: conn.execute(
                "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?",
                (" ".join(f'"{t}"' for t in query_terms(word)),),
            ).fetchone()[0]
            for word in (RARE_WORD, COMMON_WORD)
        }
    finally:
        conn.close()
    total = sum(
        Path(str(path) + suffix).stat().st_size
        for suffix in ("", "-wal")
        if Path(str(path) + suffix).exists()
    )
    return {
        "database_bytes": total,
        "bytes_per_post": round(total / count),
        "bytes_per_post_by_table": {name: round(size / count) for name, size in sizes.items()},
        "posts_matching": matches,
    }


# -- timing -------------------------------------------------------------------------------


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[max(0, math.ceil(0.99 * len(ms)) - 1)]
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(p99, 2), "n": len(ms)}


async def _timed(call: Callable[[], Awaitable[Any]], samples: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await call()
    taken = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        taken.append(time.perf_counter() - started)
    return taken


def _feed_cursors(path: Path, depths: list[int]) -> dict[int, tuple[datetime, int]]:
    """(date, id) of the post just before each feed depth, as a "next page" button has it."""
    conn = sqlite3.connect(path)
    try:
        cursors = {}
        for depth in depths:
            date, post_id = conn.execute(
                "SELECT date, id FROM posts WHERE deleted = 0 ORDER BY date DESC, id DESC "
                "LIMIT 1 OFFSET ?",
                (depth - 1,),
            ).fetchone()
            cursors[depth] = (datetime.fromtimestamp(date, UTC), post_id)
        return cursors
    finally:
        conn.close()


async def storage_latencies(path: Path, meta: dict[str, Any], samples: int) -> dict[str, Any]:
    count = int(meta["posts"])
    rng = random.Random(7)
    depths = [*FEED_DEPTHS, count // 2]
    cursors = _feed_cursors(path, depths[1:])
    storage = await Storage.open(path)
    posts = storage.posts
    figures: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    try:
        for depth in depths:
            before = cursors.get(depth)
            page = await posts.latest(10, before=before)
            checks[f"latest_after_{depth}_posts"] = len(page)
            taken = await _timed(lambda before=before: posts.latest(10, before=before), samples)
            figures["latest_first_page" if depth == 0 else f"latest_after_{depth}_posts"] = (
                percentiles(taken)
            )
        rare, common = meta["rare_word"], meta["common_word"]
        hits = await posts.search_ids(rare, limit=1000)
        checks["rare_word_hits"] = len(hits)
        checks["rare_word_planted"] = meta["markers"][rare]
        # As the /search handler asks: a page of 10 and one more to know if there is a next.
        figures["search_rare_word"] = percentiles(
            await _timed(lambda: posts.search(rare, limit=11), samples)
        )
        checks["common_word_hits_page"] = len(await posts.search(common, limit=11))
        figures["search_common_word"] = percentiles(
            await _timed(lambda: posts.search(common, limit=11), samples)
        )
        top1 = meta["top_words"][0]
        figures[f"search_top1_word_{top1}"] = percentiles(
            await _timed(lambda: posts.search(top1, limit=11), max(20, samples // 4))
        )
        figures["get_random_post"] = percentiles(
            await _timed(lambda: posts.get(rng.randint(1, count)), samples)
        )
    finally:
        await storage.close()
    figures["checks"] = checks
    return figures


# -- end to end ---------------------------------------------------------------------------

_ANSWERS = {"sendMessage", "sendPhoto", "sendVideo", "sendAnimation", "sendDocument"}


async def end_to_end(
    path: Path, meta: dict[str, Any], samples: int, workdir: Path
) -> dict[str, Any]:
    """Latency of a reader's command, from the update's push to the bot's answer in the
    reader's chat (for an album that is the message after it). One request at a time:
    the next is pushed once the bot has confirmed the one before."""
    count = int(meta["posts"])
    rng = random.Random(11)
    requests: dict[str, Callable[[], str]] = {
        "latest": lambda: "/latest",
        "search_rare_word": lambda: f"/search {meta['rare_word']}",
        "search_common_word": lambda: f"/search {meta['common_word']}",
        "open_post": lambda: f"/post_{rng.randint(1, count)}",
    }
    users = itertools.count(500_000_000)
    log = (workdir / "bot.log").open("wb")
    figures: dict[str, Any] = {}
    async with FakeTelegram() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
        env.update(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=fake.url,
            DATABASE_URL=f"sqlite:///{path}",
            LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=workdir, stdout=log, stderr=log
        )
        try:
            await fake.wait_until(lambda: bool(fake.calls_of("getUpdates")), 120)

            async def ask(text: str) -> float:
                user_id = next(users)
                user = {"id": user_id, "is_bot": False, "first_name": "Читатель"}
                user["language_code"] = "ru"
                seen = len(fake.calls)
                pushed = time.monotonic()
                update_id = fake.push(private_text(text, user=user))

                def answer() -> float | None:
                    for call in fake.calls[seen:]:
                        if call.method in _ANSWERS and call.params.get("chat_id") == user_id:
                            return call.at
                    return None

                await fake.wait_until(lambda: answer() is not None or proc.returncode, 60)
                at = answer()
                if at is None:
                    raise RuntimeError(f"the bot stopped; see {workdir / 'bot.log'}")
                await fake.wait_confirmed(update_id, 60)
                return at - pushed

            for name, make in requests.items():
                for _ in range(3):
                    await ask(make())
                figures[name] = percentiles([await ask(make()) for _ in range(samples)])
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()
            log.close()
    return figures


# -- the run ------------------------------------------------------------------------------


def run(
    quick: bool = False,
    posts: int | None = None,
    db: str | Path | None = None,
    reuse: bool = False,
) -> dict[str, Any]:
    count = posts or (QUICK_POSTS if quick else FULL_POSTS)
    samples = 50 if quick else 200
    e2e_samples = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="bench-reading-") as tmp:
        path = Path(db).resolve() if db else Path(tmp) / "reading.db"
        meta, reused = prepare(path, count, reuse=reuse)
        # The bulk load leaves gigabytes of dirty pages that the kernel writes back for a
        # while after; measured during that, the first calls ran about twice as slow.
        os.sync()
        size = database_figures(path, count)
        stored = asyncio.run(storage_latencies(path, meta, samples))
        e2e = asyncio.run(end_to_end(path, meta, e2e_samples, Path(tmp)))
    latest_p99 = max(v["p99_ms"] for k, v in stored.items() if k.startswith("latest"))
    return {
        "posts": count,
        "database": str(path) if db else "temporary",
        "reused_database": reused,
        "generation_seconds": meta["generation_seconds"],
        "generation_detail": {
            k: meta[k]
            for k in (
                "generation_text_seconds",
                "generation_sqlite_seconds",
                "generation_checkpoint_seconds",
                "vocabulary_words",
                "deleted_posts",
                "common_word_rank",
                "top_words",
            )
        },
        "rare_word": meta["rare_word"],
        "common_word": meta["common_word"],
        **size,
        "storage_calls": stored,
        "end_to_end": e2e,
        "floors": {
            "latest_p99_le_20ms": latest_p99 <= FLOOR_LATEST_P99_MS,
            "rare_word_p99_le_20ms": stored["search_rare_word"]["p99_ms"] <= FLOOR_RARE_P99_MS,
            "common_word_p99_le_100ms": stored["search_common_word"]["p99_ms"]
            <= FLOOR_COMMON_P99_MS,
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.reading")
    parser.add_argument("--posts", type=int, default=FULL_POSTS)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_POSTS:,} posts, fewer samples"
    )
    parser.add_argument("--db", type=Path, help="keep the generated database here")
    parser.add_argument("--reuse", action="store_true", help="reuse --db if it has --posts posts")
    args = parser.parse_args()
    posts = None if args.quick and args.posts == FULL_POSTS else args.posts
    result = run(quick=args.quick, posts=posts, db=args.db, reuse=args.reuse)
    print(json.dumps(result, ensure_ascii=False, indent=2))
