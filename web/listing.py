"""The lists on a person's home page: what waits on them, what their agency raised, what closed,
and what a search finds; each row with when it last changed for this person."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.attention import waiting_on
from casework.searching import Search
from casework.visibility import visible_to
from database.directory_people import Person
from database.tables import AuditEvent, Escalation, EscalationView
from web.i18n import N_

View = Literal["waiting", "raised", "closed", "all"]
# Catalogue messages: the home page translates them where it shows them.
VIEWS: dict[View, str] = {
    "waiting": N_("Waiting on you"),
    "raised": N_("Raised by your agency"),
    "closed": N_("Closed"),
    "all": N_("All open"),
}
PAGE_SIZE = 20
# Events that are no news on their own: who was told follows every action.
NOT_NEWS = ("notified",)


@dataclass(frozen=True)
class Filters:
    view: View = "waiting"
    overdue: bool = False
    agency: str | None = None
    status: str | None = None
    search: Search | None = None
    page: int = 1


@dataclass(frozen=True)
class Listed:
    row: Escalation
    changed: bool  # something happened since this person last looked (or they never have)


def _view(person: Person, view: View, now: datetime) -> ColumnElement[bool]:
    if view == "waiting":
        return waiting_on(person.agency, person.role, now)
    if view == "raised":
        return col(Escalation.raising_agency) == person.agency
    if view == "closed":
        return col(Escalation.status) != "open"
    return col(Escalation.status) == "open"


async def waiting_count(db: AsyncSession, person: Person, now: datetime) -> int:
    query = select(func.count()).where(
        visible_to(person), waiting_on(person.agency, person.role, now)
    )
    return (await db.exec(query)).one()


def _last_news(actor: str) -> ColumnElement[datetime | None]:
    """When the newest event by someone else happened (`actor` is how the record names this
    person: their own actions are no news to them), for each listed escalation."""
    return (
        select(func.max(AuditEvent.at))
        .where(
            col(AuditEvent.escalation_id) == col(Escalation.id),
            col(AuditEvent.action).not_in(NOT_NEWS),
            col(AuditEvent.actor) != actor,
        )
        .correlate(Escalation)
        .scalar_subquery()
    )


async def escalations_for(
    db: AsyncSession, person: Person, actor: str, filters: Filters, now: datetime
) -> tuple[list[Listed], int]:
    """A page of the chosen list (or of a search's finds, whatever the list) and the total."""
    where = [visible_to(person)]
    if filters.search is not None:
        where.append(filters.search.condition())
    else:
        where.append(_view(person, filters.view, now))
    if filters.overdue:
        where.append(col(Escalation.overdue).is_(True))
    if filters.status:
        where.append(col(Escalation.status) == filters.status)
    if filters.agency:
        where.append(
            or_(
                col(Escalation.raising_agency) == filters.agency,
                col(Escalation.receiving_agency) == filters.agency,
            )
        )
    query = select(Escalation).where(*where)
    total = (await db.exec(select(func.count()).select_from(query.subquery()))).one()
    # Soonest deadline first; closed ones (no deadline) most recently closed first.
    order = (
        [col(Escalation.closed_at).desc()]
        if filters.view == "closed" and filters.search is None
        else [col(Escalation.stage_deadline).is_(None), col(Escalation.stage_deadline)]
    )
    viewed = (
        select(EscalationView.escalation_id, EscalationView.viewed_at)
        .where(EscalationView.email == person.email)
        .subquery()
    )
    paged = (
        select(Escalation, viewed.c.viewed_at, _last_news(actor))
        .where(*where)
        .outerjoin(viewed, viewed.c.escalation_id == Escalation.id)
        .order_by(*order, col(Escalation.created_at), col(Escalation.id))
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    rows = (await db.exec(paged)).all()
    return [
        Listed(row, viewed_at is None or (news is not None and news > viewed_at))
        for row, viewed_at, news in rows
    ], total
