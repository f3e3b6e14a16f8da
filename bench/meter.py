"""What a phase cost: CPU time per process, and waiting for the work a phase left running."""

import os
from collections.abc import Collection

from bench.record import AuditWatch
from bench.stack import RunningStack
from bench.system import cpu_seconds


class CpuMeter:
    """CPU time each process used between two points, per item of work."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "benchmark client": os.getpid()}

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def per_item_ms(self, before: dict[str, float], count: int) -> dict[str, float]:
        after = self.read()
        return {
            name: round((after[name] - before.get(name, 0.0)) * 1000 / max(count, 1), 1)
            for name in after
        }


def workers_ms(per_process: dict[str, float]) -> float:
    """The worker processes' share of a `per_item_ms` reading, all of them together."""
    return round(sum(ms for name, ms in per_process.items() if name.startswith("worker")), 1)


async def wait_for_notified(stack: RunningStack, ids: Collection[str], give_up: float) -> bool:
    """Whether every escalation in `ids` has recorded its notification before `give_up`."""
    watch = AuditWatch(stack.settings.database_url)
    try:
        return await watch.wait_for("notified", ids, give_up)
    finally:
        await watch.close()
