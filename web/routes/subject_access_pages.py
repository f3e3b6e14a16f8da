"""Subject access for the partnership: find every escalation about a child and download the
bundle (printable HTML, PDF, JSON and a SHA-256 manifest, in one ZIP)."""

import hashlib
import io
import zipfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from casework.actors import label
from casework.dependencies import SessionDep, SettingsDep
from casework.refusals import ProblemError
from casework.subject_access import (
    SubjectAccessBundle,
    SubjectAccessQuery,
    escalations_about,
    subject_access,
)
from database.access_log import record_access
from database.tables import Escalation
from web.i18n import N_, current_language, gettext
from web.negotiation import BrowserRoute
from web.page_context import (
    PageError,
    Viewer,
    ViewerDep,
    check_csrf,
    refusal_text,
    render,
    templates,
)
from web.pdf_print import pdf_of
from web.presenting import CASE_LABELS, EVENT_NAMES, STATUS_TAGS
from web.questions import read_date

router = APIRouter(include_in_schema=False)
# /subject-access is the API's too: the page answers browsers only.
page_router = APIRouter(include_in_schema=False, route_class=BrowserRoute)
BUNDLE_FILE = "subject-access"
NOBODY = N_("Enter the child's reference, or their name and date of birth")


def _partnership(viewer: Viewer) -> None:
    if viewer.role != "board":
        raise PageError(
            403,
            N_("Subject access is for the partnership"),
            N_(
                "Only the Safeguarding Children Partnership answers subject access requests. "
                "Ask its business unit."
            ),
        )


def _query(params: Any) -> tuple[SubjectAccessQuery | None, dict[str, Any], dict[str, str]]:
    """What the form asks (None if nothing yet or in error), the answers as typed, the problems.
    Posted, never in the address: names and references stay out of URLs and access logs."""
    reference = params.get("child_reference", "").strip()
    name = params.get("child_name", "").strip()
    parts, born, problem = read_date(params, "child_date_of_birth", N_("Date of birth"))
    typed = {"child_reference": reference, "child_name": name, "parts": parts}
    if not (reference or name or any(parts.values())):
        return None, typed, {}
    error_for: dict[str, str] = {}
    if problem:
        error_for["child_date_of_birth"] = problem
    elif not reference and not (name and born):
        if name:
            error_for["child_date_of_birth"] = gettext(
                "Enter the child's date of birth with the name"
            )
        else:
            error_for["child_name"] = gettext(NOBODY)
    if len(reference) > 100 or len(name) > 200:
        error_for["child_reference" if len(reference) > 100 else "child_name"] = gettext(
            "It is too long"
        )
    if error_for:
        return None, typed, error_for
    query = SubjectAccessQuery(
        child_reference=reference or None,
        child_name=None if reference else name,
        child_date_of_birth=None if reference else born,
    )
    return query, typed, {}


@page_router.get("/subject-access", response_class=HTMLResponse)
async def subject_access_page(request: Request, viewer: ViewerDep) -> Response:
    _partnership(viewer)
    return _search_page(request, viewer, typed={"parts": {}})


def _search_page(
    request: Request,
    viewer: Viewer,
    *,
    typed: dict[str, Any],
    error_for: dict[str, str] | None = None,
    found: list[Escalation] | None = None,
) -> HTMLResponse:
    error_for = error_for or {}
    hrefs = {"child_date_of_birth": "#child_date_of_birth-day"}
    return render(
        request,
        "subject_access.html",
        viewer,
        status=422 if error_for else 200,
        title=N_("Subject access request"),
        typed=typed,
        error_for=error_for,
        errors=[{"text": t, "href": hrefs.get(f, f"#{f}")} for f, t in error_for.items()],
        found=found,
        statuses=STATUS_TAGS,
    )


async def _asked(
    request: Request, viewer: Viewer
) -> tuple[SubjectAccessQuery | None, dict[str, Any], dict[str, str]]:
    """The posted form's question, from the partnership only."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    _partnership(viewer)
    return _query(form)


@router.post("/subject-access", response_class=HTMLResponse)
async def subject_access_search(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    query, typed, error_for = await _asked(request, viewer)
    if query is None:
        error_for = error_for or {"child_reference": gettext(NOBODY)}
        return _search_page(request, viewer, typed=typed, error_for=error_for)
    found = await escalations_about(db, viewer, query)
    # The search itself is an access: who looked, how much came back (never for whom).
    await record_access(
        db,
        actor=label(viewer),
        purpose="subject access search",
        details={"results": len(found)},
    )
    return _search_page(request, viewer, typed=typed, found=found)


def bundle_html(bundle: SubjectAccessBundle) -> str:
    return templates.get_template("subject_access_bundle.html").render(
        bundle=bundle,
        htmlLang=current_language(),
        case_labels=CASE_LABELS,
        event_names=EVENT_NAMES,
        statuses=STATUS_TAGS,
    )


def manifest(files: dict[str, bytes]) -> bytes:
    """`sha256sum -c SHA256SUMS` checks every file of the bundle."""
    lines = [f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in files.items()]
    return "".join(lines).encode()


@router.post("/subject-access/bundle")
async def subject_access_download(
    request: Request, viewer: ViewerDep, db: SessionDep, settings: SettingsDep
) -> Response:
    query, _, _ = await _asked(request, viewer)
    if query is None:
        raise PageError(422, N_("Say who the request is about"), N_("Search for the child first."))
    try:
        bundle = await subject_access(db, viewer, query)
    except ProblemError as exc:
        raise PageError(exc.status, N_("The bundle could not be made"), refusal_text(exc)) from None
    html = bundle_html(bundle)
    files = {
        f"{BUNDLE_FILE}.html": html.encode(),
        f"{BUNDLE_FILE}.json": bundle.model_dump_json(indent=2).encode(),
    }
    pdf = await pdf_of(html, settings.chromium_path)
    if pdf is not None:
        files[f"{BUNDLE_FILE}.pdf"] = pdf
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle_zip:
        for name, body in {**files, "SHA256SUMS": manifest(files)}.items():
            bundle_zip.writestr(name, body)
    stamp = f"{bundle.generated_at:%Y%m%d-%H%M%S}"
    return Response(
        archive.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{BUNDLE_FILE}-{stamp}.zip"',
            "Cache-Control": "no-store",
        },
    )
