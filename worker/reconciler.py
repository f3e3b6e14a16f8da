"""The reconciler: the record made to match Temporal when a workflow ended outside the service.

A workflow terminated from the Temporal UI or CLI runs no code, so its record would stay `open`
with a deadline nobody keeps; the same after a run timeout, a failure, or a history that is gone.
Every few minutes (a Temporal Schedule the worker keeps, RECONCILE_EVERY_MINUTES) and on demand
(`python -m worker reconcile`) the reconciler:

- closes each `open` record whose workflow is closed or missing as `terminated`, with one
  `terminated` event (actor `operations`) naming Temporal's close status;
- removes each `pending` raise older than PENDING_GRACE whose workflow is closed or missing: its
  API call was cut off before the workflow recorded it, so the raiser never had a 201.

Both are idempotent: a record already closed, or already removed, is left alone.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from database.audit_chain import close_outside, remove_pending
from database.engine import session_factory
from database.tables import PENDING, Escalation, utc_now
from worker.schedules import ensure_schedule
from workflows.reconciliation import RECONCILE, RECONCILE_WORKFLOW

log = structlog.get_logger(__name__)

OPERATIONS = "operations"
# Longer than any raise waits for Temporal, so a raise still in progress is never removed.
PENDING_GRACE = timedelta(minutes=10)
MISSING = "NOT_FOUND"
ESCALATIONS = 'WorkflowType = "Escalation"'
RUNNING_ESCALATIONS = f'{ESCALATIONS} AND ExecutionStatus = "Running"'


@dataclass(frozen=True)
class Reconciled:
    escalation_id: str
    temporal_status: str
    outcome: str  # "terminated" (record closed) or "removed" (pending raise deleted)

    def __str__(self) -> str:
        return f"{self.escalation_id}: {self.outcome} (Temporal: {self.temporal_status})"


def schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue}-reconciler"


class Reconciler:
    def __init__(self, client: Client, engine: AsyncEngine) -> None:
        self._client = client
        self._namespace = client.namespace
        self._sessions = session_factory(engine)

    async def reconcile(self) -> list[Reconciled]:
        """Closes or removes every record whose workflow is not running; what it did."""
        unsettled = await self._unsettled()
        if not unsettled:
            return []
        # Visibility narrows the candidates; each one is confirmed by describing it.
        running = {w.id async for w in self._client.list_workflows(RUNNING_ESCALATIONS)}
        # A namespace that never ran an escalation is the wrong one (TEMPORAL_NAMESPACE), not one
        # where every workflow went missing: then nothing is closed for being missing.
        known = bool(running) or (await self._client.count_workflows(ESCALATIONS)).count > 0
        done: list[Reconciled] = []
        for escalation_id, status, created_at in unsettled:
            if escalation_id in running:
                continue
            if status == PENDING and created_at > utc_now() - PENDING_GRACE:
                continue
            closed = await self._closed(escalation_id)
            if closed is None:
                continue
            temporal_status, at = closed
            if temporal_status == MISSING and not known:
                log.error("reconciler: no escalations in this namespace", namespace=self._namespace)
                break
            if status == PENDING:
                if await remove_pending(self._sessions, escalation_id, PENDING):
                    done.append(Reconciled(escalation_id, temporal_status, "removed"))
            elif await close_outside(
                self._sessions,
                escalation_id,
                at=at,
                actor=OPERATIONS,
                reason=f"Temporal workflow {temporal_status.lower().replace('_', ' ')}",
                details={"temporal_status": temporal_status},
            ):
                done.append(Reconciled(escalation_id, temporal_status, "terminated"))
        for item in done:
            log.warning(
                "record reconciled",
                escalation_id=item.escalation_id,
                outcome=item.outcome,
                temporal_status=item.temporal_status,
            )
        return done

    async def _unsettled(self) -> list[tuple[str, str, datetime]]:
        async with self._sessions() as db:
            rows = await db.exec(
                select(Escalation.id, Escalation.status, Escalation.created_at).where(
                    col(Escalation.status).in_(("open", PENDING))
                )
            )
            return [(row[0], row[1], row[2]) for row in rows.all()]

    async def _closed(self, escalation_id: str) -> tuple[str, datetime] | None:
        """Temporal's close status and time, or None while the workflow runs."""
        try:
            description = await self._client.get_workflow_handle(escalation_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return MISSING, utc_now()
        if description.status in (None, WorkflowExecutionStatus.RUNNING):
            return None
        return description.status.name, description.close_time or utc_now()

    @activity.defn(name=RECONCILE)
    async def reconcile_activity(self) -> list[str]:
        return [str(item) for item in await self.reconcile()]


async def ensure_reconcile_schedule(client: Client, settings: Settings) -> None:
    """Creates the reconciler's schedule, or brings its interval and task queue up to date."""
    every = timedelta(minutes=settings.reconcile_every_minutes)
    await ensure_schedule(
        client, schedule_id(settings), RECONCILE_WORKFLOW, settings.task_queue, every
    )
