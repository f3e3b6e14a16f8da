"""Who manages whom in the directory, and finding its people and its record.

The partnership's business unit administers the whole directory. An agency's managers (and
above) manage their own agency's people, nobody else's, and give no role above their own; only
the business unit gives `board` or `business_unit`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.directory_changes import PersonRow
from core.directory import normalised
from core.text import N_, Said
from database.directory_people import (
    DIRECTORY_ROLES,
    PARTNERSHIP_ROLES,
    DirectoryRole,
    Person,
    directory_rank,
)
from database.directory_trail import Snapshot, person_snapshot
from database.tables import DirectoryAgency, DirectoryEvent, DirectoryPerson

PAGE_SIZE = 50


def may_manage(admin: Person) -> bool:
    return admin.administers_directory or admin.manages_people


def grantable_roles(admin: Person) -> list[DirectoryRole]:
    """The roles `admin` may give."""
    if admin.administers_directory:
        return list(DIRECTORY_ROLES)
    return [
        role
        for role in DIRECTORY_ROLES
        if role not in PARTNERSHIP_ROLES
        and directory_rank(role) <= directory_rank(admin.directory_role)
    ]


def refusal(admin: Person, row: PersonRow, before: Snapshot | None) -> Said | None:
    """Why `admin` may not make this change (None: they may)."""
    if admin.administers_directory:
        return None
    if not admin.manages_people:
        return Said(N_("Only managers and the partnership's business unit manage the directory."))
    own = normalised(admin.agency)
    if normalised(row.agency) != own or (before and normalised(before["agency"]) != own):
        return Said(N_("You manage only the people of %(agency)s."), {"agency": admin.agency})
    if row.role in PARTNERSHIP_ROLES:
        return Said(
            N_("Only the partnership's business unit gives the board or business unit role.")
        )
    if directory_rank(row.role) > directory_rank(admin.directory_role):
        return Said(N_("You cannot give a role above your own."))
    if before and directory_rank(before["role"]) > directory_rank(admin.directory_role):
        return Said(N_("You cannot change someone whose role is above your own."))
    return None


@dataclass(frozen=True)
class Listed:
    id: int
    snapshot: Snapshot


def _scope(admin: Person) -> list[ColumnElement[bool]]:
    return [] if admin.administers_directory else [col(DirectoryAgency.name) == admin.agency]


async def find_people(
    db: AsyncSession, admin: Person, search: str, page: int
) -> tuple[list[Listed], int]:
    """The people `admin` manages matching `search` (name, email or agency), a page of 50 by
    name, and how many match in all."""
    where = _scope(admin)
    if search:
        like = f"%{search.casefold()}%"
        where.append(
            or_(
                func.lower(DirectoryPerson.name).like(like),
                col(DirectoryPerson.email_key).like(like),
                col(DirectoryAgency.name_key).like(f"%{normalised(search)}%"),
            )
        )
    joined = select(DirectoryPerson, DirectoryAgency.name).join(
        DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id)
    )
    total = (
        await db.exec(
            select(func.count())
            .select_from(DirectoryPerson)
            .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
            .where(*where)
        )
    ).one()
    rows = await db.exec(
        joined.where(*where)
        .order_by(col(DirectoryPerson.name), col(DirectoryPerson.id))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return [Listed(p.id or 0, person_snapshot(p, agency)) for p, agency in rows.all()], total


async def person_by_id(db: AsyncSession, admin: Person, person_id: int) -> Listed | None:
    """The person if `admin` manages them (their agency's, or everyone for the business unit)."""
    found = (
        await db.exec(
            select(DirectoryPerson, DirectoryAgency.name)
            .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
            .where(DirectoryPerson.id == person_id, *_scope(admin))
        )
    ).first()
    return Listed(found[0].id or 0, person_snapshot(*found)) if found else None


async def all_people(db: AsyncSession, admin: Person) -> list[tuple[Snapshot, str]]:
    """Everyone `admin` manages with their agency's kind, by agency then name (the export)."""
    rows = await db.exec(
        select(DirectoryPerson, DirectoryAgency)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
        .where(*_scope(admin))
        .order_by(col(DirectoryAgency.name), col(DirectoryPerson.name))
    )
    return [(person_snapshot(p, a.name), a.kind) for p, a in rows.all()]


async def agency_choices(db: AsyncSession, admin: Person) -> list[str]:
    """The agencies `admin` may put people in."""
    if not admin.administers_directory:
        return [admin.agency]
    names = await db.exec(select(DirectoryAgency.name).order_by(col(DirectoryAgency.name)))
    return list(names.all())


async def record_page(db: AsyncSession, page: int) -> tuple[Sequence[DirectoryEvent], int]:
    """The directory's record, newest first, a page of 50, and how many events in all."""
    total = (await db.exec(select(func.count()).select_from(DirectoryEvent))).one()
    rows = await db.exec(
        select(DirectoryEvent)
        .order_by(col(DirectoryEvent.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return rows.all(), total
