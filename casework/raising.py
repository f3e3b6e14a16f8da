"""Raising an escalation: the case in the database, then its workflow started in Temporal.

The row is written `pending`, which no list or read shows; the workflow's first audit write
makes it `open`. So nothing is listed as an escalation unless its workflow exists, and a raise
cut off in between leaves only a pending row, which the reconciler removes (worker/reconciler.py).
"""

import asyncio
import hashlib
import json
import secrets
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from casework.actors import Actor, label
from casework.availability import RETRY_AFTER, require_worker
from casework.refusals import UNAVAILABLE, FieldProblem, ProblemError
from casework.requests import RaiseRequest
from core.directory import closest_names, matching_name, normalised
from core.settings import Settings
from core.text import N_, Said, reference_key
from database.case_seal import CASE_FIELDS, new_case_key
from database.directory_people import agency_names
from database.tables import PENDING, Escalation, utc_now
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput
from workflows.policy import URGENT_POLICY, Policy

# Crockford's alphabet: no I, L, O or U to misread on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    return "ESC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _request_hash(body: RaiseRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def ladder_text(policy: Policy) -> str:
    return " → ".join(
        f"{n}. {stage.name} ({stage.time_limit.describe()})"
        for n, stage in enumerate(policy.stages, start=1)
    )


async def _by_idempotency_key(db: AsyncSession, agency: str, key: str) -> Escalation | None:
    query = select(Escalation).where(
        Escalation.raising_agency == agency, Escalation.idempotency_key == key
    )
    return (await db.exec(query)).first()


def _check_replay(existing: Escalation, digest: str) -> Escalation:
    if existing.request_hash != digest:
        raise ProblemError(
            422,
            "This Idempotency-Key was used for a different escalation.",
            errors=[FieldProblem(field="Idempotency-Key", message="reused with a different body")],
        )
    return existing


async def receiving_agency(db: AsyncSession, raiser: Actor, name: str) -> str:
    """The directory's own spelling of the agency `name` means; refused if unknown or the
    raiser's own."""
    names = await agency_names(db)
    agency = matching_name(names, name)
    if agency is None:
        near = closest_names(names, name)
        raise ProblemError(
            422,
            Said(N_("No agency '%(name)s' in the partnership's directory."), {"name": name}),
            errors=[
                FieldProblem(
                    field="receiving_agency",
                    message=f"closest directory names: {near}" if near else "unknown agency",
                )
            ],
        )
    if normalised(agency) == normalised(raiser.agency):
        raise ProblemError(
            422,
            Said(N_("An agency cannot escalate against its own decision.")),
            errors=[FieldProblem(field="receiving_agency", message="is your own agency")],
        )
    return agency


