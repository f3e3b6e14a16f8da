"""Correcting a case detail from the escalation's page: which detail, its correct value, why."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from casework import correcting
from casework.dependencies import SessionDep
from casework.refusals import ProblemError
from casework.requests import CorrectionRequest
from database.tables import Escalation
from web.i18n import N_, gettext, said
from web.page_context import PageError, Viewer, ViewerDep, check_csrf, refusal_text, render
from web.presenting import CASE_LABELS
from web.routes.escalation_page import visible_row

router = APIRouter(include_in_schema=False)

MISSING = {
    "field": N_("Select the detail to correct"),
    "value": N_("Enter the correct value"),
    "reason": N_("Enter why the detail is corrected"),
}


def _form(
    request: Request,
    viewer: Viewer,
    row: Escalation,
    *,
    values: dict[str, str],
    status: int = 200,
    errors: list[dict[str, str]] | None = None,
    error_for: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "correct.html",
        viewer,
        status=status,
        title=gettext("Correct a case detail: escalation %(id)s") % {"id": row.id},
        row=row,
        choices=[(field, gettext(label)) for field, label in CASE_LABELS.items()],
        values=values,
        errors=errors or [],
        error_for=error_for or {},
    )


async def _correctable(db: SessionDep, viewer: Viewer, escalation_id: str) -> Escalation:
    row = await visible_row(db, viewer, escalation_id)
    if not correcting.may_correct(viewer, row):
        raise PageError(
            403,
            N_("You cannot correct this escalation"),
            said(correcting.who_corrects(row)),
        )
    return row


@router.get("/escalations/{escalation_id}/correct", response_class=HTMLResponse)
async def correction_form(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    row = await _correctable(db, viewer, escalation_id)
    return _form(request, viewer, row, values={})


def _message(field: str, error: Any) -> str:
    if field == "value" and error["type"] == "value_error":
        return gettext("The correct value is not valid: %(problem)s") % {
            "problem": error["msg"].removeprefix("Value error, ")
        }
    message = gettext(MISSING.get(field, N_("Check this answer")))
    if error["type"] == "string_too_long":
        return gettext("%(problem)s: it is too long") % {"problem": message}
    return message


@router.post("/escalations/{escalation_id}/correct", response_class=HTMLResponse)
async def correct(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    row = await _correctable(db, viewer, escalation_id)
    values = {name: str(form.get(name, "")) for name in MISSING}
    sent = {**values, "value": values["value"].strip() or None, "field": values["field"] or None}
    try:
        body = CorrectionRequest.model_validate(sent)
    except ValidationError as exc:
        error_for: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "field"
            error_for.setdefault(field, _message(field, error))
        errors = [{"text": text, "href": f"#{field}"} for field, text in error_for.items()]
        return _form(
            request, viewer, row, values=values, status=422, errors=errors, error_for=error_for
        )
    try:
        await correcting.correct(db, viewer, row, body)
    except ProblemError as exc:
        raise PageError(
            exc.status, N_("The detail could not be corrected"), refusal_text(exc)
        ) from None
    return RedirectResponse(f"/escalations/{row.id}?done=corrected", status_code=303)
