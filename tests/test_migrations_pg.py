"""PostgreSQL's migrations (storage/migrations_pg/) are kept in step with SQLite's
(storage/migrations/): the same files, and after each of them the same tables, columns
(names, order, nullability, type family) and index names.

SQLite's FTS5 table posts_fts is the one planned difference: PostgreSQL has a plain table
posts_fts (post_id, terms, length) with a GIN index in its place."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow

from tests import pg

STORAGE = Path(__file__).resolve().parent.parent / "storage"
SQLITE_DIR = STORAGE / "migrations"
PG_DIR = STORAGE / "migrations_pg"


# SQLite's FTS5 table, and PostgreSQL's plain table in its place.
FTS_TABLE = "posts_fts"
FTS_INDEX = "posts_fts_terms"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as declared (SQLite) or as information_schema names it (PostgreSQL)
    family: str  # integer, text, real, blob, numeric, or array of …
    not_null: bool


@dataclass(frozen=True)
class Schema:
    tables: dict[str, list[Column]]
    indexes: set[tuple[str, str]]  # (table, index name)
    # SQLite only: virtual tables (FTS5), which PostgreSQL replaces with plain tables.
    virtual: frozenset[str] = frozenset()


# --- the migration files ----------------------------------------------------------------


def migration_files(folder: Path) -> list[tuple[int, str]]:
    """(number, file name) of every numbered migration in `folder`, in order."""
    return sorted(
        (int(path.name[:4]), path.name)
        for path in folder.iterdir()
        if path.name.endswith(".sql") and path.name[:4].isdigit()
    )


def split_statements(script: str) -> list[str]:
    """The statements of a migration, split as storage/db.py splits them: with
    sqlite3.complete_statement, for PostgreSQL's migrations too (storage/pg.py)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    leftover = [line for line in buffer.splitlines() if line.strip()]
    assert all(line.strip().startswith("--") for line in leftover), (
        f"incomplete SQL statement at the end of a migration: {buffer.strip()[:80]}"
    )
    return statements


def test_same_migration_files() -> None:
    sqlite_files = migration_files(SQLITE_DIR)
    pg_files = migration_files(PG_DIR)
    assert sqlite_files, f"no migrations found in {SQLITE_DIR}"
    numbers = [number for number, _ in pg_files]
    assert len(numbers) == len(set(numbers)), (
        f"two PostgreSQL migrations share a number: {pg_files}"
    )
    only_sqlite = sorted(set(sqlite_files) - set(pg_files))
    only_pg = sorted(set(pg_files) - set(sqlite_files))
    assert not only_sqlite, (
        f"migrations without a PostgreSQL translation: {[name for _, name in only_sqlite]}"
    )
    assert not only_pg, (
        f"migrations only in storage/migrations_pg/: {[name for _, name in only_pg]}"
    )
    assert (PG_DIR / "__init__.py").is_file(), "storage/migrations_pg/ is not a package"


# --- reading a schema -------------------------------------------------------------------


def sqlite_family(declared: str) -> str:
    """The type affinity SQLite gives a column declared so (sqlite.org/datatype3.html)."""
    upper = declared.upper()
    if "INT" in upper:
        return "integer"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if not upper or "BLOB" in upper:
        return "blob"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


PG_FAMILIES = {
    "bigint": "integer",
    "integer": "integer",
    "smallint": "integer",
    "text": "text",
    "character varying": "text",
    "character": "text",
    "double precision": "real",
    "real": "real",
    "bytea": "blob",
    "numeric": "numeric",
}


def pg_family(data_type: str, udt_name: str) -> str:
    if data_type == "ARRAY":
        # information_schema names an array's element type by its udt_name with a "_".
        element = udt_name.removeprefix("_")
        element = {"int8": "bigint", "int4": "integer", "int2": "smallint"}.get(element, element)
        return f"array of {PG_FAMILIES.get(element, element)}"
    return PG_FAMILIES.get(data_type, data_type)


def sqlite_schema(conn: sqlite3.Connection) -> Schema:
    tables: dict[str, list[Column]] = {}
    virtual: set[str] = set()
    shadow: set[str] = set()
    # PRAGMA table_list: schema, name, type (table, view, virtual, shadow), ncol, wr, strict
    for _schema, name, kind, _ncol, without_rowid, _strict in conn.execute(
        "PRAGMA main.table_list"
    ):
        if name.startswith("sqlite_"):
            continue
        if kind == "virtual":
            virtual.add(name)
            continue
        if kind == "shadow":
            shadow.add(name)
            continue
        assert kind == "table", f"SQLite has a {kind} {name}: this test knows only tables"
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        key = [row for row in info if row[5] > 0]
        columns = []
        for _cid, column, declared, not_null, _default, pk in info:
            # PostgreSQL's key columns are always NOT NULL. SQLite's are in a WITHOUT ROWID
            # table, and an INTEGER PRIMARY KEY is the rowid, never NULL: any other key
            # column of a rowid table may hold NULL unless it is declared NOT NULL.
            rowid = len(key) == 1 and pk == 1 and declared.upper() == "INTEGER"
            never_null = bool(not_null) or rowid or (pk > 0 and bool(without_rowid))
            columns.append(Column(column, declared, sqlite_family(declared), never_null))
        tables[name] = columns
    indexes = {
        (table, name)
        for name, table in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        if table not in shadow
    }
    return Schema(tables, indexes, frozenset(virtual))


