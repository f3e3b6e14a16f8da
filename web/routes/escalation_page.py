"""The escalation's page (the address notifications link to), its actions, and its record."""

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from temporalio.client import Client

from casework import acting, correcting, finding, holding, reading
from casework.actors import label, role_of
from casework.attention import disputable_until
from casework.refusals import ProblemError
from casework.requests import (
    IMMEDIATE_RISK_ADVICE,
    AcknowledgeRequest,
    ExtendRequest,
    NoteRequest,
    ReasonRequest,
    ResolveRequest,
)
from database.access_log import accesses, record_access
from database.tables import Escalation, utc_now
from web import last_views
from web.i18n import N_, gettext
from web.negotiation import BrowserRoute
from web.page_context import (
    SORRY,
    PageDb,
    PageError,
    Viewer,
    ViewerDep,
    check_csrf,
    render,
)
from web.presenting import (
    DECIDERS,
    STATUS_TAGS,
    access_entries,
    correction_notes,
    current_stage,
    policy_steps,
    stage_count,
    stage_text,
    steps,
    timeline,
    when,
)
from web.told import told_by_notification
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
    "resolve": Form("resolved", ResolveRequest, N_("Resolve the escalation"), "resolved"),
    "escalate": Form("escalate", ReasonRequest, N_("Escalate to the next stage"), "escalated"),
    "withdraw": Form("withdraw", ReasonRequest, N_("Withdraw the escalation"), "withdrawn"),
    "note": Form("note", NoteRequest, N_("Add the note"), "noted"),
    "acknowledge": Form("acknowledge", AcknowledgeRequest, N_("Acknowledge"), "acknowledged"),
    "extend": Form("extend", ExtendRequest, N_("Extend the time limit"), "extended"),
    "dispute": Form("dispute", ReasonRequest, N_("Dispute the outcome"), "disputed"),
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
    # The partnership's legal hold (not a workflow action: casework/holding.py).
    "hold": {"reason": "hold-reason"},
    "release": {"reason": "release-reason"},
}
MISSING = {
    ("resolve", "outcome"): N_("Enter the outcome agreed"),
    (
        "resolve",
        "agreed_actions",
    ): N_("Enter each agreed action on its own line, up to 2,000 characters"),
    ("escalate", "reason"): N_("Enter why it needs the next stage"),
    ("withdraw", "reason"): N_("Enter why the escalation is withdrawn"),
    ("note", "text"): N_("Enter the note"),
    ("extend", "reason"): N_("Enter why the time limit is extended"),
    ("extend", "working_days"): N_("Enter the working days as a whole number from 1 to 120"),
    ("extend", "duration"): N_("Enter the hours as a number more than 0, like 12"),
    ("dispute", "reason"): N_("Enter why you disagree with the outcome"),
    ("hold", "reason"): N_("Enter why the escalation is held"),
    ("release", "reason"): N_("Enter why the hold is released"),
}
HOURS = re.compile(r"\d{1,4}(\.\d{1,2})?")
FORM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A fault of ours (no worker, Temporal or the database away): the form's one-time id makes a
# resend safe.
NOT_DONE_YET = N_(
    "What you sent may not have been done. Go back and send the form again in a few minutes: "
    "it will not be done twice."
)
# Catalogue messages (MISSING, DONE, FORMS' buttons): translated where they are shown.
DONE = {
    "resolved": N_("The escalation is resolved. Both agencies are told the outcome."),
    "escalated": N_("The escalation has moved to the next stage. Its people are told."),
    "withdrawn": N_("The escalation is withdrawn."),
    "noted": N_("Your note is on the record."),
    "acknowledged": N_("You have acknowledged the escalation. The raising agency is told."),
    "extended": N_("The time limit is extended. Both agencies are told the new one."),
    "disputed": N_(
        "The outcome is disputed: the escalation is open again at the next stage. "
        "Its people are told."
    ),
    "corrected": N_("The case detail is corrected. The record shows when, by whom and why."),
    "held": N_("The escalation is under a legal hold: the retention rule will not erase it."),
    "released": N_("The legal hold is released: the retention rule applies again."),
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


async def visible_row(db: PageDb, viewer: Viewer, escalation_id: str) -> Escalation:
    try:
        return await finding.find_visible(db, viewer, escalation_id)
    except ProblemError:
        raise PageError(
            404,
            N_("Page not found"),
            N_(
                "There is no escalation with that reference that you can see. Check the reference "
                "in your email. Only the agencies involved and the partnership can see an "
                "escalation."
            ),
        ) from None


async def _page(
    request: Request,
    db: PageDb,
    viewer: Viewer,
    row: Escalation,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    policies = request.app.state.policies
    events = await reading.readable_timeline(db, row.id)
    row = await reading.readable(db, row)
    told = await told_by_notification(db, row.id)
    partnership = viewer.role == "board"
    return render(
        request,
        context.pop("template", "escalation.html"),
        viewer,
        status=status,
        title=gettext("Escalation %(id)s") % {"id": row.id},
        row=row,
        stage=stage_text(row, policies),
        deadline=when(row.stage_deadline),
        created=when(row.created_at),
        closed=when(row.closed_at),
        erased=when(row.erased_at),
        held=when(row.held_at),
        hold_reason=row.hold_reason if partnership else None,
        status_tag=STATUS_TAGS.get(row.status, (row.status, "govuk-tag--grey")),
        steps=steps(row, policies),
        timeline=timeline(events, context.pop("since", None), label(viewer), told),
        actions=allowed_actions(viewer, row, policies),
        policy_steps=policy_steps(row, policies, utc_now()),
        forms=FORMS,
        field_ids=FIELD_IDS,
        advice=gettext(IMMEDIATE_RISK_ADVICE) if row.immediate_risk else None,
        corrections=correction_notes(
            await reading.readable_corrections(db, row.id), partnership=partnership
        ),
        may_correct=correcting.may_correct(viewer, row) and row.erased_at is None,
        viewed=access_entries(await accesses(db, row.id)) if partnership else None,
        done=gettext(DONE.get(request.query_params.get("done", ""), "")),
        deciders=DECIDERS,
        # One-time: a double click or a resubmitted form sends it again and is applied once.
        form_id=secrets.token_urlsafe(16),
        values=context.pop("values", {}),
        error_for=context.pop("error_for", {}),
        **context,
    )


@page_router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
async def escalation_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: PageDb
) -> Response:
    row = await visible_row(db, viewer, escalation_id)
    await record_access(db, actor=label(viewer), purpose="page", escalation_id=row.id)
    since = await last_views.look(db, viewer.person.email, row.id)
    return await _page(request, db, viewer, row, since=since)


@router.get("/escalations/{escalation_id}/record", response_class=HTMLResponse)
async def record_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: PageDb
) -> Response:
    """The whole record and timeline to print for the child's file, at both agencies."""
    row = await visible_row(db, viewer, escalation_id)
    await record_access(db, actor=label(viewer), purpose="record", escalation_id=row.id)
    return await _page(request, db, viewer, row, template="record.html", printed=when(utc_now()))


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


