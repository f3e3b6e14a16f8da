"""Finding escalations, by the one rule of who sees which (casework/visibility.py)."""

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor
from casework.refusals import ProblemError
from casework.searching import Search
from casework.visibility import may_see_escalation, visible_to
from database.tables import Escalation


async def find_visible(db: AsyncSession, viewer: Actor, escalation_id: str) -> Escalation:
    row = await db.get(Escalation, escalation_id)
    if row is None or not may_see_escalation(viewer, row):
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
    query = select(Escalation).where(visible_to(viewer))
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
