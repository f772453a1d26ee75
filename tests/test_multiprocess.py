"""Several bot processes on one PostgreSQL database: plain `python -m bot` processes in
webhook mode, each on its own WEBHOOK_PORT, with updates handed to them in turn (as nginx
does) by this test acting as Telegram.

What must hold: every update is handled by one process; the workers (digest schedule,
mirror, topic alerts) run in exactly one; Telegram's pace of a message a second per chat
holds across processes; nobody gets a digest twice and no post is lost when a process is
killed mid-burst.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from storage import DeliveryStatus, Storage
from tests.bot_process import start_bot_process
from tests.cluster import SETTINGS, Cluster, due_subscribers, mirrored, to_chat
from tests.conftest import eventually
from tests.fake_telegram import FakeTelegram
from tests.updates import ADMIN, READER, channel_post, private_text


async def test_two_webhook_processes_side_by_side(
    fake_telegram: FakeTelegram, pg_database: str, tmp_path: Path
) -> None:
    fake = fake_telegram
    storage = await Storage.open(pg_database)
    subscribers = await due_subscribers(storage, 30)
    async with Cluster(fake.url, pg_database, tmp_path, 2, SETTINGS) as cluster:
        assert len(fake.calls_of("setWebhook")) == 2

        # The workers run in one process: the scheduled digest reaches each reader once.
        async def all_digested() -> bool:
            return all(to_chat(fake, c) for c in subscribers)

        await eventually(all_digested, within=60)
        leader = cluster.leader()
        assert leader is not None
        assert sum("now runs the workers" in m.log_text() for m in cluster.members) == 1

        # Posts arrive at both; each is stored once and mirrored once, by the leader.
        takers = [
            await cluster.deliver(channel_post(i, f"Новость {i}: ярмарка в Астане"))
            for i in range(1, 11)
        ]
        assert {m.index for m in takers} == {0, 1}
        assert await storage.posts.count() == 10

        async def copied() -> bool:
            return len(mirrored(fake)) == 10

        await eventually(copied, within=60)

        # A topic followed through one process matches a post stored by the other.
        follower = cluster.members[0] if leader is cluster.members[1] else cluster.members[1]
        # (Quiet hours off: the alert goes out now whatever the hour in Almaty.)
        await cluster.deliver(private_text("/follow quiet off", user=READER), to=follower)
        await cluster.deliver(private_text("/follow тарифы", user=READER), to=follower)
        other = next(m for m in cluster.members if m is not follower)
        await cluster.deliver(channel_post(30, "Новые тарифы на свет с января"), to=other)

        async def alerted() -> bool:
            return any("тарифы на свет" in t for t in fake.sent_texts(READER["id"]))

        await eventually(alerted, within=30)

        # An admin's /senddigest sent through both processes at once: nobody gets two.
        await asyncio.gather(
            *(
                cluster.deliver(private_text("/senddigest", user=ADMIN), to=m)
                for m in cluster.members
            )
        )

        async def settled() -> bool:
            async with storage.db.reading() as conn:
                cursor = await conn.execute(
                    "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')"
                )
                row = await cursor.fetchone()
                return row is not None and int(row[0]) == 0

        await eventually(settled, within=60)

        async def all_copied() -> bool:
            return mirrored(fake)[30] == 1

        await eventually(all_copied, within=30)
        twice = {c: n for c in subscribers if (n := len(to_chat(fake, c))) != 1}
        assert twice == {}, f"readers with other than one digest: {twice}"
        assert mirrored(fake) == Counter(range(1, 11)) + Counter([30])
    await storage.close()


@pytest.mark.chat_pace
async def test_a_chats_pace_holds_across_processes(
    fake_telegram: FakeTelegram, pg_database: str, tmp_path: Path
) -> None:
    fake = fake_telegram
    fake.enforce_limits()
    async with Cluster(fake.url, pg_database, tmp_path, 2, SETTINGS) as cluster:
        # Four commands from one reader, two to each process, at once.
        await asyncio.gather(
            *(
                cluster.deliver(private_text(f"/latest {n}", user=READER), to=m)
                for n, m in zip((1, 2, 3, 4), cluster.members * 2, strict=True)
            )
        )

        async def answered() -> bool:
            return len(to_chat(fake, READER["id"])) >= 4

        await eventually(answered, within=30)
    answers = sorted(c.at for c in to_chat(fake, READER["id"]))
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(answers)]
    assert fake.flood_errors == 0, f"Telegram refused {fake.flood_errors}; gaps {gaps}"
    assert min(gaps) >= 1.0, gaps


async def test_the_workers_move_when_their_process_is_killed(
    fake_telegram: FakeTelegram, pg_database: str, tmp_path: Path
) -> None:
    fake = fake_telegram
    async with Cluster(fake.url, pg_database, tmp_path, 2, SETTINGS) as cluster:
        await cluster.deliver(channel_post(1, "Первая новость"))

        async def first_copied() -> bool:
            return mirrored(fake)[1] == 1

        await eventually(first_copied, within=30)
        leader = cluster.leader()
        assert leader is not None
        cluster.kill(leader)
        survivor = next(m for m in cluster.members if m is not leader)
        await cluster.deliver(channel_post(2, "Вторая новость"), to=survivor)

        async def second_copied() -> bool:
            return mirrored(fake)[2] == 1

        await eventually(second_copied, within=30)
        assert cluster.leader() is survivor
    assert mirrored(fake) == Counter({1: 1, 2: 1})


@pytest.mark.slow
async def test_killing_a_process_every_few_seconds_loses_nothing(
    fake_telegram: FakeTelegram, pg_database: str, tmp_path: Path
) -> None:
    """4 processes; one killed (SIGKILL) and started again every 2 s, while 80 posts
    arrive and 300 readers' digests go out. Every post is stored, and mirrored at most
    once; every reader gets at most one digest: sent or, if a kill caught it in flight,
    left "unknown" (never sent twice). `python -m bench.cluster kill` is the long run."""
    fake = fake_telegram
    storage = await Storage.open(pg_database)
    subscribers = await due_subscribers(storage, 300)
    posts = 80
    rng = random.Random(5)
    async with Cluster(fake.url, pg_database, tmp_path, 4, SETTINGS) as cluster:

        async def burst() -> None:
            for i in range(1, posts + 1):
                await cluster.deliver(channel_post(i, f"Срочно {i}: новость дня"))
                await asyncio.sleep(0.1)

        leader_kills = 0

        async def killer(stop: asyncio.Event) -> int:
            """Every other kill is of the process running the workers (the digest)."""
            nonlocal leader_kills
            kills = 0
            while not stop.is_set():
                await asyncio.sleep(2)
                leader = cluster.leader()
                victim = leader if leader and kills % 2 == 0 else rng.choice(cluster.members)
                leader_kills += victim is leader
                cluster.kill(victim)
                kills += 1
                await cluster.restart(victim)
            return kills

        stop = asyncio.Event()
        killing = asyncio.create_task(killer(stop))
        await burst()

        async def digests_settled() -> bool:
            async with storage.db.reading() as conn:
                cursor = await conn.execute(
                    "SELECT count(*) FROM deliveries WHERE status NOT IN ('pending', 'sending')"
                )
                row = await cursor.fetchone()
                return row is not None and int(row[0]) == len(subscribers)

        await eventually(digests_settled, within=120)
        stop.set()
        kills = await killing
        # Kills came while the digest went out, at least one of the process sending it.
        assert kills >= 2
        assert leader_kills >= 1

    assert await storage.posts.count() == posts
    statuses: Counter[str] = Counter()
    for chat_id in subscribers:
        status = await storage.deliveries.status(
            datetime.now(Settings.model_fields["timezone"].default).date(), chat_id
        )
        statuses[str(status)] += 1
    received = {c: len(to_chat(fake, c)) for c in subscribers}
    assert max(received.values()) == 1, "a reader got the digest twice"
    sent = sum(received.values())
    assert statuses[str(DeliveryStatus.SENT)] <= sent
    copies = mirrored(fake)
    assert all(n == 1 for n in copies.values()), "a post was mirrored twice"
    summary: dict[str, Any] = {
        "kills": kills,
        "leader kills": leader_kills,
        "redelivered": cluster.redelivered,
        "digests": dict(statuses),
        "mirrored": len(copies),
    }
    print(summary)
    await storage.close()


async def test_a_second_polling_process_stands_by_until_the_first_ends(
    fake_telegram: FakeTelegram, pg_database: str, tmp_path: Path
) -> None:
    """Telegram serves getUpdates to one caller: of two polling processes one polls, the
    other waits, and takes over when the first is killed."""
    fake = fake_telegram
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    streams = [log.open("wb") for log in logs]
    settings = {**SETTINGS, "LOG_LEVEL": "INFO"}
    first = await start_bot_process(
        fake.url, pg_database, cwd=tmp_path, stderr=streams[0].fileno(), **settings
    )
    try:
        await fake.wait_for_call("getUpdates")
        second = await start_bot_process(
            fake.url, pg_database, cwd=tmp_path, stderr=streams[1].fileno(), **settings
        )
        try:

            async def standing_by() -> bool:
                return "standing by" in logs[1].read_text()

            await eventually(standing_by, within=30)
            await fake.wait_confirmed(fake.push(channel_post(1, "Пока работает первый")))
            first.kill()
            await first.wait()
            fake.push(channel_post(2, "Теперь работает второй"))
            storage = await Storage.open(pg_database)
            try:
                # The first post too: the first process had taken it (it was in its inbox)
                # but died before handling it; the second handles it at its start.
                async def both_stored() -> bool:
                    return await storage.posts.count() == 2

                await eventually(both_stored, within=30)
            finally:
                await storage.close()
            assert "started bot=" in logs[1].read_text()
        finally:
            second.terminate()
            await second.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        for stream in streams:
            stream.close()
