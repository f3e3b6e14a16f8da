"""DIRECTORY_FILE as a seed: what the file holds and the database lacks is added at start, with
its events on the directory's record; the file never removes or changes what the database holds.

The API and every worker seed as they start; two starting at once may race to add the same
rows, so a start that loses (a unique key taken meanwhile) reads again and adds what is left.
"""

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.directory_changes import BadRow, PersonRow, add_agencies, apply, plan
from core.directory import Contact, Directory, normalised
from database.audit_chain import GENESIS
from database.directory_people import NO_ROLE, PARTNERSHIP_KIND, DirectoryRole, NoRole
from database.directory_trail import chained_event, route_snapshot
from database.tables import ContactRoute, DirectoryAgency, utc_now

SEEDER = "DIRECTORY_FILE"
log = structlog.get_logger(__name__)


def _agencies(directory: Directory) -> list[tuple[str, str, list[str]]]:
    found: list[tuple[str, str, list[str]]] = [(directory.partnership.name, PARTNERSHIP_KIND, [])]
    for agency in directory.agencies:
        # A second "partnership" in the file is one more agency, not the partnership's own.
        kind = "other" if agency.kind == PARTNERSHIP_KIND else agency.kind
        found.append((agency.name, kind, list(agency.email_domains)))
    return found


def _contacts(directory: Directory) -> list[tuple[str, str, DirectoryRole | NoRole, Contact]]:
    """(agency, kind, role, contact) for every contact, the partnership's first; an agency's
    contact without a role is listed with none (an identity provider's groups may give one)."""
    partnership = directory.partnership
    found: list[tuple[str, str, DirectoryRole | NoRole, Contact]] = [
        (partnership.name, PARTNERSHIP_KIND, "board", contact) for contact in partnership.board
    ]
    found += [
        (partnership.name, PARTNERSHIP_KIND, "business_unit", contact)
        for contact in partnership.business_unit
    ]
    for agency in directory.agencies:
        for contact in agency.contacts:
            kind = "other" if agency.kind == PARTNERSHIP_KIND else agency.kind
            found.append((agency.name, kind, contact.role or NO_ROLE, contact))
    return found


async def _add_routes(
    db: AsyncSession,
    directory: Directory,
    agencies: dict[str, DirectoryAgency],
) -> None:
    known: set[tuple[int | None, str]] = {
        (r.agency_id, r.webhook) for r in (await db.exec(select(ContactRoute))).all()
    }
    now, added = utc_now(), []
    for agency_name, _, role, contact in _contacts(directory):
        agency = agencies[normalised(agency_name)]
        if not role or contact.webhook is None or (agency.id, str(contact.webhook)) in known:
            continue
        known.add((agency.id, str(contact.webhook)))
        added.append(
            ContactRoute(
                agency_id=agency.id or 0,
                name=contact.name,
                role=role,
                webhook=str(contact.webhook),
                added_by=SEEDER,
                added_at=now,
            )
        )
    db.add_all(added)
    await db.flush()
    names = {a.id: a.name for a in agencies.values()}
    db.add_all(
        chained_event(
            GENESIS,
            subject=f"route:{route.id}",
            action="added",
            actor=SEEDER,
            before=None,
            after=route_snapshot(route, names[route.agency_id]),
            at=now,
        )
        for route in added
    )


async def _seed_once(db: AsyncSession, directory: Directory) -> list[BadRow]:
    agencies = await add_agencies(db, _agencies(directory), SEEDER, utc_now())
    await _add_routes(db, directory, agencies)
    rows = [
        PersonRow(
            line=number,
            agency=agency,
            agency_kind=kind,
            name=contact.name,
            email=str(contact.email),
            role=role,
            language=contact.language,
        )
        for number, (agency, kind, role, contact) in enumerate(_contacts(directory), start=1)
        if contact.email is not None
    ]
    found = await plan(db, rows, add_only=True)
    await apply(db, found, SEEDER)  # commits the agencies and routes too
    # A second entry for one address was always ignored (the first wins): not a fault.
    return [bad for bad in found.bad if not bad.reason.startswith("duplicate")]


async def seed_directory(db: AsyncSession, directory: Directory) -> list[BadRow]:
    """Adds what the file holds and the database lacks; answers the file's entries the
    directory refused (the contact's position in the file and why)."""
    try:
        return await _seed_once(db, directory)
    except IntegrityError:
        await db.rollback()
        return await _seed_once(db, directory)


async def seed(sessions: async_sessionmaker[AsyncSession], directory: Directory | None) -> None:
    """Seeds from the file (if one is set) at a process's start; logs what it refused."""
    if directory is None:
        return
    try:
        async with sessions() as db:
            refused = await seed_directory(db, directory)
    except (SQLAlchemyError, OSError) as exc:
        # The service still starts (and answers 503 while the database is away); the next
        # start, the API's or a worker's, seeds.
        log.warning("directory file not seeded: database unavailable", error=type(exc).__name__)
        return
    for bad in refused:
        log.warning("directory file contact not added", contact=bad.line, reason=bad.reason)
