"""`python -m bot`: run the bot, or one of the operator's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from pydantic import ValidationError

from bot.cli import backup, importer, migrate_db, preview, rates, run, stats
from bot.config import Settings, describe_errors
from bot.logging_setup import configure_logging, secrets_of
from storage import StorageUnavailable

#: Sub-command modules, in the order `--help` lists them.
COMMANDS = [run, importer, preview, stats, backup, migrate_db, rates]


def load_settings() -> Settings:
    try:
        return Settings()  # values come from the environment and .env
    except ValidationError as error:
        print(describe_errors(error), file=sys.stderr)
        raise SystemExit(2) from None


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    # One line per event on stderr, secrets redacted; routine aiogram noise only at DEBUG.
    configure_logging(level, secrets=secrets)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m bot",
        description="Telegram news bot: stores channel posts and serves them to readers.",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    root.set_defaults(handler=run.run)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = load_settings()
    setup_logging(settings.log_level, secrets_of(settings))
    try:
        code = args.handler(args, settings)
    except StorageUnavailable as error:
        # An operator's command on a database it cannot reach: the reason, in one line.
        print(f"{args.command or 'run'}: the database cannot be used: {error}", file=sys.stderr)
        code = 1
    raise SystemExit(code)


if __name__ == "__main__":
    main()
