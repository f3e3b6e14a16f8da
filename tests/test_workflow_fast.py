"""The ladder's logic in seconds: the workflow on the time-skipping server, no database.

As in the Temporal samples, a Worker on a fresh task queue runs the real workflow with stand-in
activities registered under the real names; the stand-ins keep what they were given.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.settings import Settings
from tests import ladders
from tests.conftest import isolated_settings
from tests.engine_helpers import (
    RAISER,
    RAISING,
    RECEIVING,
    advance_to,
    closed_state,
    escalation_input,
    raised,
    settle,
    state_of,
)
from tests.ladders import HOUR, SECOND
from tests.polling import eventually
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import (
    NOTIFY,
    RECORD_EVENT,
    STAGE_CLOCK,
    TIME_LIMIT_PASSED,
    ActionRequest,
    AuditEventInput,
    EscalationState,
    EventWritten,
    NotificationInput,
    NotificationResult,
    StageClock,
    StageClockInput,
)
from workflows.rules import (
    AT_TOP_STAGE,
    INVALID_ACTION,
    NOT_PERMITTED,
)

# Elapsed-time stages, so the stand-in clock needs no calendar.
LADDER = ladders.ladder(
    "Three stages in hours",
    *(4 * HOUR, 8 * HOUR, 24 * HOUR),
    steps={1: {"reminder_before": HOUR}},
    overdue_reminder_every=12 * HOUR,
)

Handle = WorkflowHandle[EscalationWorkflow, EscalationState]


@dataclass
class StandIns:
    """The three activities, under their real names; each keeps what it was given."""

    recorded: list[AuditEventInput] = field(default_factory=list)
    notified: list[NotificationInput] = field(default_factory=list)

    @activity.defn(name=STAGE_CLOCK)
    async def stage_clock(self, request: StageClockInput) -> StageClock:
        assert request.time_limit.duration is not None, "the stand-in clock counts hours only"
        deadline = request.start + request.time_limit.duration
        lead = request.reminder_lead
        return StageClock(
            deadline=deadline,
            reminder_at=deadline - lead.duration if lead and lead.duration else None,
            deadline_text=f"{deadline:%a %d %b %H:%M}",
        )

    @activity.defn(name=RECORD_EVENT)
    async def record_event(self, event: AuditEventInput) -> EventWritten:
        self.recorded.append(event)
        return EventWritten(written_at=event.at)  # at once

    @activity.defn(name=NOTIFY)
    async def notify(self, request: NotificationInput) -> NotificationResult:
        self.notified.append(request)
        return NotificationResult(logged=1)

    def steps(self) -> list[tuple[str, int, str]]:
        """(action, stage, actor) for each audit event, oldest first."""
        return [(e.action, e.state.stage, e.actor) for e in self.recorded]

    def told(self) -> list[tuple[str, int]]:
        """In the order of the events told of: notifications run side by side, so they may
        finish in any order."""
        return [(n.kind, n.stage) for n in self.in_event_order()]

    def in_event_order(self) -> list[NotificationInput]:
        return sorted(self.notified, key=lambda n: int(n.notification_key.rsplit(":", 1)[1]))


@dataclass
class Ladder:
    env: WorkflowEnvironment
    config: Settings
    activities: StandIns


@pytest.fixture
async def ladder(time_env: WorkflowEnvironment) -> AsyncIterator[Ladder]:
    """A worker of the test's own: the real workflow, the stand-in activities."""
    stand_ins = StandIns()
    config = isolated_settings(task_queue=f"fast-{uuid.uuid4().hex[:8]}")
    async with Worker(
        time_env.client,
        task_queue=config.task_queue,
        workflows=[EscalationWorkflow],
        activities=[stand_ins.stage_clock, stand_ins.record_event, stand_ins.notify],
    ):
        yield Ladder(time_env, config, stand_ins)


def request(action: str, agency: str, role: str, **fields: Any) -> ActionRequest:
    return ActionRequest.model_validate(
        {"action": action, "by": f"A {role}", "agency": agency, "role": role, **fields}
    )


async def act(handle: Handle, action: ActionRequest) -> EscalationState:
    """The API's update; answers with the state once the action is on the record."""
    state: EscalationState = await handle.execute_update("act", action, result_type=EscalationState)
    return state


async def refused(handle: Handle, action: ActionRequest) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await act(handle, action)
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause


