"""`python -m bot import PATH`: a channel's history from a Telegram Desktop export."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.services.export_import import (
    ExportError,
    ImportSummary,
    import_export,
    parse_username,
    parse_zone,
)
from storage import Storage, StorageUnavailable

DESCRIPTION = """\
Store the posts of a channel from its Telegram Desktop export: open the channel in
Telegram Desktop, ⋮ → Export chat history, choose the JSON format (media are not
needed). Running it again changes nothing but posts edited since; it is safe while the
bot runs."""


def _channel_id(value: str) -> int:
    if not (value.startswith("-100") and value[4:].isdigit()):
        raise argparse.ArgumentTypeError(
            f"expected a channel id like -1001234567890, got {value!r}"
        )
    return int(value)


def _username(value: str) -> str:
    try:
        return parse_username(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _zone(value: str) -> ZoneInfo:
    try:
        return parse_zone(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "import",
        help="import a channel's history from a Telegram Desktop export (result.json)",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "path", type=Path, metavar="PATH", help="result.json, or the export folder holding it"
    )
    parser.add_argument(
        "--channel-id",
        type=_channel_id,
        help="the channel's id (-100…), if the export does not give it",
    )
    parser.add_argument(
        "--username",
        type=_username,
        help="the channel's @username, for t.me links (an export does not give it)",
    )
    parser.add_argument(
        "--timezone",
        type=_zone,
        metavar="ZONE",
        help=(
            "the time zone of the computer that made the export (an IANA name like "
            "Europe/Moscow); only older exports, which carry local times alone, need "
            "it; default: TIMEZONE"
        ),
    )
    parser.set_defaults(handler=run)


class ProgressBar:
    """A one-line bar on a terminal, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._drawn = 0.0

    def __call__(self, done: int, total: int, messages: int) -> None:
        now = time.monotonic()
        if now - self._drawn < 0.1 and done < total:
            return
        self._drawn = now
        share = done / total if total else 1.0
        filled = round(share * self.WIDTH)
        rate = messages / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r{share:4.0%} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"{messages:,} messages, {rate:,.0f}/s "
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def format_summary(summary: ImportSummary, path: Path, seconds: float) -> str:
    channel = summary.channel
    name = "the channel" if channel is None else f'"{channel.title}" ({channel.id})'
    lines = [
        f"Imported {name} from {path}: {summary.messages:,} messages in {seconds:.1f} s",
        f"  new      {summary.created:>9,}{_joined(summary.joined)}",
        f"  updated  {summary.updated:>9,}",
        f"  skipped  {summary.skipped_total:>9,}",
    ]
    reasons = [("already stored, unchanged", summary.unchanged), *summary.skipped.most_common()]
    width = max((len(reason) for reason, _ in reasons), default=0)
    lines += [f"    {reason:<{width}}  {count:>9,}" for reason, count in reasons if count]
    return "\n".join(lines)


def _joined(count: int) -> str:
    """Album items are counted as messages, but stored in their album's post."""
    if not count:
        return ""
    return f"  ({count:,} of them album items, in the post of their album)"


def _export_file(path: Path) -> Path:
    return path / "result.json" if path.is_dir() else path


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = _export_file(args.path)
    if not path.is_file():
        missing = "no result.json in" if args.path.is_dir() else "no such file:"
        print(f"import: {missing} {args.path}", file=sys.stderr)
        return 2
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    started = time.monotonic()
    summary = ImportSummary()

    async def main() -> ImportSummary:
        storage = await Storage.open(settings.database)
        try:
            return await import_export(
                storage,
                path,
                channel_id=args.channel_id,
                username=args.username,
                zone=args.timezone or settings.timezone,
                progress=bar,
                summary=summary,
            )
        finally:
            await storage.close()

    try:
        asyncio.run(main())
    except ExportError as error:
        _stop(bar)
        print(f"import: {path}: {error}{_kept(summary)}", file=sys.stderr)
        return 2
    except OSError as error:
        _stop(bar)
        print(f"import: cannot read {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    except StorageUnavailable as error:
        _stop(bar)
        print(
            f"import: the database cannot take writes now ({error}); run the import "
            f"again{_kept(summary)}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        _stop(bar)
        print(f"import: interrupted{_kept(summary)}; run it again to finish", file=sys.stderr)
        return 130
    _stop(bar)
    print(format_summary(summary, path, time.monotonic() - started))
    return 0


def _stop(bar: ProgressBar | None) -> None:
    if bar is not None:
        bar.close()


def _kept(summary: ImportSummary) -> str:
    stored = summary.created + summary.updated
    return f" ({stored:,} posts stored before that are kept)" if stored else ""
