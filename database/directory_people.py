"""The directory as the service reads it: who may sign in, and who is told of an escalation.

Every read goes to the database (read-through, no cache): the API and each worker are separate
processes with nothing to tell one another of a change, and each read is one indexed query, so a
person added, changed or deactivated counts on the very next request or notification.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import (
    ContactRoute,
    DirectoryAgency,
    DirectoryPerson,
    PersonSession,
    SignInLink,
    utc_now,
)
from workflows.models import NotificationInput
from workflows.policy import ROLES, Role, role_rank

DirectoryRole = Literal["practitioner", "manager", "executive", "board", "business_unit"]
DIRECTORY_ROLES: tuple[DirectoryRole, ...] = (
    "practitioner",
    "manager",
    "executive",
    "board",
    "business_unit",
)
# A person the directory gives no role: an identity provider's groups give one at sign-in.
NoRole = Literal[""]
NO_ROLE: NoRole = ""
# Roles held only in the partnership's own agency, granted only by the business unit.
PARTNERSHIP_ROLES: tuple[DirectoryRole, ...] = ("board", "business_unit")
# The partnership's own agency (core.directory.AGENCY_KINDS lists every kind).
PARTNERSHIP_KIND = "partnership"


def directory_rank(role: str) -> int:
    """Where the role stands (no role: below every role)."""
    return DIRECTORY_ROLES.index(role) if role in DIRECTORY_ROLES else -1


@dataclass(frozen=True)
class Person:
    """An active person of the directory, as pages, sign-in and the codec see them."""

    name: str
    email: str
    agency: str
    directory_role: DirectoryRole
    language: str = "en"

    @property
    def role(self) -> Role:
        """The role they act with on the ladder: the business unit acts as the board does."""
        return "board" if self.directory_role == "business_unit" else self.directory_role

    @property
    def partnership(self) -> bool:
        return self.role == "board"

    @property
    def operator(self) -> bool:
        """May read and write Temporal payloads through the codec (the Temporal Web UI)."""
        return self.partnership

    @property
    def administers_directory(self) -> bool:
        """The business unit administers the whole directory."""
        return self.directory_role == "business_unit"

    @property
    def manages_people(self) -> bool:
        """Managers and above manage their own agency's people."""
        return role_rank(self.role) >= role_rank("manager")


def email_key(email: str) -> str:
    return email.strip().casefold()


async def find_active_person(
    db: AsyncSession, email: str, provider_role: str | None = None
) -> Person | None:
    """The active directory person with this email address (any case), or None.

    The one look-up for everything that turns an address into a person: sign-in links, sessions
    on every request, identity providers' ID tokens, the codec's access tokens. Someone the
    directory lists with no role (NO_ROLE) is a person only with the role an identity provider's
    groups gave at sign-in (`provider_role`); the directory's own role always wins."""
    found = (
        await db.exec(
            select(DirectoryPerson, DirectoryAgency.name)
            .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
            .where(DirectoryPerson.email_key == email_key(email), col(DirectoryPerson.active))
        )
    ).first()
    if found is None:
        return None
    row, agency = found
    role = row.role or next((r for r in ROLES if r == provider_role), None)
    if role is None:
        return None
    return Person(
        name=row.name,
        email=row.email,
        agency=agency,
        directory_role=cast(DirectoryRole, role),
        language=row.language,
    )


async def lock_out(db: AsyncSession, emails: list[str], at: datetime | None = None) -> None:
    """Ends these people's sessions and unspent sign-in links (in the caller's transaction)."""
    now = at or utc_now()
    keys = [email_key(email) for email in emails]
    for start in range(0, len(keys), 500):
        some = keys[start : start + 500]
        await db.exec(
            update(PersonSession)
            .where(func.lower(PersonSession.email).in_(some), col(PersonSession.ended_at).is_(None))
            .values(ended_at=now, draft={})
        )
        await db.exec(
            update(SignInLink)
            .where(func.lower(SignInLink.email).in_(some), col(SignInLink.used_at).is_(None))
            .values(used_at=now)
        )


@dataclass(frozen=True)
class Recipient:
    """One person or system told of an event: an email address or a webhook."""

    name: str
    email: str | None = None
    webhook: str | None = None
    # The person's language; None for a system (a webhook) whose language is not known.
    language: str | None = None

    @property
    def address(self) -> str:
        return self.email or self.webhook or ""


def _told(request: NotificationInput, role: Any) -> ColumnElement[bool]:
    """Whom one event tells, as a condition on an agency and a person's (or system's) role:
    the stage's role at both agencies (the partnership's board at a board stage), the business
    unit when the partnership is told, the raising agency's practitioners on an outcome."""
    partnership = col(DirectoryAgency.kind) == PARTNERSHIP_KIND
    both = (request.raising_agency, request.receiving_agency)
    groups = [
        and_(partnership, role == "board")
        if request.role == "board"
        else and_(col(DirectoryAgency.name).in_(both), role == request.role)
    ]
    if request.tell_partnership:
        groups.append(and_(partnership, role == "business_unit"))
    if request.tell_raiser:
        raiser = col(DirectoryAgency.name) == request.raising_agency
        groups.append(and_(raiser, role == "practitioner"))
    return or_(*groups)


async def recipients(db: AsyncSession, request: NotificationInput) -> list[Recipient]:
    """Who is told of one event, each address once: active people, then systems."""
    people = await db.exec(
        select(DirectoryPerson)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
        .where(_told(request, DirectoryPerson.role), col(DirectoryPerson.active))
        .order_by(col(DirectoryPerson.id))
    )
    routes = await db.exec(
        select(ContactRoute)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(ContactRoute.agency_id))
        .where(_told(request, ContactRoute.role), col(ContactRoute.active))
        .order_by(col(ContactRoute.id))
    )
    found = [Recipient(p.name, email=p.email, language=p.language) for p in people.all()]
    found += [Recipient(r.name, webhook=r.webhook) for r in routes.all()]
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient.address.casefold(), recipient)
    return list(unique.values())


async def business_unit_readers(db: AsyncSession) -> list[tuple[str, str]]:
    """The partnership business unit's active people's addresses (its alerts go there), each
    with the person's language."""
    found = await db.exec(
        select(DirectoryPerson.email, DirectoryPerson.language)
        .join(DirectoryAgency, col(DirectoryAgency.id) == col(DirectoryPerson.agency_id))
        .where(
            DirectoryAgency.kind == PARTNERSHIP_KIND,
            DirectoryPerson.role == "business_unit",
            col(DirectoryPerson.active),
        )
        .order_by(col(DirectoryPerson.id))
    )
    return [(email, language) for email, language in found.all()]


async def agency_names(db: AsyncSession) -> list[str]:
    """The agencies escalations are raised between (the partnership's own is not one)."""
    names = await db.exec(
        select(DirectoryAgency.name)
        .where(DirectoryAgency.kind != PARTNERSHIP_KIND)
        .order_by(col(DirectoryAgency.name))
    )
    return list(names.all())


async def partnership_name(db: AsyncSession) -> str:
    """The partnership's own name, as its agency in the directory spells it."""
    agency = await partnership_agency(db)
    return agency.name if agency else "Safeguarding Children Partnership"


async def partnership_agency(db: AsyncSession) -> DirectoryAgency | None:
    found = await db.exec(
        select(DirectoryAgency)
        .where(DirectoryAgency.kind == PARTNERSHIP_KIND)
        .order_by(col(DirectoryAgency.id))
    )
    return found.first()
