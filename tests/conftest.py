from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import pace
from bot.app import run_polling
from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.polling import Poller
from bot.webhook import SECRET_HEADER, run_webhook
from storage import Storage
from tests import pg
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.updates import ADMIN, NEWS_CHANNEL

#: Test modules whose tests that use the bot's database run on both engines. The rest
#: run on SQLite: they test what does not depend on the engine, or SQLite's own ways.
BOTH_ENGINES = (
    "test_storage_posts",
    "test_webhook",
    "test_multiprocess",
    "test_migrate_db",
    # Real Bot API captures and real channel exports, through the whole bot.
    "test_real_world",
    "test_real_exports",
)
ENGINES = ("sqlite", "postgresql")


def on_both_engines(module: str) -> bool:
    return module.endswith("_e2e") or module in BOTH_ENGINES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if "engine" in metafunc.fixturenames and on_both_engines(module):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine of this test: SQLite unless parametrised (BOTH_ENGINES)."""
    name: str = getattr(request, "param", "sqlite")
    if name == "postgresql":
        pg.need()
    return name


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own, for what only PostgreSQL does
    (several processes on one database)."""
    pg.need()
    with pg.migrated_database() as url:
        yield url


@pytest.fixture
def database(engine: str, tmp_path: Path) -> Iterator[Path | str]:
    """The bot's database: a SQLite file, or a PostgreSQL database of this test's own."""
    if engine == "sqlite":
        yield tmp_path / "bot.db"
        return
    with pg.migrated_database() as url:
        yield url


def pytest_report_header(config: pytest.Config) -> str:
    why = pg.unreachable()
    if why is None:
        return f"postgresql: {pg.ADMIN_URL} (tests on both engines run on it)"
    return f"postgresql: not reachable at {pg.ADMIN_URL} ({why}): its tests are skipped"


