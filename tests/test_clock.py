"""Waiting for an event with a timeout, cancellable at any moment."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import wait_set


async def test_wait_set_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 10) is True


async def test_a_cancellation_that_comes_as_the_event_is_set_is_not_lost() -> None:
    # asyncio.wait_for on Python 3.11 returns normally here, and a worker cancelled at
    # shutdown would go on waiting for ever.
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_set(event, 10))
    await asyncio.sleep(0)  # the waiter is now inside event.wait()
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
