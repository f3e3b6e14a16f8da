"""Who looked: append-only access events, apart from the audit chain's action timeline.

`record_access` (one) and `record_accesses` (one per escalation, together) are the only ways to
write them: a view of an escalation's case details (its page, its record, an API read, an
export), a search, a download. Pass only what identifies the access (who, what for, counts,
keyed hashes): never a search term or a child's details in clear.
"""

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import AccessEvent, utc_now


async def record_access(
    db: AsyncSession,
    *,
    actor: str,
    purpose: str,
    escalation_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AccessEvent:
    """Writes one access event and commits it (with anything else pending on `db`)."""
    event = AccessEvent(
        escalation_id=escalation_id,
        at=utc_now(),
        actor=actor,
        purpose=purpose,
        details=details or {},
    )
    db.add(event)
    await db.commit()
    return event


async def record_accesses(
    db: AsyncSession, *, actor: str, purpose: str, escalation_ids: Sequence[str]
) -> None:
    """One access event for each escalation (an export, a subject access bundle), committed
    together."""
    at = utc_now()
    db.add_all(
        AccessEvent(escalation_id=escalation_id, at=at, actor=actor, purpose=purpose, details={})
        for escalation_id in escalation_ids
    )
    await db.commit()


async def accesses(db: AsyncSession, escalation_id: str) -> Sequence[AccessEvent]:
    """Every recorded access to one escalation, newest first."""
    rows = await db.exec(
        select(AccessEvent)
        .where(AccessEvent.escalation_id == escalation_id)
        .order_by(col(AccessEvent.id).desc())
    )
    return rows.all()