def _pg_skips(terminalreporter: Any) -> int:
    return sum(
        pg.SKIP_REASON in str(getattr(report, "longrepr", ""))
        for report in terminalreporter.stats.get("skipped", [])
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = _pg_skips(terminalreporter)
    if skipped:
        terminalreporter.write_line(f"{skipped} tests skipped: {pg.SKIP_REASON}", yellow=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pg.drop_template()


@pytest.fixture(autouse=True)
def chat_pace_off(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers to one chat go out at once, so a test of five commands takes milliseconds,
    not five seconds. Tests marked `chat_pace` keep Telegram's pace (see bot/pace.py)."""
    if request.node.get_closest_marker("chat_pace") is None:
        monkeypatch.setattr(pace, "PRIVATE", pace.Limit(gap=0.0))
        monkeypatch.setattr(pace, "GROUP", pace.Limit(gap=0.0))


@pytest.fixture
def one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot handles one update at a time: a handler that waits (for its chat's turn, a
    flood wait) must give back its slot, or every other chat waits with it."""
    defaults = Poller.__init__.__kwdefaults__
    assert defaults is not None
    assert "concurrency" in defaults, "Poller(concurrency=…) has changed"
    monkeypatch.setitem(defaults, "concurrency", 1)


_pg_inboxes: dict[str, pg.Inbox] = {}


@pytest.fixture(autouse=True)
def _close_inbox_readers() -> Iterator[None]:
    yield
    while _pg_inboxes:
        _pg_inboxes.popitem()[1].close()


def waiting_in_inbox(db: Path | str, *update_ids: int) -> bool:
    """Whether any of these updates is still kept in the bot's inbox, unhandled."""
    if isinstance(db, str):
        return _pg_inboxes.setdefault(db, pg.Inbox(db)).holds(update_ids)
    marks = ",".join("?" * len(update_ids))
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        row = conn.execute(f"SELECT 1 FROM inbox WHERE update_id IN ({marks})", update_ids)
        return row.fetchone() is not None


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def database_url(db: Path | str) -> str:
    return db if isinstance(db, str) else f"sqlite:///{db}"


def make_settings(fake_url: str, db: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": fake_url,
        "database_url": database_url(db),
        "admin_ids": [ADMIN["id"]],
        "source_channels": [NEWS_CHANNEL["id"]],
        # Nothing listens on port 9 of loopback: the rates feed is "down" unless a test
        # serves one, and no test ever reaches the real National Bank.
        "rates_url": "http://127.0.0.1:9/rss/rates_all.xml",
        "rates_history_url": "http://127.0.0.1:9/rss/get_rates.cfm?fdate={date}",
        # Nor kurs.kz: exchange offices' quotes come only from a test's own server.
        "market_rates_url": "http://127.0.0.1:9/site/index?city={city}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class RunningBot:
    """The whole bot polling the fake server in this event loop."""

    fake: FakeTelegram
    settings: Settings
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def send(self, update: dict[str, Any]) -> int:
        """Push an update and wait until the bot has handled and confirmed it."""
        update_id = self.fake.push(update)
        await self.wait_handled(update_id)
        return update_id

    async def send_all(self, updates: list[dict[str, Any]]) -> None:
        ids = self.fake.push_many(updates)
        await self.wait_handled(*ids)

    async def wait_handled(self, *update_ids: int, within: float = 15) -> None:
        """Until these updates are confirmed to Telegram and no longer wait in the bot's
        inbox: handled."""
        await self.fake.wait_confirmed(max(update_ids), within=within)
        async with asyncio.timeout(within):
            while waiting_in_inbox(self.settings.database, *update_ids):  # noqa: ASYNC110 - the state lives in SQLite
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 15)


@pytest.fixture
async def start_bot(
    fake_telegram: FakeTelegram, database: Path | str
) -> AsyncIterator[Callable[..., Any]]:
    running: list[RunningBot] = []

    async def start(clock: Clock = system_clock, **overrides: Any) -> RunningBot:
        settings = make_settings(fake_telegram.url, database, **overrides)
        stop = asyncio.Event()
        task = asyncio.create_task(run_polling(settings, stop=stop, clock=clock))
        bot = RunningBot(fake_telegram, settings, task, stop)
        running.append(bot)
        await fake_telegram.wait_until(
            lambda: bool(fake_telegram.calls_of("getUpdates")) or task.done()
        )
        if task.done():
            task.result()  # raises what stopped the bot from starting
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.stop()


@pytest.fixture
async def storage(database: Path | str) -> AsyncIterator[Storage]:
    """The bot's database, opened beside the bot (WAL lets both read and write)."""
    opened = await Storage.open(database)
    yield opened
    await opened.close()


async def eventually(check: Callable[[], Any], within: float = 15) -> None:
    """Until an async check holds (state another task writes, e.g. the database)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the state lives in SQLite, not in an Event
            await asyncio.sleep(0.01)


# -- webhook mode ------------------------------------------------------------------------

SECRET = "s3cret-Token_for-tests"
WEBHOOK_URL = "https://bot.example.kz/tg/webhook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def webhook_settings(fake: FakeTelegram, db: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_url": WEBHOOK_URL,
        "webhook_secret": SECRET,
        "webhook_host": "127.0.0.1",
        "webhook_port": free_port(),
    }
    values.update(overrides)
    return make_settings(fake.url, db, **values)


@dataclass
class RunningWebhook:
    settings: Settings
    task: asyncio.Task[None]
    stop_event: asyncio.Event
    http: aiohttp.ClientSession
    update_ids: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.webhook_port}"

    async def post(
        self, update: dict[str, Any] | None = None, *, secret: str | None = SECRET, body: Any = None
    ) -> int:
        """Post as Telegram does; the answer's status."""
        headers = {} if secret is None else {SECRET_HEADER: secret}
        if update is not None:
            # An update_id in `update` wins: a resend carries the same one.
            self.update_ids += 1
            body = {"update_id": self.update_ids, **update}
        kwargs: dict[str, Any] = {"json": body} if not isinstance(body, bytes) else {"data": body}
        async with self.http.post(self.base + "/tg/webhook", headers=headers, **kwargs) as answer:
            await answer.read()
            return answer.status

    async def health(self) -> int:
        async with self.http.get(self.base + "/healthz") as answer:
            return answer.status

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 15)


@pytest.fixture
async def start_webhook(
    fake_telegram: FakeTelegram, database: Path | str
) -> AsyncIterator[Callable[..., Any]]:
    running: list[RunningWebhook] = []
    async with aiohttp.ClientSession() as http:

        async def start(**overrides: Any) -> RunningWebhook:
            settings = webhook_settings(fake_telegram, database, **overrides)
            stop = asyncio.Event()
            task = asyncio.create_task(run_webhook(settings, stop=stop))
            hook = RunningWebhook(settings, task, stop, http)
            running.append(hook)
            # setWebhook is called once the server listens.
            await fake_telegram.wait_until(
                lambda: bool(fake_telegram.calls_of("setWebhook")) or task.done()
            )
            if task.done():
                task.result()
            return hook

        yield start
        for hook in running:
            if not hook.task.done():
                await hook.stop()


StartWebhook = Callable[..., Any]
