"""The record: append-only, hash-chained, idempotent, with the read model kept beside it.

Every test here runs on SQLite and on PostgreSQL (the `engine` fixture is parametrised), except
where the two databases guard the trail differently.
"""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.recorder import Recorder
from core.calendar import LONDON
from database.audit_chain import append_event, chain_breaks
from database.engine import session_factory
from database.tables import Escalation, utc_now
from tests.engine_helpers import RAISER, SQLITE_ONLY, audit_trail, escalation_input, read_model
from workflows.models import AuditAction, AuditEventInput, EscalationState

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
RAISED_AT = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
STAGE_1_DEADLINE = datetime(2026, 12, 30, 10, 0, tzinfo=UTC)
STAGE_2_DEADLINE = datetime(2027, 1, 7, 10, 0, tzinfo=UTC)


def opened() -> EscalationState:
    """An escalation as the workflow holds it just after the raise."""
    raised = escalation_input()
    return EscalationState.model_validate(
        raised.model_dump(include=set(EscalationState.model_fields))
        | {"stage_deadline": STAGE_1_DEADLINE, "raised": True}
    )


def event(state: EscalationState, action: AuditAction, seq: int, **details: Any) -> AuditEventInput:
    """The record activity's input for the escalation's `seq`th event, `state` as after it."""
    return AuditEventInput(
        event_key=f"{state.escalation_id}:{seq}",
        escalation_id=state.escalation_id,
        action=action,
        at=RAISED_AT.replace(minute=seq),
        actor=RAISER if seq == 1 else "system",
        details=details,
        state=state.model_copy(update={"event_seq": seq}, deep=True),
    )


async def test_a_retried_record_activity_leaves_one_row(engine: AsyncEngine) -> None:
    recorder = Recorder(engine)
    raised = event(opened(), "raised", 1, policy="standard")
    await recorder.record_event(raised)
    await recorder.record_event(raised)  # the worker died before Temporal heard back

    trail = await audit_trail(engine, raised.escalation_id)
    assert [(e.event_key, e.action, e.actor, e.stage) for e in trail] == [
        (raised.event_key, "raised", RAISER, 1)
    ]
    assert trail[0].details == {"policy": "standard"}
    assert trail[0].at == raised.at
    assert chain_breaks(trail) == []


async def test_the_read_model_follows_the_record(engine: AsyncEngine) -> None:
    recorder = Recorder(engine)
    state = opened()
    # The API writes the case details first; the workflow's writes must never touch them.
    async with session_factory(engine)() as db:
        db.add(
            Escalation(
                id=state.escalation_id,
                policy="standard",
                raising_agency=state.raising_agency,
                receiving_agency=state.receiving_agency,
                raised_by=RAISER,
                created_at=RAISED_AT,
                updated_at=utc_now(),
                child_name="Amelia Example",
                child_date_of_birth=date(2015, 4, 2),
                summary="Concerns about neglect",
            )
        )
        await db.commit()

    await recorder.record_event(event(state, "raised", 1))
    row = await read_model(engine, state.escalation_id)
    assert (row.status, row.stage, row.stage_role, row.overdue) == ("open", 1, "manager", False)
    assert row.stage_deadline == STAGE_1_DEADLINE

    state.stage, state.stage_deadline = 2, STAGE_2_DEADLINE
    await recorder.record_event(event(state, "escalated", 2, reason="time limit passed"))
    row = await read_model(engine, state.escalation_id)
    assert (row.stage, row.stage_name, row.stage_role) == (
        2,
        "Senior and executive managers",
        "executive",
    )
    assert row.stage_deadline == STAGE_2_DEADLINE

    state.overdue = True
    await recorder.record_event(event(state, "overdue", 3))
    assert (await read_model(engine, state.escalation_id)).overdue is True

    closed_at = datetime(2027, 1, 5, 15, 30, tzinfo=UTC)
    state.status, state.closed_at, state.closed_by = "resolved", closed_at, "Director"
    state.outcome, state.agreed_actions = "Assessment agreed", ["Strategy meeting by Friday"]
    await recorder.record_event(event(state, "resolved", 4, outcome="Assessment agreed"))
    row = await read_model(engine, state.escalation_id)
    assert (row.status, row.stage, row.stage_deadline) == ("resolved", 2, None)
    assert (row.closed_at, row.closed_by, row.outcome) == (closed_at, "Director", state.outcome)
    assert row.agreed_actions == ["Strategy meeting by Friday"]
    # What the API wrote is still there, untouched.
    assert (row.child_name, row.summary, row.created_at) == (
        "Amelia Example",
        "Concerns about neglect",
        RAISED_AT,
    )
    trail = await audit_trail(engine, state.escalation_id)
    assert [e.action for e in trail] == ["raised", "escalated", "overdue", "resolved"]
    assert chain_breaks(trail) == []


