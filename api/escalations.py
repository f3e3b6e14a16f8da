"""Raising escalations and acting on them: the case in the database, the ladder in Temporal."""

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.records import ApiKey, Escalation, utc_now
from api.problems import FieldProblem, ProblemError
from api.schemas import RaiseRequest
from worker.settings import Settings
from workflows.escalation import (
    AT_TOP_STAGE,
    CLOSED,
    INVALID_ACTION,
    NOT_PERMITTED,
    EscalationWorkflow,
    initial_search_attributes,
)
from workflows.models import ActionKind, ActionRequest, EscalationInput
from workflows.policy import URGENT_POLICY, Policy, Role
from workflows.rules import may_act, may_see

# Crockford's alphabet: no I, L, O or U to misread on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_WORKFLOW_ERRORS = {CLOSED: 409, AT_TOP_STAGE: 409, NOT_PERMITTED: 403, INVALID_ACTION: 422}


def new_reference() -> str:
    return "ESC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def actor(caller: ApiKey) -> str:
    return f"{caller.name} ({caller.agency})"


def _request_hash(body: RaiseRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ladder_text(policy: Policy) -> str:
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


async def raise_escalation(
    db: AsyncSession,
    temporal: Client,
    settings: Settings,
    policies: dict[str, Policy],
    caller: ApiKey,
    body: RaiseRequest,
    idempotency_key: str | None,
) -> tuple[Escalation, bool]:
    """The escalation and whether it already existed (a repeated request)."""
    if body.policy not in policies:
        raise ProblemError(
            422,
            f"Unknown policy {body.policy!r}.",
            errors=[FieldProblem(field="policy", message=f"known policies: {sorted(policies)}")],
        )
    policy_name = URGENT_POLICY if body.immediate_risk else body.policy
    policy = policies[policy_name]
    digest = _request_hash(body)
    if idempotency_key:
        existing = await _by_idempotency_key(db, caller.agency, idempotency_key)
        if existing is not None:
            await _start(temporal, settings, _check_replay(existing, digest), policy)
            return existing, True
    now = utc_now()
    row = Escalation(
        id=new_reference(),
        policy=policy_name,
        raising_agency=caller.agency,
        receiving_agency=body.receiving_agency,
        raised_by=actor(caller),
        immediate_risk=body.immediate_risk,
        created_at=now,
        updated_at=now,
        idempotency_key=idempotency_key,
        request_hash=digest,
        stage=1,
        stage_name=policy.stages[0].name,
        stage_role=policy.stages[0].role,
        **body.model_dump(
            include={
                "child_reference",
                "child_name",
                "child_date_of_birth",
                "summary",
                "category",
                "decision_disputed",
                "desired_outcome",
                "risk_reason",
            }
        ),
    )
    db.add(row)
    try:
        await db.commit()
    except IntegrityError:
        # The same key raced in from a retry: answer with the one that won.
        await db.rollback()
        existing = await _by_idempotency_key(db, caller.agency, idempotency_key or "")
        if existing is None:
            raise
        await _start(temporal, settings, _check_replay(existing, digest), policy)
        return existing, True
    try:
        await _start(temporal, settings, row, policy)
    except ProblemError:
        await db.delete(row)  # nothing was started, so nothing is kept
        await db.commit()
        raise
    await db.refresh(row)
    return row, False


async def _start(temporal: Client, settings: Settings, row: Escalation, policy: Policy) -> None:
    """Starts the escalation's workflow (once: the id is the reference) and waits for the record."""
    if row.status != "open":
        return
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
        static_details=f"Ladder: {_ladder_text(policy)}",
    )
    try:
        _ = await temporal.execute_update_with_start_workflow(
            EscalationWorkflow.raise_recorded, start_workflow_operation=start
        )
    except WorkflowAlreadyStartedError:
        return  # closed already: the record stands
    except (RPCError, RuntimeError) as exc:  # RuntimeError: the lazy client could not connect
        raise ProblemError(503, "The escalation service is unavailable; try again.") from exc


def visible(caller: ApiKey, row: Escalation) -> bool:
    return may_see(
        caller.agency,
        _role(caller),
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
    )


def _role(caller: ApiKey) -> Role:
    role: Role = caller.role  # type: ignore[assignment]  # stored from the Role literal
    return role


async def find_visible(db: AsyncSession, caller: ApiKey, escalation_id: str) -> Escalation:
    row = await db.get(Escalation, escalation_id)
    if row is None or not visible(caller, row):
        raise ProblemError(404, f"No escalation {escalation_id!r} that you can see.")
    return row


async def act(
    db: AsyncSession,
    temporal: Client,
    caller: ApiKey,
    row: Escalation,
    action: ActionKind,
    **fields: Any,
) -> Escalation:
    """Sends the action to the escalation and answers with the record as it now stands."""
    if row.status != "open":
        raise ProblemError(409, f"The escalation is already {row.status}.")
    if not may_act(
        action,
        caller.agency,
        _role(caller),
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
        stage_role=row.stage_role,  # type: ignore[arg-type]
    ):
        raise ProblemError(
            403, f"A {caller.role} of {caller.agency} may not {action} at stage {row.stage}."
        )
    request = ActionRequest(
        action=action, by=actor(caller), agency=caller.agency, role=_role(caller), **fields
    )
    try:
        _ = await temporal.get_workflow_handle(row.id).execute_update(
            EscalationWorkflow.act, request
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in _WORKFLOW_ERRORS:
            raise ProblemError(_WORKFLOW_ERRORS[cause.type], cause.message) from exc
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ProblemError(409, "The escalation is closed.") from exc
        raise ProblemError(503, "The escalation service is unavailable; try again.") from exc
    except RuntimeError as exc:  # the lazy client could not connect
        raise ProblemError(503, "The escalation service is unavailable; try again.") from exc
    await db.refresh(row)
    return row


async def page(
    db: AsyncSession,
    caller: ApiKey,
    *,
    status: str | None,
    stage: int | None,
    agency: str | None,
    overdue: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Escalation], int]:
    query = select(Escalation)
    if caller.role != "board":
        query = query.where(
            (Escalation.raising_agency == caller.agency)
            | (Escalation.receiving_agency == caller.agency)
        )
    if status is not None:
        query = query.where(Escalation.status == status)
    if stage is not None:
        query = query.where(Escalation.stage == stage)
    if agency is not None:
        query = query.where(
            (Escalation.raising_agency == agency) | (Escalation.receiving_agency == agency)
        )
    if overdue is not None:
        query = query.where(Escalation.overdue == overdue)
    total = (await db.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await db.exec(
        query.order_by(col(Escalation.created_at).desc(), col(Escalation.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total
