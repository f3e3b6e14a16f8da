"""Acting on an escalation: the action goes to its workflow, which validates and records it.

Bounded and idempotent: the action is sent only while a worker is live, carries a `respond_by`
past which the workflow refuses it, and is answered within that bound; with an Idempotency-Key
(or a page's form id) its receipt makes a repeat answer the same and apply nothing twice
(casework/receipts.py).
"""

import asyncio
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework import receipts
from casework.actors import Actor, label, role_of
from casework.availability import NOT_CONFIRMED, RETRY_AFTER, TOO_LATE, require_worker
from casework.refusals import UNAVAILABLE, ProblemError
from core.languages import span_said
from core.settings import Settings
from core.text import N_, Nn_, Said
from database.case_cipher import lock_fields
from database.tables import ActionReceipt, CaseKey, Escalation, utc_now
from workflows.escalation import EscalationWorkflow
from workflows.models import ActionKind, ActionRequest
from workflows.policy import Role, Span
from workflows.rules import (
    ALREADY_ACKNOWLEDGED,
    AT_TOP_STAGE,
    CLOSED,
    EXTENSION_TOO_LONG,
    INVALID_ACTION,
    NO_EXTENSIONS_LEFT,
    NOT_DISPUTABLE,
    NOT_PERMITTED,
    refusal_of,
    refused,
)
from workflows.rules import TOO_LATE as WORKFLOW_TOO_LATE

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
# What the pages say for the workflow's refusals, in their language (the API keeps the
# workflow's English): catalogue messages, said with the values the workflow decided on (its
# error's details; a receipt keeps them), never from the record or policy as they are later.
WORKFLOW_SAID = {
    AT_TOP_STAGE: N_("already at the top stage: the partnership decides"),
    INVALID_ACTION: N_("the action is missing an answer it needs"),
    # Only when the error carries no values (a worker from before they did).
    NO_EXTENSIONS_LEFT: N_("this stage allows no more extensions"),
    EXTENSION_TOO_LONG: N_("the extension is longer than this stage allows"),
    NOT_DISPUTABLE: N_("only a resolution can be disputed"),
}
ACKNOWLEDGED = N_("already acknowledged at stage %(stage)s by %(who)s")
EXTENSIONS_USED = Nn_(
    "stage %(stage)s allows %(allowed)s extension: %(used)s already agreed",
    "stage %(stage)s allows %(allowed)s extensions: %(used)s already agreed",
)
TOO_LONG = N_("An extension at stage %(stage)s is at most %(limit)s")
# Why an action is no longer open, by the escalation's status.
ALREADY = {
    "resolved": N_("The escalation is already resolved."),
    "withdrawn": N_("The escalation is already withdrawn."),
    "cancelled": N_("The escalation is already cancelled."),
    "terminated": N_("The escalation is already closed by an operator."),
}
CLOSED_NOW = N_("The escalation is closed.")


def already(status: str) -> Said:
    """The escalation's status, as a refusal says it."""
    return Said(ALREADY.get(status, CLOSED_NOW))


def _limit_said(values: Mapping[str, Any]) -> Said:
    """The longest extension, as the workflow's error gives it (in working days or seconds)."""
    seconds = values.get("seconds")
    duration = timedelta(seconds=seconds) if seconds is not None else None
    return span_said(Span(working_days=values.get("working_days"), duration=duration))


def workflow_said(code: str, values: Mapping[str, Any]) -> Said | None:
    """What the pages say for the workflow's refusal `code`, from the values it was decided on
    (workflows/rules.py puts them on its error). Without them (a worker from before they
    did), what the code says alone, or None: the pages show the workflow's English."""
    if code == CLOSED:
        return already(values["status"]) if "status" in values else Said(CLOSED_NOW)
    if not values:
        return Said(WORKFLOW_SAID[code]) if code in WORKFLOW_SAID else None
    if code == NOT_PERMITTED:
        found = refusal_of(dict(values))
        words = found.values.items()
        return Said(
            found.sentence,
            {k: Said(v) if k in found.WORDS and isinstance(v, str) else v for k, v in words},
        )
    if code == ALREADY_ACKNOWLEDGED:
        return Said(ACKNOWLEDGED, {"stage": values["stage"], "who": values["who"] or "—"})
    if code == NO_EXTENSIONS_LEFT:
        numbers = {k: values[k] for k in ("stage", "allowed", "used")}
        return Said.counted(EXTENSIONS_USED, numbers, count="allowed")
    if code == EXTENSION_TOO_LONG:
        return Said(TOO_LONG, {"stage": values["stage"], "limit": _limit_said(values)})
    return Said(WORKFLOW_SAID[code])


def refused_problem(
    status: int, code: str, values: Mapping[str, Any], detail: str | None = None
) -> ProblemError:
    """The refusal `code`: the workflow's English `detail` for the API (or, refused before
    sending, the pages' sentence in English), its values kept for a repeat's answer."""
    said = workflow_said(code, values)
    english = detail if detail is not None else str(said)
    return ProblemError(status, english, said=said, code=code, values=dict(values))


