"""/directory: the partnership's people, run by its business unit and delegated to each
agency's managers. A person is added or changed through a form, a check page and a confirm;
each change counts at once (a deactivated person's next request gets the sign-in page)."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from casework import directory_access as access
from casework.actors import label
from casework.dependencies import SessionDep
from casework.directory_changes import CONTROL_CHARACTERS as CONTROL_CHARACTERS_IN
from casework.directory_changes import BadRow, Plan, apply, check_row, plan
from casework.directory_csv import write_people
from database.directory_people import email_key
from database.tables import DirectoryAgency, DirectoryPerson
from web.forms import done_banner, form_page
from web.i18n import N_, Said, gettext, said, said_all, translated
from web.page_context import PageError, Viewer, ViewerDep, check_csrf, render

router = APIRouter(prefix="/directory", include_in_schema=False)

# Catalogue messages (N_): translated where they are shown.
ROLE_NAMES = {
    "practitioner": N_("Practitioner"),
    "manager": N_("Manager"),
    "executive": N_("Executive"),
    "board": N_("Partnership board"),
    "business_unit": N_("Partnership business unit"),
    "": N_("No role (given at sign-in by an identity provider's groups)"),
}
FIELDS = ("name", "email", "agency", "role", "active")
MESSAGES = {
    "name": N_("Enter the person's full name, up to 200 characters"),
    "email": N_("Enter an email address in the correct format, like name@example.org"),
    "agency": N_("Choose the agency they work for"),
    "role": N_("Choose their role"),
    "active": N_("Choose whether they can sign in"),
}
# A field with control characters, by the field the form names.
CONTROL_CHARACTERS = {
    "name": N_("Remove the control characters (like tabs or line breaks) from the name"),
    "email": N_("Remove the control characters (like tabs or line breaks) from the email"),
    "agency": N_("Remove the control characters (like tabs or line breaks) from the agency"),
}
DONE = {
    "added": N_("The person is added. They can sign in now."),
    "changed": N_("The change is saved. It counts from now."),
    "deactivated": N_("The person is deactivated. They are signed out and told nothing more."),
    "imported": N_("The import is done."),
}
ALREADY_LISTED = N_("Someone with this email address is already listed")


def _admin(viewer: ViewerDep) -> Viewer:
    if not access.may_manage(viewer.person):
        raise PageError(
            403,
            N_("You cannot manage the directory"),
            N_(
                "Only managers and the partnership's business unit manage the directory. Ask your "
                "agency's manager to add or change people."
            ),
        )
    return viewer


def _business_unit(viewer: ViewerDep) -> Viewer:
    if not viewer.person.administers_directory:
        raise PageError(
            403,
            N_("Only the business unit can do this"),
            N_(
                "Importing, exporting the whole directory and reading its record are for the "
                "partnership's business unit."
            ),
        )
    return viewer


AdminDep = Annotated[Viewer, Depends(_admin)]
BusinessUnitDep = Annotated[Viewer, Depends(_business_unit)]


def page_links(path: str, page: int, total: int, **params: str) -> dict[str, Any] | None:
    """GOV.UK pagination for `total` rows, 50 a page: previous, next, the first and last pages
    and those near this one (None when one page holds them all)."""
    pages = -(-total // access.PAGE_SIZE)
    if pages <= 1:
        return None

    def href(n: int) -> str:
        return f"{path}?{urlencode({**{k: v for k, v in params.items() if v}, 'page': n})}"

    items: list[dict[str, Any]] = []
    for n in range(1, pages + 1):
        if n in (1, pages) or abs(n - page) <= 2:
            items.append({"number": n, "href": href(n), "current": n == page})
        elif items and not items[-1].get("ellipsis"):
            items.append({"ellipsis": True})
    return {
        "previous": {"href": href(page - 1)} if page > 1 else None,
        "next": {"href": href(page + 1)} if page < pages else None,
        "items": items,
    }


@router.get("", response_class=HTMLResponse)
async def people_page(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    people, total = await access.find_people(db, viewer.person, q.strip(), page)
    return render(
        request,
        "directory_people.html",
        viewer,
        title=N_("Directory"),
        people=people,
        total=total,
        search=q,
        pagination=page_links("/directory", page, total, q=q),
        roles=translated(ROLE_NAMES),
        done=done_banner(request, DONE),
    )


@router.get("/export.csv")
async def export(viewer: AdminDep, db: SessionDep) -> Response:
    body = write_people(await access.all_people(db, viewer.person))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="directory.csv"'},
    )


async def _listed(db: SessionDep, viewer: Viewer, person_id: int) -> access.Listed:
    found = await access.person_by_id(db, viewer.person, person_id)
    if found is None:
        raise PageError(
            404,
            N_("Page not found"),
            N_("There is no one with that reference that you manage."),
        )
    return found


@router.get("/people/new", response_class=HTMLResponse)
async def new_person(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    values = {"agency": "" if viewer.person.administers_directory else viewer.agency}
    return await _form(request, db, viewer, {"active": "yes", **values})


@router.get("/people/{person_id}", response_class=HTMLResponse)
async def person_page(
    request: Request, person_id: int, viewer: AdminDep, db: SessionDep
) -> Response:
    found = await _listed(db, viewer, person_id)
    return render(
        request,
        "directory_person.html",
        viewer,
        title=found.snapshot["name"],
        person=found,
        roles=translated(ROLE_NAMES),
        done=done_banner(request, DONE),
    )


@router.get("/people/{person_id}/change", response_class=HTMLResponse)
async def change_person(
    request: Request, person_id: int, viewer: AdminDep, db: SessionDep
) -> Response:
    found = await _listed(db, viewer, person_id)
    values = {name: str(found.snapshot[name]) for name in ("name", "email", "agency", "role")}
    values["active"] = "yes" if found.snapshot["active"] else "no"
    return await _form(request, db, viewer, values, person_id=person_id)


async def _form(
    request: Request,
    db: SessionDep,
    viewer: Viewer,
    values: dict[str, str],
    person_id: int | None = None,
    problems: dict[str, str] | None = None,
) -> HTMLResponse:
    return form_page(
        request,
        "directory_person_form.html",
        viewer,
        {name: text for name, text in (problems or {}).items() if name in FIELDS},
        title=N_("Change a person's details") if person_id else N_("Add a person"),
        values=values,
        person_id=person_id,
        agencies=await access.agency_choices(db, viewer.person),
        role_choices=[(r, gettext(ROLE_NAMES[r])) for r in access.grantable_roles(viewer.person)],
    )


async def _checked(
    db: SessionDep, viewer: Viewer, form: Any
) -> tuple[dict[str, str], int | None, Plan | dict[str, str]]:
    """The form's values, the person changed (if any), and the plan or the problems by field."""
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    raw_id = str(form.get("person_id", ""))
    person_id = int(raw_id) if raw_id.isdigit() else None
    if person_id is not None:
        values["email"] = str((await _listed(db, viewer, person_id)).snapshot["email"])
    agencies = {a.name: a.kind for a in (await db.exec(select(DirectoryAgency))).all()}
    row = check_row(1, {**values, "agency_kind": agencies.get(values["agency"], "other")})
    problems = {name: _message(row, name) for name in row.fields} if isinstance(row, BadRow) else {}
    if values["agency"] not in agencies:
        problems["agency"] = gettext(MESSAGES["agency"])
    if values["active"] not in ("yes", "no"):  # the form has no empty "yes"
        problems["active"] = gettext(MESSAGES["active"])
    if problems or isinstance(row, BadRow):
        return values, person_id, dict(sorted(problems.items(), key=lambda p: FIELDS.index(p[0])))
    found = await plan(db, [row])
    if found.bad:
        return values, person_id, {found.bad[0].field: _sentence(found.bad[0].reasons)}
    before = found.changes[0].before if found.changes else None
    refused = access.refusal(viewer.person, row, before)
    if refused:
        return values, person_id, {"role": said(refused)}
    if person_id is None and before is not None:
        return values, person_id, {"email": gettext(ALREADY_LISTED)}
    return values, person_id, found


