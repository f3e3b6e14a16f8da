"""The bare Temporal baseline under the same load: starts, and many timers due at once."""

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.bare import BareTimer
from bench.load import Timed, concurrently
from bench.stack import PROJECT, BenchError
from bench.stats import in_ms

START_CONCURRENCY = 32
RESULT_CONCURRENCY = 64


@contextmanager
def bare_worker(address: str, task_queue: str) -> Iterator[int]:
    """`python -m bench.bare` in the background; yields its pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare", address, task_queue],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


async def until_polled(client: Client, task_queue: str) -> None:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    for _ in range(240):
        if (await client.workflow_service.describe_task_queue(request)).pollers:
            return
        await asyncio.sleep(0.25)
    raise BenchError("the bare worker never polled its task queue")


async def start_bare(
    client: Client, task_queue: str, count: int, clients: int, *, timer_seconds: float
) -> Timed[tuple[str, float]]:
    """Starts `count` baseline workflows whose timers all end `timer_seconds` from now; each
    answers its id and that deadline."""
    run = uuid.uuid4().hex[:8]
    deadline = time.time() + timer_seconds  # the same for all: their timers end together

    async def one(number: int) -> tuple[str, float]:
        handle = await client.start_workflow(
            BareTimer.run, deadline, id=f"bare-{run}-{number}", task_queue=task_queue
        )
        return handle.id, deadline

    return await concurrently(count, clients, one)


async def timers_at_once(
    client: Client, task_queue: str, count: int, timer_seconds: float, give_up_s: float
) -> dict[str, Any]:
    """The lag from each timer's deadline to the workflow scheduling, then running, its
    activity: the escalation's "recorded at" and "visible" lags, without the escalation."""
    started = await start_bare(
        client, task_queue, count, START_CONCURRENCY, timer_seconds=timer_seconds
    )
    waiting = asyncio.Semaphore(RESULT_CONCURRENCY)

    async def lag(workflow_id: str, deadline: float) -> tuple[float, float]:
        async with waiting:
            scheduled, ran = await client.get_workflow_handle(workflow_id).result()
        return scheduled - deadline, ran - deadline

    waits = [asyncio.ensure_future(lag(w, d)) for w, d in started.results]
    await asyncio.wait(waits, timeout=give_up_s)
    now = time.time()
    finished = [wait.done() and wait.exception() is None for wait in waits]
    # Those not done when the budget ran out count with the lag they had reached by then.
    lags = [
        wait.result() if done else (now - d, now - d)
        for wait, done, (_, d) in zip(waits, finished, started.results, strict=True)
    ]
    for wait in waits:
        wait.cancel()
    deadlines = [deadline for _, deadline in started.results]
    return {
        "workflows": len(started.results),
        "complete": all(finished),
        "start_errors": len(started.errors),
        "timer_seconds": timer_seconds,
        "deadline_spread_s": round(max(deadlines) - min(deadlines), 1),
        "lag_ms": in_ms([scheduled for scheduled, _ in lags], (50, 99)),
        "visible_lag_ms": in_ms([ran for _, ran in lags], (50, 99)),  # the activity ran
        "moved_per_s": round(sum(finished) / max(0.1, *(scheduled for scheduled, _ in lags)), 1),
        "ids": [workflow_id for workflow_id, _ in started.results],
    }
