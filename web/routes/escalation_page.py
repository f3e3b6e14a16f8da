"""The escalation's page (the address notifications link to), its actions, and its record."""

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from temporalio.client import Client

from casework import acting, finding
from casework.actors import role_of
from casework.dependencies import SessionDep
from casework.refusals import ProblemError
from casework.requests import (
    IMMEDIATE_RISK_ADVICE,
    AcknowledgeRequest,
    ExtendRequest,
    NoteRequest,
    ReasonRequest,
    ResolveRequest,
)
from database.audit_chain import timeline as audit_timeline
from database.tables import Escalation, utc_now
from web.negotiation import BrowserRoute
from web.page_context import PageError, Viewer, ViewerDep, check_csrf, render
from web.presenting import (
    STATUS_TAGS,
    current_stage,
    disputable_until,
    policy_steps,
    stage_count,
    stage_text,
    steps,
    timeline,
    when,
)
from workflows.models import ActionKind
from workflows.policy import Policy
from workflows.rules import may_act

page_router = APIRouter(include_in_schema=False, route_class=BrowserRoute)
router = APIRouter(include_in_schema=False)


class Form:
    """One action's form: what it sends, the model that checks it, and its fields' labels."""

    def __init__(self, action: ActionKind, model: type[BaseModel], button: str, done: str) -> None:
        self.action, self.model, self.button, self.done = action, model, button, done


FORMS = {
    "resolve": Form("resolved", ResolveRequest, "Resolve the escalation", "resolved"),
    "escalate": Form("escalate", ReasonRequest, "Escalate to the next stage", "escalated"),
    "withdraw": Form("withdraw", ReasonRequest, "Withdraw the escalation", "withdrawn"),
    "note": Form("note", NoteRequest, "Add the note", "noted"),
    "acknowledge": Form("acknowledge", AcknowledgeRequest, "Acknowledge", "acknowledged"),
    "extend": Form("extend", ExtendRequest, "Extend the time limit", "extended"),
    "dispute": Form("dispute", ReasonRequest, "Dispute the outcome", "disputed"),
}
FIELD_IDS = {
    "resolve": {"outcome": "resolve-outcome", "agreed_actions": "resolve-agreed-actions"},
    "escalate": {"reason": "escalate-reason"},
    "withdraw": {"reason": "withdraw-reason"},
    "note": {"text": "note-text"},
    "acknowledge": {},
    # The form asks for hours; the request carries them as an ISO 8601 duration.
    "extend": {
        "reason": "extend-reason",
        "working_days": "extend-working-days",
        "duration": "extend-hours",
    },
    "dispute": {"reason": "dispute-reason"},
}
MISSING = {
    ("resolve", "outcome"): "Enter the outcome agreed",
    (
        "resolve",
        "agreed_actions",
    ): "Enter each agreed action on its own line, up to 2,000 characters",
    ("escalate", "reason"): "Enter why it needs the next stage",
    ("withdraw", "reason"): "Enter why the escalation is withdrawn",
    ("note", "text"): "Enter the note",
    ("extend", "reason"): "Enter why the time limit is extended",
    ("extend", "working_days"): "Enter the working days as a whole number from 1 to 120",
    ("extend", "duration"): "Enter the hours as a number more than 0, like 12",
    ("dispute", "reason"): "Enter why you disagree with the outcome",
}
HOURS = re.compile(r"\d{1,4}(\.\d{1,2})?")
DONE = {
    "resolved": "The escalation is resolved. Both agencies are told the outcome.",
    "escalated": "The escalation has moved to the next stage. Its people are told.",
    "withdrawn": "The escalation is withdrawn.",
    "noted": "Your note is on the record.",
    "acknowledged": "You have acknowledged the escalation. The raising agency is told.",
    "extended": "The time limit is extended. Both agencies are told the new one.",
    "disputed": "The outcome is disputed: the escalation is open again at the next stage. "
    "Its people are told.",
}


def _open_to(name: str, row: Escalation, policies: dict[str, Policy]) -> bool:
    """Whether the escalation, as it stands, takes this action from anyone at all."""
    if name == "dispute":
        return disputable_until(row, utc_now()) is not None
    if row.status != "open":
        return False
    stages, stage = stage_count(row, policies), current_stage(row, policies)
    if name == "escalate":
        return stages is None or row.stage < stages  # the top stage: nowhere further to go
    if name == "acknowledge":
        return row.acknowledged_at is None  # once a stage
    if name == "extend":
        return stage is None or row.extensions_used < stage.max_extensions
    return True


def allowed_actions(viewer: Viewer, row: Escalation, policies: dict[str, Policy]) -> list[str]:
    """The actions this person may take now, by the same rule the workflow applies."""
    found = []
    for name, form in FORMS.items():
        if not _open_to(name, row, policies):
            continue
        if may_act(
            form.action,
            viewer.agency,
            role_of(viewer),
            raising_agency=row.raising_agency,
            receiving_agency=row.receiving_agency,
            stage_role=row.stage_role,  # type: ignore[arg-type]
        ):
            found.append(name)
    return found


async def _visible(db: SessionDep, viewer: Viewer, escalation_id: str) -> Escalation:
    try:
        return await finding.find_visible(db, viewer, escalation_id)
    except ProblemError:
        raise PageError(
            404,
            "Page not found",
            "There is no escalation with that reference that you can see. Check the reference "
            "in your email. Only the agencies involved and the partnership can see an escalation.",
        ) from None