async def test_concurrent_writers_keep_one_chain(engine: AsyncEngine) -> None:
    # The record activity and the notification receipts write to one escalation at once.
    state = opened()
    await Recorder(engine).record_event(event(state, "raised", 1))
    await asyncio.gather(
        *(
            append_event(
                session_factory(engine),
                event_key=f"{state.escalation_id}:1:{n}:notified",
                escalation_id=state.escalation_id,
                action="notified",
                at=RAISED_AT,
                actor="system",
                stage=1,
                details={"n": n},
            )
            for n in range(12)
        )
    )
    trail = await audit_trail(engine, state.escalation_id, with_notified=True)
    assert len(trail) == 13
    assert chain_breaks(trail) == []


async def test_an_event_timed_in_london_keeps_the_chain(engine: AsyncEngine) -> None:
    # Stored in UTC, hashed as stored: a caller's time zone must not look like tampering.
    summer = datetime(2027, 6, 1, 16, 45, tzinfo=LONDON)
    await append_event(
        session_factory(engine),
        event_key="ESC-LONDON:1",
        escalation_id="ESC-LONDON",
        action="note",
        at=summer,
        actor="Ms Adeyemi",
        stage=1,
        details={"text": "Called the duty team"},
    )
    trail = await audit_trail(engine, "ESC-LONDON")
    assert trail[0].at == summer
    assert chain_breaks(trail) == []


async def _trail_of_three(engine: AsyncEngine) -> str:
    recorder, state = Recorder(engine), opened()
    await recorder.record_event(event(state, "raised", 1))
    await recorder.record_event(event(state, "note", 2, text="Called the duty team"))
    await recorder.record_event(event(state, "reminder", 3))
    return state.escalation_id


@SQLITE_ONLY
async def test_an_edited_or_removed_row_breaks_the_chain(engine: AsyncEngine) -> None:
    escalation_id = await _trail_of_three(engine)
    assert chain_breaks(await audit_trail(engine, escalation_id)) == []
    note_id = (await audit_trail(engine, escalation_id))[1].id

    async with engine.begin() as db:
        await db.execute(
            text("UPDATE audit_event SET details = :details WHERE id = :id"),
            {"details": '{"text": "Nothing to add"}', "id": note_id},
        )
    assert chain_breaks(await audit_trail(engine, escalation_id)) == [
        f"event {note_id} ({escalation_id}:2): content changed"
    ]

    async with engine.begin() as db:
        await db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": note_id})
    breaks = chain_breaks(await audit_trail(engine, escalation_id))
    assert len(breaks) == 1
    assert f"({escalation_id}:3): previous event missing or changed" in breaks[0]


@POSTGRES_ONLY
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'someone else' WHERE escalation_id = :id",
        "DELETE FROM audit_event WHERE escalation_id = :id",
        "TRUNCATE audit_event",
    ],
)
async def test_postgres_refuses_to_change_the_trail(engine: AsyncEngine, statement: str) -> None:
    escalation_id = await _trail_of_three(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as db:
            await db.execute(text(statement), {"id": escalation_id})
    trail = await audit_trail(engine, escalation_id)
    assert [e.action for e in trail] == ["raised", "note", "reminder"]
    assert chain_breaks(trail) == []
