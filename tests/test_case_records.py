"""Records a DPIA can sign off, through the API: the case details sealed in the audit chain
(`verify-audit` names an edited detail), corrections, and who viewed a record; SQLite and
PostgreSQL."""

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from casework.reading import readable_corrections, readable_timeline
from core.calendar import LONDON
from core.export_signing import signing_key
from database.audit_export import export_problems
from database.engine import session_factory
from database.tables import AccessEvent, AuditEvent, Escalation
from tests.api_stack import ApiStack
from tests.ladders import CHILDRENS_SERVICES, PARTNERSHIP, POLICE
from tests.test_api import RAISE, raise_one
from tests.test_audit_tamper import verify_audit


async def trail(stack: ApiStack, escalation_id: str) -> list[AuditEvent]:
    async with session_factory(stack.engine)() as db:
        rows = await db.exec(
            select(AuditEvent)
            .where(AuditEvent.escalation_id == escalation_id)
            .order_by(col(AuditEvent.id))
        )
        return list(rows.all())


async def edit_row(stack: ApiStack, escalation_id: str, **values: Any) -> None:
    """Changes the record behind the service's back, as whoever holds the database could."""
    async with session_factory(stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        db.add(row)
        await db.commit()


async def test_an_edited_case_detail_is_named_and_a_correction_is_not(
    api_stack: ApiStack, tmp_path: Path
) -> None:
    raiser = await api_stack.key(POLICE, "manager", "DS Patel")
    edited = (await raise_one(api_stack, raiser, child_reference="NP-5501"))["id"]
    corrected = (await raise_one(api_stack, raiser, child_reference="NP-5502"))["id"]
    raised = (await trail(api_stack, edited))[0]
    assert raised.action == "raised" and set(raised.details["sealed"]) >= {"child_name", "summary"}
    assert RAISE["child_name"] not in str(raised.details)  # keyed hashes only

    await edit_row(api_stack, edited, child_name="Someone Else", summary="Nothing of concern")
    answer = await api_stack.http.post(
        f"/escalations/{corrected}/corrections",
        json={"field": "child_name", "value": "Amelia Sample", "reason": "Misspelt at raise"},
        headers=raiser,
    )
    assert answer.status_code == 200, answer.text

    run = verify_audit(api_stack.settings.database_url, tmp_path)

    assert run.returncode == 1, run.stdout + run.stderr
    mine = [line for line in run.stdout.splitlines() if line.startswith((edited, corrected))]
    assert mine == [
        f"{edited}: child_name on the record differs from its sealed case details",
        f"{edited}: summary on the record differs from its sealed case details",
    ]
    assert "Someone Else" not in run.stdout and "Nothing of concern" not in run.stdout
    await edit_row(api_stack, edited, child_name=RAISE["child_name"], summary=RAISE["summary"])


async def test_a_correction_shows_its_value_and_keeps_the_original(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "manager", "DS Patel")
    practitioner = await api_stack.key(POLICE, "practitioner", "PC Reyes")
    receiver = await api_stack.key(CHILDRENS_SERVICES, "manager", "Team manager Jones")
    board = await api_stack.key(PARTNERSHIP, "board", "Independent chair")
    escalation_id = (await raise_one(api_stack, practitioner, child_reference="NP-5503"))["id"]
    url = f"/escalations/{escalation_id}/corrections"
    fix = {"field": "child_date_of_birth", "value": "2015-04-20", "reason": "Wrong record used"}

    for refused_key in (practitioner, receiver):
        refused = await api_stack.http.post(url, json=fix, headers=refused_key)
        assert refused.status_code == 403, refused.text
    for bad, field in (
        ({**fix, "field": "stage"}, "field"),
        ({**fix, "value": "2099-01-01"}, "value"),
        ({**fix, "field": "summary", "value": None}, "value"),
        ({**fix, "reason": ""}, "reason"),
    ):
        problem = await api_stack.http.post(url, json=bad, headers=raiser)
        assert problem.status_code == 422, problem.text
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert [error["field"] for error in problem.json()["errors"]] == [field]

    for _ in range(2):  # the same correction again changes nothing
        answer = await api_stack.http.post(url, json=fix, headers=raiser)
        assert answer.status_code == 200, answer.text
        assert answer.json()["case"]["child_date_of_birth"] == "2015-04-20"
    by_board = await api_stack.http.post(
        url,
        json={"field": "child_reference", "value": "NP-5504", "reason": "Merged records"},
        headers=board,
    )
    assert by_board.json()["child_reference"] == "NP-5504"

    read = (await api_stack.http.get(f"/escalations/{escalation_id}", headers=receiver)).json()
    assert read["case"]["child_date_of_birth"] == "2015-04-20"
    stored = [
        event for event in await trail(api_stack, escalation_id) if event.action == "corrected"
    ]
    assert "NP-5504" not in str([event.details for event in stored])  # sealed with its own key
    async with session_factory(api_stack.engine)() as db:
        events = await readable_timeline(db, escalation_id)
        kept = await readable_corrections(db, escalation_id)
    corrections = [event for event in events if event.action == "corrected"]
    assert [(e.details["field"], e.details["value"], e.actor) for e in corrections] == [
        ("child_date_of_birth", "2015-04-20", f"DS Patel ({POLICE})"),
        ("child_reference", "NP-5504", f"Independent chair ({PARTNERSHIP})"),
    ]
    assert [(c.field, c.previous_value) for c in kept] == [
        ("child_date_of_birth", RAISE["child_date_of_birth"]),
        ("child_reference", "NP-5503"),
    ]


async def test_every_api_read_of_the_record_is_recorded(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner", "PC Reyes")
    reader = await api_stack.key(CHILDRENS_SERVICES, "manager", "Team manager Jones")
    escalation_id = (await raise_one(api_stack, raiser, child_reference="NP-5505"))["id"]

    for path in ("", "", "/timeline"):
        read = await api_stack.http.get(f"/escalations/{escalation_id}{path}", headers=reader)
        assert read.status_code == 200

    async with session_factory(api_stack.engine)() as db:
        found = (
            await db.exec(select(AccessEvent).where(AccessEvent.escalation_id == escalation_id))
        ).all()
    assert [(a.actor, a.purpose) for a in found] == [
        (f"Team manager Jones ({CHILDRENS_SERVICES})", "api")
    ] * 3


async def test_subject_access_finds_exactly_the_childs_escalations(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "manager", "DS Patel")
    board = await api_stack.key(PARTNERSHIP, "board", "Partnership business unit")
    reference, name = f"SAR-{uuid.uuid4().hex[:8]}", f"Child {uuid.uuid4().hex[:6]}"
    about = [
        (await raise_one(api_stack, raiser, child_reference=reference, child_name=name))["id"]
        for _ in range(2)
    ]
    other = (await raise_one(api_stack, raiser, child_reference=f"{reference}-9"))["id"]
    # A record whose reference was corrected since is still found under the old one.
    moved = (await raise_one(api_stack, raiser, child_reference=reference))["id"]
    fix = {"field": "child_reference", "value": f"{reference}-NEW", "reason": "Merged records"}
    corrected = await api_stack.http.post(
        f"/escalations/{moved}/corrections", json=fix, headers=raiser
    )
    assert corrected.status_code == 200, corrected.text

    # Found as the search finds it (core/text.reference_key): case and spacing aside.
    asked_as = f" {reference[:4].lower()} {reference[4:]} "
    answer = await api_stack.http.get(
        "/subject-access", params={"child_reference": asked_as}, headers=board
    )

    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert [item["id"] for item in bundle["escalations"]] == [*about, moved]
    assert other not in answer.text
    first = bundle["escalations"][0]
    assert first["case"]["child_reference"] == reference and first["timeline"][0]["action"] == (
        "raised"
    )
    assert "sealed" not in answer.text  # the keyed seals are the chain's, not the child's
    assert bundle["escalations"][2]["corrections"][0]["previous_value"] == reference
    by_name = await api_stack.http.get(
        "/subject-access",
        params={"child_name": name.upper(), "child_date_of_birth": RAISE["child_date_of_birth"]},
        headers=board,
    )
    assert [item["id"] for item in by_name.json()["escalations"]] == about

    refused = await api_stack.http.get(
        "/subject-access", params={"child_reference": reference}, headers=raiser
    )
    assert refused.status_code == 403
    nothing = await api_stack.http.get(
        "/subject-access", params={"child_name": name}, headers=board
    )
    assert nothing.status_code == 422
    assert [error["field"] for error in nothing.json()["errors"]] == ["child_date_of_birth"]
    async with session_factory(api_stack.engine)() as db:
        found = (
            await db.exec(select(AccessEvent).where(col(AccessEvent.escalation_id).in_(about)))
        ).all()
    assert sorted(a.purpose for a in found) == ["subject access"] * 4


async def test_the_partnership_exports_the_audit_trail_signed(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "manager", "DS Patel")
    board = await api_stack.key(PARTNERSHIP, "board", "Partnership business unit")
    escalation_id = (await raise_one(api_stack, raiser))["id"]
    today = datetime.now(LONDON).date().isoformat()
    period = {"from": today, "to": today}

    refused = await api_stack.http.get("/audit-export", params=period, headers=raiser)
    answer = await api_stack.http.get("/audit-export", params=period, headers=board)

    assert refused.status_code == 403
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["content-disposition"]
    document = answer.json()
    assert document["chains"][escalation_id][0]["action"] == "raised"
    public_key = signing_key(api_stack.settings.export_signing_key_file).public_key()
    assert export_problems(document, public_key) == []


async def test_postgres_keeps_corrections_and_access_events_append_only(
    api_stack: ApiStack,
) -> None:
    if api_stack.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite relies on the application")
    for statement in (
        "UPDATE access_event SET actor = 'someone else'",
        "DELETE FROM case_correction",
        "TRUNCATE access_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with api_stack.engine.begin() as db:
                await db.execute(text(statement))