async def _page(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    row: Escalation,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    policies = request.app.state.policies
    events = list(await audit_timeline(db, row.id))
    return render(
        request,
        context.pop("template", "escalation.html"),
        viewer,
        status=status,
        title=f"Escalation {row.id}",
        row=row,
        stage=stage_text(row, policies),
        deadline=when(row.stage_deadline),
        created=when(row.created_at),
        closed=when(row.closed_at),
        status_tag=STATUS_TAGS.get(row.status, (row.status, "govuk-tag--grey")),
        steps=steps(row, policies),
        timeline=timeline(events),
        actions=allowed_actions(viewer, row, policies),
        policy_steps=policy_steps(row, policies, utc_now()),
        forms=FORMS,
        field_ids=FIELD_IDS,
        advice=IMMEDIATE_RISK_ADVICE if row.immediate_risk else None,
        done=DONE.get(request.query_params.get("done", "")),
        values=context.pop("values", {}),
        error_for=context.pop("error_for", {}),
        **context,
    )


@page_router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
async def escalation_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    return await _page(request, db, viewer, await _visible(db, viewer, escalation_id))


@router.get("/escalations/{escalation_id}/record", response_class=HTMLResponse)
async def record_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    """The whole record and timeline to print for the child's file, at both agencies."""
    row = await _visible(db, viewer, escalation_id)
    return await _page(request, db, viewer, row, template="record.html")


def _fields(name: str, form: Any) -> dict[str, Any]:
    if name == "resolve":
        actions = str(form.get("agreed_actions", ""))
        return {
            "outcome": str(form.get("outcome", "")),
            "agreed_actions": [line.strip() for line in actions.splitlines() if line.strip()],
        }
    if name == "acknowledge":
        return {}
    if name == "extend":
        days, hours = (str(form.get(k, "")).strip() for k in ("working_days", "hours"))
        return {
            "reason": str(form.get("reason", "")),
            "working_days": days or None,
            "duration": _duration(hours),
        }
    field = "text" if name == "note" else "reason"
    return {field: str(form.get(field, ""))}


def _duration(hours: str) -> str | None:
    """The hours typed as an ISO 8601 duration; anything but a number as text the duration's
    own check refuses, so the error names the hours."""
    if not hours:
        return None
    return f"PT{hours}H" if HOURS.fullmatch(hours) else "not hours"


def _form_values(name: str, form: Any) -> dict[str, dict[str, str]]:
    """What the person typed, to show again beside the errors."""
    names = {"extend": ("reason", "working_days", "hours")}.get(name) or FIELD_IDS[name]
    return {name: {k: str(form.get(k, "")) for k in names}}


def _problem(name: str, error: ErrorDetails, fields: dict[str, Any]) -> tuple[str, str]:
    """The field at fault and what to tell the person, GOV.UK style."""
    field = str(error["loc"][0]) if error["loc"] else next(iter(fields))
    if name == "extend" and field == "duration" and "exactly one" in error["msg"]:
        # Neither or both: said once, at the first of the two.
        given = fields["working_days"] is not None
        return "working_days", (
            "Enter working days or hours, not both"
            if given
            else "Enter how much longer: working days, or hours"
        )
    message = MISSING.get((name, field), "Check this answer")
    if error["type"] == "string_too_long":
        message = f"{message}: it is too long"
    return field, message


def _sent(body: BaseModel) -> dict[str, Any]:
    """The action's fields as the workflow takes them."""
    if isinstance(body, ExtendRequest):
        return {"reason": body.reason, "extension": body.extension}
    return body.model_dump()


async def _with_errors(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    row: Escalation,
    name: str,
    problems: list[tuple[str, str]],
    values: dict[str, dict[str, str]],
) -> HTMLResponse:
    """The page again, with an error summary linking to each field at fault."""
    error_for: dict[str, dict[str, str]] = {name: {}}
    errors = []
    for field, message in problems:
        if field not in error_for[name]:
            error_for[name][field] = message
            errors.append({"text": message, "href": f"#{FIELD_IDS[name][field]}"})
    return await _page(
        request, db, viewer, row, status=422, errors=errors, error_for=error_for, values=values
    )


@router.post("/escalations/{escalation_id}/actions/{name}", response_class=HTMLResponse)
async def take_action(
    request: Request, escalation_id: str, name: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    row = await _visible(db, viewer, escalation_id)
    chosen = FORMS.get(name)
    if chosen is None:
        raise PageError(404, "Page not found", "There is no such action.")
    fields = _fields(name, form)
    values = _form_values(name, form)
    try:
        body = chosen.model.model_validate(fields)
    except ValidationError as exc:
        problems = [_problem(name, error, fields) for error in exc.errors()]
        return await _with_errors(request, db, viewer, row, name, problems, values)
    temporal: Client = request.app.state.temporal
    try:
        await acting.act(db, temporal, viewer, row, chosen.action, **_sent(body))
    except ProblemError as exc:
        if exc.status == 503:
            raise PageError(503, "Sorry, the service is unavailable", exc.detail) from None
        await db.refresh(row)
        if exc.status == 422 and name == "extend":
            # Longer than the policy allows: an answer to change, not a refusal.
            field = "working_days" if fields["working_days"] is not None else "duration"
            problem = (field, exc.detail[:1].upper() + exc.detail[1:])
            return await _with_errors(request, db, viewer, row, name, [problem], values)
        return await _page(
            request, db, viewer, row, status=exc.status, refusal=exc.detail, values=values
        )
    return RedirectResponse(f"/escalations/{row.id}?done={chosen.done}", status_code=303)
