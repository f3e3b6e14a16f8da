"""The reconcile workflow: what the reconciler's Temporal Schedule starts every few minutes.

It runs the reconcile activity once (worker/reconciler.py), which closes records whose escalation
workflow ended outside the service. Deterministic and free of project imports.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

RECONCILE = "reconcile"
# Started by name: a typed reference to `run` here trips mypy's checks of other workflows' `run`
# elsewhere (an order-dependent protocol cache), and the schedule needs only the name.
RECONCILE_WORKFLOW = "Reconcile"


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileWorkflow:
    @workflow.run
    async def run(self) -> list[str]:
        """What the activity closed, one line each (references and Temporal statuses)."""
        return await run_once(RECONCILE)


async def run_once(activity: str) -> list[str]:
    """A scheduled housekeeping workflow's one activity (by name), a few tries; what it did."""
    done: list[str] = await workflow.execute_activity(
        activity,
        start_to_close_timeout=timedelta(minutes=5),
        retry_policy=RetryPolicy(maximum_attempts=3),
        result_type=list[str],
    )
    return done
