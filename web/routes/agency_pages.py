"""/directory/agencies: the business unit's list of agencies, and adding one or changing its kind
and email domains (a form, a check page, save). Agencies are never renamed."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from casework.actors import label
from casework.agency_changes import ONE_PARTNERSHIP_KIND, AgencyRefused, save_agency
from casework.dependencies import SessionDep
from core.directory import AGENCY_KINDS, normalised
from core.text import control_characters
from database.tables import DirectoryAgency
from web.forms import done_banner, form_page
from web.i18n import N_, gettext, translated
from web.page_context import PageError, Viewer, check_csrf, render
from web.routes.directory_pages import BusinessUnitDep, page_links

router = APIRouter(prefix="/directory/agencies", include_in_schema=False)

# Catalogue messages (N_): translated where they are shown.
KIND_NAMES = {
    "local_authority": N_("Local authority"),
    "police": N_("Police"),
    "health": N_("Health"),
    "school": N_("School or academy"),
    "gp_practice": N_("GP practice"),
    "early_years": N_("Early years"),
    "voluntary": N_("Voluntary or community group"),
    "partnership": N_("The partnership"),
    "other": N_("Other"),
}
DONE = {"added": N_("The agency is added."), "changed": N_("The agency is changed.")}
MESSAGES = {
    "name": N_("Enter the agency's name, up to 200 characters, on one line"),
    "taken": N_("An agency with this name is in the directory already"),
    "kind": N_("Choose what kind of agency it is"),
    "email_domains": N_("Enter each email domain on its own line, like school.example.org"),
}
PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
async def agencies_page(
    request: Request,
    viewer: BusinessUnitDep,
    db: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    where = [col(DirectoryAgency.name_key).like(f"%{normalised(q)}%")] if q.strip() else []
    total = (await db.exec(select(func.count()).select_from(DirectoryAgency).where(*where))).one()
    rows = await db.exec(
        select(DirectoryAgency)
        .where(*where)
        .order_by(col(DirectoryAgency.name))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return render(
        request,
        "directory_agencies.html",
        viewer,
        title=N_("Agencies"),
        agencies=rows.all(),
        total=total,
        search=q,
        kinds=translated(KIND_NAMES),
        pagination=page_links("/directory/agencies", page, total, q=q),
        done=done_banner(request, DONE),
    )


async def _agency(db: SessionDep, agency_id: int) -> DirectoryAgency:
    agency = await db.get(DirectoryAgency, agency_id)
    if agency is None:
        raise PageError(404, N_("Page not found"), N_("There is no such agency."))
    return agency


def _form(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    agency_id: int | None = None,
    problems: dict[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        "directory_agency_form.html",
        viewer,
        {field: gettext(problem) for field, problem in (problems or {}).items()},
        title=N_("Change an agency") if agency_id else N_("Add an agency"),
        values=values,
        agency_id=agency_id,
        kinds=[(kind, gettext(KIND_NAMES[kind])) for kind in AGENCY_KINDS if kind != "partnership"],
    )


@router.get("/new", response_class=HTMLResponse)
async def new_agency(request: Request, viewer: BusinessUnitDep) -> Response:
    return _form(request, viewer, {})


@router.get("/{agency_id}/change", response_class=HTMLResponse)
async def change_agency(
    request: Request, agency_id: int, viewer: BusinessUnitDep, db: SessionDep
) -> Response:
    agency = await _agency(db, agency_id)
    values = {
        "name": agency.name,
        "kind": agency.kind,
        "email_domains": "\n".join(agency.email_domains),
    }
    return _form(request, viewer, values, agency_id)


async def _checked(
    request: Request, viewer: Viewer, db: SessionDep
) -> tuple[dict[str, str], int | None, dict[str, Any] | HTMLResponse]:
    """The posted form: its values, the agency changed, and what to save or the form again."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    values = {k: str(form.get(k, "")).strip() for k in ("name", "kind", "email_domains")}
    raw_id = str(form.get("agency_id", ""))
    agency_id = int(raw_id) if raw_id.isdigit() else None
    if agency_id is not None:
        agency = await _agency(db, agency_id)
        values["name"] = agency.name
        if agency.kind == "partnership":
            values["kind"] = "partnership"
    # One a line on the form, spaces on the check page's hidden field; commas as people type.
    domains = [d.casefold() for d in re.split(r"[\s,]+", values["email_domains"]) if d]
    problems = {}
    if not values["name"] or len(values["name"]) > 200 or control_characters(values["name"]):
        problems["name"] = MESSAGES["name"]
    elif agency_id is None:
        taken = select(DirectoryAgency.id).where(
            DirectoryAgency.name_key == normalised(values["name"])
        )
        if (await db.exec(taken)).first() is not None:
            problems["name"] = MESSAGES["taken"]
    if values["kind"] not in AGENCY_KINDS:
        problems["kind"] = MESSAGES["kind"]
    if any("@" in d or " " in d or "." not in d or len(d) > 200 for d in domains):
        problems["email_domains"] = MESSAGES["email_domains"]
    if problems:
        return values, agency_id, _form(request, viewer, values, agency_id, problems)
    return (
        values,
        agency_id,
        {"name": values["name"], "kind": values["kind"], "email_domains": domains},
    )


@router.post("/check", response_class=HTMLResponse)
async def check_agency(request: Request, viewer: BusinessUnitDep, db: SessionDep) -> Response:
    values, agency_id, found = await _checked(request, viewer, db)
    if isinstance(found, HTMLResponse):
        return found
    return render(
        request,
        "directory_agency_check.html",
        viewer,
        title=N_("Check the agency before saving"),
        values=values,
        agency=found,
        agency_id=agency_id,
        kinds=translated(KIND_NAMES),
    )


@router.post("/save")
async def save(request: Request, viewer: BusinessUnitDep, db: SessionDep) -> Response:
    values, agency_id, found = await _checked(request, viewer, db)
    if isinstance(found, HTMLResponse):
        return found
    try:
        _, action = await save_agency(db, actor=label(viewer), **found)
    except AgencyRefused:
        problem = {"kind": ONE_PARTNERSHIP_KIND}
        return _form(request, viewer, values, agency_id, problem)
    return RedirectResponse(f"/directory/agencies?done={action}", status_code=303)
