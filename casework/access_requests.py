"""Requests for access: a professional not in the directory asks; their agency's managers (and
above) or the partnership's business unit approve, which adds them, or decline.

Whoever asks is answered the same whether or not they are known, and learns no one's address.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.directory_access import refusal
from casework.directory_changes import MANAGING, PersonRow, apply, plan
from core.text import Said
from database.directory_people import PARTNERSHIP_KIND, Person, email_key, find_active_person
from database.tables import AccessRequest, DirectoryAgency, DirectoryPerson, utc_now

# What someone may ask for; the partnership's roles are given by its business unit only.
REQUESTABLE = ("practitioner", "manager", "executive")


@dataclass(frozen=True)
class Reviewer:
    name: str
    email: str
    language: str  # the directory's: their mail is written in it


async def agency_for_domain(db: AsyncSession, email: str) -> str | None:
    """The agency that owns the address's domain (or a parent of it), if one does."""
    domain = email.rpartition("@")[2].casefold()
    rows = await db.exec(select(DirectoryAgency).where(DirectoryAgency.kind != PARTNERSHIP_KIND))
    for agency in rows.all():
        for owned in agency.email_domains:
            owned = owned.casefold()
            if domain == owned or domain.endswith("." + owned):
                return agency.name
    return None


async def reviewers(db: AsyncSession, agency_id: int) -> list[Reviewer]:
    """Who is asked: the agency's active managers and above, and the business unit."""
    rows = await db.exec(
        select(DirectoryPerson)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
        .where(
            col(DirectoryPerson.active),
            or_(
                (col(DirectoryPerson.agency_id) == agency_id)
                & col(DirectoryPerson.role).in_(MANAGING),
                (col(DirectoryAgency.kind) == PARTNERSHIP_KIND)
                & (col(DirectoryPerson.role) == "business_unit"),
            ),
        )
        .order_by(col(DirectoryPerson.id))
    )
    return [Reviewer(p.name, p.email, p.language) for p in rows.all()]


async def ask(
    db: AsyncSession,
    *,
    name: str,
    email: str,
    agency: DirectoryAgency,
    role: str,
    language: str | None = None,
) -> list[Reviewer]:
    """Records the request (in `language`, the page's: the new person's once approved) and
    answers who to tell; nothing (and no one told) when the address is someone's already or has
    a request waiting."""
    if await find_active_person(db, email) is not None:
        return []
    waiting = await db.exec(
        select(AccessRequest.id).where(
            AccessRequest.email == email_key(email), AccessRequest.status == "pending"
        )
    )
    if waiting.first() is not None:
        return []
    db.add(
        AccessRequest(
            name=name,
            email=email_key(email),
            agency_id=agency.id or 0,
            role=role,
            requested_at=utc_now(),
            language=language,
        )
    )
    await db.commit()
    return await reviewers(db, agency.id or 0)


async def waiting_for(
    db: AsyncSession, admin: Person, request_id: int | None = None
) -> Sequence[tuple[AccessRequest, DirectoryAgency]]:
    """The requests `admin` may decide (their agency's, or every one for the business unit),
    or only the one numbered `request_id`."""
    query = (
        select(AccessRequest, DirectoryAgency)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(AccessRequest.agency_id))
        .where(AccessRequest.status == "pending")
        .order_by(col(AccessRequest.id))
    )
    if not admin.administers_directory:
        query = query.where(DirectoryAgency.name == admin.agency)
    if request_id is not None:
        query = query.where(col(AccessRequest.id) == request_id)
    return (await db.exec(query)).all()


async def decide(
    db: AsyncSession, admin: Person, actor: str, request_id: int, approve: bool
) -> tuple[AccessRequest, Said | None] | None:
    """Approves (the person is added, on the directory's record) or declines a request `admin`
    may decide; None if there is no such request waiting for them. The second value is why an
    approval was refused."""
    found = await waiting_for(db, admin, request_id)
    if not found:
        return None
    request, agency = found[0]
    if approve:
        row = PersonRow(
            0,
            agency.name,
            agency.kind,
            request.name,
            request.email,
            request.role,  # type: ignore[arg-type]
            language=request.language,  # the language they asked in
        )
        why = refusal(admin, row, None)
        changes = await plan(db, [row])
        if why is None and changes.bad:
            why = changes.bad[0].reasons[0]  # a row of one person: one reason
        if why is not None:
            return request, why
        await apply(db, changes, actor)
    request.status = "approved" if approve else "declined"
    request.decided_by, request.decided_at = actor, utc_now()
    db.add(request)
    await db.commit()
    return request, None
