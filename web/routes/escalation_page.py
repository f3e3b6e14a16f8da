"""The escalation's page (the address notifications link to), its record, and its actions.

The page shows the case first, then a button for each action the person may take now, then the
timeline. Each action is the GOV.UK pattern of three pages, all generated from its row of
workflows/actions.py: the question page (its fields), the confirmation page (the answers and
what the action does to the escalation), and the panel once it is done.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from casework import acting, correcting, finding, holding, reading
from casework.actors import label, role_of
from casework.attention import disputable_until
from casework.dependencies import PoliciesDep, SessionDep, SettingsDep, TemporalDep
from casework.refusals import ProblemError
from casework.requests import IMMEDIATE_RISK_ADVICE
from database.access_log import accesses, record_access
from database.audit_chain import timeline as audit_timeline
from database.tables import Escalation, utc_now
from web import last_views
from web.i18n import N_, gettext, said
from web.negotiation import BrowserRoute
from web.page_context import (
    SORRY,
    PageError,
    Viewer,
    ViewerDep,
    check_csrf,
    refusal_text,
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
from workflows.action_requests import ExtendRequest, ReasonRequest, Strict
from workflows.actions import ACTIONS, BY_PATH, ActionDefinition, FormField
from workflows.policy import Policy
from workflows.rules import EXTENSION_TOO_LONG, may_act

page_router = APIRouter(include_in_schema=False, route_class=BrowserRoute)
router = APIRouter(include_in_schema=False)

HOURS = re.compile(r"\d{1,4}(\.\d{1,2})?")
# The person's answers as typed, by form field.
Answers = dict[str, str]
# The banners after what the page does beside the actions (not workflow steps): a correction
# (web/routes/correction_pages.py) and the partnership's legal hold (casework/holding.py).
# Catalogue messages (BANNERS, HOLD_MISSING, and the action table's words through
# core/action_words.py): translated where they are shown.
BANNERS = {
    "corrected": N_("The case detail is corrected. The record shows when, by whom and why."),
    "held": N_("The escalation is under a legal hold: the retention rule will not erase it."),
    "released": N_("The legal hold is released: the retention rule applies again."),
}
HOLD_MISSING = {
    "hold": N_("Enter why the escalation is held"),
    "release": N_("Enter why the hold is released"),
}
FORM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A fault of ours (no worker, Temporal or the database away): the form's one-time id makes a
# resend safe.
NOT_DONE_YET = N_(
    "What you sent may not have been done. Go back and send the form again in a few minutes: "
    "it will not be done twice."
)


def _open_to(action: ActionDefinition, row: Escalation, policies: dict[str, Policy]) -> bool:
    """Whether the escalation, as it stands, takes this action from anyone at all."""
    if action.kind == "dispute":
        return disputable_until(row, utc_now()) is not None
    if row.status != "open":
        return False
    stages, stage = stage_count(row, policies), current_stage(row, policies)
    if action.kind == "escalate":
        return stages is None or row.stage < stages  # the top stage: nowhere further to go
    if action.kind == "acknowledge":
        return row.acknowledged_at is None  # once a stage
    if action.kind == "extend":
        return stage is None or row.extensions_used < stage.max_extensions
    return True


def allowed_actions(
    viewer: Viewer, row: Escalation, policies: dict[str, Policy]
) -> list[ActionDefinition]:
    """The actions this person may take now, by the same rule the workflow applies."""
    return [
        action
        for action in ACTIONS.values()
        if _open_to(action, row, policies)
        and may_act(
            action.kind,
            viewer.agency,
            role_of(viewer),
            raising_agency=row.raising_agency,
            receiving_agency=row.receiving_agency,
            stage_role=row.stage_role,  # type: ignore[arg-type]
        )
    ]


async def visible_row(db: SessionDep, viewer: Viewer, escalation_id: str) -> Escalation:
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


def _action(path: str) -> ActionDefinition:
    action = BY_PATH.get(path)
    if action is None:
        raise PageError(404, N_("Page not found"), N_("There is no such action."))
    return action


async def _page(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    row: Escalation,
    policies: dict[str, Policy],
    status: int = 200,
    template: str = "escalation.html",
    refusal: str | None = None,
    hold_problem: str | None = None,
    since: datetime | None = None,
    printed: str | None = None,
) -> HTMLResponse:
    events = await reading.readable_timeline(db, row.id)
    row = await reading.readable(db, row)
    told = await told_by_notification(db, row.id)
    partnership = viewer.role == "board"
    return render(
        request,
        template,
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
        hold_problem=hold_problem,
        errors=[{"text": hold_problem, "href": "#hold-reason"}] if hold_problem else [],
        status_tag=STATUS_TAGS.get(row.status, (row.status, "govuk-tag--grey")),
        steps=steps(row, policies),
        timeline=timeline(events, since, label(viewer), told),
        printed=printed,
        actions=allowed_actions(viewer, row, policies),
        policy_steps=policy_steps(row, policies, utc_now()),
        advice=gettext(IMMEDIATE_RISK_ADVICE) if row.immediate_risk else None,
        corrections=correction_notes(
            await reading.readable_corrections(db, row.id), partnership=partnership
        ),
        may_correct=correcting.may_correct(viewer, row) and row.erased_at is None,
        viewed=access_entries(await accesses(db, row.id)) if partnership else None,
        done=gettext(BANNERS.get(request.query_params.get("done", ""), "")),
        refusal=refusal,
        deciders=DECIDERS,
    )


@page_router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
async def escalation_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep, policies: PoliciesDep
) -> Response:
    row = await visible_row(db, viewer, escalation_id)
    await record_access(db, actor=label(viewer), purpose="page", escalation_id=row.id)
    since = await last_views.look(db, viewer.person.email, row.id)
    return await _page(request, db, viewer, row, policies, since=since)


@router.get("/escalations/{escalation_id}/record", response_class=HTMLResponse)
async def record_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep, policies: PoliciesDep
) -> Response:
    """The whole record and timeline to print for the child's file, at both agencies."""
    row = await visible_row(db, viewer, escalation_id)
    await record_access(db, actor=label(viewer), purpose="record", escalation_id=row.id)
    return await _page(
        request, db, viewer, row, policies, template="record.html", printed=when(utc_now())
    )


