"""Changing the directory's people: one path for a page's form, a CSV import and the seed file.

Rows are checked on their own first (`check_row`), then against the database (`plan`): what
would be added, changed or deactivated, and every row refused with its line and reason. Nothing
changes until `apply` writes a plan's good rows, each with its event on the directory's record,
and locks out at once everyone it deactivates. A person missing from the rows is left as is.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.directory import AGENCY_KINDS, normalised
from core.languages import READER_LANGUAGES
from core.text import N_, Said, control_characters
from database.audit_chain import GENESIS
from database.directory_people import (
    DIRECTORY_ROLES,
    PARTNERSHIP_KIND,
    PARTNERSHIP_ROLES,
    DirectoryRole,
    NoRole,
    email_key,
    lock_out,
)
from database.directory_trail import (
    Snapshot,
    agency_snapshot,
    chained_event,
    last_hashes,
    person_snapshot,
)
from database.tables import (
    DirectoryAgency,
    DirectoryEvent,
    DirectoryPerson,
    Escalation,
    utc_now,
)

# Roles that can act at a manager's stage: an agency party to an open escalation keeps one.
MANAGING = ("manager", "executive")
YES, NO = ("yes", "y", "true", "1", ""), ("no", "n", "false", "0")


@dataclass(frozen=True)
class PersonRow:
    """One person as a form, a CSV line or the seed file gives them; `line` names it back."""

    line: int
    agency: str
    agency_kind: str
    name: str
    email: str
    role: DirectoryRole | NoRole  # no role: only from the seed file
    active: bool = True
    language: str | None = None  # None: as they are ("en" for someone new)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class BadRow:
    line: int
    reasons: tuple[Said, ...]  # in the directory's pages' language through core.languages.said
    field: str = ""  # the (first) column at fault, for a form to point at
    fields: tuple[str, ...] = ()  # every column at fault

    @property
    def reason(self) -> str:
        """Every fault in English: the API's problem details, the seed file's log."""
        return "; ".join(str(reason) for reason in self.reasons)


# Said to the pages and, in English, the API (catalogue messages: make translations).
CONTROL_CHARACTERS = N_("control characters in %(column)s")
DUPLICATE = N_("duplicate of line %(line)s (%(email)s)")
ONE_PARTNERSHIP = N_("the partnership has one agency of its own")
LAST_MANAGER = N_(
    "%(name)s is the last manager of %(agency)s, which is party to an open escalation: add "
    "another manager first"
)


@functools.lru_cache(maxsize=4096)
def _email(text: str) -> str | None:
    """The address normalised (its domain lower-cased), or None if it is not one."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _faults(fields: dict[str, str]) -> dict[str, Said]:
    """Each column's fault (no database), in the words the check page shows."""
    found = {
        name: Said(CONTROL_CHARACTERS, {"column": name})
        for name, value in fields.items()
        if control_characters(value)
    }
    agency, name = fields.get("agency", "").strip(), fields.get("name", "").strip()
    kind = fields.get("agency_kind", "").strip().lower() or "other"
    role, active = fields.get("role", "").strip().lower(), fields.get("active", "").strip().lower()
    language = fields.get("language", "").strip().lower()
    if not agency or len(agency) > 200:
        found.setdefault("agency", Said(N_("agency is missing or longer than 200 characters")))
    if kind not in AGENCY_KINDS:
        found.setdefault("agency_kind", Said(N_("unknown agency_kind '%(kind)s'"), {"kind": kind}))
    if not name or len(name) > 200:
        found.setdefault("name", Said(N_("name is missing or longer than 200 characters")))
    if _email(fields.get("email", "")) is None:
        found.setdefault("email", Said(N_("bad email address")))
    if role not in DIRECTORY_ROLES:
        unknown = N_("unknown role '%(role)s' (one of %(roles)s)")
        found.setdefault("role", Said(unknown, {"role": role, "roles": ", ".join(DIRECTORY_ROLES)}))
    if active not in YES + NO:
        found.setdefault("active", Said(N_("active must be yes or no")))
    if language and language not in READER_LANGUAGES:
        found.setdefault(
            "language",
            Said(N_("unknown language '%(language)s' (en, cy or both)"), {"language": language}),
        )
    return found


def check_row(line: int, fields: dict[str, str]) -> PersonRow | BadRow:
    """One row checked on its own: the person, or every fault of the row."""
    faults = _faults(fields)
    if faults:
        first = next(iter(faults))
        return BadRow(line, tuple(faults.values()), first, tuple(faults))
    return PersonRow(
        line=line,
        agency=fields["agency"].strip(),
        agency_kind=fields.get("agency_kind", "").strip().lower() or "other",
        name=fields["name"].strip(),
        email=_email(fields["email"]) or "",
        role=cast(DirectoryRole, fields["role"].strip().lower()),
        active=fields.get("active", "").strip().lower() in YES,
        language=fields.get("language", "").strip().lower() or None,
    )