def _form_id(form: Any, name: str) -> str | None:
    """The page's one-time form id as the action's idempotency key (None from an older page)."""
    sent = form.get("form_id")
    if not isinstance(sent, str) or not FORM_ID.fullmatch(sent):
        return None
    return f"page:{sent}:{name}"


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
            gettext("Enter working days or hours, not both")
            if given
            else gettext("Enter how much longer: working days, or hours")
        )
    message = gettext(MISSING.get((name, field), N_("Check this answer")))
    if error["type"] == "string_too_long":
        message = gettext("%(problem)s: it is too long") % {"problem": message}
    return field, message


def _sent(body: BaseModel) -> dict[str, Any]:
    """The action's fields as the workflow takes them."""
    if isinstance(body, ExtendRequest):
        return {"reason": body.reason, "extension": body.extension}
    return body.model_dump()


async def _with_errors(
    request: Request,
    db: PageDb,
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


async def _posted(
    request: Request, escalation_id: str, known: bool, viewer: Viewer, db: PageDb
) -> tuple[Any, Escalation]:
    """A form posted on the escalation's page: its fields and the record, once the CSRF token
    and the person's right to see it are checked, and the action is one the page has."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    row = await visible_row(db, viewer, escalation_id)
    if not known:
        raise PageError(404, N_("Page not found"), N_("There is no such action."))
    return form, row


@router.post("/escalations/{escalation_id}/actions/{name}", response_class=HTMLResponse)
async def take_action(
    request: Request, escalation_id: str, name: str, viewer: ViewerDep, db: PageDb
) -> Response:
    form, row = await _posted(request, escalation_id, name in FORMS, viewer, db)
    chosen = FORMS[name]
    fields = _fields(name, form)
    values = _form_values(name, form)
    try:
        body = chosen.model.model_validate(fields)
    except ValidationError as exc:
        problems = [_problem(name, error, fields) for error in exc.errors()]
        return await _with_errors(request, db, viewer, row, name, problems, values)
    temporal: Client = request.app.state.temporal
    try:
        await acting.act(
            db,
            temporal,
            request.app.state.settings,
            viewer,
            row,
            chosen.action,
            idempotency_key=_form_id(form, name),
            **_sent(body),
        )
    except ProblemError as exc:
        if exc.status == 503:
            raise PageError(503, SORRY, NOT_DONE_YET) from None
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


@router.post("/escalations/{escalation_id}/legal-hold/{name}", response_class=HTMLResponse)
async def legal_hold(
    request: Request, escalation_id: str, name: str, viewer: ViewerDep, db: PageDb
) -> Response:
    """The partnership places (`hold`) or releases (`release`) a legal hold, with a reason."""
    form, row = await _posted(request, escalation_id, name in ("hold", "release"), viewer, db)
    values = _form_values(name, form)
    try:
        body = ReasonRequest.model_validate({"reason": str(form.get("reason", ""))})
    except ValidationError as exc:
        problems = [_problem(name, error, {"reason": ""}) for error in exc.errors()]
        return await _with_errors(request, db, viewer, row, name, problems, values)
    change = holding.hold if name == "hold" else holding.release
    try:
        await change(db, viewer, row, body.reason)
    except ProblemError as exc:
        await db.refresh(row)
        return await _page(
            request, db, viewer, row, status=exc.status, refusal=exc.detail, values=values
        )
    done = "held" if name == "hold" else "released"
    return RedirectResponse(f"/escalations/{row.id}?done={done}#legal-hold", status_code=303)
