"""Many readers at once: every one answered, and how fast, on how much memory and CPU.

A real `python -m bot` process polls the fake Bot API server, over a database of a few
thousand posts, with the rates feed served from tests/rates_server.py on 127.0.0.1. Each
of USERS distinct readers sends /latest, /search <word>, /rates and presses a button (a
"f:o:…" page of the feed, or "p:<id>" to open a post), a few tenths of a second apart;
the readers start at random moments within SPREAD seconds.

Figures: the time from an update's push to the bot's answer to that chat (the k-th
answer to a chat belongs to its k-th update: a chat's updates are handled in order),
p50/p99 overall and by kind; the bot's peak RSS (VmHWM) and CPU seconds from /proc;
errors and "database is locked" in its log; and whether Telegram's pace of one message
a second per chat was kept (it is not enforced here: the fake answers every call).

    python -m bench.load [--users 1000] [--posts 5000] [--spread 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import signal
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bot.callbacks import FeedPage, OpenPost
from storage import IncomingMessage, Source, Storage
from tests.bot_process import start_bot_process
from tests.fake_telegram import Call, FakeTelegram
from tests.rates_server import RatesServer
from tests.updates import NEWS_CHANNEL, callback_query, private_text

WORDS = (
    "президент правительство акимат астана алматы казахстан сообщил заявил встреча "
    "министр области района программа развития тенге экономика рост цены дороги ремонт "
    "школа больница погода снег мороз ярмарка фестиваль выборы парламент депутаты закон "
    "реформа инвестиции нефть газ экспорт урожай фермеры транспорт автобус поезд рейс"
).split()
KINDS = ("latest", "search", "rates", "button")
#: Calls that carry an answer to a reader's chat.
ANSWER_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendPhoto", "sendVideo", "sendDocument", "sendAnimation"}
)
SEND_METHODS = ANSWER_METHODS - {"editMessageText"}
FIRST_USER_ID = 1_000_000
NEWS_ID = cast(int, NEWS_CHANNEL["id"])
#: Seconds between one reader's four updates.
GAP = 0.3


@dataclass
class Plan:
    """Who sends what, when (seconds after the start), in push order."""

    events: list[tuple[float, int, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Answers:
    """Answers to the readers' chats, collected from the fake's call log as they come."""

    fake: FakeTelegram
    users: set[int]
    by_chat: defaultdict[int, list[Call]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    _seen: int = 0

    def collect(self) -> int:
        calls = self.fake.calls
        for call in calls[self._seen :]:
            chat_id = call.params.get("chat_id")
            if call.method in ANSWER_METHODS and chat_id in self.users:
                self.by_chat[int(chat_id)].append(call)
                self.count += 1
        self._seen = len(calls)
        return self.count


def make_posts(count: int, seed: int = 23) -> list[IncomingMessage]:
    rng = random.Random(seed)
    now = int(time.time())
    posts = []
    for i in range(1, count + 1):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 80))]
        posts.append(
            IncomingMessage(
                channel_id=NEWS_ID,
                message_id=i,
                # One every ten minutes, the newest a minute ago.
                date=datetime.fromtimestamp(now - 60 - (count - i) * 600, UTC),
                source=Source.CHANNEL,
                text=f"Новость {i}. " + " ".join(words).capitalize() + ".",
                channel_title=str(NEWS_CHANNEL["title"]),
                channel_username=str(NEWS_CHANNEL["username"]),
            )
        )
    return posts


async def seed(db: Path, posts: int) -> list[tuple[int, int]]:
    """Store the posts; return (date, id) of each, newest first, for buttons."""
    storage = await Storage.open(db)
    try:
        await storage.posts.save_many(make_posts(posts))
        summaries = await storage.posts.latest(posts)
    finally:
        await storage.close()
    return [(int(s.date.timestamp()), s.id) for s in summaries]


def make_plan(users: int, spread: float, cursors: list[tuple[int, int]], seed: int = 7) -> Plan:
    rng = random.Random(seed)
    plan = Plan()
    window = max(spread - GAP * (len(KINDS) - 1), 0.0)
    for n in range(users):
        user = {
            "id": FIRST_USER_ID + n,
            "is_bot": False,
            "first_name": f"Reader {n}",
            "language_code": "ru" if n % 2 else "en",
        }
        start = rng.uniform(0, window)
        # Not among the oldest posts: a page older than the last one is only an alert.
        when, post_id = rng.choice(cursors[: max(1, len(cursors) - 20)])
        button = (
            FeedPage(d="o", t=when, i=post_id, n=10).pack()
            if n % 2
            else OpenPost(id=post_id).pack()
        )
        updates = [
            private_text("/latest", user=user, message_id=1),
            private_text(f"/search {rng.choice(WORDS)}", user=user, message_id=2),
            private_text("/rates", user=user, message_id=3),
            callback_query(button, user=user, message_id=1, query_id=f"q{n}"),
        ]
        for k, (kind, update) in enumerate(zip(KINDS, updates, strict=True)):
            plan.events.append((start + k * GAP, FIRST_USER_ID + n, kind, update))
    plan.events.sort(key=lambda e: e[0])
    return plan


def _proc_figures(pid: int) -> tuple[float, float] | None:
    """(peak RSS in MiB, CPU seconds) of a live process, from /proc; None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return hwm_kb / 1024, ticks / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def measure(
    *, users: int, posts: int, spread: float = 3.0, workdir: Path, within: float = 600
) -> dict[str, Any]:
    """Run the load once; return its figures. Raises TimeoutError if not all answered."""
    db = workdir / "bot.db"
    started_seed = time.perf_counter()
    cursors = await seed(db, posts)
    seed_seconds = time.perf_counter() - started_seed
    plan = make_plan(users, spread, cursors)
    log_path = workdir / "bot.log"
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)

    async with FakeTelegram() as fake, RatesServer() as rates:
        with log_path.open("wb") as log_file:
            proc = await start_bot_process(
                fake.url,
                db,
                cwd=workdir,
                stderr=log_file.fileno(),
                SOURCE_CHANNELS=str(NEWS_ID),
                RATES_URL=rates.rates_url,
                RATES_HISTORY_URL=rates.history_url,
            )
        try:
            await fake.wait_for_call("getUpdates", within=60)
            idle = _proc_figures(proc.pid)
            answers = Answers(fake, {FIRST_USER_ID + n for n in range(users)})
            pushed_at: dict[int, float] = {}
            kind_of: dict[int, str] = {}
            by_user: defaultdict[int, list[int]] = defaultdict(list)
            t0 = time.monotonic()
            last_id = 0
            for due, user_id, kind, update in plan.events:
                delay = t0 + due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                update_id = fake.push(update)
                pushed_at[update_id] = time.monotonic()
                kind_of[update_id] = kind
                by_user[user_id].append(update_id)
                last_id = max(last_id, update_id)
            push_seconds = time.monotonic() - t0
            expected = len(plan.events)
            try:
                await fake.wait_until(
                    lambda: answers.collect() >= expected and fake.confirmed_offset > last_id,
                    within,
                )
            except TimeoutError:
                raise TimeoutError(
                    f"{answers.count} of {expected} updates answered and "
                    f"{fake.confirmed_offset - 1} of {last_id} confirmed after {within} s"
                ) from None
            finished = time.monotonic()
            busy = _proc_figures(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = log_path.read_text(encoding="utf-8", errors="replace")

    latencies: list[float] = []
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    unanswered = 0
    violations = violations_sends = 0
    chats_violating: set[int] = set()
    min_gap = float("inf")
    for user_id, update_ids in by_user.items():
        calls = answers.by_chat[user_id]
        if len(calls) < len(update_ids):
            unanswered += len(update_ids) - len(calls)
        for update_id, call in zip(update_ids, calls, strict=False):
            latency = call.at - pushed_at[update_id]
            latencies.append(latency)
            by_kind[kind_of[update_id]].append(latency)
        times = [c.at for c in calls]
        for a, b in itertools.pairwise(times):
            min_gap = min(min_gap, b - a)
            if b - a < 1.0:
                violations += 1
                chats_violating.add(user_id)
        sends = [c.at for c in calls if c.method in SEND_METHODS]
        violations_sends += sum(1 for a, b in itertools.pairwise(sends) if b - a < 1.0)
    callbacks = {c.params.get("callback_query_id") for c in fake.calls_of("answerCallbackQuery")}
    apologies = sum(
        1
        for calls in answers.by_chat.values()
        for c in calls
        if "пошло не так" in str(c.params.get("text")) or "went wrong" in str(c.params.get("text"))
    )
    lines = log.splitlines()
    if busy is None:  # no /proc: the children's rusage, which this process alone spawned
        peak = usage_after.ru_maxrss / 1024
        cpu = (usage_after.ru_utime + usage_after.ru_stime) - (
            usage_before.ru_utime + usage_before.ru_stime
        )
        busy = (peak, cpu)
    return {
        "users": users,
        "posts": posts,
        "updates": expected,
        "spread_seconds": spread,
        "push_seconds": round(push_seconds, 2),
        "seed_seconds": round(seed_seconds, 2),
        "answered": sum(len(c) for c in answers.by_chat.values()),
        "unanswered": unanswered,
        "callbacks_answered": len(callbacks),
        "apologies": apologies,
        "latency_p50_ms": _ms(_percentile(latencies, 50)),
        "latency_p99_ms": _ms(_percentile(latencies, 99)),
        "latency_max_ms": _ms(max(latencies)),
        "latency_by_kind_ms": {
            kind: {
                "p50": _ms(_percentile(values, 50)),
                "p99": _ms(_percentile(values, 99)),
            }
            for kind, values in sorted(by_kind.items())
        },
        "updates_per_s_until_last_answer": round(expected / (finished - t0), 1),
        "last_answer_after_first_push_s": round(finished - t0, 2),
        "bot_peak_rss_mib": round(busy[0], 1),
        "bot_rss_idle_peak_mib": round(idle[0], 1) if idle else None,
        "bot_cpu_seconds": round(busy[1], 2),
        "bot_cpu_seconds_under_load": round(busy[1] - idle[1], 2) if idle else None,
        "per_chat_pace_violations": violations,
        "per_chat_pace_violations_sends_only": violations_sends,
        "chats_with_pace_violations": len(chats_violating),
        "min_gap_between_answers_to_one_chat_ms": _ms(min_gap),
        "log_errors": sum(1 for line in lines if " ERROR " in line or " CRITICAL " in line),
        "log_database_locked": sum(1 for line in lines if "database is locked" in line),
        "log_tracebacks": sum(1 for line in lines if "Traceback" in line),
        "exit_code": code,
        "rates_feed_requests": len(rates.requests),
    }


def run(
    quick: bool = False,
    users: int | None = None,
    posts: int | None = None,
    spread: float = 3.0,
) -> dict[str, Any]:
    users = users or (200 if quick else 1000)
    posts = posts or (2000 if quick else 5000)
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(measure(users=users, posts=posts, spread=spread, workdir=Path(tmp)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--spread", type=float, default=3.0)
    args = parser.parse_args()
    result = run(users=args.users, posts=args.posts, spread=args.spread)
    print(json.dumps(result, ensure_ascii=False, indent=2))
