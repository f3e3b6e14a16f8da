"""Legal holds: the partnership stops a record's erasure while litigation, an inquiry or a
review needs it, with a reason; each hold and release is an event on the audit chain."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, label, role_of
from casework.refusals import ProblemError
from core.text import N_, Said
from database.audit_chain import append_event_in, lock_and_refresh
from database.case_cipher import lock
from database.tables import CaseKey, Escalation, utc_now


def _partnership_only(actor: Actor) -> None:
    if role_of(actor) != "board":
        raise ProblemError(403, Said(N_("Only the partnership places or releases a legal hold.")))


async def hold(db: AsyncSession, actor: Actor, row: Escalation, reason: str) -> Escalation:
    """Places a legal hold; one already standing is left as it is (a repeated request)."""
    _partnership_only(actor)
    await lock_and_refresh(db, row)
    if row.erased_at is not None:
        await db.commit()
        raise ProblemError(409, Said(N_("This escalation's case details are already erased.")))
    if row.held_at is None:
        at = utc_now()
        row.held_at, row.held_by, row.hold_reason = at, label(actor), reason
        db.add(row)
        await _record(db, actor, row, "held", reason, at)
    await db.commit()
    return row


async def release(db: AsyncSession, actor: Actor, row: Escalation, reason: str) -> Escalation:
    """Lifts the legal hold: retention applies again (erasure at the eraser's next run if it
    has already ended)."""
    _partnership_only(actor)
    await lock_and_refresh(db, row)
    if row.held_at is None:
        await db.commit()
        raise ProblemError(409, Said(N_("This escalation is not under a legal hold.")))
    at = utc_now()
    row.held_at = row.held_by = row.hold_reason = None
    db.add(row)
    await _record(db, actor, row, "hold released", reason, at)
    await db.commit()
    return row


async def _record(
    db: AsyncSession,
    actor: Actor,
    row: Escalation,
    action: Literal["held", "hold released"],
    reason: str,
    at: datetime,
) -> None:
    # The reason may speak of the child: sealed like a note, erased with the record.
    await append_event_in(
        db,
        event_key=f"{row.id}:{action.replace(' ', '-')}:{uuid.uuid4().hex}",
        escalation_id=row.id,
        action=action,
        at=at,
        actor=label(actor),
        stage=row.stage,
        details={"reason": lock(await db.get(CaseKey, row.id), reason)},
    )


async def holds(db: AsyncSession) -> Sequence[Escalation]:
    """The records under a legal hold, the longest held first."""
    rows = await db.exec(
        select(Escalation)
        .where(col(Escalation.held_at).is_not(None))
        .order_by(col(Escalation.held_at), col(Escalation.id))
    )
    return rows.all()
