"""Acting on an escalation: the action goes to its workflow, which validates and records it."""

from typing import Any, cast

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework.actors import Actor, label, role_of
from casework.refusals import UNAVAILABLE, ProblemError
from database.tables import Escalation
from workflows.escalation import EscalationWorkflow
from workflows.models import ActionKind, ActionRequest
from workflows.policy import Role
from workflows.rules import (
    ALREADY_ACKNOWLEDGED,
    AT_TOP_STAGE,
    CLOSED,
    EXTENSION_TOO_LONG,
    INVALID_ACTION,
    NO_EXTENSIONS_LEFT,
    NOT_DISPUTABLE,
    NOT_PERMITTED,
    may_act,
    refusal,
)

_WORKFLOW_ERRORS = {
    CLOSED: 409,
    AT_TOP_STAGE: 409,
    NOT_PERMITTED: 403,
    INVALID_ACTION: 422,
    ALREADY_ACKNOWLEDGED: 409,
    NO_EXTENSIONS_LEFT: 409,
    EXTENSION_TOO_LONG: 422,
    NOT_DISPUTABLE: 409,
}


async def act(
    db: AsyncSession,
    temporal: Client,
    actor: Actor,
    row: Escalation,
    action: ActionKind,
    **fields: Any,
) -> Escalation:
    """Sends the action to the escalation and answers with the record as it now stands."""
    # A resolution open to dispute is still running: the workflow says whether it may be.
    if row.status != "open" and not (action == "dispute" and row.dispute_until is not None):
        raise ProblemError(409, f"The escalation is already {row.status}.")
    role, stage_role = role_of(actor), cast(Role, row.stage_role)  # stored from the literal
    raising, receiving = row.raising_agency, row.receiving_agency
    if not may_act(
        action,
        actor.agency,
        role,
        raising_agency=raising,
        receiving_agency=receiving,
        stage_role=stage_role,
    ):
        sentence = refusal(
            action,
            actor.agency,
            role,
            raising_agency=raising,
            receiving_agency=receiving,
            stage=row.stage,
            stage_name=row.stage_name,
            stage_role=stage_role,
        )
        raise ProblemError(403, sentence)
    request = ActionRequest(
        action=action, by=label(actor), agency=actor.agency, role=role, **fields
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
        raise ProblemError(503, UNAVAILABLE) from exc
    except RuntimeError as exc:  # the lazy client could not connect
        raise ProblemError(503, UNAVAILABLE) from exc
    await db.refresh(row)
    return row
