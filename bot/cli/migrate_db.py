"""`python -m bot migrate-db --to postgresql://…`: copy the SQLite database into PostgreSQL.

The source is DATABASE_URL's SQLite file, read-only, in one read transaction: a snapshot
of one committed state, whatever a running bot writes meanwhile. The target's tables are
made by PgDatabase.open (storage/migrations_pg), then filled in one transaction: every
table of the SQLite schema but its full-text index (FTS5 and its shadow tables) and its
internals, found in sqlite_master and copied parents first (foreign keys), columns by
name, each through COPY into a temporary table and `INSERT … ON CONFLICT DO NOTHING`
from there, so that rows already in PostgreSQL are left alone and a second run adds
nothing. Rows PostgreSQL's own migrations seeded (a counter's first row) are the one
exception: where SQLite's row with that key differs, it takes SQLite's values. Then
PostgreSQL's index (posts_fts) is built for the live posts, the id counters are moved
past the copied ids, and both sides are compared: row counts, and every SQLite row found
as it is in PostgreSQL. Only when all match is it committed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bot.config import Settings
from storage.db import SqliteDatabase, migrations, statements
from storage.engine import StorageUnavailable
from storage.pg import WRITE_LOCK, PgDatabase
from storage.search_text import fts_tokens, index_body

NAME = "migrate-db"

#: Rows read from SQLite and index rows written to PostgreSQL at a time.
BATCH = 1000
CONNECT_TIMEOUT = 10

#: PostgreSQL's full-text table: built from the posts, not copied (SQLite's is FTS5).
INDEX_TABLE = "posts_fts"

DESCRIPTION = """\
Copy every table of the SQLite database (DATABASE_URL) into the PostgreSQL database of
--to: its tables are created first, then the rows are copied in one transaction, the
search index is built and the id counters are moved past the copied ids. At the end the
row counts of both are printed, each table's; and unless every SQLite row is found in
PostgreSQL as it is, with no other rows there, nothing is written and the exit code is 1.

The SQLite file is only read, as one snapshot, so migrate-db can run while the bot runs
on SQLite (to rehearse, into a scratch database; what the bot stores after the snapshot
is not copied). Rows already in PostgreSQL are left alone: a second run copies nothing
new and changes nothing. A SQLite file of an older version is first brought up to date,
as the bot does when it starts.

The cut-over: stop the bot; run migrate-db --to postgresql://user@host:port/db (into an
empty database); start the bot with DATABASE_URL=postgresql://user@host:port/db."""