async def test_time_limits_climb_the_ladder_then_mark_it_overdue(ladder: Ladder) -> None:
    env, stand_ins = ladder.env, ladder.activities
    async with raised(env, ladder.config, escalation_input(policy=LADDER)) as handle:
        await settle(env)
        state = await state_of(handle)
        start = state.stage_started_at
        assert start is not None
        assert (state.stage, state.stage_deadline) == (1, start + 4 * HOUR)
        assert state.reminder_at == start + 3 * HOUR
        assert stand_ins.steps() == [("raised", 1, RAISER)]

        await advance_to(env, start + 3 * HOUR + timedelta(minutes=1))
        assert (await state_of(handle)).reminder_sent
        await advance_to(env, start + 4 * HOUR + timedelta(minutes=1))
        state = await state_of(handle)
        # Stage 2's clock starts at stage 1's limit, not whenever the timer was handled.
        assert (state.stage, state.stage_started_at) == (2, start + 4 * HOUR)
        assert state.stage_deadline == start + 12 * HOUR

        await advance_to(env, start + 12 * HOUR + timedelta(minutes=1))
        assert (await state_of(handle)).stage == 3
        await advance_to(env, start + 36 * HOUR + timedelta(minutes=1))
        state = await state_of(handle)
        assert (state.status, state.stage, state.overdue) == ("open", 3, True)
        assert state.next_overdue_reminder_at == start + 48 * HOUR
        await advance_to(env, start + 48 * HOUR + timedelta(minutes=1))

        assert stand_ins.steps() == [
            ("raised", 1, RAISER),
            ("reminder", 1, "system"),
            ("escalated", 2, "system"),
            ("escalated", 3, "system"),
            ("overdue", 3, "system"),
            ("reminder", 3, "system"),
        ]
        escalations = [e for e in stand_ins.recorded if e.action == "escalated"]
        assert [e.details for e in escalations] == [
            {"reason": TIME_LIMIT_PASSED, "from_stage": 1, "to_stage": 2},
            {"reason": TIME_LIMIT_PASSED, "from_stage": 2, "to_stage": 3},
        ]
        assert stand_ins.recorded[-1].details == {"overdue": True}
        assert stand_ins.told() == [
            ("raised", 1),
            ("reminder", 1),
            ("escalated", 2),
            ("escalated", 3),
            ("overdue", 3),
            ("reminder", 3),
        ]
        # The partnership's business unit hears from the top stage, not before.
        assert [n.tell_partnership for n in stand_ins.in_event_order()] == [False] * 3 + [True] * 3
        # Each audit write has its own key, so a retried write is never doubled.
        keys = [e.event_key for e in stand_ins.recorded]
        assert keys == [f"{handle.id}:{seq}" for seq in range(1, 7)]

        # Overdue at the top: only the partnership decides.
        done = await act(
            handle,
            request("resolved", "Northshire Partnership", "board", outcome="Assessment agreed"),
        )
        assert (done.status, done.stage, done.outcome) == ("resolved", 3, "Assessment agreed")
        final = await closed_state(env, handle)
        assert (final.status, final.closed_by) == ("resolved", "A board")


async def test_a_manager_resolves_by_signal_and_the_raiser_is_told(ladder: Ladder) -> None:
    env, stand_ins = ladder.env, ladder.activities
    async with raised(env, ladder.config, escalation_input(policy=LADDER)) as handle:
        # Plain JSON, as the Temporal UI and CLI send it.
        await handle.signal(
            "resolved",
            {"by": "Team manager", "outcome": "Strategy meeting", "agreed_actions": ["Visit"]},
        )
        final = await closed_state(env, handle)

    assert (final.status, final.stage, final.closed_by) == ("resolved", 1, "Team manager")
    assert (final.outcome, final.agreed_actions) == ("Strategy meeting", ["Visit"])
    assert stand_ins.steps() == [("raised", 1, RAISER), ("resolved", 1, "Team manager")]
    assert stand_ins.recorded[-1].details == {
        "outcome": "Strategy meeting",
        "agreed_actions": ["Visit"],
    }
    assert stand_ins.told() == [("raised", 1), ("resolved", 1)]
    # The raiser hears the written outcome, and only that; a closed escalation has no deadline.
    raised_notice, closing = stand_ins.in_event_order()
    assert closing.tell_raiser and not raised_notice.tell_raiser
    assert closing.stage_deadline is None and raised_notice.stage_deadline is not None