# --- an action's pages ----------------------------------------------------------------------


def _answers(action: ActionDefinition, form: Any) -> Answers:
    return {field.name: str(form.get(field.name, "")).strip() for field in action.fields}


def _request_fields(action: ActionDefinition, answers: Answers) -> dict[str, Any]:
    """The answers as the action's request takes them."""
    fields: dict[str, Any] = {}
    for field in action.fields:
        typed = answers[field.name]
        if field.kind == "lines":
            fields[field.sends] = [line.strip() for line in typed.splitlines() if line.strip()]
        elif field.kind == "hours":
            fields[field.sends] = _duration(typed)
        elif field.kind == "days":
            fields[field.sends] = typed or None
        else:
            fields[field.sends] = typed
    return fields


def _duration(hours: str) -> str | None:
    """The hours typed as an ISO 8601 duration; anything but a number as text the duration's
    own check refuses, so the error names the hours."""
    if not hours:
        return None
    return f"PT{hours}H" if HOURS.fullmatch(hours) else "not hours"


def _problem(
    action: ActionDefinition, error: ErrorDetails, answers: Answers
) -> tuple[FormField, str]:
    """The field at fault and what to tell the person, GOV.UK style."""
    sent = str(error["loc"][0]) if error["loc"] else action.fields[0].sends
    field = next((f for f in action.fields if f.sends == sent), action.fields[0])
    if action.request is ExtendRequest and "exactly one" in error["msg"]:
        # Neither or both: said once, at the first of the two.
        days = next(f for f in action.fields if f.kind == "days")
        given = bool(answers[days.name])
        return days, (
            gettext("Enter working days or hours, not both")
            if given
            else gettext("Enter how much longer: working days, or hours")
        )
    message = gettext(field.problem)
    if error["type"] == "string_too_long":
        message = gettext("%(problem)s: it is too long") % {"problem": message}
    return field, message