async def raise_escalation(
    db: AsyncSession,
    temporal: Client,
    settings: Settings,
    policies: dict[str, Policy],
    raiser: Actor,
    body: RaiseRequest,
    idempotency_key: str | None,
) -> tuple[Escalation, bool]:
    """The escalation and whether it already existed (a repeated request)."""
    agency = await receiving_agency(db, raiser, body.receiving_agency)
    body = body.model_copy(update={"receiving_agency": agency})
    if body.policy not in policies:
        raise ProblemError(
            422,
            Said(N_("Unknown policy '%(policy)s'."), {"policy": body.policy}),
            errors=[FieldProblem(field="policy", message=f"known policies: {sorted(policies)}")],
        )
    policy_name = URGENT_POLICY if body.immediate_risk else body.policy
    policy = policies[policy_name]
    digest = _request_hash(body)
    if idempotency_key:
        existing = await _by_idempotency_key(db, raiser.agency, idempotency_key)
        if existing is not None:
            return await _started(db, temporal, settings, _check_replay(existing, digest), policy)
    await require_worker(db, settings)  # nothing is written while no worker could start it
    now = utc_now()
    row = Escalation(
        id=new_reference(),
        policy=policy_name,
        raising_agency=raiser.agency,
        receiving_agency=body.receiving_agency,
        raised_by=label(raiser),
        immediate_risk=body.immediate_risk,
        created_at=now,
        updated_at=now,
        idempotency_key=idempotency_key,
        request_hash=digest,
        status=PENDING,
        stage=1,
        stage_name=policy.stages[0].name,
        stage_role=policy.stages[0].role,
        **body.model_dump(include=set[str](CASE_FIELDS)),
        child_reference_key=reference_key(body.child_reference) if body.child_reference else None,
    )
    key = new_case_key(row.id)
    db.add(row)
    db.add(key)
    agency = raiser.agency  # a rollback expires the caller's row too (no lazy loads in async)
    try:
        await db.commit()
    except IntegrityError:
        # The same key raced in from a retry: answer with the one that won.
        await db.rollback()
        existing = await _by_idempotency_key(db, agency, idempotency_key or "")
        if existing is None:
            raise
        return await _started(db, temporal, settings, _check_replay(existing, digest), policy)
    try:
        await _start(temporal, settings, row, policy)
    except ProblemError:
        await db.delete(row)  # nothing was started, so nothing is kept
        await db.delete(key)
        await db.commit()
        raise
    await db.refresh(row)
    return row, False


async def _started(
    db: AsyncSession, temporal: Client, settings: Settings, row: Escalation, policy: Policy
) -> tuple[Escalation, bool]:
    """A repeated raise: its workflow started if the first attempt was cut off before that."""
    await _start(temporal, settings, row, policy)
    await db.refresh(row)
    if row.status == PENDING:  # its workflow closed before recording anything
        raise ProblemError(503, UNAVAILABLE, headers=RETRY_AFTER)
    return row, True


class RaiseAccepted(Exception):
    """The workflow is started (durably) but no worker has recorded the raise yet: it will be
    when one does. The API answers 202 with the reference; a repeat with the same key answers
    201 once it is recorded."""

    def __init__(self, row: Escalation) -> None:
        super().__init__(row.id)
        self.row = row


async def _start(temporal: Client, settings: Settings, row: Escalation, policy: Policy) -> None:
    """Starts the escalation's workflow (once: the id is the reference) and waits, within
    ACTION_TIMEOUT_SECONDS, for the record."""
    if row.status != PENDING:
        return  # recorded: its workflow exists
    workflow_input = EscalationInput(
        escalation_id=row.id,
        policy_name=row.policy,
        policy=policy,
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
        raised_by=row.raised_by,
        immediate_risk=row.immediate_risk,
    )
    start = WithStartWorkflowOperation(
        EscalationWorkflow.run,
        workflow_input,
        id=row.id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=initial_search_attributes(workflow_input),
        static_summary=(
            f"{row.id}: {row.raising_agency} → {row.receiving_agency}, policy {row.policy}"
            + (" (immediate risk)" if row.immediate_risk else "")
        ),
        static_details=f"Ladder: {ladder_text(policy)}",
    )
    try:
        _ = await asyncio.wait_for(
            temporal.execute_update_with_start_workflow(
                EscalationWorkflow.raise_recorded, start_workflow_operation=start
            ),
            settings.action_timeout_seconds,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        if await _workflow_exists(temporal, row.id):
            raise RaiseAccepted(row) from exc
        raise ProblemError(503, UNAVAILABLE, headers=RETRY_AFTER) from exc  # nothing kept
    except WorkflowAlreadyStartedError:
        return  # closed already: the record stands
    except (RPCError, RuntimeError) as exc:  # RuntimeError: the lazy client could not connect
        raise ProblemError(503, UNAVAILABLE, headers=RETRY_AFTER) from exc


async def _workflow_exists(temporal: Client, workflow_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(workflow_id).describe(rpc_timeout=timedelta(seconds=1))
    except (RPCError, RuntimeError):
        return False
    return True
