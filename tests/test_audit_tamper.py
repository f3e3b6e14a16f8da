"""Nobody can quietly change the record: `python -m api verify-audit` names every break.

Run as an operator runs it (a subprocess on the deployed database), on SQLite and on PostgreSQL.
On PostgreSQL the application's own engine cannot UPDATE, DELETE or TRUNCATE the trail at all
(tests/test_audit_records.py proves the trigger); here the tampering is done as a database owner
who switches the trigger off first, and the chain still gives it away.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.recorder import Recorder
from database.audit_chain import event_hash
from tests.engine_helpers import audit_trail, escalation_input, london
from workflows.models import AuditAction, AuditEventInput, EscalationState

# Every test here runs the service's commands in processes of their own.
pytestmark = pytest.mark.slow

NOTE = "Spoke to the duty social worker; strategy discussion booked for Monday"


async def record_ladder(engine: AsyncEngine) -> str:
    """An escalation's record as the worker writes it: raised, a note, escalated, resolved."""
    raised = escalation_input()
    state = EscalationState.model_validate(
        raised.model_dump(include=set(EscalationState.model_fields)) | {"raised": True}
    )
    steps: list[tuple[AuditAction, str, dict[str, Any]]] = [
        ("raised", raised.raised_by, {"policy": "standard"}),
        ("note", "Team manager Jones", {"text": NOTE}),
        ("escalated", "system", {"reason": "time limit passed", "from_stage": 1, "to_stage": 2}),
        ("resolved", "Supt. Kaur", {"outcome": "Section 47 enquiry opened"}),
    ]
    recorder = Recorder(engine)
    resolved = {
        "status": "resolved",
        "closed_by": "Supt. Kaur",
        "closed_at": london(2026, 12, 21, 10, 4),
        "outcome": "Section 47 enquiry opened",
    }
    for seq, (action, actor, details) in enumerate(steps, start=1):
        state = state.model_copy(update={"event_seq": seq, "stage": 2 if seq > 2 else 1})
        if action == "resolved":
            state = state.model_copy(update=resolved)
        await recorder.record_event(
            AuditEventInput(
                event_key=f"{state.escalation_id}:{seq}",
                escalation_id=state.escalation_id,
                action=action,
                at=london(2026, 12, 21, 10, seq),
                actor=actor,
                details=details,
                state=state,
            )
        )
    return state.escalation_id


def verify_audit(
    database_url: str, cwd: Path, case_keys: str | None = None
) -> subprocess.CompletedProcess[str]:
    keys = {"CASE_KEY_DATABASE_URL": case_keys} if case_keys else {}
    return subprocess.run(
        [sys.executable, "-m", "api", "verify-audit"],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", **keys},
        cwd=cwd,  # no developer .env
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def tamper(engine: AsyncEngine, statement: str, **params: Any) -> None:
    """Changes the trail behind the application's back, as whoever owns the database could."""
    async with engine.begin() as db:
        postgres = db.dialect.name == "postgresql"
        if postgres:
            await db.execute(
                text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            )
        await db.execute(text(statement), params)
        if postgres:
            await db.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


async def test_an_intact_record_passes(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    for _ in range(2):
        await record_ladder(engine)

    run = verify_audit(database_url, tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["Checked 2 escalations: no problems."]


async def test_every_kind_of_tampering_is_named(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    intact, edited, reattributed, rehashed, removed = [
        await record_ladder(engine) for _ in range(5)
    ]
    events = {
        escalation: await audit_trail(engine, escalation)
        for escalation in (edited, reattributed, rehashed, removed)
    }
    note = {escalation: trail[1] for escalation, trail in events.items()}

    # One note is softened; another is put in someone else's name.
    await tamper(
        engine,
        "UPDATE audit_event SET details = :details WHERE id = :id",
        details=json.dumps({"text": "Nothing of concern"}),
        id=note[edited].id,
    )
    await tamper(
        engine,
        "UPDATE audit_event SET actor = 'Head of service' WHERE id = :id",
        id=note[reattributed].id,
    )
    # Someone who knows the hash recipe edits the note and re-hashes the row: the next event still
    # points at the old hash.
    forged = note[rehashed]
    forged.details = {"text": "Nothing of concern"}
    await tamper(
        engine,
        "UPDATE audit_event SET details = :details, hash = :hash WHERE id = :id",
        details=json.dumps(forged.details),
        hash=event_hash(forged),
        id=forged.id,
    )
    await tamper(engine, "DELETE FROM audit_event WHERE id = :id", id=note[removed].id)

    run = verify_audit(database_url, tmp_path)

    assert run.returncode == 1, run.stdout + run.stderr
    after_note = {escalation: trail[2] for escalation, trail in events.items()}
    breaks = [
        f"{edited}: event {note[edited].id} ({edited}:2): content changed",
        f"{reattributed}: event {note[reattributed].id} ({reattributed}:2): content changed",
        f"{rehashed}: event {after_note[rehashed].id} ({rehashed}:3): "
        "previous event missing or changed",
        f"{removed}: event {after_note[removed].id} ({removed}:3): "
        "previous event missing or changed",
    ]
    assert run.stdout.splitlines() == [*sorted(breaks), "Checked 5 escalations: 4 problems."]
    assert intact not in run.stdout


async def test_a_deleted_record_and_an_edited_read_model_are_named(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    intact, deleted, softened, reopened = [await record_ladder(engine) for _ in range(4)]
    # The whole escalation row goes: its trail is still there to check.
    await tamper(engine, "DELETE FROM escalation WHERE id = :id", id=deleted)
    # The record is edited but the trail is not.
    await tamper(
        engine, "UPDATE escalation SET outcome = 'Nothing of concern' WHERE id = :id", id=softened
    )
    await tamper(
        engine, "UPDATE escalation SET status = 'open', stage = 1 WHERE id = :id", id=reopened
    )

    run = verify_audit(database_url, tmp_path)

    assert run.returncode == 1, run.stdout + run.stderr
    problems = [
        f"{deleted}: audit trail without its record (the escalation row is gone)",
        f"{softened}: outcome on the record differs from its audit trail",
        f"{reopened}: status on the record differs from its audit trail",
        f"{reopened}: stage on the record differs from its audit trail",
    ]
    assert sorted(run.stdout.splitlines()[:-1]) == sorted(problems)
    assert run.stdout.splitlines()[-1] == "Checked 4 escalations: 4 problems."
    assert intact not in run.stdout and "Nothing of concern" not in run.stdout