def pg_schema(conn: psycopg.Connection[TupleRow]) -> Schema:
    tables: dict[str, list[Column]] = {
        name: []
        for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    }
    for table, column, data_type, udt_name, nullable in conn.execute(
        "SELECT table_name, column_name, data_type, udt_name, is_nullable"
        " FROM information_schema.columns WHERE table_schema = 'public'"
        " ORDER BY table_name, ordinal_position"
    ):
        if table in tables:
            family = pg_family(data_type, udt_name)
            tables[table].append(Column(column, data_type, family, nullable == "NO"))
    # Indexes behind PRIMARY KEY and UNIQUE constraints are automatic (SQLite's are too,
    # and have no SQL), and posts_fts_terms indexes PostgreSQL's own full-text table.
    indexes = {
        (table, name)
        for table, name in conn.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"
        )
        if not name.endswith(("_pkey", "_key")) and name != FTS_INDEX
    }
    return Schema(tables, indexes)


# --- comparing them ---------------------------------------------------------------------


def compare_columns(table: str, lite: list[Column], pg: list[Column]) -> list[str]:
    problems: list[str] = []
    lite_names = [column.name for column in lite]
    pg_names = [column.name for column in pg]
    if lite_names != pg_names:
        for position, (lite_name, pg_name) in enumerate(
            zip(lite_names, pg_names, strict=False), start=1
        ):
            if lite_name != pg_name:
                problems.append(
                    f"table {table}, column {position}: "
                    f"SQLite has {lite_name!r}, PostgreSQL has {pg_name!r}"
                )
                break
        missing = [name for name in lite_names if name not in pg_names]
        extra = [name for name in pg_names if name not in lite_names]
        if missing:
            problems.append(f"table {table}: columns missing in PostgreSQL: {missing}")
        if extra:
            problems.append(f"table {table}: columns only in PostgreSQL: {extra}")
        if not missing and not extra and not problems:
            problems.append(f"table {table}: column order differs: {lite_names} vs {pg_names}")
    pg_by_name = {column.name: column for column in pg}
    for a in lite:
        if (b := pg_by_name.get(a.name)) is None:
            continue
        if a.family != b.family:
            problems.append(
                f"table {table}, column {a.name}: SQLite {a.type or '(no type)'} ({a.family}), "
                f"PostgreSQL {b.type} ({b.family})"
            )
        if a.not_null != b.not_null:
            problems.append(
                f"table {table}, column {a.name}: "
                f"{'NOT NULL' if a.not_null else 'nullable'} in SQLite, "
                f"{'NOT NULL' if b.not_null else 'nullable'} in PostgreSQL"
            )
    return problems


def compare_fts(pg: Schema) -> list[str]:
    """PostgreSQL's plain table in place of SQLite's FTS5 table posts_fts."""
    if FTS_TABLE not in pg.tables:
        return [f"table {FTS_TABLE} (SQLite's FTS5 table) is missing in PostgreSQL"]
    found = [(column.name, column.family, column.not_null) for column in pg.tables[FTS_TABLE]]
    expected = [
        ("post_id", "integer", True),
        ("terms", "array of text", True),
        ("length", "integer", True),
    ]
    if found != expected:
        return [
            f"table {FTS_TABLE} in PostgreSQL: (column, type, NOT NULL) {found}, "
            f"expected {expected}"
        ]
    return []


def compare(lite: Schema, pg: Schema) -> list[str]:
    problems: list[str] = []
    for name in sorted(lite.virtual):
        if name == FTS_TABLE:
            problems += compare_fts(pg)
        else:
            problems.append(f"SQLite virtual table {name} has no PostgreSQL rule in this test")
    for name in sorted(lite.tables.keys() - pg.tables.keys()):
        problems.append(f"table {name} is in SQLite but not in PostgreSQL")
    for name in sorted(pg.tables.keys() - lite.tables.keys() - lite.virtual):
        problems.append(f"table {name} is in PostgreSQL but not in SQLite")
    for name in sorted(lite.tables.keys() & pg.tables.keys()):
        problems += compare_columns(name, lite.tables[name], pg.tables[name])
    for table, index in sorted(lite.indexes - pg.indexes):
        problems.append(f"index {index} on {table} is in SQLite but not in PostgreSQL")
    for table, index in sorted(pg.indexes - lite.indexes):
        problems.append(f"index {index} on {table} is in PostgreSQL but not in SQLite")
    return problems


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> str:
    """The server's URL, or the test is skipped when no server answers there."""
    pg.need()
    return pg.ADMIN_URL


@pytest.fixture
def scratch_pg(pg_url: str) -> Iterator[str]:
    """A new empty database (its conninfo), dropped afterwards."""
    name = f"mig_{secrets.token_hex(8)}"
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_conninfo(pg_url, dbname=name, connect_timeout=3)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_pg_schema_in_step_after_every_migration(scratch_pg: str) -> None:
    files = migration_files(SQLITE_DIR)
    assert files == migration_files(PG_DIR), "see test_same_migration_files"
    with (
        contextlib.closing(sqlite3.connect(":memory:")) as lite,
        psycopg.connect(scratch_pg, autocommit=True) as pg,
    ):
        for _number, name in files:
            for statement in split_statements((SQLITE_DIR / name).read_text(encoding="utf-8")):
                lite.execute(statement)
            lite.commit()
            with pg.transaction():
                for statement in split_statements((PG_DIR / name).read_text(encoding="utf-8")):
                    pg.execute(statement)
            problems = compare(sqlite_schema(lite), pg_schema(pg))
            if problems:
                pytest.fail(
                    f"after migration {name}, SQLite's and PostgreSQL's schemas differ:\n  "
                    + "\n  ".join(problems),
                    pytrace=False,
                )
