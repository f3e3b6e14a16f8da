"""The audit trail: append-only, idempotent, hash-chained per escalation.

Each event stores the hash of the escalation's previous event and of its own content, so any
later change to a row, or a row removed, breaks the chain (`python -m api verify-audit`).
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import AuditEvent, Escalation, utc_now
from workflows.models import AuditAction, EscalationState

GENESIS = "0" * 64


def event_hash(event: AuditEvent) -> str:
    """The hash over the previous event's hash and this event's content."""
    content = json.dumps(
        {
            "event_key": event.event_key,
            "escalation_id": event.escalation_id,
            "action": event.action,
            "at": event.at.astimezone(UTC).isoformat(),  # as the database gives it back
            "actor": event.actor,
            "stage": event.stage,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256((event.prev_hash + content).encode()).hexdigest()


def _read_model(state: EscalationState) -> dict[str, Any]:
    return {
        "status": state.status,
        "stage": state.stage,
        "stage_name": state.stage_name,
        "stage_role": state.stage_role,
        "stage_deadline": state.stage_deadline if state.status == "open" else None,
        "overdue": state.overdue,
        "closed_at": state.closed_at,
        "closed_by": state.closed_by,
        "outcome": state.outcome,
        "agreed_actions": state.agreed_actions,
        "closing_reason": state.closing_reason,
        "updated_at": utc_now(),
    }


async def _lock_escalation(
    db: AsyncSession, escalation_id: str, state: EscalationState | None, at: datetime
) -> None:
    """Write the escalation row first: the row lock orders concurrent audit writes."""
    if state is None:
        await db.exec(
            update(Escalation)
            .where(col(Escalation.id) == escalation_id)
            .values(updated_at=utc_now())
        )
        return
    fields = _read_model(state)
    dialect = (await db.connection()).dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Escalation)
    await db.exec(
        insert.values(
            id=escalation_id,
            policy=state.policy_name,
            raising_agency=state.raising_agency,
            receiving_agency=state.receiving_agency,
            raised_by=state.raised_by,
            immediate_risk=state.immediate_risk,
            created_at=at,
            **fields,
        ).on_conflict_do_update(index_elements=["id"], set_=fields)
    )


async def append_event(
    sessions: async_sessionmaker[AsyncSession],
    *,
    event_key: str,
    escalation_id: str,
    action: AuditAction,
    at: datetime,
    actor: str,
    stage: int,
    details: dict[str, Any],
    state: EscalationState | None = None,
) -> bool:
    """Append one event (and update the read model); False if the key was already written."""
    async with sessions() as db:
        appended = await append_event_in(
            db,
            event_key=event_key,
            escalation_id=escalation_id,
            action=action,
            at=at,
            actor=actor,
            stage=stage,
            details=details,
            state=state,
        )
        await db.commit()
        return appended


async def append_event_in(
    db: AsyncSession,
    *,
    event_key: str,
    escalation_id: str,
    action: AuditAction,
    at: datetime,
    actor: str,
    stage: int,
    details: dict[str, Any],
    state: EscalationState | None = None,
) -> bool:
    """`append_event` inside the caller's transaction, which commits it with its own writes."""
    await _lock_escalation(db, escalation_id, state, at)
    existing = await db.exec(select(AuditEvent.id).where(AuditEvent.event_key == event_key))
    if existing.first() is not None:
        return False
    last = await db.exec(
        select(AuditEvent.hash)
        .where(AuditEvent.escalation_id == escalation_id)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    prev_hash = last.first() or GENESIS
    event = AuditEvent(
        event_key=event_key,
        escalation_id=escalation_id,
        action=action,
        at=at,
        actor=actor,
        stage=stage,
        details=details,
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(event)
    db.add(event)
    return True


async def timeline(db: AsyncSession, escalation_id: str) -> Sequence[AuditEvent]:
    rows = await db.exec(
        select(AuditEvent)
        .where(AuditEvent.escalation_id == escalation_id)
        .order_by(col(AuditEvent.id))
    )
    return rows.all()


def chain_breaks(events: Sequence[AuditEvent]) -> list[str]:
    """What is wrong with one escalation's chain of events, oldest first; empty when intact."""
    problems, prev = [], GENESIS
    for event in events:
        if event.prev_hash != prev:
            problems.append(
                f"event {event.id} ({event.event_key}): previous event missing or changed"
            )
        elif event.hash != event_hash(event):
            problems.append(f"event {event.id} ({event.event_key}): content changed")
        prev = event.hash
    return problems
