"""The policy's own steps through the API over real HTTP: acknowledge, extend and dispute, on
SQLite and on PostgreSQL, with a real worker and the Temporal dev server."""

from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus

from tests.api_stack import ApiStack
from tests.engine_helpers import steps_of
from tests.ladders import CHILDRENS_SERVICES, PARTNERSHIP, POLICE
from tests.polling import eventually
from tests.test_api import raise_one
from workflows.search_attributes import DISPUTE_UNTIL


async def timeline_actions(stack: ApiStack, escalation: str, headers: dict[str, str]) -> list[str]:
    events = (await stack.http.get(f"{escalation}/timeline", headers=headers)).json()
    return [event["action"] for event in steps_of(events)]


async def workflow_status(stack: ApiStack, escalation_id: str) -> WorkflowExecutionStatus | None:
    return (await stack.temporal.get_workflow_handle(escalation_id).describe()).status


async def completes(stack: ApiStack, escalation_id: str) -> bool:
    """Whether the escalation's workflow completes (waits for it)."""

    async def completed() -> bool:
        return await workflow_status(stack, escalation_id) == WorkflowExecutionStatus.COMPLETED

    return await eventually(completed, f"{escalation_id} completed")


async def test_acknowledge_once_a_stage_by_the_receiving_agency(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    raising_manager = await api_stack.key(POLICE, "manager")
    receiving_manager = await api_stack.key(CHILDRENS_SERVICES, "manager", "Team manager Jones")
    raised = await raise_one(api_stack, raiser, policy="steps")
    assert raised["acknowledged_at"] is None
    escalation = f"/escalations/{raised['id']}"

    refused = await api_stack.http.post(
        f"{escalation}/acknowledge", json={}, headers=raising_manager
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"

    acknowledged = await api_stack.http.post(
        f"{escalation}/acknowledge", json={}, headers=receiving_manager
    )
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["acknowledged_by"] == "Team manager Jones (Northshire Children's Services)"
    assert body["acknowledged_at"] is not None and body["status"] == "open"
    # Within the stage's hour, never overdue.
    assert datetime.fromisoformat(body["acknowledge_by"]) - datetime.fromisoformat(
        body["created_at"]
    ) < timedelta(hours=1, minutes=1)

    again = await api_stack.http.post(
        f"{escalation}/acknowledge", json={}, headers=receiving_manager
    )
    assert again.status_code == 409, again.text
    surprise = await api_stack.http.post(
        f"{escalation}/acknowledge", json={"surprise": 1}, headers=receiving_manager
    )
    assert surprise.status_code == 422
    assert await timeline_actions(api_stack, escalation, raiser) == ["raised", "acknowledged"]


async def test_extend_once_a_stage_within_the_longest_extension(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    raising_manager = await api_stack.key(POLICE, "manager")
    receiving_practitioner = await api_stack.key(CHILDRENS_SERVICES, "practitioner")
    raised = await raise_one(api_stack, raiser)
    escalation = f"/escalations/{raised['id']}"

    async def extend(body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await api_stack.http.post(f"{escalation}/extend", json=body, headers=headers)

    bad: list[tuple[dict[str, Any], str]] = [
        ({"reason": "Later"}, "duration"),
        ({"reason": "Later", "working_days": 1, "duration": "PT4H"}, "duration"),
        ({"reason": "Later", "working_days": 0}, "working_days"),
        ({"reason": "Later", "duration": "P400D"}, "duration"),
        ({"working_days": 1}, "reason"),
    ]
    for body, field in bad:
        response = await extend(body, raising_manager)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
    # Longer than the stage's own limit (5 working days).
    too_long = await extend({"reason": "Later", "working_days": 6}, raising_manager)
    assert too_long.status_code == 422, too_long.text
    assert "at most 5 working days" in too_long.json()["detail"]
    below = await extend({"reason": "Later", "working_days": 1}, receiving_practitioner)
    assert below.status_code == 403

    extended = await extend(
        {"reason": "Strategy meeting Monday", "working_days": 2}, raising_manager
    )
    assert extended.status_code == 200, extended.text
    body = extended.json()
    assert body["extensions_used"] == 1 and body["stage"] == 1
    assert body["stage_deadline"] > raised["stage_deadline"]

    second = await extend({"reason": "And again", "duration": "PT4H"}, raising_manager)
    assert second.status_code == 409, second.text
    read = (await api_stack.http.get(escalation, headers=raiser)).json()
    assert read["stage_deadline"] == body["stage_deadline"]

    events = (await api_stack.http.get(f"{escalation}/timeline", headers=raiser)).json()
    [event] = [e for e in events if e["action"] == "extended"]
    assert event["details"]["reason"] == "Strategy meeting Monday"
    assert datetime.fromisoformat(event["details"]["from_deadline"]) == datetime.fromisoformat(
        raised["stage_deadline"]
    )
    assert datetime.fromisoformat(event["details"]["to_deadline"]) == datetime.fromisoformat(
        body["stage_deadline"]
    )


async def test_the_raiser_disputes_an_outcome_and_it_reopens_a_stage_up(
    api_stack: ApiStack,
) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    receiving_manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    board = await api_stack.key(PARTNERSHIP, "board")
    raised = await raise_one(api_stack, raiser)
    escalation = f"/escalations/{raised['id']}"

    resolved = await api_stack.http.post(
        f"{escalation}/resolve", json={"outcome": "Early help offered"}, headers=receiving_manager
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "resolved" and body["dispute_until"] is not None
    described = await api_stack.temporal.get_workflow_handle(raised["id"]).describe()
    assert described.typed_search_attributes.get(DISPUTE_UNTIL) == datetime.fromisoformat(
        body["dispute_until"]
    )
    assert described.status == WorkflowExecutionStatus.RUNNING

    by_receiver = await api_stack.http.post(
        f"{escalation}/dispute", json={"reason": "x"}, headers=receiving_manager
    )
    assert by_receiver.status_code == 403
    note = await api_stack.http.post(f"{escalation}/notes", json={"text": "x"}, headers=raiser)
    assert note.status_code == 409

    disputed = await api_stack.http.post(
        f"{escalation}/dispute", json={"reason": "No assessment offered"}, headers=raiser
    )
    assert disputed.status_code == 200, disputed.text
    body = disputed.json()
    assert (body["status"], body["stage"], body["dispute_until"], body["outcome"]) == (
        "open",
        2,
        None,
        None,
    )
    assert body["stage_deadline"] is not None

    # The partnership's resolution is final at once.
    final = await api_stack.http.post(
        f"{escalation}/resolve", json={"outcome": "Assessment agreed"}, headers=board
    )
    assert final.status_code == 200, final.text
    assert final.json()["dispute_until"] is None
    assert await completes(api_stack, raised["id"])
    late = await api_stack.http.post(f"{escalation}/dispute", json={"reason": "x"}, headers=raiser)
    assert late.status_code == 409
    assert await timeline_actions(api_stack, escalation, raiser) == [
        "raised",
        "resolved",
        "disputed",
        "escalated",
        "resolved",
    ]


async def test_after_the_dispute_window_the_outcome_is_final(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    receiving_manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    raised = await raise_one(api_stack, raiser, policy="steps")  # a window of 3 seconds
    escalation = f"/escalations/{raised['id']}"

    resolved = await api_stack.http.post(
        f"{escalation}/resolve", json={"outcome": "Agreed"}, headers=receiving_manager
    )
    assert resolved.status_code == 200 and resolved.json()["dispute_until"] is not None
    assert await completes(api_stack, raised["id"])

    read = (await api_stack.http.get(escalation, headers=raiser)).json()
    assert (read["status"], read["dispute_until"], read["outcome"]) == ("resolved", None, "Agreed")
    late = await api_stack.http.post(f"{escalation}/dispute", json={"reason": "x"}, headers=raiser)
    assert late.status_code == 409
    assert (await timeline_actions(api_stack, escalation, raiser))[-2:] == [
        "resolved",
        "outcome final",
    ]
