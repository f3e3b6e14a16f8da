"""Raising an escalation: question pages, check your answers, and the confirmation panel."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from casework import finding, raising
from casework.dependencies import SessionDep, policies_of, settings_of, temporal_of
from casework.refusals import ProblemError
from casework.requests import IMMEDIATE_RISK_ADVICE, RaiseRequest
from web.i18n import N_, gettext, policy_name
from web.page_context import (
    SORRY,
    PageError,
    Viewer,
    ViewerDep,
    check_csrf,
    other_agencies,
    refusal_text,
    render,
)
from web.questions import FIRST_STEP, STEPS, Step, check_step
from web.sessions import save_draft
from workflows.policy import URGENT_POLICY

router = APIRouter(prefix="/raise", include_in_schema=False)
ORDER = [*STEPS, "check"]
ACCEPTED_LATER = N_(
    "Your escalation has been received but not yet recorded, because part of the service is "
    "catching up. It will be raised once; send it again in a few minutes to see it."
)
NOT_SENT_NOW = N_(
    "Your escalation could not be sent just now, because part of the service is unavailable. "
    "Send it again in a few minutes: it will be raised once."
)


async def _choices(
    request: Request, db: SessionDep, viewer: Viewer
) -> dict[str, list[tuple[str, str]]]:
    agencies = await other_agencies(db, viewer)
    policies = policies_of(request)
    return {
        "receiving_agency": [(name, name) for name in agencies],
        "policy": [
            (name, policy_name(policy.title))
            for name, policy in policies.items()
            if name != URGENT_POLICY
        ],
    }


def _answers(viewer: Viewer) -> dict[str, Any]:
    answers: dict[str, Any] = dict(viewer.session.draft.get("answers", {}))
    return answers


def _first_unanswered(answers: dict[str, Any]) -> str | None:
    for slug, step in STEPS.items():
        if not all(q.name in answers for q in step.questions):
            return slug
    return None


async def _step_page(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    step: Step,
    answers: dict[str, Any],
    problems: dict[str, str] | None = None,
    change: bool = False,
) -> HTMLResponse:
    problems = problems or {}
    ids = {q.name: (f"{q.name}-day" if q.kind == "date" else q.name) for q in step.questions}
    back = ORDER[ORDER.index(step.slug) - 1] if step.slug != FIRST_STEP else None
    choices = await _choices(request, db, viewer)
    return render(
        request,
        "raise_step.html",
        viewer,
        status=422 if problems else 200,
        title=step.title,
        step=step,
        answers=answers,
        choices=choices,
        error_for=problems,
        errors=[{"text": message, "href": f"#{ids[name]}"} for name, message in problems.items()],
        back=f"/raise/{back}" if back else "/",
        change=change,
        advice=gettext(IMMEDIATE_RISK_ADVICE),
    )


@router.get("", response_class=HTMLResponse)
async def start(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    return await _step_page(request, db, viewer, STEPS[FIRST_STEP], _answers(viewer))


@router.get("/check", response_class=HTMLResponse)
async def check_answers(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    answers = _answers(viewer)
    missing = _first_unanswered(answers)
    if missing:
        return RedirectResponse(f"/raise/{missing}" if missing != FIRST_STEP else "/raise", 303)
    return await _check_page(request, db, viewer, answers)


async def _check_page(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    answers: dict[str, Any],
    refusal: str | None = None,
) -> HTMLResponse:
    choices = await _choices(request, db, viewer)
    return render(
        request,
        "raise_check.html",
        viewer,
        status=422 if refusal else 200,
        title=N_("Check your answers before sending the escalation"),
        answers=answers,
        steps=STEPS,
        policy_titles=dict(choices["policy"]),
        advice=gettext(IMMEDIATE_RISK_ADVICE),
        refusal=refusal,
    )


@router.get("/confirmation/{escalation_id}", response_class=HTMLResponse)
async def confirmation(
    request: Request, escalation_id: str, viewer: ViewerDep, db: SessionDep
) -> Response:
    try:
        row = await finding.find_visible(db, viewer, escalation_id)
    except ProblemError:
        raise PageError(404, N_("Page not found"), N_("There is no such escalation.")) from None
    return render(
        request,
        "raise_done.html",
        viewer,
        title=N_("Escalation raised"),
        row=row,
        advice=gettext(IMMEDIATE_RISK_ADVICE) if row.immediate_risk else None,
    )


@router.get("/{slug}", response_class=HTMLResponse)
async def step_page(request: Request, slug: str, viewer: ViewerDep, db: SessionDep) -> Response:
    step = STEPS.get(slug)
    if step is None or slug == FIRST_STEP:
        return RedirectResponse("/raise", 303)
    return await _step_page(
        request,
        db,
        viewer,
        step,
        _answers(viewer),
        change=request.query_params.get("change") == "1",
    )


@router.post("/check")
async def send(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    check_csrf(request, await request.form(), viewer.session.csrf_token)
    answers = _answers(viewer)
    if _first_unanswered(answers):
        return RedirectResponse("/raise/check", 303)
    fields = {
        name: value
        for name, value in answers.items()
        if name in RaiseRequest.model_fields and value is not None
    }
    try:
        body = RaiseRequest.model_validate(fields)
    except ValidationError as exc:
        names = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"])
        return await _check_page(
            request,
            db,
            viewer,
            answers,
            gettext("Check these answers: %(names)s.") % {"names": names or gettext("all")},
        )
    settings = settings_of(request)
    # The draft's key makes a second press of the button (or a retry) the same escalation.
    key = str(viewer.session.draft.get("key") or uuid.uuid4())
    try:
        row, _ = await raising.raise_escalation(
            db,
            temporal_of(request),
            settings,
            policies_of(request),
            viewer,
            body,
            f"page:{key}",
        )
    except raising.RaiseAccepted:
        # Kept with its key: sending again shows the escalation once it is recorded.
        raise PageError(503, SORRY, ACCEPTED_LATER) from None
    except ProblemError as exc:
        if exc.status == 503:
            raise PageError(503, SORRY, NOT_SENT_NOW) from None
        return await _check_page(request, db, viewer, answers, refusal_text(exc))
    await save_draft(db, viewer.session, {})
    return RedirectResponse(f"/raise/confirmation/{row.id}", 303)


@router.post("/{slug}")
async def answer(request: Request, slug: str, viewer: ViewerDep, db: SessionDep) -> Response:
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    step = STEPS.get("agency" if slug == "" else slug)
    if step is None:
        raise PageError(404, N_("Page not found"), N_("There is no such question."))
    answers = _answers(viewer)
    given, problems = check_step(step, form, await _choices(request, db, viewer))
    merged = {**answers, **given}
    change = form.get("change") == "1"
    if problems:
        return await _step_page(request, db, viewer, step, merged, problems, change)
    draft = dict(viewer.session.draft)
    draft.setdefault("key", str(uuid.uuid4()))
    draft["answers"] = merged
    await save_draft(db, viewer.session, draft)
    go = "check" if change else step.next
    return RedirectResponse(f"/raise/{go}", 303)


@router.post("")
async def answer_first(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    return await answer(request, FIRST_STEP, viewer, db)
