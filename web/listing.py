"""The lists on a person's home page: what waits on them, what their agency raised, what closed."""

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.visibility import visible_to
from database.directory_people import Person
from database.tables import Escalation
from workflows.policy import ROLES, role_rank

View = Literal["waiting", "raised", "closed", "all"]
VIEWS: dict[View, str] = {
    "waiting": "Waiting on you",
    "raised": "Raised by your agency",
    "closed": "Closed",
    "all": "All open",
}
PAGE_SIZE = 20


@dataclass(frozen=True)
class Filters:
    view: View = "waiting"
    overdue: bool = False
    agency: str | None = None
    page: int = 1


def _waiting_on(person: Person) -> ColumnElement[bool]:
    """Open, at a stage this person may resolve or escalate (workflows.rules.may_act)."""
    if person.partnership:
        return col(Escalation.status) == "open"
    roles = [role for role in ROLES if role_rank(role) <= role_rank(person.role)]
    if person.role == "practitioner":
        return false()
    return and_(col(Escalation.status) == "open", col(Escalation.stage_role).in_(roles))


def _view(person: Person, view: View) -> ColumnElement[bool]:
    if view == "waiting":
        return _waiting_on(person)
    if view == "raised":
        return col(Escalation.raising_agency) == person.agency
    if view == "closed":
        return col(Escalation.status) != "open"
    return col(Escalation.status) == "open"


async def escalations_for(
    db: AsyncSession, person: Person, filters: Filters
) -> tuple[list[Escalation], int]:
    query = select(Escalation).where(visible_to(person), _view(person, filters.view))
    if filters.overdue:
        query = query.where(col(Escalation.overdue).is_(True))
    if filters.agency:
        query = query.where(
            or_(
                col(Escalation.raising_agency) == filters.agency,
                col(Escalation.receiving_agency) == filters.agency,
            )
        )
    total = (await db.exec(select(func.count()).select_from(query.subquery()))).one()
    # Soonest deadline first; closed ones (no deadline) most recently closed first.
    order = (
        [col(Escalation.closed_at).desc()]
        if filters.view == "closed"
        else [col(Escalation.stage_deadline).is_(None), col(Escalation.stage_deadline)]
    )
    rows = await db.exec(
        query.order_by(*order, col(Escalation.created_at), col(Escalation.id))
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    return list(rows.all()), total
