"""The current moment, injectable so that tests never wait for real time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Until the event is set or `seconds` pass; whether it is set.

    Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that comes as the
    event is set, and a worker cancelled at shutdown then runs on for ever.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
