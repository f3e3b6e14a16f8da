"""Waiting on real servers in real time: poll with a generous limit, never sleep and assert.

On a shared two-core machine a step that takes milliseconds when idle can take seconds; the limit
is there only to fail a test that would otherwise hang.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, within: float = 60) -> T:
    """`check`'s first truthy answer; fails, saying what never happened, after `within` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > give_up:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.2)
