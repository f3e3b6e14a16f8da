"""/directory/import and /directory/record: the business unit's bulk changes and its record.

An upload is read and checked at once, and nothing changes: the check page lists what would be
added, changed and deactivated and every bad row with its line and reason. The good rows wait
in the person's session until they confirm, and are checked again against the directory then.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from casework import directory_access as access
from casework.actors import label
from casework.dependencies import SessionDep
from casework.directory_changes import PersonRow, Plan, apply, plan
from casework.directory_csv import CsvFileError, read_people
from web.forms import form_page
from web.i18n import N_, gettext, said, translated
from web.page_context import PageError, Viewer, check_csrf, render
from web.routes.agency_pages import KIND_NAMES
from web.routes.directory_pages import ROLE_NAMES, BusinessUnitDep, page_links
from web.sessions import save_draft

router = APIRouter(prefix="/directory", include_in_schema=False)

# Where the check page keeps the good rows until they are confirmed.
DRAFT_KEY = "directory_import"
# The check page lists this many rows of each kind (the counts are always whole).
SHOWN = 200
# An upload larger than this is refused by the body limit (api/app.py) before it is read.
MAX_IMPORT_BYTES = 8 * 1024 * 1024
CHOOSE_A_FILE = N_("Choose a CSV file to import")
NO_PEOPLE = N_("The file has no people in it")
# How the record shows a yes, a no and an empty list, what changed and each field.
SHOWN_VALUES = {True: N_("yes"), False: N_("no")}
CHANGES = {
    ("person", "added"): N_("person added"),
    ("person", "changed"): N_("person changed"),
    ("person", "deactivated"): N_("person deactivated"),
    ("agency", "added"): N_("agency added"),
    ("agency", "changed"): N_("agency changed"),
}
FIELD_NAMES = {
    "name": N_("Name"),
    "email": N_("Email"),
    "agency": N_("Agency"),
    "role": N_("Role"),
    "active": N_("Active"),
    "language": N_("Language"),
    "kind": N_("Kind of agency"),
    "email_domains": N_("Email domains"),
}


def _upload_page(request: Request, viewer: Viewer, problem: str | None = None) -> HTMLResponse:
    return form_page(
        request,
        "directory_import.html",
        viewer,
        {"file": problem} if problem else {},
        title=N_("Import people from a CSV file"),
    )


@router.get("/import", response_class=HTMLResponse)
async def import_page(request: Request, viewer: BusinessUnitDep) -> Response:
    return _upload_page(request, viewer)


def _check_page(request: Request, viewer: Viewer, found: Plan) -> HTMLResponse:
    return render(
        request,
        "directory_import_check.html",
        viewer,
        title=N_("Check the import before confirming"),
        plan=found,
        shown=SHOWN,
        roles=translated(ROLE_NAMES),
        new_agencies=sorted(name for name, _ in found.new_agencies.values()),
    )


@router.post("/import", response_class=HTMLResponse)
async def upload(request: Request, viewer: BusinessUnitDep, db: SessionDep) -> Response:
    form = await request.form(max_part_size=MAX_IMPORT_BYTES)
    check_csrf(request, form, viewer.session.csrf_token)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _upload_page(request, viewer, gettext(CHOOSE_A_FILE))
    try:
        rows = read_people(await file.read())
    except CsvFileError as exc:
        return _upload_page(request, viewer, said(exc.said))
    if not rows:
        return _upload_page(request, viewer, gettext(NO_PEOPLE))
    found = await plan(db, rows)
    draft: dict[str, Any] = dict(viewer.session.draft)
    draft[DRAFT_KEY] = [row.as_dict() for row in found.good_rows]
    await save_draft(db, viewer.session, draft)
    return _check_page(request, viewer, found)


@router.post("/import/confirm")
async def confirm(request: Request, viewer: BusinessUnitDep, db: SessionDep) -> Response:
    check_csrf(request, await request.form(), viewer.session.csrf_token)
    draft: dict[str, Any] = dict(viewer.session.draft)
    waiting = draft.pop(DRAFT_KEY, None)
    if waiting is None:
        raise PageError(
            409,
            N_("There is no import to confirm"),
            N_("The import was confirmed already, or your session ended. Upload the file again."),
        )
    # Checked again: the directory may have changed since the check page.
    found = await plan(db, [PersonRow(**row) for row in waiting])
    await apply(db, found, label(viewer))
    await save_draft(db, viewer.session, draft)
    counts = {kind: len(found.of(kind)) for kind in ("added", "changed", "deactivated")}
    query = "&".join(f"{kind}={count}" for kind, count in counts.items())
    return RedirectResponse(f"/directory/import/done?{query}", status_code=303)


@router.get("/import/done", response_class=HTMLResponse)
async def done(
    request: Request,
    viewer: BusinessUnitDep,
    added: Annotated[int, Query(ge=0)] = 0,
    changed: Annotated[int, Query(ge=0)] = 0,
    deactivated: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    return render(
        request,
        "directory_import_done.html",
        viewer,
        title=N_("Import complete"),
        counts={"added": added, "changed": changed, "deactivated": deactivated},
    )


@router.get("/record", response_class=HTMLResponse)
async def record(
    request: Request,
    viewer: BusinessUnitDep,
    db: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    events, total = await access.record_page(db, page)
    return render(
        request,
        "directory_record.html",
        viewer,
        title=N_("The directory's record of changes"),
        events=[_event(event) for event in events],
        total=total,
        pagination=page_links("/directory/record", page, total),
    )


def _event(event: Any) -> dict[str, Any]:
    """One change as the record page shows it: what changed, from what to what."""
    before, after = event.before or {}, event.after or {}
    changed = [
        {
            "field": gettext(FIELD_NAMES.get(name, name)),
            "before": _shown(name, before.get(name)),
            "after": _shown(name, after.get(name)),
        }
        for name in (after or before)
        if before.get(name) != after.get(name)
    ]
    kind = (event.subject.split(":")[0], event.action)
    change = gettext(CHANGES[kind]) if kind in CHANGES else " ".join(kind)
    what = after.get("name") or before.get("name")
    return {"event": event, "changed": changed, "what": what, "change": change}


def _shown(name: str, value: Any) -> str | None:
    if name == "role" and value in ROLE_NAMES:
        return gettext(ROLE_NAMES[value])
    if name == "kind" and value in KIND_NAMES:
        return gettext(KIND_NAMES[value])
    if isinstance(value, bool):
        return gettext(SHOWN_VALUES[value])
    if isinstance(value, list):
        return ", ".join(value) or gettext(N_("none"))
    return None if value is None else str(value)
