"""Logs for an operator: one line per event, `key=value` context, no secrets.

A line reads

    2025-12-17T06:00:00.123Z INFO bot.app started bot=@news_bot id=7000000001

Time is UTC. Context goes into the message as `key=value` (the project's habit), or in
`extra={...}`, which is appended the same way. A traceback stays on the event's line with
its newlines escaped, so `journalctl` and `grep` see one event as one line.

The bot token (and the webhook secret) is replaced wherever it appears in a record: in the
message, its arguments, an exception's text, or extra fields. aiohttp puts the token in
every URL it reports, so any network error would otherwise print it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from bot.config import Settings

REDACTED = "[redacted]"
_HANDLER_NAME = "newsbot"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)

#: Loggers that are chatty at INFO about routine work: DEBUG details for an operator.
_QUIET_UNLESS_DEBUG = ("aiogram.event", "aiohttp.access")
#: Loggers that are chatty even at DEBUG: every SQL statement, with message texts.
_ALWAYS_QUIET = ("aiosqlite",)


def _escape(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _format_value(value: object) -> str:
    text = _escape(str(value))
    if not text or any(c in text for c in ' "='):
        return '"' + text.replace('"', '\\"') + '"'
    return text


class RedactSecrets(logging.Filter):
    """Replace secrets in a record before any handler formats it.

    Put on handlers, not loggers: a logger's filters do not see records that propagate
    up from its children.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        found: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            found.add(secret)
            # The part after "id:" is what makes a token secret; it also appears alone
            # when a URL's colon is percent-encoded.
            _, colon, rest = secret.partition(":")
            if colon and len(rest) >= 8:
                found.add(rest)
        # Longest first, so that the whole token is replaced before its tail.
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class LineFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER message key=value…`, always on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        parts = [
            moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            record.levelname,
            record.name,
            _escape(record.getMessage()),
        ]
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                parts.append(f"{key}={_format_value(value)}")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts.append(f"exc={_format_value(record.exc_text)}")
        if record.stack_info:
            parts.append(f"stack={_format_value(record.stack_info)}")
        return " ".join(parts)


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to stderr (or `stream`) as one redacted line; return the handler.

    Replaces the handler of an earlier call, so calling it twice does not double the lines.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LineFormatter())
    handler.addFilter(RedactSecrets(secrets))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.NOTSET if level == "DEBUG" else logging.WARNING
    for name in _QUIET_UNLESS_DEBUG:
        logging.getLogger(name).setLevel(quiet)
    for name in _ALWAYS_QUIET:
        logging.getLogger(name).setLevel(logging.INFO)
    # Warnings (e.g. aiogram's slow-webhook notice) become log lines, not stray stderr.
    logging.captureWarnings(True)
    return handler


def secrets_of(settings: Settings) -> list[str]:
    """The settings that must never reach a log: the token, the webhook secret."""
    found = [settings.bot_token.get_secret_value()]
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    return found
