"""The audit trail: append-only, idempotent, hash-chained per escalation.

Each event stores the hash of the escalation's previous event and of its own content, so any
later change to a row, or a row removed, breaks the chain (`python -m api verify-audit`).
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.case_seal import raise_seals
from database.tables import AuditEvent, CaseKey, Escalation, utc_now
from workflows.models import AuditAction, EscalationState

GENESIS = "0" * 64
# The status of a record whose workflow closed without recording it (the reconciler's).
CLOSED_OUTSIDE = "terminated"


def chained_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """The hash over the previous event's hash and this event's content (any trail)."""
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


def event_hash(event: AuditEvent) -> str:
    """The hash over the previous event's hash and this event's content."""
    return chained_hash(
        event.prev_hash,
        {
            "event_key": event.event_key,
            "escalation_id": event.escalation_id,
            "action": event.action,
            "at": event.at.astimezone(UTC).isoformat(),  # as the database gives it back
            "actor": event.actor,
            "stage": event.stage,
            "details": event.details,
        },
    )


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
        **_steps(state),
        "updated_at": utc_now(),
    }


def _steps(state: EscalationState) -> dict[str, Any]:
    """The current stage's acknowledgement and extensions (none yet on a stage just begun)."""
    current = state.steps_current
    return {
        "acknowledge_by": state.acknowledge_by if current else None,
        "acknowledged_at": state.acknowledged_at if current else None,
        "acknowledged_by": state.acknowledged_by if current else None,
        "extensions_used": state.extensions_used if current else 0,
        "dispute_until": state.dispute_until,
    }


async def lock_escalation(db: AsyncSession, escalation_id: str) -> None:
    """Touches the escalation's row first: its lock orders this transaction's writes to the
    escalation's chain with the workflow's, a correction's, a hold's and the eraser's."""
    await db.exec(
        update(Escalation).where(col(Escalation.id) == escalation_id).values(updated_at=utc_now())
    )


async def lock_and_refresh(db: AsyncSession, row: Escalation) -> None:
    """The row lock, then the row as it is under it."""
    await lock_escalation(db, row.id)
    await db.refresh(row)


