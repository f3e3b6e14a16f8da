"""Erasure at the end of retention: the case key destroyed, the case details gone from the row.

Everything sealed with the escalation's key (notes, reasons, outcomes, agreed actions, in the
audit trail, the record and Temporal's history) cannot be opened any more; the figures
(agencies, stages, dates, status, category) stay for the oversight report, and the audit chain
is untouched but for one `erased` event, so it still verifies.
"""

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from database.audit_chain import GENESIS, chain_event
from database.case_seal import ERASED_FIELDS
from database.engine import keys_apart
from database.tables import ActionReceipt, AuditEvent, CaseKey, Escalation, utc_now

RETENTION_ACTOR = "retention"
# Records whose workflow still runs are never erased (a resolution open to dispute included).
STILL_OPEN = ("open", "pending")


async def erase(
    sessions: async_sessionmaker[AsyncSession], escalation_id: str, *, at: datetime, rule: str
) -> bool:
    """Erases one closed record without a legal hold; False if it is open, held or erased."""
    async with sessions() as db:
        erased = await db.exec(
            update(Escalation)
            .where(
                col(Escalation.id) == escalation_id,
                col(Escalation.status).not_in(STILL_OPEN),
                col(Escalation.dispute_until).is_(None),
                col(Escalation.held_at).is_(None),
                col(Escalation.erased_at).is_(None),
            )
            .values(
                erased_at=at,
                updated_at=utc_now(),
                # A plain hash of a request would let anyone confirm a guessed child or note.
                request_hash=None,
                # The reference as searched for goes with the reference.
                child_reference_key=None,
                **dict.fromkeys(ERASED_FIELDS),
            )
            .returning(col(Escalation.stage))
        )
        stage = erased.first()
        if stage is None:
            await db.rollback()
            return False
        destroy = delete(CaseKey).where(col(CaseKey.escalation_id) == escalation_id)
        if keys_apart(sessions):
            # The key store in a transaction of its own, first, while the record's row is
            # locked: once the key is gone the texts are erased, and a failure before the record
            # commits is finished by the next run.
            async with sessions() as keys:
                await keys.exec(destroy)
                await keys.commit()
        else:
            await db.exec(destroy)
        await db.exec(
            delete(ActionReceipt).where(col(ActionReceipt.escalation_id) == escalation_id)
        )
        await chain_event(
            db,
            AuditEvent(
                event_key=f"{escalation_id}:erased",
                escalation_id=escalation_id,
                action="erased",
                at=at,
                actor=RETENTION_ACTOR,
                stage=stage[0],
                details={"rule": rule},
                prev_hash=GENESIS,
                hash="",
            ),
        )
        await db.commit()
        return True
