"""Finding escalations: only the agencies involved and the partnership see one, and nobody one
whose workflow has not yet recorded it (`pending`)."""

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, role_of
from casework.raising import PENDING
from casework.refusals import ProblemError
from casework.searching import Search
from database.tables import Escalation
from workflows.rules import may_see


def visible(viewer: Actor, row: Escalation) -> bool:
    return may_see(
        viewer.agency,
        role_of(viewer),
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
    )


async def find_visible(db: AsyncSession, viewer: Actor, escalation_id: str) -> Escalation:
    row = await db.get(Escalation, escalation_id)
    if row is None or row.status == PENDING or not visible(viewer, row):
        raise ProblemError(404, f"No escalation {escalation_id!r} that you can see.")
    return row


async def page(
    db: AsyncSession,
    viewer: Actor,
    *,
    status: str | None,
    stage: int | None,
    agency: str | None,
    overdue: bool | None,
    search: Search | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Escalation], int]:
    query = select(Escalation).where(Escalation.status != PENDING)
    if viewer.role != "board":
        query = query.where(
            (Escalation.raising_agency == viewer.agency)
            | (Escalation.receiving_agency == viewer.agency)
        )
    if status is not None:
        query = query.where(Escalation.status == status)
    if stage is not None:
        query = query.where(Escalation.stage == stage)
    if agency is not None:
        query = query.where(
            (Escalation.raising_agency == agency) | (Escalation.receiving_agency == agency)
        )
    if overdue is not None:
        query = query.where(Escalation.overdue == overdue)
    if search is not None:
        query = query.where(search.condition())
    total = (await db.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await db.exec(
        query.order_by(col(Escalation.created_at).desc(), col(Escalation.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total