class Failure(Exception):
    """Why the migration stopped, in one line for the operator; nothing was written."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    #: Tables its foreign keys point to.
    parents: tuple[str, ...]
    #: The primary key's columns.
    key: tuple[str, ...] = ()


@dataclass(slots=True)
class Count:
    table: str
    #: Rows in the SQLite snapshot (for the index: live posts with text).
    source: int
    #: Rows in PostgreSQL after the copy.
    target: int = 0
    #: Rows this run added.
    added: int = 0
    #: SQLite rows not found as they are in PostgreSQL (a row with the same key differs).
    differing: int = 0

    @property
    def equal(self) -> bool:
        return self.source == self.target and self.differing == 0


@dataclass(slots=True)
class Report:
    location: str
    counts: list[Count] = field(default_factory=list)
    #: table -> NUL characters taken out of its text (PostgreSQL's text cannot hold them).
    nuls: dict[str, int] = field(default_factory=dict)
    committed: bool = False
    seconds: float = 0.0

    @property
    def differing(self) -> list[Count]:
        return [count for count in self.counts if not count.equal]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        NAME,
        help="copy the SQLite database into PostgreSQL (to switch the bot to it)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the PostgreSQL database to fill: postgresql://user[:password]@host:port/db",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = str(args.to).strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if not url.startswith("postgresql://") or len(url) <= len("postgresql://"):
        # Not echoed whole: it may hold a password.
        scheme = url.partition(":")[0]
        return _refuse(
            f"--to must be a PostgreSQL URL (postgresql://user@host:port/db), not {scheme}:…"
        )
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        return _refuse(f"--to is not a valid PostgreSQL URL: {_one_line(error)}")
    if settings.uses_postgres:
        return _refuse(
            "DATABASE_URL is PostgreSQL's already; migrate-db copies from the SQLite "
            "database DATABASE_URL names (sqlite:///path/to/bot.db)"
        )
    source = settings.database_path
    if not source.is_file():
        return _refuse(f"no SQLite database at {source} (DATABASE_URL)")

    try:
        report = migrate(source, url)
    except Failure as failure:
        print(f"{NAME}: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        print(f"{NAME}: interrupted; nothing was written", file=sys.stderr)
        return 1

    print(format_counts(report.counts))
    for table, nuls in report.nuls.items():
        print(
            f"{NAME}: {nuls} NUL character(s) removed from the text of {table} "
            "(PostgreSQL's text cannot hold them)",
            file=sys.stderr,
        )
    if not report.committed:
        print(f"{NAME}: {describe_differences(report.differing)}", file=sys.stderr)
        return 1
    added = sum(count.added for count in report.counts if count.table != INDEX_TABLE)
    print(
        f"{source} copied to PostgreSQL ({report.location}): {added} new rows, "
        f"{report.seconds:.1f} s. Start the bot with DATABASE_URL set to that database."
    )
    return 0


def _refuse(message: str) -> int:
    print(f"{NAME}: {message}", file=sys.stderr)
    return 2


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def format_counts(counts: Sequence[Count]) -> str:
    """One line per table: its rows in SQLite → in PostgreSQL, and what this run added."""
    header = ("table", "SQLite", "PostgreSQL")
    width = max([len(header[0]), *(len(count.table) for count in counts)])
    digits = max([len(header[1]), *(len(str(count.source)) for count in counts)])
    lines = [f"{header[0]:<{width}}  {header[1]:>{digits}} → {header[2]}"]
    for count in counts:
        notes = []
        if count.added:
            notes.append(f"{count.added} added")
        if count.differing:
            notes.append(f"{count.differing} differ")
        if not count.equal:
            notes.append("MISMATCH")
        tail = f"  ({', '.join(notes)})" if notes else ""
        lines.append(f"{count.table:<{width}}  {count.source:>{digits}} → {count.target}{tail}")
    return "\n".join(lines)


def describe_differences(differing: Sequence[Count]) -> str:
    parts = []
    for count in differing:
        what = []
        if count.source != count.target:
            what.append(f"{_rows(count.source)} in SQLite, {count.target} in PostgreSQL")
        if count.differing:
            what.append(
                f"{_rows(count.differing)} " + ("differs" if count.differing == 1 else "differ")
            )
        parts.append(f"{count.table} ({'; '.join(what)})")
    return (
        f"PostgreSQL does not match SQLite in {', '.join(parts)}: the PostgreSQL database "
        "held other data (migrate into an empty database); nothing was written"
    )


# -- the source -------------------------------------------------------------------------


def open_readonly(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5)


def bring_up_to_date(path: Path) -> None:
    """The SQLite schema is the one this version knows: an older file is migrated first,
    as the bot does when it starts (the migrations only add tables and columns, so a bot
    still running on it is not disturbed); a newer one is refused."""
    latest = max(number for number, _, _ in migrations())
    try:
        with contextlib.closing(open_readonly(path)) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as error:
        raise Failure(f"cannot read {path} as a SQLite database: {error}", 2) from None
    if version == 0:
        raise Failure(f"{path} is not the bot's database (no migration applied)", 2)
    if version > latest:
        raise Failure(
            f"{path} is at migration {version}, newer than this version of the bot "
            f"knows ({latest}); run the migrate-db of the version that wrote it",
            2,
        )
    if version == latest:
        return
    print(
        f"{NAME}: {path} is at migration {version}; applying migrations up to {latest} "
        "first, as the bot does when it starts",
        file=sys.stderr,
    )

    async def migrate_sqlite() -> None:
        db = await SqliteDatabase.open(path)
        await db.close()

    try:
        asyncio.run(migrate_sqlite())
    except (sqlite3.Error, StorageUnavailable, OSError) as error:
        raise Failure(
            f"cannot bring {path} to migration {latest} ({_one_line(error)}); start the "
            "bot once (it migrates its database) and run migrate-db again"
        ) from None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_tables(conn: sqlite3.Connection) -> list[Table]:
    """The tables to copy, parents before the tables whose foreign keys point to them,
    otherwise in the order the migrations created them."""
    kinds = {str(row[1]): str(row[2]) for row in conn.execute("PRAGMA main.table_list")}
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
        )
    ]
    tables: dict[str, Table] = {}
    for name in names:
        # Virtual tables (FTS5) and their shadow tables are SQLite's own index.
        if kinds.get(name) != "table" or name.startswith("sqlite_"):
            continue
        info = conn.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
        columns = tuple(str(row[1]) for row in info)
        key = tuple(str(row[1]) for row in sorted(info, key=lambda row: int(row[5])) if row[5])
        parents = tuple(
            dict.fromkeys(
                str(row[2]) for row in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})")
            )
        )
        tables[name] = Table(name, columns, parents, key)
    return parents_first(tables)


def parents_first(tables: dict[str, Table]) -> list[Table]:
    ordered: list[Table] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " → ".join([*visiting[visiting.index(name) :], name])
            raise Failure(f"the SQLite tables' foreign keys form a cycle: {cycle}")
        visiting.append(name)
        for parent in tables[name].parents:
            if parent in tables and parent != name:
                visit(parent)
        visiting.pop()
        done.add(name)
        ordered.append(tables[name])

    for name in tables:
        visit(name)
    return ordered


def _without_nuls(rows: list[Any], nuls: list[int]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        if any(isinstance(value, str) and "\x00" in value for value in row):
            cleaned = []
            for value in row:
                if isinstance(value, str) and "\x00" in value:
                    nuls[0] += value.count("\x00")
                    value = value.replace("\x00", "")
                cleaned.append(value)
            yield tuple(cleaned)
        else:
            yield tuple(row)


# -- the target ---------------------------------------------------------------------------

Pg = psycopg.Connection[Any]


def target_columns(dst: Pg) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in dst.execute(
        """
        SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = current_schema()
        """
    ):
        found.setdefault(str(table), set()).add(str(column))
    return found


def check_columns(tables: Sequence[Table], pg_columns: dict[str, set[str]]) -> None:
    """Every SQLite column has its PostgreSQL counterpart (storage/migrations_pg mirrors
    storage/migrations); a copy that dropped one would lose data."""
    problems = []
    for table in tables:
        if table.name not in pg_columns:
            problems.append(f"table {table.name}")
            continue
        missing = [c for c in table.columns if c not in pg_columns[table.name]]
        problems.extend(f"{table.name}.{column}" for column in missing)
    if problems:
        raise Failure(
            f"PostgreSQL's schema has no {', '.join(problems)} of SQLite's "
            "(storage/migrations_pg is behind storage/migrations); nothing was written"
        )


def _stage_name(table: Table) -> str:
    return f"migrate_{table.name}"


def _stage(table: Table) -> sql.Identifier:
    return sql.Identifier(_stage_name(table))


def _columns(table: Table, cast: str = "") -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{}{}").format(sql.Identifier(column), sql.SQL(cast)) for column in table.columns
    )


Seeds = dict[str, list[tuple[str | None, ...]]]


def migration_seeds(dst: Pg, tables: Sequence[Table]) -> Seeds:
    """The rows PostgreSQL's migrations put in the tables themselves (a counter's first
    row), as text: the migrations run in a scratch schema, rolled back."""
    seeds: Seeds = {}
    dst.execute("SAVEPOINT migrate_seeds")
    try:
        dst.execute("CREATE SCHEMA migrate_seeds")
        dst.execute("SET LOCAL search_path TO migrate_seeds")
        for _, _, script in migrations("storage.migrations_pg"):
            for statement in statements(script):
                dst.execute(statement)
        created = {
            str(row[0])
            for row in dst.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'migrate_seeds'"
            )
        }
        for table in tables:
            if table.name not in created:
                continue
            rows = dst.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    _columns(table, "::text"), sql.Identifier("migrate_seeds", table.name)
                )
            ).fetchall()
            if rows:
                seeds[table.name] = [tuple(row) for row in rows]
    finally:
        dst.execute("ROLLBACK TO SAVEPOINT migrate_seeds")
        dst.execute("RELEASE SAVEPOINT migrate_seeds")
    return seeds


def replace_seeds(dst: Pg, table: Table, seeds: Sequence[tuple[str | None, ...]]) -> int:
    """SQLite's rows in place of the rows PostgreSQL's migrations seeded with their key,
    where those are still as seeded and SQLite's differ (the copy would keep them
    otherwise); how many."""
    others = [column for column in table.columns if column not in table.key]
    if not table.key or not others:
        return 0
    target, stage = sql.Identifier(table.name), _stage(table)
    query = sql.SQL(
        "UPDATE {target} SET {assign} FROM {stage} WHERE {same_key}"
        " AND ROW({as_text}) IS NOT DISTINCT FROM ROW({values})"
        " AND ROW({current}) IS DISTINCT FROM ROW({copied})"
    ).format(
        target=target,
        stage=stage,
        assign=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier(_stage_name(table), c))
            for c in others
        ),
        same_key=sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(
                sql.Identifier(table.name, c), sql.Identifier(_stage_name(table), c)
            )
            for c in table.key
        ),
        as_text=sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(table.name, c)) for c in table.columns
        ),
        values=sql.SQL(", ").join(sql.Placeholder() * len(table.columns)),
        current=sql.SQL(", ").join(sql.Identifier(table.name, c) for c in others),
        copied=sql.SQL(", ").join(sql.Identifier(_stage_name(table), c) for c in others),
    )
    return sum(dst.execute(query, seed).rowcount for seed in seeds)


def copy_table(
    src: sqlite3.Connection, dst: Pg, table: Table, seeds: Sequence[tuple[str | None, ...]] = ()
) -> tuple[int, int]:
    """Copy a table's rows not yet in PostgreSQL; (rows added, NUL characters removed).

    The rows go through COPY into a temporary table (kept to the commit, for compare())
    and from there into the table, rows whose key is taken left out, unless the row
    there is one PostgreSQL's migrations seeded (`seeds`): that one takes SQLite's values."""
    stage, target, columns = _stage(table), sql.Identifier(table.name), _columns(table)
    dst.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
        ).format(stage, columns, target)
    )
    names = ", ".join(_quote(column) for column in table.columns)
    rows = src.execute(f"SELECT {names} FROM {_quote(table.name)}")
    nuls = [0]
    with (
        dst.cursor() as cursor,
        cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, columns)) as copy,
    ):
        while batch := rows.fetchmany(BATCH):
            for row in _without_nuls(batch, nuls):
                copy.write_row(row)
    added = replace_seeds(dst, table, seeds) if seeds else 0
    added += dst.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            target, columns, columns, stage
        )
    ).rowcount
    return added, nuls[0]


def _array(terms: list[str]) -> str:
    """A text[] literal: every element quoted (a term may be the word "null")."""
    quoted = (term.replace("\\", "\\\\").replace('"', '\\"') for term in terms)
    return "{" + ",".join(f'"{term}"' for term in quoted) + "}"


def build_index(src: sqlite3.Connection, dst: Pg) -> Count:
    """PostgreSQL's index of every live post with text, as storage.search_index.PgIndex
    keeps it (a post whose text has no words, only emoji, has a row without terms, as in
    FTS5); posts already indexed are left alone. The rows go through COPY, as the tables' do."""
    indexed = {int(row[0]) for row in dst.execute(f"SELECT post_id FROM {INDEX_TABLE}")}
    count = Count(INDEX_TABLE, source=0)
    dst.execute(
        "CREATE TEMPORARY TABLE migrate_index (post_id BIGINT, terms TEXT, length INTEGER)"
        " ON COMMIT DROP"
    )
    posts = src.execute("SELECT id, text FROM posts WHERE deleted = 0 AND text <> '' ORDER BY id")
    with (
        dst.cursor() as cursor,
        cursor.copy("COPY migrate_index (post_id, terms, length) FROM STDIN") as copy,
    ):
        while batch := posts.fetchmany(BATCH):
            for post_id, text in batch:
                if post_id in indexed:
                    count.source += 1
                    continue
                terms = fts_tokens(index_body(str(text).replace("\x00", "")))
                count.source += 1
                copy.write_row((post_id, _array(terms), len(terms)))
    count.added = dst.execute(
        f"INSERT INTO {INDEX_TABLE} (post_id, terms, length)"
        " SELECT post_id, terms::text[], length FROM migrate_index"
        " ON CONFLICT (post_id) DO NOTHING"
    ).rowcount
    return count