def workflow_problem(cause: ApplicationError) -> ProblemError:
    """The workflow's refusal (one of _WORKFLOW_ERRORS): its English for the API, its values
    (the error's one detail) for the pages."""
    assert cause.type is not None
    values = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    return refused_problem(_WORKFLOW_ERRORS[cause.type], cause.type, values, cause.message)


# The free texts an action carries.
WRITTEN = ("outcome", "agreed_actions", "reason", "text")


def _check_allowed(actor: Actor, row: Escalation, action: ActionKind) -> None:
    """The same checks against the database as the workflow makes, before anything is sent."""
    # A resolution open to dispute is still running: the workflow says whether it may be.
    if row.status != "open" and not (action == "dispute" and row.dispute_until is not None):
        raise refused_problem(409, CLOSED, {"status": row.status})
    found = refused(
        action,
        actor.agency,
        role_of(actor),
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
        stage=row.stage,
        stage_name=row.stage_name,
        stage_role=cast(Role, row.stage_role),  # stored from the literal
    )
    if found is not None:
        raise refused_problem(403, NOT_PERMITTED, found.details())


async def act(
    db: AsyncSession,
    temporal: Client,
    settings: Settings,
    actor: Actor,
    row: Escalation,
    action: ActionKind,
    *,
    idempotency_key: str | None = None,
    **fields: Any,
) -> tuple[Escalation, bool]:
    """Sends the action to the escalation; answers the record as it now stands and whether this
    was a repeat of an answered request."""
    engine = cast(AsyncEngine, db.bind)
    receipt, fresh = None, True
    if idempotency_key:
        digest = receipts.request_digest(fields)
        receipt, fresh = await receipts.claim(
            engine, actor.agency, idempotency_key, row.id, action, digest
        )
        if receipt.status_code is not None:
            try:
                receipts.replay(receipt)
            except ProblemError as exc:
                # The receipt keeps the API's English and the refusal's values: the pages say
                # the reason given then, whatever the record says now.
                if exc.code is not None:
                    exc.said = workflow_said(exc.code, exc.values or {})
                raise
            await db.refresh(row)
            return row, True
    try:
        if fresh:  # a repeat of a request still unanswered was checked when it was first sent
            _check_allowed(actor, row, action)
        await require_worker(db, settings)
        # What people write goes to Temporal, and from there to the record, sealed with the
        # escalation's own key, so erasure can make it unreadable everywhere (the receipt's
        # digest above is of the request as sent, before sealing).
        sealed = dict(fields)
        lock_fields(await db.get(CaseKey, row.id), sealed, WRITTEN)
        await _send(temporal, settings, actor, row, action, receipt, sealed)
    except ProblemError as exc:
        if receipt is not None:
            await _settle(engine, receipt, exc, fresh=fresh)
        raise
    if receipt is not None:
        await receipts.answered(engine, receipt, 200)
    await db.refresh(row)
    return row, False


async def _settle(
    engine: AsyncEngine, receipt: ActionReceipt, exc: ProblemError, *, fresh: bool
) -> None:
    """A refusal is the key's answer for good. After a 503 the key is free again when nothing
    was applied nor can be (nothing sent, or refused by the workflow as too late); otherwise it
    waits for the answer a repeat will learn."""
    if exc.status != 503:
        await receipts.answered(engine, receipt, exc.status, exc.detail, exc.code, exc.values)
    elif exc.detail == TOO_LATE or (fresh and exc.detail != NOT_CONFIRMED):
        await receipts.forget(engine, receipt)


async def _send(
    temporal: Client,
    settings: Settings,
    actor: Actor,
    row: Escalation,
    action: ActionKind,
    receipt: ActionReceipt | None,
    fields: dict[str, Any],
) -> None:
    bound = settings.action_timeout_seconds
    request = ActionRequest(
        action=action,
        by=label(actor),
        agency=actor.agency,
        role=role_of(actor),
        respond_by=utc_now() + timedelta(seconds=bound),
        **fields,
    )
    # One update id per receipt: a repeat attaches to the first one, which Temporal applies once.
    update_id = f"action-{receipt.id}" if receipt is not None else f"action-{uuid.uuid4()}"
    handle = temporal.get_workflow_handle(row.id)
    try:
        # A second past the workflow's own bound, so a request it took is seldom cut off here.
        _ = await asyncio.wait_for(
            handle.execute_update(EscalationWorkflow.act, request, id=update_id), bound + 1
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        raise ProblemError(503, NOT_CONFIRMED, headers=RETRY_AFTER) from exc
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == WORKFLOW_TOO_LATE:
            raise ProblemError(503, TOO_LATE, headers=RETRY_AFTER) from exc
        if isinstance(cause, ApplicationError) and cause.type in _WORKFLOW_ERRORS:
            raise workflow_problem(cause) from exc
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise refused_problem(409, CLOSED, {}) from exc
        raise ProblemError(503, UNAVAILABLE, headers=RETRY_AFTER) from exc
    except RuntimeError as exc:  # the lazy client could not connect
        raise ProblemError(503, UNAVAILABLE, headers=RETRY_AFTER) from exc
