"""The audit activity: one event on the record, with the read model brought up to date."""

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from database.audit_chain import append_event
from database.engine import session_factory
from database.tables import utc_now
from workflows.models import RECORD_EVENT, AuditEventInput, EventWritten

log = structlog.get_logger(__name__)


class Recorder:
    """Writes one event and the read model in the same commit."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    @activity.defn(name=RECORD_EVENT)
    async def record_event(self, event: AuditEventInput) -> EventWritten:
        written = await append_event(
            self._sessions,
            event_key=event.event_key,
            escalation_id=event.escalation_id,
            action=event.action,
            at=event.at,
            actor=event.actor,
            stage=event.state.stage,
            details=event.details,
            state=event.state,
        )
        log.info(
            "audit event",
            escalation_id=event.escalation_id,
            action=event.action,
            stage=event.state.stage,
            duplicate=not written,
        )
        return EventWritten(written_at=utc_now())
