"""`python -m bot backup PATH`: a consistent copy of the database, while the bot runs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from bot.clock import Clock, system_clock
from bot.config import Settings
from storage import StorageUnavailable
from storage.db import SqliteDatabase

DESCRIPTION = """\
Copy the database (DATABASE_URL) to PATH. The copy is one committed state of the
database, taken without stopping the bot. To restore: stop the bot, put the copy in
place of the database file (removing its -wal and -shm files), start the bot."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "backup",
        help="copy the database to a file, safely while the bot runs",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "path",
        type=Path,
        metavar="PATH",
        help="file to write, or a folder to write bot-YYYYMMDD-HHMMSS.db into (TIMEZONE's time)",
    )
    parser.add_argument("--force", action="store_true", help="replace PATH if it exists")
    parser.set_defaults(handler=run)


def target_path(path: Path, source: Path, now: datetime) -> Path:
    """PATH itself, or a time-stamped file in it when PATH is a folder.

    The stamp is `now`'s wall time (the caller passes TIMEZONE's, the time an operator
    reads on the server and in the README), fixed-width from year to second so that the
    names sort as the backups were taken. Only when the zone turns its clocks back does
    an hour's worth of names repeat the hour before.
    """
    if path.is_dir():
        return path / f"{source.stem}-{now:%Y%m%d-%H%M%S}{source.suffix or '.db'}"
    return path


def run(args: argparse.Namespace, settings: Settings, clock: Clock = system_clock) -> int:
    if settings.uses_postgres:
        print(
            "backup: DATABASE_URL is PostgreSQL's; back it up with pg_dump "
            "(see the README, PostgreSQL)",
            file=sys.stderr,
        )
        return 2
    source = settings.database_path
    if not source.is_file():
        print(f"backup: no database at {source} (DATABASE_URL)", file=sys.stderr)
        return 2
    target = target_path(args.path, source, clock().astimezone(settings.timezone))
    if not target.parent.is_dir():
        print(f"backup: no such folder: {target.parent}", file=sys.stderr)
        return 2
    if target.resolve() == source.resolve():
        print("backup: PATH is the database itself; choose another file", file=sys.stderr)
        return 2
    if target.exists() and not args.force:
        print(f"backup: {target} exists; pass --force to replace it", file=sys.stderr)
        return 2

    async def main() -> None:
        db = await SqliteDatabase.open(source)
        try:
            await db.backup(target)
        finally:
            await db.close()

    try:
        asyncio.run(main())
    except StorageUnavailable as error:
        print(f"backup: the database is busy ({error}); try again", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"backup: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return 2
    size = target.stat().st_size
    print(f"backup of {source} written to {target} ({size / 1_000_000:.1f} MB)")
    return 0
