"""The escalation's page (the address notifications link to), its actions, and its record."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from casework import acting, finding
from casework.actors import role_of
from casework.refusals import ProblemError
from casework.requests import IMMEDIATE_RISK_ADVICE, NoteRequest, ReasonRequest, ResolveRequest
from database.audit_chain import timeline as audit_timeline
from database.tables import Escalation
from web.deps import PageDb, PageError, Viewer, ViewerDep, check_csrf, render
from web.negotiation import BrowserRoute
from web.presenting import STATUS_TAGS, stage_count, stage_text, steps, timeline, when
from workflows.models import ActionKind
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
}
FIELD_IDS = {
    "resolve": {"outcome": "resolve-outcome", "agreed_actions": "resolve-agreed-actions"},
    "escalate": {"reason": "escalate-reason"},
    "withdraw": {"reason": "withdraw-reason"},
    "note": {"text": "note-text"},
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
}
DONE = {
    "resolved": "The escalation is resolved. Both agencies are told the outcome.",
    "escalated": "The escalation has moved to the next stage. Its people are told.",
    "withdrawn": "The escalation is withdrawn.",
    "noted": "Your note is on the record.",
}


def allowed_actions(viewer: Viewer, row: Escalation, stages: int | None) -> list[str]:
    """The actions this person may take now, by the same rule the workflow applies."""
    if row.status != "open":
        return []
    found = []
    for name, form in FORMS.items():
        if name == "escalate" and stages is not None and row.stage >= stages:
            continue  # the top stage: nowhere further to go
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


async def _visible(db: PageDb, viewer: Viewer, escalation_id: str) -> Escalation:
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
    db: PageDb,
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
        actions=allowed_actions(viewer, row, stage_count(row, policies)),
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
    request: Request, escalation_id: str, viewer: ViewerDep, db: PageDb
) -> Response:
    return await _page(request, db, viewer, await _visible(db, viewer, escalation_id))


@router.get("/escalations/{escalation_id}/record", response_class=HTMLResponse)
async def record_page(
    request: Request, escalation_id: str, viewer: ViewerDep, db: PageDb
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
    field = "text" if name == "note" else "reason"
    return {field: str(form.get(field, ""))}


@router.post("/escalations/{escalation_id}/actions/{name}", response_class=HTMLResponse)
async def take_action(
    request: Request, escalation_id: str, name: str, viewer: ViewerDep, db: PageDb
) -> Response:
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    row = await _visible(db, viewer, escalation_id)
    chosen = FORMS.get(name)
    if chosen is None:
        raise PageError(404, "Page not found", "There is no such action.")
    fields = _fields(name, form)
    values = {name: {k: str(form.get(k, "")) for k in fields}}
    try:
        body = chosen.model.model_validate(fields)
    except ValidationError as exc:
        error_for: dict[str, dict[str, str]] = {name: {}}
        errors = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else next(iter(fields))
            message = MISSING.get((name, field), "Check this answer")
            if error["type"] == "string_too_long":
                message = f"{message}: it is too long"
            if field not in error_for[name]:
                error_for[name][field] = message
                errors.append({"text": message, "href": f"#{FIELD_IDS[name][field]}"})
        return await _page(
            request,
            db,
            viewer,
            row,
            status=422,
            errors=errors,
            error_for=error_for,
            values=values,
        )
    temporal: Client = request.app.state.temporal
    try:
        await acting.act(db, temporal, viewer, row, chosen.action, **body.model_dump())
    except ProblemError as exc:
        if exc.status == 503:
            raise PageError(503, "Sorry, the service is unavailable", exc.detail) from None
        await db.refresh(row)
        return await _page(
            request, db, viewer, row, status=exc.status, refusal=exc.detail, values=values
        )
    return RedirectResponse(f"/escalations/{row.id}?done={chosen.done}", status_code=303)
