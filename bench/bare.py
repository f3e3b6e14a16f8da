"""The bare Temporal baseline: one timer, then one no-op activity, on a worker of its own.

No database, no codec, no API: what Temporal and the Python SDK cost on this machine, so the
escalation figures can be read as a multiple of it. `python -m bench.bare ADDRESS TASK_QUEUE`
runs the baseline's worker until SIGTERM.
"""

import argparse
import asyncio
import os
import signal
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn
async def noop() -> float:
    """Does nothing but say when it ran (wall clock)."""
    return time.time()


@workflow.defn
class BareTimer:
    @workflow.run
    async def run(self, deadline: float) -> tuple[float, float]:
        """Waits until `deadline` (epoch seconds), runs the activity; answers when the workflow
        scheduled it (the escalation's "recorded at") and when it ran."""
        wait = deadline - workflow.now().timestamp()
        if wait > 0:
            await workflow.sleep(wait)
        scheduled = workflow.now().timestamp()
        ran = await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
        return scheduled, ran


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[BareTimer], activities=[noop]):
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("address", help="Temporal host:port")
    parser.add_argument("task_queue")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue))
    # No interpreter teardown: the client's Rust threads can abort it (temporalio/sdk-python#300).
    os._exit(0)


if __name__ == "__main__":
    main()