def _checked(action: ActionDefinition, answers: Answers) -> Strict | list[tuple[FormField, str]]:
    """The action's request, or the problems with the answers."""
    try:
        return action.request.model_validate(_request_fields(action, answers))
    except ValidationError as exc:
        return [_problem(action, error, answers) for error in exc.errors()]


async def _allowed(
    viewer: Viewer, db: SessionDep, escalation_id: str, action: ActionDefinition, policies: Any
) -> Escalation:
    row = await visible_row(db, viewer, escalation_id)
    if action not in allowed_actions(viewer, row, policies):
        now = (
            said(acting.already(row.status))
            if row.status in acting.ALREADY and action.kind != "dispute"
            else gettext("You cannot do that to the escalation as it stands now.")
        )
        raise PageError(
            409,
            N_("You cannot do that now"),
            now
            + " "
            + gettext("Nothing was changed. Go back to the escalation to see what you can do."),
        )
    return row


def _question(
    request: Request,
    viewer: Viewer,
    row: Escalation,
    action: ActionDefinition,
    answers: Answers,
    problems: list[tuple[FormField, str]] | None = None,
) -> HTMLResponse:
    error_for: dict[str, str] = {}
    for field, message in problems or []:
        error_for.setdefault(field.name, message)
    return render(
        request,
        "action_question.html",
        viewer,
        status=422 if error_for else 200,
        title=action.question,
        row=row,
        action=action,
        answers=answers,
        error_for=error_for,
        errors=[
            {"text": message, "href": f"#{_field_id(action, name)}"}
            for name, message in error_for.items()
        ],
    )


def _field_id(action: ActionDefinition, name: str) -> str:
    """As action_question.html names the field: "extend-working-days"."""
    return f"{action.path}-{name.replace('_', '-')}"


def _confirmation(
    request: Request, viewer: Viewer, row: Escalation, action: ActionDefinition, answers: Answers
) -> HTMLResponse:
    return render(
        request,
        "action_confirm.html",
        viewer,
        title=gettext("%(question)s: check and confirm") % {"question": gettext(action.question)},
        row=row,
        action=action,
        answers=answers,
        # One-time: a double click or a resubmitted confirmation is applied once.
        form_id=secrets.token_urlsafe(16),
    )


def _form_id(form: Any, action: ActionDefinition) -> str | None:
    """The confirmation's one-time form id as the action's idempotency key (None from an older
    page)."""
    sent = form.get("form_id")
    if not isinstance(sent, str) or not FORM_ID.fullmatch(sent):
        return None
    return f"page:{sent}:{action.path}"


@router.get("/escalations/{escalation_id}/actions/{path}", response_class=HTMLResponse)
async def question_page(
    request: Request,
    escalation_id: str,
    path: str,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
) -> Response:
    action = _action(path)
    row = await _allowed(viewer, db, escalation_id, action, policies)
    answers = _answers(action, {})
    if not action.fields:  # nothing to ask: straight to what it does
        return _confirmation(request, viewer, row, action, answers)
    return _question(request, viewer, row, action, answers)


@dataclass(frozen=True)
class Answered:
    """A form of an action's pages, sent for an escalation on which the person may take it."""

    action: ActionDefinition
    row: Escalation
    answers: Answers