ChangeKind = Literal["added", "changed", "deactivated"]


@dataclass
class Change:
    row: PersonRow
    kind: ChangeKind
    before: Snapshot | None
    after: Snapshot


@dataclass
class Plan:
    """What the rows would do to the directory; only `changes` are written."""

    changes: list[Change] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    # Agencies the rows name and the directory lacks: (name, kind) by the name as compared.
    new_agencies: dict[str, tuple[str, str]] = field(default_factory=dict)
    unchanged: int = 0

    def of(self, kind: ChangeKind) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def good_rows(self) -> list[PersonRow]:
        return [change.row for change in self.changes]


async def _agencies(db: AsyncSession) -> dict[str, DirectoryAgency]:
    return {a.name_key: a for a in (await db.exec(select(DirectoryAgency))).all()}


async def _people(db: AsyncSession, keys: Sequence[str]) -> dict[str, DirectoryPerson]:
    found: dict[str, DirectoryPerson] = {}
    for start in range(0, len(keys), 500):
        rows = await db.exec(
            select(DirectoryPerson).where(
                col(DirectoryPerson.email_key).in_(keys[start : start + 500])
            )
        )
        found.update({person.email_key: person for person in rows.all()})
    return found


def _after(row: PersonRow, agency: str, existing: DirectoryPerson | None) -> Snapshot:
    kept = existing.language if existing else "en"
    return {
        "name": row.name,
        "email": row.email,
        "agency": agency,
        "role": row.role,
        "active": row.active,
        "language": row.language or kept,
    }


def _kind(before: Snapshot | None, after: Snapshot) -> ChangeKind:
    if before is None:
        return "added"
    return "deactivated" if before["active"] and not after["active"] else "changed"


async def plan(
    db: AsyncSession, rows: Iterable[PersonRow | BadRow], *, add_only: bool = False
) -> Plan:
    """What `rows` would change. `add_only` (the seed file) leaves everyone already there."""
    result, seen = Plan(), dict[str, int]()
    agencies = await _agencies(db)
    partnership = next((k for k, a in agencies.items() if a.kind == PARTNERSHIP_KIND), None)
    good: list[PersonRow] = []
    for row in rows:
        if isinstance(row, BadRow):
            result.bad.append(row)
            continue
        key = email_key(row.email)
        if key in seen:
            result.bad.append(
                BadRow(
                    row.line, (Said(DUPLICATE, {"line": seen[key], "email": row.email}),), "email"
                )
            )
            continue
        seen[key] = row.line
        good.append(row)
    people = await _people(db, [email_key(row.email) for row in good])
    names = {a.id: a.name for a in agencies.values()}
    for row in good:
        agency = agencies.get(normalised(row.agency))
        new = result.new_agencies.get(normalised(row.agency), (row.agency, row.agency_kind))
        kind = agency.kind if agency else new[1]
        if kind == PARTNERSHIP_KIND and partnership not in (None, normalised(row.agency)):
            result.bad.append(BadRow(row.line, (Said(ONE_PARTNERSHIP),), "agency_kind"))
            continue
        if row.role in PARTNERSHIP_ROLES and kind != PARTNERSHIP_KIND:
            reason = Said(
                N_("%(role)s is a role of the partnership's own agency only"), {"role": row.role}
            )
            result.bad.append(BadRow(row.line, (reason,), "role"))
            continue
        if agency is None:
            result.new_agencies.setdefault(normalised(row.agency), new)
            if kind == PARTNERSHIP_KIND:
                partnership = normalised(row.agency)
        existing = people.get(email_key(row.email))
        if existing is not None and add_only:
            result.unchanged += 1
            continue
        before = person_snapshot(existing, names[existing.agency_id]) if existing else None
        after = _after(row, agency.name if agency else new[0], existing)
        if before == after:
            result.unchanged += 1
            continue
        result.changes.append(Change(row, _kind(before, after), before, after))
    await _keep_managers(db, result)
    return result


def _manages(snapshot: Snapshot | None) -> bool:
    return snapshot is not None and bool(snapshot["active"]) and snapshot["role"] in MANAGING


