"""SQLite, the default engine: pragmas, numbered migrations, and serialised transactions."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from storage.engine import (
    SQLITE,
    Connection,
    Database,
    Lease,
    Params,
    StorageUnavailable,
    SyncConnection,
)

__all__ = ["Database", "SqliteDatabase", "StorageUnavailable"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR")


def is_transient(error: sqlite3.Error) -> bool:
    """True for failures that clear by themselves or by an operator (lock, disk, perms)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(_TRANSIENT)


def migrations(package: str = "storage.migrations") -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped in `package`, in order."""
    found = []
    for entry in resources.files(package).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit mid-transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements


class _ThreadConnection(threading.local):
    """The sqlite3 connection of the aiosqlite worker thread this is read on."""

    connection: sqlite3.Connection | None = None


_THREAD = _ThreadConnection()


class _WorkerConnection(sqlite3.Connection):
    """sqlite3's connection, made through sqlite3.connect's public `factory` argument
    (aiosqlite passes it on). aiosqlite makes it on the connection's own worker thread and
    runs everything there, one thread per connection: the connection leaves itself in a
    thread-local, where a function run on that thread (Database.run_sync) finds it.
    aiosqlite keeps its own reference private (`Connection._conn`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _THREAD.connection = self

    def close(self) -> None:
        if _THREAD.connection is self:
            _THREAD.connection = None
        super().close()


def _thread_connection() -> sqlite3.Connection:
    """The connection of the aiosqlite worker thread this runs on."""
    raw = _THREAD.connection
    if raw is None:
        raise ValueError("no open database connection on this thread")
    return raw


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL. The switch takes an exclusive lock without waiting on busy_timeout,
    so a second process opening a new file at the same moment retries for as long."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class SqliteDatabase(Database):
    """One aiosqlite connection shared by the whole process.

    aiosqlite runs every statement on one worker thread, so statements never overlap;
    the lock keeps a transaction's statements together when several coroutines write.
    """

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._named: dict[str, asyncio.Lock] = {}

    @property
    def location(self) -> str:
        return str(self.path)

    @classmethod
    async def open(cls, path: Path | str) -> SqliteDatabase:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None, factory=_WorkerConnection)
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _enable_wal(conn)
            # With WAL, NORMAL keeps the database consistent after a power cut and loses at
            # most the last transactions; a process crash (SIGKILL) loses nothing.
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self.conn.close()

    async def migrate(self) -> int:
        """Apply migrations newer than PRAGMA user_version; return the resulting version.

        All pending migrations run in one IMMEDIATE transaction, so two processes opening
        the same file at once cannot both apply them.
        """
        async with self.transaction() as conn:
            cursor = await conn.execute("PRAGMA user_version")
            row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            for number, name, sql in migrations():
                if number <= current:
                    continue
                log.info("applying migration %s", name)
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")
                current = number
            return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error.

        SQLite errors that mean "cannot write now" become StorageUnavailable.
        """
        async with self._lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.rollback()
                    raise
                await self.conn.commit()
            except sqlite3.Error as error:
                if not is_transient(error):
                    raise
                if self.conn.in_transaction:
                    await self.conn.rollback()
                raise StorageUnavailable(str(error)) from error

    async def run_sync(
        self, fn: Callable[Concatenate[SyncConnection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(connection, …)` as one IMMEDIATE transaction on the database thread.

        A multi-statement write then costs one thread round trip instead of one per
        statement. aiosqlite has no public call that runs a function on its thread: its
        public methods each run one fixed sqlite3 call, and the callbacks it registers
        (create_function, set_progress_handler…) run inside a statement, where a
        transaction cannot begin or commit and errors lose their SQLite code. So this is
        the one private call left: `_execute` (queue a function on the thread, await its
        result), whose form has held across releases; constraints.txt pins the exact
        version tested. The connection itself comes by public means (_WorkerConnection).
        """

        def in_transaction() -> T:
            raw = _thread_connection()
            raw.execute("BEGIN IMMEDIATE")
            try:
                result = fn(raw, *args, **kwargs)
                raw.commit()
            except BaseException:
                # A failed COMMIT can leave the transaction open: close it, or every
                # later write would fail to begin.
                if raw.in_transaction:
                    raw.rollback()
                raise
            return result

        async with self._lock:
            try:
                # aiosqlite leaves _execute untyped.
                result: T = await self.conn._execute(in_transaction)  # type: ignore[no-untyped-call]
                return result
            except sqlite3.Error as error:
                if not is_transient(error):
                    raise
                raise StorageUnavailable(str(error)) from error

    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement as its own transaction (SQLite's autocommit): a third of the
        round trips of transaction() for the hot single-row writes. Returns rowcount."""
        async with self._lock:
            try:
                cursor = await self.conn.execute(sql, params)
                return cursor.rowcount
            except sqlite3.Error as error:
                if not is_transient(error):
                    raise
                raise StorageUnavailable(str(error)) from error

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """The connection, outside any other coroutine's transaction."""
        async with self._lock:
            yield self.conn

    async def ping(self) -> bool:
        try:
            async with self.reading() as conn:
                await conn.execute("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return True

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        # One process works on a SQLite file (several would be PostgreSQL's case).
        lock = self._named.setdefault(name, asyncio.Lock())
        async with lock:
            yield

    async def try_lease(self, name: str) -> Lease | None:
        return _LocalLease()

    async def backup(self, target: Path | str) -> None:
        """Write a consistent copy of the database to `target`, while others keep writing.

        VACUUM INTO reads one snapshot (in WAL mode writers are not blocked, even in other
        processes) and writes it compacted. The copy goes to a side file that is synced
        and then renamed, so `target` is never a partial file.
        """
        target = Path(target)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            try:
                async with self.reading() as conn:
                    await conn.execute("VACUUM INTO ?", (str(partial),))
            except sqlite3.Error as error:
                if is_transient(error):
                    raise StorageUnavailable(str(error)) from error
                if getattr(error, "sqlite_errorname", "") == "SQLITE_CANTOPEN":
                    raise OSError(f"cannot create {partial}") from error
                raise
            await asyncio.to_thread(_sync_file, partial)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)


class _LocalLease(Lease):
    """The one process that uses a SQLite file holds every role."""

    async def alive(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def _sync_file(path: Path) -> None:
    with path.open("rb+") as file:
        os.fsync(file.fileno())