def _scalar(dst: Pg, query: str | sql.SQL | sql.Composed, params: Sequence[Any] = ()) -> Any:
    row = dst.execute(query, params).fetchone()
    return None if row is None else row[0]


def compare(dst: Pg, table: Table, count: Count) -> None:
    """PostgreSQL's row count, and how many SQLite rows are not in it as they are: a row
    left out because PostgreSQL held another with its key."""
    target = sql.Identifier(table.name)
    count.target = int(_scalar(dst, sql.SQL("SELECT count(*) FROM {}").format(target)))
    as_text = _columns(table, "::text")
    count.differing = int(
        _scalar(
            dst,
            sql.SQL(
                "SELECT count(*) FROM (SELECT {} FROM {} EXCEPT ALL SELECT {} FROM {}) AS missing"
            ).format(as_text, _stage(table), as_text, target),
        )
    )


def advance_sequences(dst: Pg, tables: Sequence[Table]) -> None:
    """Identity columns (posts.id, searches.id, topics.id) continue after the largest
    copied id, never below where they stand."""
    rows = dst.execute(
        """
        SELECT table_name, column_name,
               pg_get_serial_sequence(quote_ident(table_name), column_name)
          FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ANY(%s)
        """,
        ([table.name for table in tables],),
    ).fetchall()
    for table, column, sequence in rows:
        if sequence is None:
            continue
        largest = _scalar(
            dst,
            sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.Identifier(table)),
        )
        current = _scalar(dst, "SELECT pg_sequence_last_value(%s::regclass)", (sequence,))
        value = max(int(largest or 0), int(current or 0))
        if value > 0:
            dst.execute("SELECT setval(%s::regclass, %s, true)", (sequence, value))
        else:
            dst.execute("SELECT setval(%s::regclass, 1, false)", (sequence,))


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"{NAME}: {message}", file=sys.stderr, flush=True)


