"""Several webhook processes on one PostgreSQL database: how fast, at what cost, and what a
killed process loses.

Each bot is a real `python -m bot` process in webhook mode (tests/cluster.py): this
process is Telegram (tests/fake_telegram.py) and hands each update to the next live
process in turn, as nginx would, and to another one when a process does not answer 200.
A webhook process answers 200 only once the update is handled, its answer included.

A. Load (`python -m bench.cluster`): bench/load.py's readers (the same plan, seed and
   posts) against each configuration in turn, each on a freshly seeded database: one
   process on SQLite (webhook mode too, so the delivery path is the same), then one, two
   and four processes on PostgreSQL. Each reader sends /latest, /search <word>, /rates
   and presses a button; its next update goes out GAP seconds after the last one was
   taken (answered 200); the readers start at random moments within SPREAD seconds.
   Figures per configuration: updates/s (updates taken / seconds from the first push to
   the last answer), the time from an update's push to its answer at the fake (the k-th
   answer to a chat belongs to its k-th update, skipping answers that came before that
   update was pushed: an update handled twice), p50/p99 overall and by kind; the CPU
   seconds of all bot processes (/proc, just before they stop; in all and since they were
   ready) and of the PostgreSQL backends serving the bots' database (pg_stat_activity,
   over the load; only when the server runs on this machine); each process's peak RSS;
   delivery attempts not answered 200 (sent again to the next process), updates not
   taken, updates pushed but never answered, answers beyond one per update; ERROR lines
   in the bots' logs. Readers not done after WITHIN seconds are
   stopped: that configuration's figures are then those of the updates taken by then.

   Telegram's pace is the bot's own in every process: one message a second per chat, and
   with PostgreSQL also the bot's overall send rate (SEND_RATE, 29 a second) shared by
   all processes; a single SQLite process has no overall pace for answers. The fake
   enforces no limit. The harness keeps at most 100 requests in flight (aiohttp's
   default pool, like Telegram's webhook max_connections) and gives up on an attempt
   after 30 s (tests/cluster.py ATTEMPT_TIMEOUT), sending the update to another process.

B. Kill (`python -m bench.cluster kill`): four processes on PostgreSQL, SUBSCRIBERS
   readers whose digest is due now, one mirror chat. While POSTS channel posts arrive
   (one every 0.1 s), one process is killed (SIGKILL) every EVERY seconds, the one running
   the workers every other time, and started again at once, until every digest and every
   mirror copy is settled. Then: every post stored, nobody with two digests, no post
   mirrored twice (exit status 1 otherwise); digests sent, "unknown" (in flight at a
   kill, never sent again) and others; kills, redeliveries, time taken.

    python -m bench.cluster [--users 1000] [--posts 5000] [--spread 3] [--within 200]
                            [--configs sqlite:1,pg:1,pg:2,pg:4] [--json PATH] [--keep]
    python -m bench.cluster kill [--subscribers 2000] [--posts 300] [--every 10]
                                 [--json PATH] [--keep]
    python -m bench cluster [--quick]      # part A only

PostgreSQL: tests/pg.py's server (TEST_POSTGRES_URL, default 127.0.0.1:5432, user
postgres). The bots' logs (bot-<i>.log) are kept in the folder printed when a run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from bench.load import (
    GAP,
    NEWS_ID,
    Answers,
    _ms,
    _percentile,
    _proc_figures,
    make_plan,
    make_posts,
)
from bot.config import Settings
from storage import CopyStatus, DeliveryStatus, IncomingMessage, Storage
from tests import pg
from tests.cluster import MIRROR, SETTINGS, Cluster, Member, due_subscribers, mirrored
from tests.fake_telegram import FakeTelegram
from tests.rates_server import RatesServer
from tests.updates import channel_post

DEFAULT_CONFIGS = "sqlite:1,pg:1,pg:2,pg:4"
#: Seconds a configuration's readers may take before they are stopped (at SEND_RATE 29 a
#: second, 4,000 answers take about 140 s).
DEFAULT_WITHIN = 200.0
ENGINE_NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
#: How long one update may wait to be taken by some process (the harness's deadline).
DELIVERY_WITHIN = 900.0
#: How long the kill run may take before it is called failed.
KILL_RUN_WITHIN = 3600.0


# -- shared ---------------------------------------------------------------------------


def _fresh_database() -> str:
    """A migrated PostgreSQL database of its own; its name. (pg.template() migrates with
    asyncio.run: it is made before the event loop starts, by _need_postgres.)"""
    return pg.create_database(template=pg.template())


async def _store(url: str, posts: list[IncomingMessage]) -> list[tuple[int, int]]:
    """Store the posts; (date, id) of each, newest first (bench/load.py's seed, given the
    posts and any database URL, so that every configuration has the very same posts)."""
    storage = await Storage.open(url)
    try:
        await storage.posts.save_many(posts)
        summaries = await storage.posts.latest(len(posts))
    finally:
        await storage.close()
    return [(int(s.date.timestamp()), s.id) for s in summaries]


def _pid(member: Member) -> int:
    assert member.process is not None
    return member.process.pid


def _backends_cpu(database: str) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend serving `database` now (from /proc: None
    when the server is not on this machine)."""
    host = urlsplit(pg.ADMIN_URL).hostname or "localhost"
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    with psycopg.connect(pg.url_of(database), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    figures = {int(row[0]): _proc_figures(int(row[0])) for row in rows}
    return {pid: f[1] for pid, f in figures.items() if f is not None}


def _cpu_since(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """CPU seconds the backends alive at `after` spent since `before` (a backend that
    ended meanwhile is not counted: the pool's connections live through a run)."""
    if before is None or after is None:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _log_problems(folder: Path) -> dict[str, Any]:
    """ERROR/CRITICAL lines and tracebacks in the bots' logs, with the first few."""
    errors = tracebacks = 0
    first: list[str] = []
    for log in sorted(folder.glob("bot-*.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if " ERROR " in line or " CRITICAL " in line:
                errors += 1
                if len(first) < 5:
                    first.append(f"{log.name}: {line[:300]}")
            elif "Traceback" in line:
                tracebacks += 1
    return {"log_errors": errors, "log_tracebacks": tracebacks, "first_errors": first}


# -- A. load --------------------------------------------------------------------------


@dataclass
class Reader:
    """One reader's updates, sent one after another from `start` (seconds)."""

    user_id: int
    start: float
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Sent:
    user_id: int
    kind: str
    pushed: float
    taken: float | None = None


def readers_of(users: int, spread: float, cursors: list[tuple[int, int]]) -> list[Reader]:
    """bench/load.py's plan, by reader: when each starts and what it sends, in order."""
    readers: dict[int, Reader] = {}
    for due, user_id, kind, update in make_plan(users, spread, cursors).events:
        readers.setdefault(user_id, Reader(user_id, due)).steps.append((kind, update))
    return list(readers.values())


def parse_configs(text: str) -> list[tuple[str, int]]:
    configs = []
    for item in text.split(","):
        engine, _, size = item.strip().partition(":")
        if engine not in ENGINE_NAMES or not size.isdigit() or int(size) < 1:
            raise ValueError(f"not a configuration: {item!r} (engine:processes, e.g. pg:2)")
        if engine == "sqlite" and int(size) != 1:
            raise ValueError("SQLite serves one process only")
        configs.append((engine, int(size)))
    return configs


def label(engine: str, size: int) -> str:
    return f"{size} × {ENGINE_NAMES[engine]}"


async def measure(
    engine: str,
    size: int,
    url: str,
    *,
    database: str | None,
    readers: list[Reader],
    rates: RatesServer,
    folder: Path,
    within: float,
) -> dict[str, Any]:
    """Run the readers once against `size` processes on the database at `url`; those not
    done after `within` seconds are stopped, and their updates left count as not taken."""
    settings = {
        "SOURCE_CHANNELS": str(NEWS_ID),
        "RATES_URL": rates.rates_url,
        "RATES_HISTORY_URL": rates.history_url,
        # As bench/load.py's bot: warnings and errors only.
        "LOG_LEVEL": "WARNING",
    }
    expected = sum(len(r.steps) for r in readers)
    feed_requests = len(rates.requests)
    sends: list[Sent] = []
    async with FakeTelegram() as fake:
        cluster = Cluster(fake.url, url, folder, size, settings)
        async with cluster:
            pids = [_pid(m) for m in cluster.members]
            idle = [_proc_figures(p) for p in pids]
            pg_idle = _backends_cpu(database) if database else None
            answers = Answers(fake, {r.user_id for r in readers})

            async def read(reader: Reader) -> None:
                await asyncio.sleep(max(0.0, t0 + reader.start - time.monotonic()))
                for k, (kind, update) in enumerate(reader.steps):
                    if k:
                        await asyncio.sleep(GAP)
                    sent = Sent(reader.user_id, kind, time.monotonic())
                    sends.append(sent)
                    try:
                        await cluster.deliver(update, within=DELIVERY_WITHIN)
                    except AssertionError:  # nobody took it: counted as not taken
                        continue
                    sent.taken = time.monotonic()

            t0 = time.monotonic()
            tasks = [asyncio.create_task(read(reader)) for reader in readers]
            done, unfinished = await asyncio.wait(tasks, timeout=within)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            for task in done:
                task.result()  # a fault of this benchmark's own goes up
            all_taken = time.monotonic()
            # Answers go out before the 200: they are all in by now, or never come.
            with contextlib.suppress(TimeoutError):
                await fake.wait_until(lambda: answers.collect() >= expected, 5)
            busy = [_proc_figures(p) for p in pids]
            pg_busy = _backends_cpu(database) if database else None
        # Stopped: the requests still in hand (given up on and sent elsewhere) end.
        answers.collect()
        taken_by = [m.taken for m in cluster.members]
        redelivered = cluster.redelivered

    by_user: defaultdict[int, list[Sent]] = defaultdict(list)
    for sent in sends:
        by_user[sent.user_id].append(sent)
    latencies: list[float] = []
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    missing = extra = 0
    last_answer = t0
    for user_id, mine in by_user.items():
        # In order, as bench/load.py matches them; but an answer that came before an
        # update was pushed is not its answer: a second one to an earlier update, handled
        # twice because an attempt was given up on (non-200) while it went on.
        calls = answers.by_chat[user_id]
        next_call = 0
        for sent in mine:
            while next_call < len(calls) and calls[next_call].at < sent.pushed:
                next_call += 1
                extra += 1
            if next_call == len(calls):
                missing += 1
                continue
            call = calls[next_call]
            next_call += 1
            latency = call.at - sent.pushed
            latencies.append(latency)
            by_kind[sent.kind].append(latency)
            last_answer = max(last_answer, call.at)
        extra += len(calls) - next_call
    first_push = min(s.pushed for s in sends)
    taken = sum(1 for s in sends if s.taken is not None)
    not_taken = expected - taken
    wall = last_answer - first_push
    peak_rss = [round(b[0], 1) for b in busy if b is not None]
    cpu_total = sum(b[1] for b in busy if b is not None)
    cpu_idle = sum(i[1] for i in idle if i is not None)
    return {
        "configuration": label(engine, size),
        "engine": engine,
        "processes": size,
        "readers": len(readers),
        "updates": expected,
        "updates_taken": taken,
        "updates_not_taken": not_taken,
        "complete": not unfinished,
        "stopped_after_s": None if not unfinished else within,
        "updates_per_s": round(taken / wall, 1) if wall > 0 else None,
        "first_push_to_last_answer_s": round(wall, 2),
        "first_push_to_last_taken_s": round(all_taken - first_push, 2),
        "latency_p50_ms": _ms(_percentile(latencies, 50)) if latencies else None,
        "latency_p99_ms": _ms(_percentile(latencies, 99)) if latencies else None,
        "latency_max_ms": _ms(max(latencies)) if latencies else None,
        "latency_by_kind_ms": {
            kind: {"p50": _ms(_percentile(values, 50)), "p99": _ms(_percentile(values, 99))}
            for kind, values in sorted(by_kind.items())
        },
        "answers_missing": missing,
        "answers_extra": extra,
        "attempts_not_200": redelivered,
        "taken_by_process": taken_by,
        "bot_cpu_seconds": round(cpu_total, 2),
        "bot_cpu_seconds_under_load": round(cpu_total - cpu_idle, 2),
        "postgres_backends_cpu_seconds_under_load": (
            None if (pg_cpu := _cpu_since(pg_idle, pg_busy)) is None else round(pg_cpu, 2)
        ),
        "bot_peak_rss_mib": peak_rss,
        "rates_feed_requests": len(rates.requests) - feed_requests,
        **_log_problems(folder),
    }


def _ratio(value: Any, base: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(base, int | float) or not base:
        return "–"
    return f"{value / base:.2f}×"


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'configuration':<16} | {'updates/s':>9} | {'p50 ms':>8} | {'p99 ms':>8} | "
        f"{'CPU s bot':>9} | {'(load)':>7} | {'CPU s PG':>8} | {'non-200':>7} | "
        f"{'not taken':>9} | {'no answer':>9} | {'extra':>5} | {'log err':>7} | peak RSS MiB"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        pg_cpu = r["postgres_backends_cpu_seconds_under_load"]
        name = r["configuration"] + ("" if r["complete"] else " *")
        print(
            f"{name:<16} | {r['updates_per_s']!s:>9} | "
            f"{r['latency_p50_ms']!s:>8} | {r['latency_p99_ms']!s:>8} | "
            f"{r['bot_cpu_seconds']:>9} | {r['bot_cpu_seconds_under_load']:>7} | "
            f"{'–' if pg_cpu is None else pg_cpu!s:>8} | {r['attempts_not_200']:>7} | "
            f"{r['updates_not_taken']:>9} | {r['answers_missing']:>9} | {r['answers_extra']:>5} | "
            f"{r['log_errors']:>7} | {', '.join(str(x) for x in r['bot_peak_rss_mib'])}"
        )
    stopped = [r for r in results if not r["complete"]]
    if stopped:
        print(
            f"* stopped after {stopped[0]['stopped_after_s']:g} s: the figures are those of "
            "the updates answered by then"
        )
    base = next((r for r in results if r["engine"] == "sqlite"), None)
    if base is None:
        return
    print()
    print(f"vs {base['configuration']}:")
    for r in results:
        if r is base:
            continue
        ratios = [
            f"{name} {_ratio(r[key], base[key])}"
            for name, key in (
                ("updates/s", "updates_per_s"),
                ("p50", "latency_p50_ms"),
                ("p99", "latency_p99_ms"),
                ("CPU s bot", "bot_cpu_seconds"),
                ("under load", "bot_cpu_seconds_under_load"),
            )
        ]
        name = r["configuration"] + ("" if r["complete"] else " *")
        print(f"  {name:<16} " + ", ".join(ratios))


async def load(
    *,
    users: int,
    posts: int,
    spread: float,
    configs: list[tuple[str, int]],
    workdir: Path,
    within: float,
) -> list[dict[str, Any]]:
    stored = make_posts(posts)
    readers: list[Reader] | None = None
    first_cursors: list[tuple[int, int]] = []
    results = []
    async with RatesServer() as rates:
        for engine, size in configs:
            print(f"== {label(engine, size)}", file=sys.stderr, flush=True)
            folder = workdir / f"{engine}-{size}"
            folder.mkdir(parents=True)
            database = None
            if engine == "sqlite":
                url = f"sqlite:///{folder / 'bot.db'}"
            else:
                database = _fresh_database()
                url = pg.url_of(database)
            try:
                started = time.perf_counter()
                cursors = await _store(url, stored)
                seed_seconds = time.perf_counter() - started
                if readers is None:
                    first_cursors = cursors
                    readers = readers_of(users, spread, cursors)
                elif cursors != first_cursors:
                    raise RuntimeError(f"{url}: the posts were stored under other ids")
                result = await measure(
                    engine,
                    size,
                    url,
                    database=database,
                    readers=readers,
                    rates=rates,
                    folder=folder,
                    within=within,
                )
            finally:
                if database is not None:
                    pg.drop_database(database)
            result.update(posts=posts, seed_seconds=round(seed_seconds, 2))
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)
    return results


# -- B. kill --------------------------------------------------------------------------


@dataclass
class Kill:
    at: float
    member: int
    pid: int
    was_leader: bool
    restarted_in: float = 0.0


def leader_of(cluster: Cluster, starts: dict[int, int]) -> Member | None:
    """The live process whose own log (since it last started: `starts` holds each log's
    size then) says it runs the workers and has not lost them since."""
    for member in cluster.members:
        if not member.alive or not member.log.exists():
            continue
        text = member.log.read_bytes()[starts.get(member.index, 0) :]
        at = text.rfind(b"now runs the workers")
        if at >= 0 and at > text.rfind(b"lost the workers lease"):
            return member
    return None


async def kill_run(
    *, subscribers: int, posts: int, every: float, folder: Path
) -> tuple[dict[str, Any], list[str]]:
    """The figures, and what went wrong (empty: nothing)."""
    database = _fresh_database()
    url = pg.url_of(database)
    storage = await Storage.open(url)
    rng = random.Random(11)
    tz = Settings.model_fields["timezone"].default
    try:
        day = datetime.now(tz).date()
        chat_ids = await due_subscribers(storage, subscribers)
        kills: list[Kill] = []
        async with FakeTelegram() as fake:
            cluster = Cluster(fake.url, url, folder, 4, SETTINGS)
            async with cluster:
                starts: dict[int, int] = {}
                stop = asyncio.Event()
                t0 = time.monotonic()

                async def burst() -> float:
                    for i in range(1, posts + 1):
                        await cluster.deliver(
                            channel_post(i, f"Срочно {i}: новость дня в Астане и Алматы"),
                            within=300,
                        )
                        await asyncio.sleep(0.1)
                    return time.monotonic()

                async def killer() -> None:
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), every)
                        if stop.is_set():
                            return
                        leader = leader_of(cluster, starts)
                        victim = (
                            leader
                            if len(kills) % 2 == 0 and leader is not None
                            else rng.choice(cluster.members)
                        )
                        kill = Kill(
                            time.monotonic() - t0, victim.index, _pid(victim), victim is leader
                        )
                        kills.append(kill)
                        print(
                            f"  {kill.at:6.1f} s: kill bot {victim.index} (pid {kill.pid}"
                            f"{', the workers' if kill.was_leader else ''})",
                            file=sys.stderr,
                            flush=True,
                        )
                        cluster.kill(victim)
                        began = time.monotonic()
                        assert victim.process is not None
                        await victim.process.wait()
                        # What the next process writes is read from here on (leader_of).
                        starts[victim.index] = victim.log.stat().st_size
                        await cluster.restart(victim)
                        kill.restarted_in = time.monotonic() - began

                async def settled() -> tuple[Counter[str], Counter[str]]:
                    async with storage.db.reading() as conn:
                        cursor = await conn.execute(
                            "SELECT status, count(*) FROM deliveries WHERE day = ? GROUP BY status",
                            (day.isoformat(),),
                        )
                        digests = Counter({str(r[0]): int(r[1]) for r in await cursor.fetchall()})
                    return digests, await storage.mirror.summary()

                killing = asyncio.create_task(killer())
                bursting = asyncio.create_task(burst())
                deadline = t0 + KILL_RUN_WITHIN
                shown = 0.0
                while True:
                    digests, copies = await settled()
                    digests_done = (
                        sum(digests.values()) == subscribers
                        and digests["pending"] + digests["sending"] == 0
                    )
                    mirror_done = copies["pending"] + copies["sending"] == 0
                    if bursting.done() and digests_done and mirror_done:
                        break
                    if killing.done() or time.monotonic() > deadline:
                        break  # the killer failed (a process did not come back) or time's up
                    if time.monotonic() - shown > 30:
                        shown = time.monotonic()
                        print(
                            f"  {shown - t0:6.1f} s: digests {dict(digests)}, "
                            f"mirror {dict(copies)}, posts taken "
                            f"{sum(m.taken for m in cluster.members)}",
                            file=sys.stderr,
                            flush=True,
                        )
                    await asyncio.sleep(0.5)
                finished = time.monotonic()
                stop.set()
                killer_error = None
                try:
                    await killing
                except Exception as failure:  # noqa: BLE001 - reported below
                    killer_error = f"{type(failure).__name__}: {str(failure)[:2000]}"
                burst_error = None
                if not bursting.done():
                    bursting.cancel()
                    burst_error = "the burst did not finish"
                elif bursting.exception() is not None:
                    burst_error = f"burst failed: {bursting.exception()}"
                burst_end = None if burst_error else bursting.result() - t0
            redelivered = cluster.redelivered
        stored = await storage.posts.count()
        digests, copies = await settled()
        async with storage.db.reading() as conn:
            cursor = await conn.execute(
                "SELECT chat_id FROM deliveries WHERE day = ? AND status = ?",
                (day.isoformat(), DeliveryStatus.UNKNOWN.value),
            )
            unknown = {int(r[0]) for r in await cursor.fetchall()}
            cursor = await conn.execute(
                "SELECT p.message_id FROM mirror_copies m JOIN posts p ON p.id = m.post_id"
                " WHERE m.status = ?",
                (CopyStatus.UNKNOWN.value,),
            )
            unknown_copies = {int(r[0]) for r in await cursor.fetchall()}
    finally:
        await storage.close()
        pg.drop_database(database)

    # What Telegram saw.
    wanted = set(chat_ids)
    received: Counter[int] = Counter()
    digest_times: list[float] = []
    for call in fake.calls:
        chat_id = call.params.get("chat_id")
        if call.outcome == "ok" and chat_id in wanted:
            received[int(chat_id)] += 1
            digest_times.append(call.at)
    twice = {c: n for c, n in received.items() if n > 1}
    copied = mirrored(fake)
    mirrored_twice = {p: n for p, n in copied.items() if n > 1}
    copy_times = sorted(
        c.at
        for c in fake.calls
        if c.outcome == "ok" and c.params.get("chat_id") == MIRROR and c.method == "copyMessage"
    )
    window_max = 0
    start = 0
    for end, at in enumerate(copy_times):
        while at - copy_times[start] >= 60:
            start += 1
        window_max = max(window_max, end - start + 1)
    figures: dict[str, Any] = {
        "processes": 4,
        "subscribers": subscribers,
        "posts_sent": posts,
        "posts_stored": stored,
        "kills": len(kills),
        "kills_of_the_workers": sum(k.was_leader for k in kills),
        "restart_seconds_max": round(max((k.restarted_in for k in kills), default=0.0), 2),
        "redelivered_attempts": redelivered,
        "digests_by_status": dict(sorted(digests.items())),
        "digests_received": sum(received.values()),
        # In flight at a kill: whether Telegram had taken them is what "unknown" leaves open.
        "unknown_that_reached_the_reader": sum(1 for c in unknown if received[c]),
        "readers_with_a_digest": len(received),
        "readers_with_two_or_more": len(twice),
        "digest_first_to_last_s": (
            round(max(digest_times) - min(digest_times), 1) if digest_times else None
        ),
        "mirror_by_status": dict(sorted(copies.items())),
        "posts_mirrored": len(copied),
        "posts_mirrored_twice": len(mirrored_twice),
        "mirror_unknown_that_reached_the_chat": sum(1 for m in unknown_copies if copied[m]),
        "mirror_copies_max_in_60_s": window_max,
        "burst_seconds": None if burst_end is None else round(burst_end, 1),
        "total_seconds": round(finished - t0, 1),
        "kill_times_s": [round(k.at, 1) for k in kills],
        **_log_problems(folder),
    }
    problems = []
    if stored != posts:
        problems.append(f"{posts - stored} of {posts} posts lost")
    if twice:
        problems.append(
            f"{len(twice)} readers got the digest more than once: {dict(list(twice.items())[:10])}"
        )
    if mirrored_twice:
        problems.append(f"{len(mirrored_twice)} posts mirrored more than once")
    if digests["pending"] + digests["sending"] or sum(digests.values()) != subscribers:
        problems.append(f"digests not settled: {dict(digests)}")
    if copies["pending"] + copies["sending"]:
        problems.append(f"mirror not settled: {dict(copies)}")
    for error in (killer_error, burst_error):
        if error:
            problems.append(error)
    return figures, problems


def print_kill(figures: dict[str, Any], problems: list[str]) -> None:
    f = figures
    statuses = f["digests_by_status"]
    others = {k: v for k, v in statuses.items() if k not in ("sent", "unknown")}
    print(
        f"4 processes on PostgreSQL, {f['subscribers']} digests due, {f['posts_sent']} posts "
        f"(one every 0.1 s), a kill every so often"
    )
    print(f"  kills:                 {f['kills']} ({f['kills_of_the_workers']} of the leader)")
    print(f"  redelivered attempts:  {f['redelivered_attempts']}")
    print(f"  posts stored:          {f['posts_stored']} of {f['posts_sent']}")
    print(
        f"  digests:               sent {statuses.get('sent', 0)}, unknown "
        f"{statuses.get('unknown', 0)} (of which {f['unknown_that_reached_the_reader']} reached "
        f"the reader), others {others or 0}"
    )
    print(
        f"  digests at Telegram:   {f['digests_received']} to {f['readers_with_a_digest']} "
        f"readers; readers with two or more: {f['readers_with_two_or_more']}; first to last "
        f"{f['digest_first_to_last_s']} s"
    )
    print(
        f"  mirror:                {f['posts_mirrored']} posts copied, "
        f"{f['posts_mirrored_twice']} twice; statuses {f['mirror_by_status']} ("
        f"{f['mirror_unknown_that_reached_the_chat']} of the unknown reached the chat); at "
        f"most {f['mirror_copies_max_in_60_s']} copies in any 60 s"
    )
    print(
        f"  bots' logs:            {f['log_errors']} ERROR lines, {f['log_tracebacks']} tracebacks"
    )
    for line in f["first_errors"]:
        print(f"    {line}")
    print(f"  burst took {f['burst_seconds']} s; all settled after {f['total_seconds']} s")
    print("  OK" if not problems else "  FAILED:\n" + "\n".join(f"    {p}" for p in problems))


# -- entry points ---------------------------------------------------------------------


def _need_postgres() -> str | None:
    """Why PostgreSQL cannot be used; None when it can (its template database made)."""
    why = pg.unreachable()
    if why is not None:
        return f"PostgreSQL not reachable at {pg.ADMIN_URL}: {why}"
    pg.template()
    return None


def run(
    quick: bool = False,
    users: int | None = None,
    posts: int | None = None,
    spread: float = 3.0,
    configs: str = DEFAULT_CONFIGS,
    keep: bool = False,
    within: float = DEFAULT_WITHIN,
) -> dict[str, Any]:
    """Part A; its figures by configuration (bench/__main__.py's entry point)."""
    why = _need_postgres()
    if why is not None:
        return {"skipped": why}
    users = users or (200 if quick else 1000)
    posts = posts or (2000 if quick else 5000)
    within = min(within, 60.0) if quick else within
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    ok = False
    try:
        results = asyncio.run(
            load(
                users=users,
                posts=posts,
                spread=spread,
                configs=parse_configs(configs),
                workdir=workdir,
                within=within,
            )
        )
        ok = True
    finally:
        pg.drop_template()
        if ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"bots' logs kept in {workdir}", file=sys.stderr)
    return {
        "users": users,
        "posts": posts,
        "spread_seconds": spread,
        "within_seconds": within,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("part", nargs="?", choices=("load", "kill"), default="load")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--posts", type=int, help="default: 5000 (load), 300 (kill)")
    parser.add_argument("--spread", type=float, default=3.0)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument(
        "--within",
        type=float,
        default=DEFAULT_WITHIN,
        help="seconds a configuration's readers may take; then they are stopped",
    )
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between kills")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the bots' logs")
    args = parser.parse_args()
    why = _need_postgres()
    if why is not None:
        parser.exit(2, why + "\n")
    if args.part == "load":
        parse_configs(args.configs)  # refused before anything starts
        figures = run(
            users=args.users,
            posts=args.posts or 5000,
            spread=args.spread,
            configs=args.configs,
            keep=args.keep,
            within=args.within,
        )
        print_table(figures["results"])
        problems: list[str] = []
    else:
        folder = Path(tempfile.mkdtemp(prefix="bench-cluster-kill-"))
        try:
            figures, problems = asyncio.run(
                kill_run(
                    subscribers=args.subscribers,
                    posts=args.posts or 300,
                    every=args.every,
                    folder=folder,
                )
            )
        except BaseException:
            print(f"bots' logs kept in {folder}", file=sys.stderr)
            raise
        finally:
            pg.drop_template()
        print_kill(figures, problems)
        if problems or args.keep:
            print(f"bots' logs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
