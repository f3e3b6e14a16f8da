"""What the workflow sandbox costs each time a worker takes up an escalation it does not hold
in its cache: `python -m bench.sandbox`.

Replays saved histories (tests/histories/) many times with the workflow runner production uses
(the sandbox, through which workflows/escalation.py passes its pure model modules) and without
a sandbox, and prints the CPU time each replay takes.
"""

import asyncio
import time
from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from core.temporal import data_converter
from tests.record_histories import HISTORIES, history_settings, workflow_id
from workflows.escalation import EscalationWorkflow

REPLAYS = 30
RUNNERS: dict[str, WorkflowRunner] = {
    "sandbox, as production runs it": SandboxedWorkflowRunner(),
    "no sandbox": UnsandboxedWorkflowRunner(),
}


async def cpu_per_replay(runner: WorkflowRunner, history: WorkflowHistory) -> float:
    replayer = Replayer(
        workflows=[EscalationWorkflow],
        data_converter=data_converter(history_settings()),
        workflow_runner=runner,
    )
    await replayer.replay_workflow(history)  # warm: imports, caches

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for _ in range(REPLAYS):
            yield history

    began = time.process_time()
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise result.replay_failure
    return (time.process_time() - began) / REPLAYS


async def measure(name: str, history: WorkflowHistory) -> None:
    print(f"{name}: {len(history.events)} events, {REPLAYS} replays each")
    for name, runner in RUNNERS.items():
        print(f"  {name:<40} {await cpu_per_replay(runner, history) * 1000:6.1f} ms CPU")


def main() -> None:
    for name in ("resolved_at_stage_1.json", "time_limits_passed.json"):
        path = HISTORIES / name
        history = WorkflowHistory.from_json(workflow_id(path), path.read_text(encoding="utf-8"))
        asyncio.run(measure(name, history))


if __name__ == "__main__":
    main()
