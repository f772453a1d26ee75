"""What every database engine offers the repositories: SQLite (storage/db.py) by default,
PostgreSQL (storage/pg.py) for several processes sharing one database.

Repositories write one SQL text for both engines, with `?` or `:name` placeholders, and
use `db.dialect` for the few phrases that differ. Flags are INTEGER columns on both, so
`deleted = 0` reads the same everywhere, and Python booleans are passed as 0 and 1.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import psycopg

P = ParamSpec("P")
T = TypeVar("T")

Params = Sequence[Any] | Mapping[str, Any]


class StorageUnavailable(Exception):
    """The database cannot take a write right now (locked, read-only, disk full, the
    server gone or restarting).

    The update that caused the write must not be confirmed to Telegram: it is retried.
    """


class Row(Protocol):
    """A result row, read by column name or position."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Connection(Protocol):
    """A connection inside Database.reading() or Database.transaction()."""

    def execute(self, sql: str, params: Params = ..., /) -> Awaitable[Cursor]: ...

    def executemany(self, sql: str, params: Iterable[Params], /) -> Awaitable[Cursor]: ...


class SyncCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SyncConnection(Protocol):
    """The connection a function run by Database.run_sync() gets: sqlite3's own, or
    PostgreSQL's behind the same calls."""

    def execute(self, sql: str, parameters: Any = (), /) -> SyncCursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> SyncCursor: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """The phrases that differ between the engines."""

    name: str
    #: Comma-joined values of a column over a group.
    list_agg: str
    #: The larger of two values (SQLite's two-argument max(); PostgreSQL's greatest()).
    larger: str

    def joined(self, column: str) -> str:
        return self.list_agg.format(column)

    def max2(self, a: str, b: str) -> str:
        return self.larger.format(a, b)


SQLITE = Dialect("sqlite", list_agg="group_concat({0})", larger="max({0}, {1})")
POSTGRESQL = Dialect("postgresql", list_agg="string_agg({0}, ',')", larger="greatest({0}, {1})")


class Database(ABC):
    """One open database: the only way repositories reach it."""

    dialect: Dialect

    @staticmethod
    async def open(url: Path | str) -> Database:
        """`postgresql://…` opens PostgreSQL; anything else is a SQLite file (a path, or
        `sqlite:///path`)."""
        text = str(url)
        if text.startswith(("postgresql://", "postgres://")):
            from storage.pg import PgDatabase

            return await PgDatabase.open(text)
        from storage.db import SqliteDatabase

        return await SqliteDatabase.open(Path(text.removeprefix("sqlite:///")))

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def migrate(self) -> int:
        """Apply pending migrations; return the schema's version (the last number)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One transaction, serialised with every other writer (of every process), rolled
        back on any error. Errors that mean "cannot write now" become StorageUnavailable."""

    @abstractmethod
    def reading(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads, outside any other coroutine's transaction."""

    @abstractmethod
    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement as its own transaction; returns the rowcount."""

    @abstractmethod
    async def run_sync(
        self, fn: Callable[Concatenate[SyncConnection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(connection, …)` as one transaction, off the event loop: a multi-statement
        write for the price of one round trip to the database's thread."""

    @abstractmethod
    async def ping(self) -> bool: ...

    @abstractmethod
    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Wait until no other holder of `name` (in any process sharing the database) is
        inside, then hold it: for work two processes must not do at once."""

    @abstractmethod
    async def try_lease(self, name: str) -> Lease | None:
        """Hold `name` for as long as this process keeps the returned lease, if no other
        process holds it now (None: another does)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the data is, for logs: a path, or a URL without its password."""


class Lease(ABC):
    """A named role one process holds at a time (see Database.try_lease)."""

    @abstractmethod
    async def alive(self) -> bool:
        """Still held. False once the hold is lost (the database connection broke): the
        role may pass to another process, and its holder must stop acting on it."""

    @abstractmethod
    async def release(self) -> None: ...


#: What a failed database call may raise, for callers that answer "try later" to any.
STORAGE_ERRORS = (sqlite3.Error, psycopg.Error, StorageUnavailable)
