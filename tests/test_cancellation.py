"""Cancelling an escalation's workflow from the Temporal UI or CLI closes it on the record: the
record, the API, lists and search attributes all say `cancelled`. On the dev server, through the
API, on SQLite and PostgreSQL."""

from temporalio.client import WorkflowExecutionStatus

from tests.api_stack import ApiStack
from tests.engine_helpers import audit_trail
from tests.ladders import CHILDRENS_SERVICES, POLICE
from tests.polling import eventually
from workflows.escalation import EscalationWorkflow
from workflows.models import OPERATIONS_ACTOR

RAISE = {
    "receiving_agency": CHILDRENS_SERVICES,
    "child_reference": "NP-CANCEL",
    "summary": "Referral closed as threshold not met.",
}


async def test_a_cancelled_workflow_closes_the_escalation_on_the_record(
    api_stack: ApiStack,
) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    raised = (await api_stack.http.post("/escalations", json=RAISE, headers=practitioner)).json()
    escalation = f"/escalations/{raised['id']}"
    handle = api_stack.temporal.get_workflow_handle_for(EscalationWorkflow.run, raised["id"])

    await handle.cancel()  # what "Request Cancellation" in the UI and `temporal workflow cancel` do

    final = await handle.result()
    assert (final.status, final.closed_by) == ("cancelled", OPERATIONS_ACTOR)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    read = (await api_stack.http.get(escalation, headers=manager)).json()
    assert (read["status"], read["stage_deadline"], read["closed_by"]) == (
        "cancelled",
        None,
        OPERATIONS_ACTOR,
    )
    trail = await audit_trail(api_stack.engine, raised["id"], with_notified=True)
    cancelled = [event for event in trail if event.action == "cancelled"]
    assert [(e.actor, e.stage) for e in cancelled] == [(OPERATIONS_ACTOR, 1)]
    # Both agencies are told (the receipt names the notification's kind).
    await eventually(
        lambda: _notified(api_stack, raised["id"], "cancelled"), "cancellation notified"
    )

    listed = await api_stack.http.get(
        "/escalations", params={"status": "cancelled"}, headers=manager
    )
    assert raised["id"] in {item["id"] for item in listed.json()["items"]}
    query = f"EscalationStatus = 'cancelled' AND WorkflowId = '{handle.id}'"
    found = await eventually(lambda: _listed(api_stack, query), "search attributes say cancelled")
    assert found == [handle.id]
    refused = await api_stack.http.post(
        f"{escalation}/resolve", json={"outcome": "Too late"}, headers=manager
    )
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["detail"]


async def _notified(stack: ApiStack, escalation_id: str, kind: str) -> bool:
    trail = await audit_trail(stack.engine, escalation_id, with_notified=True)
    return any(e.action == "notified" and e.details["kind"] == kind for e in trail)


async def _listed(stack: ApiStack, query: str) -> list[str]:
    return [execution.id async for execution in stack.temporal.list_workflows(query)]