def migrate(source: Path, url: str) -> Report:
    started = time.monotonic()
    bring_up_to_date(source)
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT):
            pass
    except psycopg.Error as error:
        hint = ""
        if 'database "' in str(error) and "does not exist" in str(error):
            hint = " (create it first: CREATE DATABASE, or createdb)"
        raise Failure(f"cannot connect to PostgreSQL: {_one_line(error)}{hint}") from None

    async def create_tables() -> str:
        db = await PgDatabase.open(url)
        location = db.location
        await db.close()
        return location

    try:
        report = Report(location=asyncio.run(create_tables()))
    except (psycopg.Error, StorageUnavailable) as error:
        raise Failure(f"cannot create the tables in PostgreSQL: {_one_line(error)}") from None

    try:
        # Leaving the block rolls back whatever _copy() did not commit.
        with (
            contextlib.closing(open_readonly(source)) as src,
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as dst,
        ):
            _copy(src, dst, report)
    except sqlite3.Error as error:
        raise Failure(f"cannot read {source}: {error}; nothing was written") from None
    except psycopg.Error as error:
        raise Failure(f"PostgreSQL: {_one_line(error)}; nothing was written") from None
    report.seconds = time.monotonic() - started
    return report


def _copy(src: sqlite3.Connection, dst: Pg, report: Report) -> None:
    # One read transaction: every SELECT below sees the same committed state.
    src.execute("BEGIN")
    tables = source_tables(src)
    # Writes of a bot already on PostgreSQL wait for this transaction (storage/pg.py).
    dst.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
    pg_columns = target_columns(dst)
    check_columns(tables, pg_columns)
    seeds = migration_seeds(dst, tables)
    for table in tables:
        rows = int(src.execute(f"SELECT count(*) FROM {_quote(table.name)}").fetchone()[0])
        _progress(f"copying {table.name} ({rows} rows)")
        try:
            added, nuls = copy_table(src, dst, table, seeds.get(table.name, ()))
        except pg_errors.ForeignKeyViolation as error:
            raise Failure(
                f"copying {table.name}: {_one_line(error)} (did the PostgreSQL database hold "
                "other data? migrate into an empty database); nothing was written"
            ) from None
        except psycopg.Error as error:
            raise Failure(
                f"copying {table.name}: {_one_line(error)}; nothing was written"
            ) from None
        report.counts.append(Count(table.name, source=rows, added=added))
        if nuls:
            report.nuls[table.name] = nuls
    if "posts" in pg_columns and INDEX_TABLE in pg_columns and "posts" in {t.name for t in tables}:
        _progress("building the search index")
        index = build_index(src, dst)
        index.target = int(_scalar(dst, f"SELECT count(*) FROM {INDEX_TABLE}"))
    else:
        index = None
    _progress("comparing")
    for table, count in zip(tables, report.counts, strict=True):
        compare(dst, table, count)
    if index is not None:
        report.counts.append(index)
    src.execute("COMMIT")
    if report.differing:
        dst.rollback()
        return
    advance_sequences(dst, tables)
    dst.commit()
    report.committed = True
