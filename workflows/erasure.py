"""The erase workflow: what the eraser's Temporal Schedule starts every minute.

It runs the erase activity once (worker/eraser.py), which erases the closed escalations whose
retention has ended and that carry no legal hold. Deterministic and free of project imports.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

ERASE_DUE = "erase_due"
# Started by name, like the reconciler (workflows/reconciliation.py says why).
ERASE_WORKFLOW = "Erase"


@workflow.defn(name=ERASE_WORKFLOW)
class EraseWorkflow:
    @workflow.run
    async def run(self) -> list[str]:
        """The escalations it erased (their references only)."""
        erased: list[str] = await workflow.execute_activity(
            ERASE_DUE,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            result_type=list[str],
        )
        return erased
