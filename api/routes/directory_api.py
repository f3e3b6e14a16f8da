"""/people and /agencies: the directory for systems (an HR feed, an identity platform), with a
partnership (`board`) key. The same rules and the same record as the directory's pages: each
change is an event by the key, a person deactivated is signed out at once, the last manager of
an agency party to an open escalation stays."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, EmailStr, Field, field_validator

from api.deps import CallerDep
from api.problems import PROBLEM_RESPONSES, FieldProblem, ProblemError
from casework import directory_access as access
from casework.actors import label
from casework.agency_changes import AgencyRefused, all_agencies, save_agency
from casework.dependencies import SessionDep
from casework.directory_changes import BadRow, PersonRow, apply, check_row, plan
from core.directory import AgencyKind, matching_name
from core.languages import ReaderLanguage
from core.text import refuse_control_characters
from database.directory_people import DirectoryRole, Person, email_key
from database.directory_trail import Snapshot
from database.tables import ApiKey

router = APIRouter(tags=["directory"], responses=PROBLEM_RESPONSES)

EmailPath = Annotated[str, Path(max_length=320, description="The person's work email address.")]


def _administrator(caller: CallerDep) -> Person:
    """A partnership key administers the directory, as the business unit does."""
    if caller.role != "board":
        raise ProblemError(403, "The directory's API needs a partnership (board) key.")
    return Person(caller.name, "", caller.agency, "business_unit")


Administrator = Annotated[Person, Depends(_administrator)]


class PersonIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    agency: str = Field(min_length=1, max_length=200)
    role: DirectoryRole
    active: bool = True
    language: ReaderLanguage | None = None

    _one_line = field_validator("name", "agency")(refuse_control_characters)


class PersonOut(BaseModel):
    name: str
    email: EmailStr
    agency: str
    role: str
    active: bool
    language: str

    @classmethod
    def of(cls, snapshot: Snapshot) -> "PersonOut":
        return cls.model_validate(snapshot)


class PeoplePage(BaseModel):
    people: list[PersonOut]
    total: int
    page: int


class AgencyIn(BaseModel):
    kind: AgencyKind
    email_domains: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=50)


class AgencyOut(BaseModel):
    name: str
    kind: str
    email_domains: list[str]


@router.get("/people", response_model=PeoplePage)
async def list_people(
    admin: Administrator,
    db: SessionDep,
    q: Annotated[str, Query(max_length=200, description="Part of a name, email or agency")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> PeoplePage:
    """The directory's people by name, 50 a page."""
    found, total = await access.find_people(db, admin, q.strip(), page)
    return PeoplePage(people=[PersonOut.of(p.snapshot) for p in found], total=total, page=page)


async def _row(db: SessionDep, email: str, body: PersonIn) -> PersonRow:
    """The person as the directory takes them, or a 422 naming each field at fault."""
    agencies = {a.name: a for a in await all_agencies(db)}
    agency = agencies.get(matching_name(list(agencies), body.agency) or "")
    if agency is None:
        raise ProblemError(
            422,
            f"No agency {body.agency!r} in the directory.",
            errors=[
                FieldProblem(field="agency", message="unknown agency: add it with PUT /agencies")
            ],
        )
    fields = {
        "agency": agency.name,
        "agency_kind": agency.kind,
        "name": body.name,
        "email": email,
        "role": body.role,
        "active": "yes" if body.active else "no",
        "language": body.language or "",
    }
    row = check_row(1, fields)
    if isinstance(row, BadRow):
        problems = [FieldProblem(field=name, message=row.reason) for name in row.fields]
        raise ProblemError(422, f"The person cannot be saved: {row.reason}.", errors=problems)
    return row


async def _save(db: SessionDep, caller: ApiKey, row: PersonRow, response: Response) -> PersonOut:
    changes = await plan(db, [row])
    if changes.bad:
        bad = changes.bad[0]
        status_code = 409 if bad.field == "active" else 422
        raise ProblemError(
            status_code,
            f"{bad.reason[:1].upper()}{bad.reason[1:]}.",
            errors=[FieldProblem(field=bad.field or "role", message=bad.reason)],
        )
    await apply(db, changes, label(caller))
    if changes.of("added"):
        response.status_code = status.HTTP_201_CREATED
    return PersonOut.of(await _one(db, row.email))


async def _one(db: SessionDep, email: str) -> Snapshot:
    admin = Person("", "", "", "business_unit")
    people, _ = await access.find_people(db, admin, email_key(email), 1)
    match = next((p for p in people if p.snapshot["email"].casefold() == email_key(email)), None)
    if match is None:
        raise ProblemError(404, f"No one with the address {email!r} in the directory.")
    return match.snapshot


@router.get("/people/{email}", response_model=PersonOut)
async def read_person(email: EmailPath, _: Administrator, db: SessionDep) -> PersonOut:
    return PersonOut.of(await _one(db, email))


@router.put(
    "/people/{email}",
    response_model=PersonOut,
    responses={201: {"description": "Added", "model": PersonOut}},
)
async def put_person(
    email: EmailPath,
    body: PersonIn,
    _: Administrator,
    caller: CallerDep,
    db: SessionDep,
    response: Response,
) -> PersonOut:
    """Adds the person (201) or changes them to these details (200); `active: false`
    deactivates: their sessions and sign-in links end at once and they are told nothing more."""
    return await _save(db, caller, await _row(db, email, body), response)


@router.post("/people/{email}/deactivate", response_model=PersonOut)
async def deactivate_person(
    email: EmailPath, _: Administrator, caller: CallerDep, db: SessionDep, response: Response
) -> PersonOut:
    """Deactivates the person at once (idempotent); refused (409) for the last manager of an
    agency party to an open escalation."""
    now = await _one(db, email)
    kind = next(a.kind for a in await all_agencies(db) if a.name == now["agency"])
    row = PersonRow(1, now["agency"], kind, now["name"], now["email"], now["role"], active=False)
    return await _save(db, caller, row, response)


@router.get("/agencies", response_model=list[AgencyOut])
async def list_agencies(_: Administrator, db: SessionDep) -> list[AgencyOut]:
    return [AgencyOut.model_validate(a, from_attributes=True) for a in await all_agencies(db)]


@router.put(
    "/agencies/{name}",
    response_model=AgencyOut,
    responses={201: {"description": "Added", "model": AgencyOut}},
)
async def put_agency(
    name: Annotated[str, Path(min_length=1, max_length=200)],
    body: AgencyIn,
    _: Administrator,
    caller: CallerDep,
    db: SessionDep,
    response: Response,
) -> AgencyOut:
    """Adds the agency (201) or changes its kind and email domains (200); never renames it."""
    try:
        refuse_control_characters(name)
    except ValueError as exc:
        raise ProblemError(
            422, f"The agency's name {exc}.", errors=[FieldProblem(field="name", message=str(exc))]
        ) from None
    try:
        agency, action = await save_agency(
            db, name=name, kind=body.kind, email_domains=body.email_domains, actor=label(caller)
        )
    except AgencyRefused as exc:
        raise ProblemError(
            422, str(exc), errors=[FieldProblem(field="kind", message=str(exc))]
        ) from None
    if action == "added":
        response.status_code = status.HTTP_201_CREATED
    return AgencyOut.model_validate(agency, from_attributes=True)
