"""The eraser: closed escalations erased when their retention ends (core/retention.py).

Every minute (a Temporal Schedule the worker keeps) and on demand (`python -m worker erase`) it
erases each closed escalation whose retention has ended and that carries no legal hold
(database/erasure.py): its case key destroyed, its case details gone. Idempotent: an erased,
held or still open record is left alone.
"""

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client

from core.retention import Retention
from core.settings import Settings
from database.engine import session_factory
from database.erasure import STILL_OPEN, erase
from database.tables import Escalation, utc_now
from worker.schedules import ensure_schedule
from workflows.erasure import ERASE_DUE, ERASE_WORKFLOW

log = structlog.get_logger(__name__)
ERASE_EVERY = timedelta(minutes=1)


def schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue}-eraser"


class Eraser:
    def __init__(self, engine: AsyncEngine, retention: Retention) -> None:
        self._sessions = session_factory(engine)
        self._retention = retention

    async def erase_due(self) -> list[str]:
        """Erases every record whose retention has ended; their ids."""
        now = utc_now()
        async with self._sessions() as db:
            rows = await db.exec(
                select(Escalation).where(
                    col(Escalation.status).not_in(STILL_OPEN),
                    col(Escalation.closed_at).is_not(None),
                    col(Escalation.dispute_until).is_(None),
                    col(Escalation.held_at).is_(None),
                    col(Escalation.erased_at).is_(None),
                )
            )
            candidates = rows.all()
        erased = []
        for row in candidates:
            rule = self._retention.rule(row.policy)
            assert row.closed_at is not None  # selected so
            ends = rule.ends(row.closed_at, row.child_date_of_birth)
            if ends is None or ends > now:
                continue
            if await erase(self._sessions, row.id, at=utc_now(), rule=rule.describe()):
                log.warning("case details erased", escalation_id=row.id)
                erased.append(row.id)
        return erased

    @activity.defn(name=ERASE_DUE)
    async def erase_due_activity(self) -> list[str]:
        return await self.erase_due()


async def ensure_erase_schedule(client: Client, settings: Settings) -> None:
    await ensure_schedule(
        client, schedule_id(settings), ERASE_WORKFLOW, settings.task_queue, ERASE_EVERY
    )
