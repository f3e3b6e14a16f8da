"""The erase workflow: what the eraser's Temporal Schedule starts every minute.

It runs the erase activity once (worker/eraser.py), which erases the closed escalations whose
retention has ended and that carry no legal hold. Deterministic and free of project imports.
"""

from temporalio import workflow

from workflows.reconciliation import run_once

ERASE_DUE = "erase_due"
# Started by name, like the reconciler (workflows/reconciliation.py says why).
ERASE_WORKFLOW = "Erase"


@workflow.defn(name=ERASE_WORKFLOW)
class EraseWorkflow:
    @workflow.run
    async def run(self) -> list[str]:
        """The escalations it erased (their references only)."""
        return await run_once(ERASE_DUE)
