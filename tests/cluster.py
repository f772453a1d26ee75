"""Several `python -m bot` processes in webhook mode on one PostgreSQL database, with this
process as Telegram: it delivers each update to one of them, in turn, as nginx hands
requests on, and to the next when that one does not answer 200 (Telegram sends an
update again until some process takes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import aiohttp

from bot.config import Settings
from bot.webhook import HEALTH_PATH, SECRET_HEADER, webhook_path
from storage import Storage
from tests.bot_process import start_bot_process
from tests.conftest import SECRET, WEBHOOK_URL, free_port
from tests.fake_telegram import Call, FakeTelegram
from tests.updates import ADMIN, NEWS_CHANNEL

#: How long one delivery attempt may take before the update goes to another process.
ATTEMPT_TIMEOUT = 30.0

# -- the outlet the processes serve: its admin, channel and mirror chat ---------------------

MIRROR = -1005550001
SETTINGS = {
    "ADMIN_IDS": str(ADMIN["id"]),
    "SOURCE_CHANNELS": str(NEWS_CHANNEL["id"]),
    "MIRROR_CHAT_IDS": str(MIRROR),
}
FIRST_SUBSCRIBER = 5_000_000


def to_chat(fake: FakeTelegram, chat_id: int) -> list[Call]:
    return [c for c in fake.calls if c.outcome == "ok" and c.params.get("chat_id") == chat_id]


def mirrored(fake: FakeTelegram) -> Counter[int]:
    """Copies made in the mirror chat, by source message id."""
    return Counter(
        int(c.params["message_id"]) for c in to_chat(fake, MIRROR) if c.method == "copyMessage"
    )


async def due_subscribers(storage: Storage, count: int) -> list[int]:
    """`count` readers whose digest is due now (their time passed a few minutes ago)."""
    tz = Settings.model_fields["timezone"].default
    now = datetime.now(tz)
    at = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0)).time()
    chat_ids = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + count))
    for chat_id in chat_ids:
        await storage.subscribers.subscribe(
            chat_id, lang="ru", send_time=at.replace(second=0, microsecond=0), first_day=now.date()
        )
    return chat_ids


@dataclass
class Member:
    index: int
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None
    stream: IO[bytes] | None = None
    #: Updates this process answered 200 to.
    taken: int = 0
    #: Where the current process's lines begin in the log (a restart appends to it).
    log_start: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    api_url: str
    database_url: str
    folder: Path
    size: int
    settings: dict[str, str] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    #: Delivery attempts that a process did not take (down, 5xx, timeout): sent again.
    redelivered: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _http: aiohttp.ClientSession | None = None
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def __aenter__(self) -> Cluster:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT))
        self.members = [
            Member(i, free_port(), self.folder / f"bot-{i}.log") for i in range(self.size)
        ]
        for member in self.members:
            await self.start(member)
        for member in self.members:
            await self.wait_healthy(member)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(self.stop(m) for m in self.members))
        if self._http is not None:
            await self._http.close()

    # -- processes ----------------------------------------------------------------------

    async def start(self, member: Member) -> None:
        member.stream = member.log.open("ab")
        member.log_start = member.stream.tell()
        settings = {
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(member.port),
            "LOG_LEVEL": "INFO",
            **self.settings,
        }
        member.process = await start_bot_process(
            self.api_url,
            self.database_url,
            cwd=self.folder,
            stderr=member.stream.fileno(),
            **settings,
        )

    async def wait_healthy(self, member: Member, within: float = 30.0) -> None:
        assert self._http is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not member.alive:
                raise AssertionError(f"bot {member.index} exited:\n{member.log_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._http.get(member.base + HEALTH_PATH) as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.05)
        raise AssertionError(f"bot {member.index} not healthy:\n{member.log_text()[-3000:]}")

    def kill(self, member: Member) -> None:
        """SIGKILL: no shutdown, requests in hand are dropped."""
        if member.alive:
            assert member.process is not None
            member.process.send_signal(signal.SIGKILL)

    async def stop(self, member: Member, grace: float = 20.0) -> int | None:
        """SIGTERM and wait, as a rolling update does; its exit code."""
        if member.process is None:
            return None
        if member.alive:
            member.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(member.process.wait(), grace)
        except TimeoutError:
            member.process.kill()
            code = await member.process.wait()
        if member.stream is not None:
            member.stream.close()
            member.stream = None
        return code

    async def restart(self, member: Member) -> None:
        if member.process is not None:
            await member.process.wait()
        if member.stream is not None:
            member.stream.close()
        await self.start(member)
        await self.wait_healthy(member)

    def leader(self) -> Member | None:
        """The live process that said it runs the workers and has not lost them since."""
        for member in self.members:
            # Only the current process's lines: a killed leader's line stays in the log.
            raw = member.log.read_bytes()[member.log_start :] if member.log.exists() else b""
            at = raw.rfind(b"now runs the workers")
            if member.alive and at >= 0 and at > raw.rfind(b"lost the workers lease"):
                return member
        return None

    # -- Telegram's side ------------------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def deliver(
        self, update: dict[str, Any], *, to: Member | None = None, within: float = 120.0
    ) -> Member:
        """Post the update to the next process (or `to`) until one answers 200."""
        assert self._http is not None
        body = {"update_id": self.next_update_id(), **update}
        headers = {SECRET_HEADER: SECRET}
        path = webhook_path(WEBHOOK_URL)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            member = to or self.members[next(self._turn) % len(self.members)]
            if member.alive:
                try:
                    async with self._http.post(
                        member.base + path, json=body, headers=headers
                    ) as answer:
                        await answer.read()
                        if answer.status == 200:
                            member.taken += 1
                            return member
                except (aiohttp.ClientError, TimeoutError):
                    pass
                self.redelivered += 1
            if to is not None or not any(m.alive for m in self.members):
                await asyncio.sleep(0.2)
        raise AssertionError(f"no bot took update {body['update_id']} within {within} s")
