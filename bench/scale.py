"""The scale run: the same stack with 1, 2 and 4 worker processes, a shorter load on each."""

import argparse
import asyncio
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench import ours
from bench.meter import CpuMeter, wait_for_notified, workers_ms
from bench.stack import BenchError, RunningStack
from bench.system import peak_rss_mib
from core.temporal import connect

RAISE_SHARE = 0.3  # of each row's time, at most, for its raises


async def until_workers_poll(client: Client, stack: RunningStack, count: int) -> None:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=stack.settings.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    for _ in range(240):
        described = await client.workflow_service.describe_task_queue(request)
        if len({poller.identity for poller in described.pollers}) >= count:
            return
        await asyncio.sleep(0.25)
    raise BenchError(f"{count} workers never polled the task queue")


async def measure_scale(
    args: argparse.Namespace, stack: RunningStack, scale_end: float
) -> list[dict[str, Any]]:
    """One row per worker count (adding workers to the stack as it goes)."""
    loop = asyncio.get_running_loop()
    client = await connect(stack.settings)
    rows = []
    for number, workers in enumerate(sorted(args.scale)):
        while len(stack.workers) < workers:
            stack.add_worker()
        await until_workers_poll(client, stack, workers)
        row_end = loop.time() + (scale_end - loop.time()) / (len(args.scale) - number)
        cpu = CpuMeter(stack.pids)
        raised = await ours.raise_through_api(
            stack,
            args.scale_raises,
            args.clients,
            stop_after=RAISE_SHARE * (row_end - loop.time()),
        )
        summary = raised.summary()
        await wait_for_notified(stack, raised.results, row_end)
        count, per_second = ours.size_time_limits(
            args.scale_deadlines, summary["throughput_per_s"], row_end - loop.time()
        )
        before = cpu.read()
        limits = await ours.time_limits_at_once(client, stack, count, per_second, row_end)
        per_escalation = cpu.per_item_ms(before, limits["escalations"])
        limits.pop("ids")
        row = {
            "workers": workers,
            "raise": summary,
            "limits": limits,
            "worker_cpu_ms_per_escalation": workers_ms(per_escalation),
            "cpu_ms_per_escalation": per_escalation,
            # Peak over each process's life: the first worker's includes the phases before.
            "peak_memory_mib": {name: peak_rss_mib(pid) for name, pid in stack.workers.items()},
        }
        print(f"Scale, {workers} workers: {row}", flush=True)
        rows.append(row)
    return rows
