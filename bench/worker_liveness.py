"""How soon a dead worker is seen: Temporal's task-queue pollers against the worker's own
heartbeat row (python -m bench.worker_liveness; the figures are in docs/operations.md).

A bare worker runs in a child process on the dev server; for two minutes the task queue's
description is read every second (how old its poller's last access gets while the worker is
idle and well), then the worker is SIGKILLed and the reading goes on until the poller leaves
the description or `--watch` seconds pass.
"""

import argparse
import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.prefix) / "bin"
QUEUE = "liveness"
WORKER = """
import asyncio, sys
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

@workflow.defn
class Idle:
    @workflow.run
    async def run(self) -> None: ...

async def main() -> None:
    client = await Client.connect(sys.argv[1])
    runner = UnsandboxedWorkflowRunner()  # the module has no file to sandbox
    async with Worker(client, task_queue=sys.argv[2], workflows=[Idle], workflow_runner=runner):
        print("polling", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def poller_age(client: Client) -> float | None:
    """Seconds since the queue's freshest workflow poller last polled; None: no poller listed."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    if not described.pollers:
        return None
    last = max(p.last_access_time.ToDatetime(tzinfo=UTC) for p in described.pollers)
    return (datetime.now(UTC) - last).total_seconds()


async def measure(idle_seconds: float, watch_seconds: float) -> None:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    address = env.client.service_client.config.target_host
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, address, QUEUE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert worker.stdout is not None and (await worker.stdout.readline()).strip() == b"polling"
        loop = asyncio.get_running_loop()
        ages: list[float] = []
        until = loop.time() + idle_seconds
        while loop.time() < until:
            age = await poller_age(env.client)
            ages.append(-1 if age is None else age)
            await asyncio.sleep(1)
        print(f"idle, alive worker: poller last access at most {max(ages):.1f} s old")
        os.kill(worker.pid, signal.SIGKILL)
        killed = loop.time()
        gone = None
        while loop.time() - killed < watch_seconds:
            if await poller_age(env.client) is None:
                gone = loop.time() - killed
                break
            await asyncio.sleep(1)
        print(
            "after SIGKILL: poller left the description after "
            + (f"{gone:.0f} s" if gone is not None else f"more than {watch_seconds:.0f} s")
        )
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()
        await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=120)
    parser.add_argument("--watch", type=float, default=420)
    args = parser.parse_args()
    asyncio.run(measure(args.idle, args.watch))


if __name__ == "__main__":
    main()