async def test_escalating_by_hand_starts_the_next_clock_now(ladder: Ladder) -> None:
    env, stand_ins = ladder.env, ladder.activities
    async with raised(env, ladder.config, escalation_input(policy=LADDER)) as handle:
        await settle(env)
        before = await env.get_current_time()
        state = await act(
            handle, request("escalate", RECEIVING, "manager", reason="No strategy discussion")
        )

        assert (state.status, state.stage, state.stage_role) == ("open", 2, "executive")
        assert state.stage_started_at is not None and state.stage_started_at >= before
        assert state.stage_deadline == state.stage_started_at + 8 * HOUR
        assert stand_ins.steps() == [("raised", 1, RAISER), ("escalated", 2, "A manager")]
        assert stand_ins.recorded[-1].details == {
            "reason": "No strategy discussion",
            "from_stage": 1,
            "to_stage": 2,
        }
        await settle(env)  # notifications go out in the background
        assert stand_ins.told() == [("raised", 1), ("escalated", 2)]


async def test_the_raising_agency_withdraws(ladder: Ladder) -> None:
    env, stand_ins = ladder.env, ladder.activities
    async with raised(env, ladder.config, escalation_input(policy=LADDER)) as handle:
        state = await act(
            handle, request("withdraw", RAISING, "practitioner", reason="New information")
        )
        final = await closed_state(env, handle)

    assert (state.status, final.status, final.closing_reason) == (
        "withdrawn",
        "withdrawn",
        "New information",
    )
    assert stand_ins.steps() == [("raised", 1, RAISER), ("withdrawn", 1, "A practitioner")]
    assert stand_ins.told() == [("raised", 1), ("withdrawn", 1)]


async def test_refusals_change_nothing_and_say_why(ladder: Ladder) -> None:
    env, stand_ins = ladder.env, ladder.activities
    async with raised(env, ladder.config, escalation_input(policy=LADDER, start_stage=3)) as top:
        await settle(env)
        before = await state_of(top)

        not_permitted = await refused(top, request("resolved", RAISING, "executive", outcome="x"))
        assert (not_permitted.type, not_permitted.message) == (
            NOT_PERMITTED,
            "Only the partnership may resolve at stage 3 (Partnership); "
            f"you are an executive of {RAISING}.",
        )
        outsider = await refused(top, request("note", "Northshire Police", "manager", text="Hi"))
        assert outsider.type == NOT_PERMITTED
        assert outsider.message.startswith(f"Only {RAISING} or {RECEIVING}, or the partnership,")
        at_top = await refused(top, request("escalate", "Partnership", "board", reason="Up"))
        assert at_top.type == AT_TOP_STAGE
        no_outcome = await refused(top, request("resolved", "Partnership", "board", outcome=" "))
        assert no_outcome.type == INVALID_ACTION

        assert await state_of(top) == before
        assert stand_ins.steps() == [("raised", 3, RAISER)]


async def test_a_reminder_whose_limit_passed_while_no_worker_ran_is_not_sent(
    dev_env: WorkflowEnvironment,
) -> None:
    """The worker away across both the reminder and the time limit (on the dev server, in real
    seconds: the time-skipping server holds its clock while a task waits for a worker). Back, it
    moves the escalation up and sends no "time limit approaching" reminder."""
    seconds = ladders.ladder(
        "A stage of seconds", 4 * SECOND, HOUR, steps={1: {"reminder_before": 2 * SECOND}}
    )
    stand_ins = StandIns()
    config = isolated_settings(task_queue=f"fast-{uuid.uuid4().hex[:8]}")

    def worker() -> Worker:
        return Worker(
            dev_env.client,
            task_queue=config.task_queue,
            workflows=[EscalationWorkflow],
            activities=[stand_ins.stage_clock, stand_ins.record_event, stand_ins.notify],
        )

    escalation = escalation_input(policy=seconds)
    async with worker():
        handle = await dev_env.client.start_workflow(
            EscalationWorkflow.run,
            escalation,
            id=escalation.escalation_id,
            task_queue=config.task_queue,
            search_attributes=initial_search_attributes(escalation),
        )
        raised_event = await eventually(
            lambda: _first(stand_ins.recorded), "the raise recorded", within=30
        )
    assert raised_event is not None
    deadline = raised_event.state.stage_deadline
    assert deadline is not None

    async def passed() -> bool:
        return datetime.now(UTC) > deadline + SECOND

    await eventually(passed, "the time limit passed with no worker")
    try:
        async with worker():
            await eventually(
                lambda: _first([e for e in stand_ins.recorded if e.action == "escalated"]),
                "the escalation moved up",
            )
            state = await state_of(handle)
    finally:
        await handle.terminate(reason="test finished")
    assert state.stage == 2
    assert [step[:2] for step in stand_ins.steps()] == [("raised", 1), ("escalated", 2)]
    assert ("reminder", 1) not in stand_ins.told()


async def _first(found: list[AuditEventInput]) -> AuditEventInput | None:
    return found[0] if found else None