async def _sent(
    request: Request, viewer: Viewer, path: str
) -> tuple[ActionDefinition, Answers, Any]:
    """The action whose form was sent, its answers and the form (its CSRF token checked)."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    action = _action(path)
    return action, _answers(action, form), form


async def _answered(
    request: Request,
    escalation_id: str,
    path: str,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
) -> Answered:
    action, answers, _ = await _sent(request, viewer, path)
    return Answered(action, await _allowed(viewer, db, escalation_id, action, policies), answers)


AnsweredDep = Annotated[Answered, Depends(_answered)]


@router.post("/escalations/{escalation_id}/actions/{path}", response_class=HTMLResponse)
async def answer(request: Request, viewer: ViewerDep, sent: AnsweredDep) -> Response:
    """The answers checked: the question page again with the problems, or the confirmation."""
    checked = _checked(sent.action, sent.answers)
    if isinstance(checked, list):
        return _question(request, viewer, sent.row, sent.action, sent.answers, checked)
    return _confirmation(request, viewer, sent.row, sent.action, sent.answers)


@router.post("/escalations/{escalation_id}/actions/{path}/change", response_class=HTMLResponse)
async def change(request: Request, viewer: ViewerDep, sent: AnsweredDep) -> Response:
    """The question page again with the answers given (they never go in an address)."""
    return _question(request, viewer, sent.row, sent.action, sent.answers)


@router.post("/escalations/{escalation_id}/actions/{path}/confirm", response_class=HTMLResponse)
async def confirm(
    request: Request,
    escalation_id: str,
    path: str,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Takes the action (the workflow checks it again) and shows the panel, or why not."""
    action, answers, form = await _sent(request, viewer, path)
    row = await visible_row(db, viewer, escalation_id)
    checked = _checked(action, answers)
    if isinstance(checked, list):
        return _question(request, viewer, row, action, answers, checked)
    try:
        await acting.act(
            db,
            temporal,
            settings,
            viewer,
            row,
            action.kind,
            idempotency_key=_form_id(form, action),
            **checked.action_fields(),
        )
    except ProblemError as exc:
        if exc.status == 503:
            raise PageError(503, SORRY, NOT_DONE_YET) from None
        await db.refresh(row)
        if exc.code == EXTENSION_TOO_LONG:
            # Longer than the policy allows: an answer to change, not a refusal.
            field = next(
                f
                for f in action.fields
                if f.kind == ("days" if answers["working_days"] else "hours")
            )
            problem = (field, refusal_text(exc))
            return _question(request, viewer, row, action, answers, [problem])
        return await _page(
            request, db, viewer, row, policies, status=exc.status, refusal=refusal_text(exc)
        )
    return RedirectResponse(f"/escalations/{row.id}/actions/{action.path}/done", 303)


@router.get("/escalations/{escalation_id}/actions/{path}/done", response_class=HTMLResponse)
async def done_page(
    request: Request, escalation_id: str, path: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    action = _action(path)
    row = await visible_row(db, viewer, escalation_id)
    if not any(event.action == action.recorded for event in await audit_timeline(db, row.id)):
        return RedirectResponse(f"/escalations/{row.id}", 303)  # not done: nothing to confirm
    return render(
        request, "action_done.html", viewer, title=action.timeline, row=row, action=action
    )


@router.post("/escalations/{escalation_id}/legal-hold/{name}", response_class=HTMLResponse)
async def legal_hold(
    request: Request,
    escalation_id: str,
    name: str,
    viewer: ViewerDep,
    db: SessionDep,
    policies: PoliciesDep,
) -> Response:
    """The partnership places (`hold`) or releases (`release`) a legal hold, with a reason."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    row = await visible_row(db, viewer, escalation_id)
    if name not in HOLD_MISSING:
        raise PageError(404, N_("Page not found"), N_("There is no such action."))
    try:
        body = ReasonRequest.model_validate({"reason": str(form.get("reason", ""))})
    except ValidationError:
        problem = gettext(HOLD_MISSING[name])
        return await _page(request, db, viewer, row, policies, status=422, hold_problem=problem)
    change = holding.hold if name == "hold" else holding.release
    try:
        await change(db, viewer, row, body.reason)
    except ProblemError as exc:
        await db.refresh(row)
        return await _page(
            request, db, viewer, row, policies, status=exc.status, refusal=refusal_text(exc)
        )
    done = "held" if name == "hold" else "released"
    return RedirectResponse(f"/escalations/{row.id}?done={done}#legal-hold", status_code=303)