async def _lock_escalation(
    db: AsyncSession, escalation_id: str, state: EscalationState | None, at: datetime
) -> None:
    """Write the escalation row first: the row lock orders concurrent audit writes."""
    if state is None:
        await lock_escalation(db, escalation_id)
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
        ).on_conflict_do_update(
            index_elements=["id"],
            set_=fields,
            # A write still in flight when the workflow was terminated never reopens the record.
            where=col(Escalation.status) != CLOSED_OUTSIDE,
        )
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
        written = await append_event_in(
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
        return written


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
    if action == "raised":
        details = details | await raise_seals(db, escalation_id)
    return await chain_event(
        db,
        AuditEvent(
            event_key=event_key,
            escalation_id=escalation_id,
            action=action,
            at=at,
            actor=actor,
            stage=stage,
            details=details,
            prev_hash=GENESIS,
            hash="",
        ),
    )


async def chain_event(db: AsyncSession, event: AuditEvent) -> bool:
    """Chains `event` after the escalation's last one; False if its key was already written.
    The caller holds the escalation's row lock."""
    existing = await db.exec(select(AuditEvent.id).where(AuditEvent.event_key == event.event_key))
    if existing.first() is not None:
        return False
    last = await db.exec(
        select(AuditEvent.hash)
        .where(AuditEvent.escalation_id == event.escalation_id)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    event.prev_hash = last.first() or GENESIS
    event.hash = event_hash(event)
    db.add(event)
    return True


async def close_outside(
    sessions: async_sessionmaker[AsyncSession],
    escalation_id: str,
    *,
    at: datetime,
    actor: str,
    reason: str,
    details: dict[str, Any],
) -> bool:
    """Closes an open record whose workflow ended without saying so (terminated, missing...):
    the row `terminated` and one event on its trail, in one commit. False if the record was no
    longer open (the workflow wrote first, or this was done already)."""
    async with sessions() as db:
        closed = await db.exec(
            update(Escalation)
            .where(col(Escalation.id) == escalation_id, col(Escalation.status) == "open")
            .values(
                status=CLOSED_OUTSIDE,
                stage_deadline=None,
                overdue=False,
                closed_at=at,
                closed_by=actor,
                closing_reason=reason,
                updated_at=utc_now(),
            )
            .returning(col(Escalation.stage))
        )
        stage = closed.first()
        if stage is None:
            await db.rollback()
            return False
        written = await chain_event(
            db,
            AuditEvent(
                event_key=f"{escalation_id}:reconciled",
                escalation_id=escalation_id,
                action=CLOSED_OUTSIDE,
                at=at,
                actor=actor,
                stage=stage[0],
                details=details,
                prev_hash=GENESIS,
                hash="",
            ),
        )
        await db.commit()
        return written


async def remove_pending(
    sessions: async_sessionmaker[AsyncSession], escalation_id: str, status: str
) -> bool:
    """Deletes a raise whose workflow never recorded it (still `status`, no event on its trail)."""
    async with sessions() as db:
        events = await db.exec(
            select(AuditEvent.id).where(AuditEvent.escalation_id == escalation_id).limit(1)
        )
        if events.first() is not None:
            return False
        removed = await db.exec(
            delete(Escalation).where(
                col(Escalation.id) == escalation_id, col(Escalation.status) == status
            )
        )
        if removed.rowcount:
            await db.exec(delete(CaseKey).where(col(CaseKey.escalation_id) == escalation_id))
        await db.commit()
        return bool(removed.rowcount)


async def timeline(db: AsyncSession, escalation_id: str) -> Sequence[AuditEvent]:
    rows = await db.exec(
        select(AuditEvent)
        .where(AuditEvent.escalation_id == escalation_id)
        .order_by(col(AuditEvent.id))
    )
    return rows.all()


class Chained(Protocol):
    id: int | None
    prev_hash: str
    hash: str


E = TypeVar("E", bound=Chained)


def broken_links(
    events: Sequence[E], hash_of: Callable[[E], str], name_of: Callable[[E], str]
) -> list[str]:
    """What is wrong with one chain of events, oldest first; empty when intact."""
    problems, prev = [], GENESIS
    for event in events:
        if event.prev_hash != prev:
            problems.append(
                f"event {event.id} ({name_of(event)}): previous event missing or changed"
            )
        elif event.hash != hash_of(event):
            problems.append(f"event {event.id} ({name_of(event)}): content changed")
        prev = event.hash
    return problems


def chain_breaks(events: Sequence[AuditEvent]) -> list[str]:
    """What is wrong with one escalation's chain of events, oldest first; empty when intact."""
    return broken_links(events, event_hash, lambda event: event.event_key)


# Events written beside the workflow's steps: they change no stage.
BESIDE_THE_WORKFLOW = ("notified", "corrected", "held", "hold released", "erased")
# What a closing event leaves as the record's status.
_CLOSING = {"resolved", "withdrawn", "cancelled", "terminated"}


def record_drift(row: Escalation, events: Sequence[AuditEvent]) -> list[str]:
    """Where the read model disagrees with its trail (someone edited the row); empty if none."""
    steps = [event for event in events if event.action not in BESIDE_THE_WORKFLOW]
    if not steps:
        return ["no audit events for this record"]
    expected: dict[str, Any] = {"status": "open", "stage": steps[-1].stage}
    raised = steps[0]
    if raised.action == "raised":
        expected |= {"raised_by": raised.actor, "policy": raised.details.get("policy")}
    closing = next((event for event in reversed(steps) if event.action in _CLOSING), None)
    if closing is not None:
        expected["status"] = closing.action
        if closing.action in ("resolved", "withdrawn", "terminated"):
            expected["closed_by"] = closing.actor
        if closing.action == "resolved":
            expected["outcome"] = closing.details.get("outcome")
            expected["agreed_actions"] = closing.details.get("agreed_actions", [])
        if closing.action == "withdrawn":
            expected["closing_reason"] = closing.details.get("reason")
    # Names only: the values can be about a child.
    return [
        f"{name} on the record differs from its audit trail"
        for name, value in expected.items()
        if getattr(row, name) != value
    ]