async def _keep_managers(db: AsyncSession, result: Plan) -> None:
    """Refuses the changes that would leave an agency party to an open escalation without an
    active manager (or executive) to act at its stages."""
    losing: dict[str, list[Change]] = {}
    gaining: set[str] = set()
    for change in result.changes:
        if _manages(change.before) and not _manages(change.after):
            losing.setdefault(str(change.before["agency"]), []).append(change)  # type: ignore[index]
        if _manages(change.after):
            gaining.add(str(change.after["agency"]))
    for agency, changes in losing.items():
        if agency in gaining:
            continue
        leaving = [email_key(str(change.before["email"])) for change in changes]  # type: ignore[index]
        staying = await db.exec(
            select(DirectoryPerson.id)
            .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
            .where(
                DirectoryAgency.name == agency,
                col(DirectoryPerson.active),
                col(DirectoryPerson.role).in_(MANAGING),
                col(DirectoryPerson.email_key).not_in(leaving),
            )
            .limit(1)
        )
        if staying.first() is not None:
            continue
        open_case = await db.exec(
            select(Escalation.id)
            .where(
                Escalation.status == "open",
                or_(Escalation.raising_agency == agency, Escalation.receiving_agency == agency),
            )
            .limit(1)
        )
        if open_case.first() is None:
            continue
        for change in changes:
            result.changes.remove(change)
            result.bad.append(
                BadRow(
                    change.row.line,
                    (Said(LAST_MANAGER, {"name": change.row.name, "agency": agency}),),
                    "active",
                )
            )


async def add_agencies(
    db: AsyncSession, wanted: list[tuple[str, str, list[str]]], actor: str, now: datetime
) -> dict[str, DirectoryAgency]:
    """Adds the agencies (name, kind, email domains) the directory lacks, each with its event;
    answers every agency by its name as compared."""
    agencies = await _agencies(db)
    added = []
    for name, kind, domains in wanted:
        key = normalised(name)
        if key not in agencies:  # else there already, or added meanwhile by another start
            agencies[key] = DirectoryAgency(
                name=name,
                name_key=key,
                kind=kind,
                email_domains=domains,
                added_by=actor,
                added_at=now,
            )
            added.append(agencies[key])
    db.add_all(added)
    await db.flush()
    db.add_all(
        chained_event(
            GENESIS,
            subject=f"agency:{agency.id}",
            action="added",
            actor=actor,
            before=None,
            after=agency_snapshot(agency),
            at=now,
        )
        for agency in added
    )
    return agencies


async def apply(db: AsyncSession, result: Plan, actor: str) -> None:
    """Writes the plan's changes with their events in one transaction, and ends the sessions
    and unspent sign-in links of everyone it deactivates."""
    now = utc_now()
    wanted: list[tuple[str, str, list[str]]] = [
        (name, kind, []) for name, kind in result.new_agencies.values()
    ]
    agencies = await add_agencies(db, wanted, actor, now)
    people = await _people(db, [email_key(c.row.email) for c in result.changes])
    new: list[dict[str, Any]] = []
    for change in result.changes:
        values: dict[str, Any] = {
            "name": change.row.name,
            "email": change.row.email,
            "agency_id": agencies[normalised(str(change.after["agency"]))].id,
            "role": change.row.role,
            "active": change.row.active,
            "language": str(change.after["language"]),
            "updated_at": now,
        }
        person = people.get(email_key(change.row.email))
        if person is None:
            key = email_key(change.row.email)
            new.append({"email_key": key, "added_by": actor, "added_at": now, **values})
        else:
            person.sqlmodel_update(values)
            db.add(person)
    await db.flush()
    # Many people at once (an import): one batched INSERT, not an object each.
    ids = {p.email_key: p.id for p in people.values()}
    for start in range(0, len(new), 1000):
        inserted = await db.exec(
            insert(DirectoryPerson).returning(
                col(DirectoryPerson.email_key), col(DirectoryPerson.id)
            ),
            params=new[start : start + 1000],
        )
        ids.update(dict(inserted.all()))
    subjects = {c.row.line: f"person:{ids[email_key(c.row.email)]}" for c in result.changes}
    hashes = await last_hashes(db, list(subjects.values()))
    events = [
        chained_event(
            hashes.get(subjects[c.row.line], GENESIS),
            subject=subjects[c.row.line],
            action=c.kind,
            actor=actor,
            before=c.before,
            after=c.after,
            at=now,
        ).model_dump(exclude={"id"})
        for c in result.changes
    ]
    for start in range(0, len(events), 1000):
        await db.exec(insert(DirectoryEvent), params=events[start : start + 1000])
    await lock_out(db, [c.row.email for c in result.changes if not c.row.active], now)
    await db.commit()
