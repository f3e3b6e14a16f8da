"""Each person's last look at an escalation's page: what happened since is marked as new."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import EscalationView, utc_now


async def look(db: AsyncSession, email: str, escalation_id: str) -> datetime | None:
    """Notes that `email` looks at the escalation now; when they last looked before (or None)."""
    query = select(EscalationView).where(
        EscalationView.email == email, EscalationView.escalation_id == escalation_id
    )
    seen = (await db.exec(query)).first()
    before = seen.viewed_at if seen else None
    if seen is None:
        db.add(EscalationView(email=email, escalation_id=escalation_id, viewed_at=utc_now()))
    else:
        seen.viewed_at = utc_now()
        db.add(seen)
    try:
        await db.commit()
    except IntegrityError:  # the same person's other tab recorded the first look just now
        await db.rollback()
    return before
