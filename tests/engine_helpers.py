"""Helpers for the engine tests: an escalation raised on a worker of its own, and what it left.

Each test gets a fresh task queue and its escalations are terminated when it ends, so no timer of
one test fires into another on the shared time-skipping server.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.notifications import Notifier, Outbox
from casework.directory_seed import seed
from core.calendar import LONDON
from core.directory import Directory
from core.settings import Settings
from database.audit_chain import timeline
from database.engine import session_factory
from database.tables import AuditEvent, Delivery, Escalation
from tests.conftest import isolated_settings
from tests.ladders import (
    CHAIR,
    POLICE,
    SCHOOL,
    SCHOOL_CEO,
    SCHOOL_DSL,
    SCHOOL_HEAD,
    SOCIAL_CARE,
    SOCIAL_CARE_DIRECTOR,
    SOCIAL_CARE_MANAGER,
    directory,
)
from worker.main import running_worker
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput, EscalationState
from workflows.policy import BUILT_IN_POLICIES, Nation, Policy

# For tests where only the engine, not the database, is under test.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

RAISING, RECEIVING = SCHOOL, SOCIAL_CARE
RAISER = "Ms Adeyemi (DSL)"
RAISING_PRACTITIONER = SCHOOL_DSL

# Who is told what: a contact for each role at both agencies, the partnership; the police are
# not involved, never told.
DIRECTORY = directory(RAISING, RECEIVING, POLICE)
STAGE_PEOPLE = {
    1: {SCHOOL_HEAD, SOCIAL_CARE_MANAGER},
    2: {SCHOOL_CEO, SOCIAL_CARE_DIRECTOR},
    3: {CHAIR},
}


def london(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def escalation_input(
    policy_name: str = "standard", policy: Policy | None = None, **changes: Any
) -> EscalationInput:
    """An escalation on a built-in ladder, or on `policy` (from a policy file, say)."""
    return EscalationInput(
        escalation_id=f"ESC-{uuid.uuid4().hex[:12].upper()}",
        policy_name=policy_name,
        policy=policy or BUILT_IN_POLICIES[policy_name],
        raising_agency=RAISING,
        receiving_agency=RECEIVING,
        raised_by=RAISER,
        **changes,
    )


async def notifier_for(
    engine: AsyncEngine,
    directory: Directory,
    outbox: Outbox,
    public_url: str,
    nation: Nation = "england",
) -> Notifier:
    """A notifier on a database whose directory `directory` has seeded (as a worker's start)."""
    await seed(session_factory(engine), directory)
    return Notifier(engine, outbox, public_url, nation)


@asynccontextmanager
async def escalation_worker(
    client: Client, engine: AsyncEngine, directory: Directory | None = None, **settings: Any
) -> AsyncIterator[Settings]:
    """A worker built as production builds it, on a task queue of the test's own."""
    config = isolated_settings(task_queue=f"escalations-{uuid.uuid4().hex[:8]}", **settings)
    async with running_worker(client, config, engine, directory or Directory()):
        yield config


@asynccontextmanager
async def raised(
    env: WorkflowEnvironment, config: Settings, input: EscalationInput
) -> AsyncIterator[WorkflowHandle[EscalationWorkflow, EscalationState]]:
    """Raises `input` as the API does; terminates it afterwards if the test left it open."""
    handle = await env.client.start_workflow(
        EscalationWorkflow.run,
        input,
        id=input.escalation_id,
        task_queue=config.task_queue,
        search_attributes=initial_search_attributes(input),
    )
    try:
        yield handle
    finally:
        # Terminating with a task in flight leaves the test server's clock locked for good.
        await settle(env)
        # Not describe(): the test server cannot decode a closed escalation's unset StageDeadline.
        with suppress(RPCError):  # already closed
            await handle.terminate(reason="test finished")


async def advance_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Moves the time-skipping server's clock forward to `moment`, firing the timers on the way."""
    gap = moment - await env.get_current_time()
    assert gap.total_seconds() > 0, f"the test server's clock is already past {moment}"
    await env.sleep(gap)


async def settle(env: WorkflowEnvironment) -> None:
    """Returns once the escalation has done what it was told to do.

    While tasks are in progress the test server's clock runs at real speed; it jumps only when
    the server is idle. So a minute that passes at once means every task has finished.
    """
    await env.sleep(timedelta(minutes=1))


async def closed_state(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, EscalationState]
) -> EscalationState:
    """The closed escalation's final state.

    Waits without the SDK's automatic time skipping: once the workflow has finished, that jumps
    the shared clock to the next timer on the server, ten years on.
    """
    with env.auto_time_skipping_disabled():
        return await handle.result()


async def state_of(handle: WorkflowHandle[Any, Any]) -> EscalationState:
    return await handle.query(EscalationWorkflow.state)


# Not steps: the receipts of notifications, and a stage clock restarted because its record landed
# over a second late, as on a busy machine (workflows/escalation.py): told to no one.
NOT_STEPS = frozenset({"notified", "clock_restarted"})


def steps_of(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of a timeline as the API answers it."""
    return [event for event in timeline if event["action"] not in NOT_STEPS]


async def audit_trail(
    engine: AsyncEngine, escalation_id: str, *, with_notified: bool = False
) -> list[AuditEvent]:
    """The escalation's steps, oldest first; `with_notified`, every event of its chain."""
    async with session_factory(engine)() as db:
        events = await timeline(db, escalation_id)
    return [e for e in events if with_notified or e.action not in NOT_STEPS]


def actions(events: Sequence[AuditEvent]) -> list[tuple[str, int]]:
    return [(e.action, e.stage) for e in events]


async def read_model(engine: AsyncEngine, escalation_id: str) -> Escalation:
    async with session_factory(engine)() as db:
        row = await db.get(Escalation, escalation_id)
    assert row is not None, f"no read-model row for {escalation_id}"
    return row


async def deliveries(engine: AsyncEngine, notification_key: str) -> dict[str, Delivery]:
    """One notification's deliveries by recipient; the key is `<escalation id>:<event seq>`."""
    async with session_factory(engine)() as db:
        rows = await db.exec(
            select(Delivery)
            .where(Delivery.notification_key == notification_key)
            .order_by(col(Delivery.id))
        )
        return {d.recipient: d for d in rows.all()}
