"""PostgreSQL, for several bot processes sharing one database (psycopg 3).

psycopg 3 rather than asyncpg: its cursors behave as sqlite3's do (rowcount, also summed
over executemany; fetchone/fetchall), so one repository code reads both engines, and its
synchronous API runs the storage's synchronous write path (Database.run_sync: a post
with its parts and index terms in one call) unchanged. Each call runs on a small thread
pool beside the event loop, as aiosqlite does for SQLite.

Writes are serialised across every process by one transaction-level advisory lock: a
transaction here sees what SQLite's BEGIN IMMEDIATE would, so the repositories' read-then-
write steps stay correct, whichever process runs them. Reads take no lock and run side by
side on the pool's connections.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from storage.db import migrations, statements
from storage.engine import (
    POSTGRESQL,
    Connection,
    Cursor,
    Database,
    Lease,
    Params,
    StorageUnavailable,
    SyncConnection,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Advisory lock keys (one namespace for the whole database).
WRITE_LOCK = 0x6E6D_0001
MIGRATION_LOCK = 0x6E6D_0002

POOL_SIZE = 6
CONNECT_TIMEOUT = 10.0
#: The longest a call waits for one of the pool's connections to be free.
SLOT_TIMEOUT = 30.0
#: How often a waiter asks again for a named lock another process holds.
LOCK_RETRY_SECONDS = 0.25
#: A lease's connection that does not answer within this long is taken for lost.
LEASE_CHECK_TIMEOUT = 5.0
#: TCP keepalives on the connections that hold locks: a server or network gone silent is
#: noticed in about ten seconds, and the lock is the server's to give to another process.
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for a name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- SQL and values: what the repositories write, as PostgreSQL takes it ------------

_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::|\?|(?<![\w:]):([A-Za-z_]\w*)|%"""
)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` and `:name` placeholders as psycopg's `%s` and `%(name)s`; a literal `%` doubled.
    Quoted strings, identifiers, comments and `::` casts are left alone."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token

    return _TOKENS.sub(replace, sql)


def _value(value: Any) -> Any:
    if value is True or value is False:
        # Flags are integer columns on both engines.
        return int(value)
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL's text cannot hold NUL; Telegram never sends one in a message.
        return value.replace("\x00", "")
    return value


def values(params: Params) -> Params:
    if isinstance(params, Mapping):
        return {key: _value(value) for key, value in params.items()}
    return tuple(_value(value) for value in params)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    index = {name: position for position, name in enumerate(names)}

    class PgRow(tuple[Any, ...]):
        """A row read by position or by column name, as sqlite3.Row is."""

        __slots__ = ()

        def __getitem__(self, key: Any) -> Any:
            if isinstance(key, str):
                return tuple.__getitem__(self, index[key])
            return tuple.__getitem__(self, key)

        def keys(self) -> list[str]:
            return list(names)

    return PgRow


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Any]:
    names = tuple(column.name for column in cursor.description or ())
    cls = _row_class(names)
    return cls  # a class called with a sequence of values makes the row


# -- errors ---------------------------------------------------------------------------

#: Failures that clear by themselves or by an operator: the server restarting or gone,
#: too many connections, a replica that cannot write, a statement cancelled.
_TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    pg_errors.ReadOnlySqlTransaction,
    PoolTimeout,
)


@contextmanager
def _unavailable_on_transient() -> Iterator[None]:
    try:
        yield
    except _TRANSIENT as error:
        raise StorageUnavailable(str(error).strip() or type(error).__name__) from error


# -- the connection facades -----------------------------------------------------------


class _SyncConnection:
    """What a run_sync function gets: sqlite3's execute/executemany over psycopg."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> psycopg.Cursor[Any]:
        return self.conn.execute(translate(sql), values(parameters) or None)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> psycopg.Cursor[Any]:
        cursor = self.conn.cursor()
        cursor.executemany(translate(sql), [values(p) for p in parameters])
        return cursor


class _Result:
    """A finished statement: its rows are read at once, on the database thread."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self._rowcount = rowcount

    @property
    def rowcount(self) -> int:
        return self._rowcount

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Any]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest


def _run(conn: psycopg.Connection[Any], sql: str, params: Params) -> _Result:
    cursor = conn.execute(translate(sql), values(params) or None)
    rows = cursor.fetchall() if cursor.description is not None else []
    return _Result(rows, cursor.rowcount)


def _run_many(conn: psycopg.Connection[Any], sql: str, params: Iterable[Params]) -> _Result:
    cursor = conn.cursor()
    cursor.executemany(translate(sql), [values(p) for p in params])
    return _Result([], cursor.rowcount)


class _AsyncConnection:
    """The Connection protocol over one pooled psycopg connection."""

    def __init__(self, db: PgDatabase, conn: psycopg.Connection[Any]) -> None:
        self._db = db
        self._conn = conn

    async def execute(self, sql: str, params: Params = (), /) -> Cursor:
        return await self._db.call(_run, self._conn, sql, params)

    async def executemany(self, sql: str, params: Iterable[Params], /) -> Cursor:
        return await self._db.call(_run_many, self._conn, sql, list(params))


def _rowcount(conn: SyncConnection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount


def _begin(conn: psycopg.Connection[Any]) -> None:
    conn.execute("BEGIN")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


def _end(conn: psycopg.Connection[Any], ok: bool) -> None:
    conn.execute("COMMIT" if ok else "ROLLBACK")


def _reach(url: str) -> None:
    """Connect once, so that a server that cannot be reached is reported with the reason
    (refused, no such database, password) rather than as a pool that never filled."""
    try:
        psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT)).close()
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise StorageUnavailable(
            f"cannot connect to PostgreSQL at {_safe_url(url)}: {reason}"
        ) from None


def _safe_url(url: str) -> str:
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    parts.pop("password", None)
    return make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})


class PgDatabase(Database):
    """A pool of PostgreSQL connections, each used from one worker thread at a time."""

    dialect = POSTGRESQL

    def __init__(self, url: str, pool: ConnectionPool[psycopg.Connection[Any]]) -> None:
        self.url = url
        self.pool = pool
        # Connections are handed out here, in the event loop: a coroutine waits for one
        # without holding a thread. (Waiting in the pool's getconn would hold a thread
        # each, and under a burst every thread could be waiting while the transaction
        # that would free a connection has no thread left to commit on.)
        self._slots = asyncio.Semaphore(POOL_SIZE)
        # One writer of this process at a time waits for the database-wide write lock; the
        # others wait here, holding neither a connection nor a thread.
        self._writer = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=POOL_SIZE + 2, thread_name_prefix="pg")

    @property
    def location(self) -> str:
        return _safe_url(self.url)

    @classmethod
    async def open(cls, url: str) -> PgDatabase:  # type: ignore[override]
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "row_factory": _rows},
            timeout=CONNECT_TIMEOUT,
            # A connection is checked as it leaves the pool: after a server restart (or a
            # connection ended by an operator) the bot reconnects instead of failing once
            # per pooled connection.
            check=ConnectionPool.check_connection,
            open=False,
            name="bot",
        )
        db = cls(url, pool)
        try:
            await db.call(_reach, url)
            with _unavailable_on_transient():
                await db.call(pool.open, wait=True, timeout=CONNECT_TIMEOUT)
            await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(…)` on the database threads."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The call goes on in its thread: its connection must not go back to the pool
            # (and to another task) before it ends.
            while not future.done():
                try:
                    await asyncio.wait([future])
                except asyncio.CancelledError:
                    continue
            raise

    async def close(self) -> None:
        await self.call(self.pool.close)
        self._executor.shutdown(wait=False)

    async def migrate(self) -> int:
        """Apply the migrations of storage/migrations_pg not yet in schema_migrations, under
        a lock, so that processes starting together apply each once."""
        with _unavailable_on_transient():
            return await self.call(self._migrate)

    def _migrate(self) -> int:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    INTEGER PRIMARY KEY,
                    name       TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0]) if row else 0
            for number, name, sql in migrations("storage.migrations_pg"):
                if number <= current:
                    continue
                log.info("applying migration %s", name)
                for statement in statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (number, name),
                )
                current = number
            return current

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.Connection[Any]]:
        try:
            async with asyncio.timeout(SLOT_TIMEOUT):
                await self._slots.acquire()
        except TimeoutError:
            # Busier than the database keeps up with: the update waits at Telegram (503)
            # or in the inbox, rather than here without end.
            raise StorageUnavailable(
                f"no database connection free for {SLOT_TIMEOUT:.0f} s"
            ) from None
        try:
            with _unavailable_on_transient():
                conn = await self.call(self.pool.getconn)
            try:
                yield conn
            finally:
                await self.call(self.pool.putconn, conn)
        finally:
            self._slots.release()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[psycopg.Connection[Any]]:
        async with self._writer, self._connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._writing() as conn:
            with _unavailable_on_transient():
                await self.call(_begin, conn)
                try:
                    yield _AsyncConnection(self, conn)
                except BaseException:
                    if not conn.closed:
                        await self.call(_end, conn, False)
                    raise
                await self.call(_end, conn, True)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        async with self._connection() as conn:
            with _unavailable_on_transient():
                yield _AsyncConnection(self, conn)

    async def write(self, sql: str, params: Params = ()) -> int:
        return await self.run_sync(_rowcount, sql, params)

    async def run_sync(
        self, fn: Callable[Concatenate[SyncConnection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        def in_transaction(conn: psycopg.Connection[Any]) -> T:
            _begin(conn)
            try:
                result = fn(_SyncConnection(conn), *args, **kwargs)
            except BaseException:
                if not conn.closed:
                    _end(conn, False)
                raise
            _end(conn, True)
            return result

        async with self._writing() as conn:
            with _unavailable_on_transient():
                return await self.call(in_transaction, conn)

    async def ping(self) -> bool:
        try:
            async with self.reading() as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, StorageUnavailable):
            return False
        return True

    def _connect_alone(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool, for a lock held a long time."""
        return psycopg.connect(
            self.url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT), **_KEEPALIVE
        )

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        key = lock_key(name)
        with _unavailable_on_transient():
            conn = await self.call(self._connect_alone)
        try:
            while True:
                with _unavailable_on_transient():
                    row = await self.call(
                        lambda: conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                    )
                if row is not None and row[0]:
                    break
                await asyncio.sleep(LOCK_RETRY_SECONDS)
            yield
        finally:
            # Closing the session ends its advisory locks too; unlock first all the same,
            # so the next waiter need not wait for the server to notice.
            with suppress(psycopg.Error):
                await self.call(conn.execute, "SELECT pg_advisory_unlock(%s)", (key,))
            await self.call(conn.close)

    async def try_lease(self, name: str) -> Lease | None:
        key = lock_key(name)
        with _unavailable_on_transient():
            conn = await self.call(self._connect_alone)
            try:
                row = await self.call(
                    lambda: conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                )
            except BaseException:
                await self.call(conn.close)
                raise
        if row is None or not row[0]:
            await self.call(conn.close)
            return None
        return _PgLease(conn, key)


class _PgLease(Lease):
    """A session-level advisory lock on a connection of its own: the server lets it go
    when the connection ends, however the holding process ends."""

    def __init__(self, conn: psycopg.Connection[Any], key: int) -> None:
        self._conn = conn
        self._key = key

    async def alive(self) -> bool:
        if self._conn.closed:
            return False
        loop = asyncio.get_running_loop()
        # Not Database.call: a check that hangs is abandoned (and its connection closed),
        # not waited for.
        check = loop.run_in_executor(None, self._conn.execute, "SELECT 1")
        try:
            await asyncio.wait_for(check, LEASE_CHECK_TIMEOUT)
        except (psycopg.Error, TimeoutError):
            self._conn.close()
            return False
        return True

    async def release(self) -> None:
        if self._conn.closed:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None, self._conn.execute, "SELECT pg_advisory_unlock(%s)", (self._key,)
            )
        except psycopg.Error:
            pass
        finally:
            self._conn.close()
