"""Retention and legal holds, through the API on SQLite and PostgreSQL: with
RETENTION_AFTER_CLOSE=PT5S a closed escalation is erased by the eraser's Temporal Schedule (its
case details, notes and outcome unreadable in the database and, through the codec, in Temporal's
history), its figures stay in the report, `verify-audit` passes, and one under a legal hold is
untouched. The case keys live in a database of their own (CASE_KEY_DATABASE_URL)."""

import base64
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from database.engine import session_factory
from database.tables import ActionReceipt, AuditEvent, CaseCorrection, CaseKey, Escalation
from tests.api_stack import ApiStack
from tests.ladders import PARTNERSHIP, POLICE
from tests.polling import eventually
from tests.test_api import RAISE, raise_one
from tests.test_audit_tamper import verify_audit
from worker.eraser import ensure_erase_schedule, schedule_id

RETENTION_AFTER_CLOSE = "PT5S"
CASE_KEYS_APART = True  # CASE_KEY_DATABASE_URL: the keys in a database of their own
NOTE = "Mother told the school about the new partner moving in"
OUTCOME = "Strategy discussion agreed with the school nurse present"
ENCRYPTED = base64.b64encode(b"binary/encrypted").decode()


async def row_of(stack: ApiStack, escalation_id: str) -> Escalation:
    async with session_factory(stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None
        return row


async def stored(stack: ApiStack, escalation_id: str) -> str:
    """Everything the database holds about the escalation, as one text."""
    async with session_factory(stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        events = await db.exec(
            select(AuditEvent).where(col(AuditEvent.escalation_id) == escalation_id)
        )
        corrections = await db.exec(
            select(CaseCorrection).where(col(CaseCorrection.escalation_id) == escalation_id)
        )
        return json.dumps(
            [row.model_dump() if row else None]
            + [event.model_dump() for event in events.all()]
            + [correction.model_dump() for correction in corrections.all()],
            default=str,
            ensure_ascii=False,
        )


async def history_through_codec(stack: ApiStack, escalation_id: str, board: dict[str, str]) -> str:
    """The workflow's history as the Temporal UI shows it through the service's codec."""
    history = await stack.temporal.get_workflow_handle(escalation_id).fetch_history()
    payloads: list[dict[str, Any]] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("metadata", {}).get("encoding") == ENCRYPTED:
                payloads.append(value)
            else:
                for item in value.values():
                    collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(history.to_json_dict())
    assert payloads, "no encrypted payloads in the history"
    answer = await stack.http.post("/codec/decode", json={"payloads": payloads}, headers=board)
    assert answer.status_code == 200, answer.text
    return "\n".join(
        base64.b64decode(p.get("data", "")).decode() for p in answer.json()["payloads"]
    )


async def closed_with_a_note(stack: ApiStack, raiser: dict[str, str], reference: str) -> str:
    escalation_id: str = (await raise_one(stack, raiser, child_reference=reference))["id"]
    for path, body in (
        ("notes", {"text": NOTE}),  # with an Idempotency-Key: its receipt goes at erasure
        ("corrections", {"field": "child_name", "value": "Amelia Sample", "reason": "Misspelt"}),
        ("resolve", {"outcome": OUTCOME, "agreed_actions": ["Meeting by Friday"]}),
    ):
        answer = await stack.http.post(
            f"/escalations/{escalation_id}/{path}",
            json=body,
            headers={**raiser, "Idempotency-Key": f"{reference}-{path}"},
        )
        assert answer.status_code == 200, answer.text
    return escalation_id


async def test_a_closed_escalation_is_erased_and_one_under_a_legal_hold_is_not(
    api_stack: ApiStack, tmp_path: Path
) -> None:
    raiser = await api_stack.key(POLICE, "manager", "DS Patel")
    board = await api_stack.key(PARTNERSHIP, "board", "Independent chair")
    erased = await closed_with_a_note(api_stack, raiser, "NP-7001")
    held = await closed_with_a_note(api_stack, raiser, "NP-7002")

    # Sealed from the start: neither the database nor Temporal's history holds the texts in clear.
    assert NOTE not in await stored(api_stack, erased)
    assert OUTCOME not in await stored(api_stack, erased)
    assert NOTE in await history_through_codec(api_stack, erased, board)

    refused = await api_stack.http.post(f"/escalations/{held}/hold", json={}, headers=board)
    assert refused.status_code == 422 and "reason" in refused.text
    not_board = await api_stack.http.post(
        f"/escalations/{held}/hold", json={"reason": "Care proceedings"}, headers=raiser
    )
    assert not_board.status_code == 403
    for _ in range(2):  # a repeated hold changes nothing
        placed = await api_stack.http.post(
            f"/escalations/{held}/hold", json={"reason": "Care proceedings"}, headers=board
        )
        assert placed.status_code == 200, placed.text
    assert placed.json()["held_at"] is not None
    holds = (await api_stack.http.get("/legal-holds", headers=board)).json()
    assert [(h["id"], h["reason"]) for h in holds] == [(held, "Care proceedings")]
    assert (await api_stack.http.get("/legal-holds", headers=raiser)).status_code == 403

    today = date.today()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    report = (await api_stack.http.get("/reports/escalations", params=period, headers=board)).json()

    # The eraser's schedule, run now rather than at its next minute.
    await ensure_erase_schedule(api_stack.temporal, api_stack.settings)
    schedule = api_stack.temporal.get_schedule_handle(schedule_id(api_stack.settings))
    try:

        async def erased_now() -> bool:
            await schedule.trigger()
            return (await row_of(api_stack, erased)).erased_at is not None

        await eventually(erased_now, "the closed escalation erased", within=90)
    finally:
        await schedule.delete()

    row = await row_of(api_stack, erased)
    assert row.child_reference is None and row.child_name is None and row.summary is None
    assert row.request_hash is None
    async with session_factory(api_stack.engine)() as db:
        assert await db.get(CaseKey, erased) is None
        assert await db.get(CaseKey, held) is not None
        receipts = (await db.exec(select(ActionReceipt.escalation_id))).all()
        assert erased not in receipts and held in receipts
    # ... in the key store, not in the record database.
    async with api_stack.engine.connect() as records:
        assert (await records.execute(text("SELECT count(*) FROM case_key"))).scalar() == 0
    keys_file = make_url(api_stack.settings.case_key_database_url or "").database or ""
    with sqlite3.connect(keys_file) as keys:
        ids = {row[0] for row in keys.execute("SELECT escalation_id FROM case_key")}
    assert held in ids and erased not in ids
    database = await stored(api_stack, erased)
    for written in (NOTE, OUTCOME, RAISE["child_name"], "Amelia Sample", "NP-7001", "Misspelt"):
        assert written not in database
    history = await history_through_codec(api_stack, erased, board)
    assert NOTE not in history and OUTCOME not in history and "[erased]" in history

    answer = (await api_stack.http.get(f"/escalations/{erased}", headers=board)).json()
    assert (answer["id"], answer["status"], answer["stage"]) == (erased, "resolved", 1)
    assert answer["child_reference"] is None and answer["case"] is None
    assert answer["erased_at"] is not None and answer["outcome"] == "[erased]"
    timeline = (await api_stack.http.get(f"/escalations/{erased}/timeline", headers=board)).json()
    assert timeline[-1]["action"] == "erased" and timeline[-1]["actor"] == "retention"
    # The held one is untouched; its figures and the erased one's stay in the report.
    kept = (await api_stack.http.get(f"/escalations/{held}", headers=board)).json()
    assert kept["child_reference"] == "NP-7002" and kept["case"]["child_name"] == "Amelia Sample"
    assert kept["outcome"] == OUTCOME
    assert NOTE in json.dumps(
        (await api_stack.http.get(f"/escalations/{held}/timeline", headers=board)).json()
    )
    assert NOTE in await history_through_codec(api_stack, held, board)
    after = (await api_stack.http.get("/reports/escalations", params=period, headers=board)).json()
    assert {k: v for k, v in after.items() if k != "as_of"} == {
        k: v for k, v in report.items() if k != "as_of"
    }

    settings = api_stack.settings
    run = verify_audit(settings.database_url, tmp_path, settings.case_key_database_url)
    assert run.returncode == 0, run.stdout + run.stderr

    # Released, the hold no longer stops erasure; a second release is refused.
    released = await api_stack.http.post(
        f"/escalations/{held}/hold/release", json={"reason": "Proceedings ended"}, headers=board
    )
    assert released.status_code == 200 and released.json()["held_at"] is None
    again = await api_stack.http.post(
        f"/escalations/{held}/hold/release", json={"reason": "Proceedings ended"}, headers=board
    )
    assert again.status_code == 409
    actions = [
        e["action"]
        for e in (await api_stack.http.get(f"/escalations/{held}/timeline", headers=board)).json()
    ]
    assert actions[-2:] == ["held", "hold released"]