def _message(bad: BadRow, field: str) -> str:
    said_here = Said(CONTROL_CHARACTERS_IN, {"column": field})
    if field in CONTROL_CHARACTERS and said_here in bad.reasons:
        return gettext(CONTROL_CHARACTERS[field])
    if field in MESSAGES:
        return gettext(MESSAGES[field])
    return _sentence(bad.reasons[bad.fields.index(field) : bad.fields.index(field) + 1])


def _sentence(reasons: tuple[Said, ...]) -> str:
    text = said_all(reasons)
    return text[:1].upper() + text[1:]


async def _posted(
    request: Request, viewer: Viewer, db: SessionDep
) -> tuple[dict[str, str], int | None, Plan | HTMLResponse]:
    """A posted add or change form: its values, the person, and the plan or the form again
    with its problems."""
    form = await request.form()
    check_csrf(request, form, viewer.session.csrf_token)
    values, person_id, found = await _checked(db, viewer, form)
    if not isinstance(found, Plan):
        return values, person_id, await _form(request, db, viewer, values, person_id, found)
    return values, person_id, found


@router.post("/people/check", response_class=HTMLResponse)
async def check_person(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    values, person_id, found = await _posted(request, viewer, db)
    if not isinstance(found, Plan):
        return found
    return render(
        request,
        "directory_person_check.html",
        viewer,
        title=N_("Check the details before saving"),
        values=values,
        person_id=person_id,
        change=found.changes[0] if found.changes else None,
        roles=translated(ROLE_NAMES),
    )


@router.post("/people/save")
async def save_person(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    values, _, found = await _posted(request, viewer, db)
    if not isinstance(found, Plan):
        return found
    kind = found.changes[0].kind if found.changes else "changed"
    await apply(db, found, label(viewer))
    key = email_key(values["email"])
    saved = (await db.exec(select(DirectoryPerson).where(DirectoryPerson.email_key == key))).first()
    target = f"/directory/people/{saved.id}" if saved else "/directory"
    return RedirectResponse(f"{target}?done={kind}", status_code=303)
