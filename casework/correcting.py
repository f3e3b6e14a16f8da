"""Correcting a case detail (rectification): the raising agency's managers or the partnership.

The record takes the new value; a `corrected` event on the audit chain holds it, with the reason
and its seal; the value it replaced is kept for the partnership only (`CaseCorrection`).
Case details never reach Temporal, so this is written here, not by the workflow.
"""

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor, label, role_of
from casework.refusals import ProblemError
from casework.requests import CorrectionRequest
from core.text import N_, Said, reference_key
from database.audit_chain import append_event_in, lock_and_refresh
from database.case_cipher import lock, lock_value
from database.case_seal import SEALS, plain, seal
from database.tables import CaseCorrection, CaseKey, Escalation, utc_now
from workflows.policy import role_rank


def may_correct(actor: Actor, row: Escalation) -> bool:
    role = role_of(actor)
    return role == "board" or (
        actor.agency == row.raising_agency and role_rank(role) >= role_rank("manager")
    )


def who_corrects(row: Escalation) -> Said:
    """Who may correct the escalation's case details, as a refusal says it."""
    return Said(
        N_(
            "Only a manager or above of %(agency)s, or the partnership, may correct the case "
            "details."
        ),
        {"agency": row.raising_agency},
    )


async def correct(
    db: AsyncSession, actor: Actor, row: Escalation, body: CorrectionRequest
) -> Escalation:
    """Corrects one case detail and answers with the record as it now stands; the same value
    again changes nothing (a repeated request)."""
    if not may_correct(actor, row):
        raise ProblemError(403, who_corrects(row))
    await lock_and_refresh(db, row)
    key = await db.get(CaseKey, row.id)
    if key is None:
        await db.rollback()
        raise ProblemError(
            409, Said(N_("This escalation's case details can no longer be corrected."))
        )
    value = body.case_value
    previous = getattr(row, body.field)
    if plain(previous) == plain(value):
        await db.commit()  # only the lock's touch: a rollback would expire the answer's row
        return row
    at, event_key = utc_now(), f"{row.id}:corrected:{uuid.uuid4().hex}"
    setattr(row, body.field, value)
    if body.field == "child_reference":  # searches find it under the corrected reference
        row.child_reference_key = reference_key(str(value)) if value else None
    db.add(row)
    # The values and the reason sealed with the escalation's key: erased with the record.
    db.add(
        CaseCorrection(
            escalation_id=row.id,
            event_key=event_key,
            field=body.field,
            previous_value=lock_value(key, plain(previous)),
            value=lock_value(key, plain(value)),
            reason=lock(key, body.reason),
            corrected_by=label(actor),
            at=at,
        )
    )
    await append_event_in(
        db,
        event_key=event_key,
        escalation_id=row.id,
        action="corrected",
        at=at,
        actor=label(actor),
        stage=row.stage,
        details={
            "field": body.field,
            "value": lock_value(key, plain(value)),
            "reason": lock(key, body.reason),
            SEALS: seal(key, body.field, value),
        },
    )
    await db.commit()
    return row


async def corrections(db: AsyncSession, escalation_id: str) -> Sequence[CaseCorrection]:
    """The escalation's corrections, oldest first."""
    rows = await db.exec(
        select(CaseCorrection)
        .where(CaseCorrection.escalation_id == escalation_id)
        .order_by(col(CaseCorrection.id))
    )
    return rows.all()
