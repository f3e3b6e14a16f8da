"""The record matches Temporal: escalations closed outside the service, and raises cut off midway.

On the dev server in real time: a workflow terminated from the CLI runs no code, so only the
reconciler can close its record; a raise whose API died before the workflow started leaves a
`pending` row that nobody sees and the reconciler removes.
"""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, ScheduleIntervalSpec
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from database.audit_chain import append_event, chain_breaks
from database.engine import session_factory
from database.tables import PENDING, Escalation, utc_now
from tests.api_stack import ApiStack
from tests.engine_helpers import (
    RAISING,
    RECEIVING,
    audit_trail,
    escalation_input,
    escalation_worker,
    read_model,
)
from tests.ladders import CHILDRENS_SERVICES, POLICE, directory, directory_file
from tests.polling import eventually
from worker.reconciler import Reconciled, Reconciler, ensure_reconcile_schedule, schedule_id
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput, EscalationState


async def start(client: Client, config: Settings, input: EscalationInput) -> None:
    await client.start_workflow(
        EscalationWorkflow.run,
        input,
        id=input.escalation_id,
        task_queue=config.task_queue,
        search_attributes=initial_search_attributes(input),
    )


async def recorded_open(engine: AsyncEngine, escalation_id: str) -> bool:
    async with session_factory(engine)() as db:
        row = await db.get(Escalation, escalation_id)
    return row is not None and row.status == "open"


async def status_of(engine: AsyncEngine, escalation_id: str) -> str | None:
    async with session_factory(engine)() as db:
        row = await db.get(Escalation, escalation_id)
    return None if row is None else row.status


