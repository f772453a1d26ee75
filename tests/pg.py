"""A real PostgreSQL server for the tests that run on both engines.

TEST_POSTGRES_URL names the server's maintenance database (default: this machine's, with
trust authentication). Each test gets a database of its own, copied from a template that
is migrated once per run, and dropped after it. Without a server those tests are skipped,
unless REQUIRE_POSTGRES=1 (as in CI): then an unreachable server fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRED = os.environ.get("REQUIRE_POSTGRES", "") == "1"
SKIP_REASON = f"PostgreSQL not reachable at {ADMIN_URL}: tests on PostgreSQL skipped"


def url_of(database: str) -> str:
    """The server's URL with another database name."""
    parts: dict[str, Any] = conninfo_to_dict(ADMIN_URL)
    parts["dbname"] = database
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    user = parts.get("user", "postgres")
    password = parts.get("password")
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{database}"


@functools.cache
def unreachable() -> str | None:
    """Why the server cannot be used, or None when it can (asked once per run)."""
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def need() -> None:
    """Skip the calling test (one reason, counted at the end of the run) when there is no
    server; fail it instead when REQUIRE_POSTGRES=1."""
    why = unreachable()
    if why is None:
        return
    if REQUIRED:
        pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {ADMIN_URL}: {why}")
    pytest.skip(SKIP_REASON)


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def create_database(template: str | None = None) -> str:
    """A new, empty (or template's copy) database; its name."""
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def template() -> str:
    """A database with every migration applied, copied for each test."""
    from storage.pg import PgDatabase

    name = create_database()

    async def migrate() -> None:
        db = await PgDatabase.open(url_of(name))
        await db.close()

    asyncio.run(migrate())
    return name


@contextlib.contextmanager
def migrated_database() -> Iterator[str]:
    """The URL of a new database with every migration applied, dropped afterwards."""
    name = create_database(template=template())
    try:
        yield url_of(name)
    finally:
        drop_database(name)


def drop_template() -> None:
    if template.cache_info().currsize:
        drop_database(template())
        template.cache_clear()


class Inbox:
    """Reads the bot's inbox table from outside the bot, as a test watching it does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None

    def holds(self, update_ids: tuple[int, ...]) -> bool:
        if self._conn is None:
            self._conn = psycopg.connect(self.url, autocommit=True)
        row = self._conn.execute(
            "SELECT 1 FROM inbox WHERE update_id = ANY(%s)", (list(update_ids),)
        ).fetchone()
        return row is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
