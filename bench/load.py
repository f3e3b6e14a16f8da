"""Load: the same call made many times by a fixed number of concurrent clients, each timed."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Generic, TypeVar

from bench.stats import in_ms

T = TypeVar("T")


@dataclass
class Timed(Generic[T]):
    results: list[T] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, of the calls that succeeded
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time from the first call to the last answer

    def summary(self) -> dict[str, Any]:
        return {
            "count": len(self.results),
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "seconds": round(self.seconds, 2),
            "throughput_per_s": round(len(self.results) / self.seconds, 1),
            "latency_ms": in_ms(self.latencies),
        }


async def concurrently(
    count: int,
    clients: int,
    call: Callable[[int], Awaitable[T]],
    *,
    stop_after: float | None = None,
) -> Timed[T]:
    """Makes `call(0)` ... `call(count - 1)` from `clients` concurrent clients, each waiting for
    its answer before its next call; no new call after `stop_after` seconds, if given."""
    timed: Timed[T] = Timed()
    numbers = iter(range(count))  # shared: each number is taken by exactly one client
    began = perf_counter()

    async def client() -> None:
        for number in numbers:
            if stop_after is not None and perf_counter() - began > stop_after:
                return
            sent = perf_counter()
            try:
                result = await call(number)
            except Exception as exc:  # counted and reported, the run goes on
                timed.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            timed.latencies.append(perf_counter() - sent)
            timed.results.append(result)

    await asyncio.gather(*(client() for _ in range(clients)))
    timed.seconds = perf_counter() - began
    return timed


async def paced(
    count: int, per_second: float, call: Callable[[int], Awaitable[T]], *, in_flight: int = 32
) -> Timed[T]:
    """Makes `call(0)` ... `call(count - 1)` at a steady `per_second`, not waiting for answers
    (at most `in_flight` at a time), so the work they start arrives at a rate it can be done."""
    timed: Timed[T] = Timed()
    room = asyncio.Semaphore(in_flight)
    began = perf_counter()

    async def one(number: int) -> None:
        async with room:
            sent = perf_counter()
            try:
                result = await call(number)
            except Exception as exc:  # counted and reported, the run goes on
                timed.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            timed.latencies.append(perf_counter() - sent)
            timed.results.append(result)

    calls = []
    for number in range(count):
        await asyncio.sleep(max(0.0, began + number / per_second - perf_counter()))
        calls.append(asyncio.create_task(one(number)))
    await asyncio.gather(*calls)
    timed.seconds = perf_counter() - began
    return timed