async def test_a_terminated_escalation_is_closed_on_the_record_once(
    dev_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    quick = escalation_input("urgent")
    running = escalation_input("urgent")
    async with escalation_worker(dev_env.client, engine) as config:
        for input in (quick, running):
            await start(dev_env.client, config, input)
            await eventually(partial(recorded_open, engine, input.escalation_id), "raised")
        await dev_env.client.get_workflow_handle(quick.escalation_id).terminate(reason="ops")

        reconciler = Reconciler(dev_env.client, engine)
        assert await reconciler.reconcile() == [
            Reconciled(quick.escalation_id, "TERMINATED", "terminated")
        ]
        assert await reconciler.reconcile() == []  # idempotent

        row = await read_model(engine, quick.escalation_id)
        assert (row.status, row.stage_deadline, row.closed_by) == ("terminated", None, "operations")
        trail = await audit_trail(engine, quick.escalation_id, with_notified=True)
        assert chain_breaks(trail) == []
        closing = [e for e in trail if e.action == "terminated"]
        assert len(closing) == 1
        assert closing[0].actor == "operations"
        assert closing[0].details == {"temporal_status": "TERMINATED"}
        # The escalation still running is left alone.
        assert await status_of(engine, running.escalation_id) == "open"
        await dev_env.client.get_workflow_handle(running.escalation_id).terminate(reason="done")


async def record_without_workflow(engine: AsyncEngine) -> str:
    """An open record with its raise on the trail, whose workflow Temporal never heard of."""
    input = escalation_input("urgent")
    state = EscalationState(
        **input.model_dump(exclude={"start_stage", "continue_as_new_after_events", "carried"}),
        raised=True,
    )
    await append_event(
        session_factory(engine),
        event_key=f"{input.escalation_id}:1",
        escalation_id=input.escalation_id,
        action="raised",
        at=utc_now(),
        actor=input.raised_by,
        stage=1,
        details={"policy": "urgent", "stage": state.stage_name},
        state=state,
    )
    return input.escalation_id


async def pending_raise(engine: AsyncEngine, age: timedelta) -> str:
    """What a raise leaves when its API is killed before the workflow starts."""
    created = utc_now() - age
    row = Escalation(
        id=f"ESC-{uuid.uuid4().hex[:8].upper()}",
        policy="standard",
        raising_agency=RAISING,
        receiving_agency=RECEIVING,
        raised_by="Ms Adeyemi (DSL)",
        created_at=created,
        updated_at=created,
        status=PENDING,
        child_reference="NP-1",
        summary="Cut off mid-raise.",
    )
    async with session_factory(engine)() as db:
        db.add(row)
        await db.commit()
    return row.id


def run_cli(settings: dict[str, object], cwd: Path) -> subprocess.CompletedProcess[str]:
    mine = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in mine}
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "worker", "reconcile"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_missing_workflows_and_abandoned_raises_on_demand(
    dev_env: WorkflowEnvironment,
    engine: AsyncEngine,
    database_url: str,
    payload_key_file: Path,
    tmp_path: Path,
) -> None:
    missing = await record_without_workflow(engine)
    abandoned = await pending_raise(engine, age=timedelta(hours=1))
    in_progress = await pending_raise(engine, age=timedelta(seconds=5))
    settings = {
        "temporal_address": dev_env.client.service_client.config.target_host,
        "database_url": database_url,
        "directory_file": directory_file(
            tmp_path / "directory.toml", directory(RAISING, RECEIVING, people=False)
        ),
        "payload_key_file": payload_key_file,
    }

    first = run_cli(settings, tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"{missing}: terminated (Temporal: NOT_FOUND)" in first.stdout
    assert f"{abandoned}: removed (Temporal: NOT_FOUND)" in first.stdout
    assert "Reconciled 2 records." in first.stdout
    assert in_progress not in first.stdout
    second = run_cli(settings, tmp_path)
    assert second.returncode == 0 and "Reconciled 0 records." in second.stdout

    assert await status_of(engine, missing) == "terminated"
    assert await status_of(engine, abandoned) is None
    assert await status_of(engine, in_progress) == PENDING
    trail = await audit_trail(engine, missing)
    assert [(e.action, e.actor) for e in trail] == [
        ("raised", "Ms Adeyemi (DSL)"),
        ("terminated", "operations"),
    ]
    assert trail[-1].details == {"temporal_status": "NOT_FOUND"} and chain_breaks(trail) == []


async def test_a_write_still_in_flight_never_reopens_a_terminated_record(
    dev_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    """An audit activity that was running when its workflow was terminated may still land."""
    escalation_id = await record_without_workflow(engine)
    assert [r.outcome for r in await Reconciler(dev_env.client, engine).reconcile()] == [
        "terminated"
    ]
    late = (await audit_trail(engine, escalation_id))[0]
    facts = escalation_input("urgent").model_dump(
        exclude={"start_stage", "continue_as_new_after_events", "carried"}
    )
    state = EscalationState(**facts | {"escalation_id": escalation_id, "raised": True})
    await append_event(
        session_factory(engine),
        event_key=f"{escalation_id}:2",
        escalation_id=escalation_id,
        action="note",
        at=utc_now(),
        actor=late.actor,
        stage=1,
        details={"text": "written late"},
        state=state,
    )
    assert await status_of(engine, escalation_id) == "terminated"


async def test_the_worker_keeps_a_schedule_that_reconciles(
    dev_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    input = escalation_input("urgent")
    async with escalation_worker(dev_env.client, engine) as config:
        schedule = dev_env.client.get_schedule_handle(schedule_id(config))
        try:
            await ensure_reconcile_schedule(dev_env.client, config)
            # A second start with another interval updates the one schedule.
            await ensure_reconcile_schedule(
                dev_env.client, config.model_copy(update={"reconcile_every_minutes": 7})
            )
            described = await schedule.describe()
            assert described.schedule.spec.intervals == [
                ScheduleIntervalSpec(every=timedelta(minutes=7))
            ]

            await start(dev_env.client, config, input)
            await eventually(partial(recorded_open, engine, input.escalation_id), "raised")
            await dev_env.client.get_workflow_handle(input.escalation_id).terminate(reason="ops")
            await schedule.trigger()

            async def closed() -> bool:
                return await status_of(engine, input.escalation_id) == "terminated"

            await eventually(closed, "closed by the scheduled reconcile")
        finally:
            await schedule.delete()


async def test_in_a_namespace_without_escalations_nothing_is_closed_for_missing(
    dev_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    """A worker given the wrong TEMPORAL_NAMESPACE must not close every open record."""
    namespace = f"empty-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace,
            workflow_execution_retention_period=Duration(seconds=86400),
        )
    )
    elsewhere = await Client.connect(
        dev_env.client.service_client.config.target_host, namespace=namespace
    )
    escalation_id = await record_without_workflow(engine)

    async def reconciled() -> tuple[list[Reconciled]] | None:
        try:
            return (await Reconciler(elsewhere, engine).reconcile(),)
        except RPCError:  # the new namespace is not served yet
            return None

    assert await eventually(reconciled, "the new namespace answers") == ([],)
    assert await status_of(engine, escalation_id) == "open"


async def test_the_api_shows_a_terminated_escalation_closed(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    raised = await api_stack.http.post(
        "/escalations",
        json={
            "receiving_agency": CHILDRENS_SERVICES,
            "child_reference": "NP-7",
            "summary": "Referral closed as threshold not met.",
        },
        headers=practitioner,
    )
    assert raised.status_code == 201, raised.text
    escalation = f"/escalations/{raised.json()['id']}"
    await api_stack.temporal.get_workflow_handle(raised.json()["id"]).terminate(reason="ops")
    await Reconciler(api_stack.temporal, api_stack.engine).reconcile()

    read = (await api_stack.http.get(escalation, headers=manager)).json()
    assert (read["status"], read["stage_deadline"]) == ("terminated", None)
    listed = await api_stack.http.get("/escalations?status=terminated", headers=practitioner)
    assert [e["id"] for e in listed.json()["items"]] == [raised.json()["id"]]
    refused = await api_stack.http.post(
        f"{escalation}/escalate", json={"reason": "no reply"}, headers=manager
    )
    assert refused.status_code == 409
    timeline = (await api_stack.http.get(f"{escalation}/timeline", headers=manager)).json()
    assert [e["action"] for e in timeline].count("terminated") == 1
