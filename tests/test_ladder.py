"""The ladder on the time-skipping server: weeks of working-day clocks pass in seconds."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.calendar import LONDON
from database.audit_chain import chain_breaks
from tests.engine_helpers import (
    RAISER,
    SQLITE_ONLY,
    actions,
    advance_to,
    audit_trail,
    closed_state,
    escalation_input,
    escalation_worker,
    london,
    raised,
    read_model,
    settle,
    state_of,
)
from workflows.escalation import EscalationWorkflow
from workflows.models import EscalationState
from workflows.policy import BUILT_IN_POLICIES
from workflows.search_attributes import (
    ESCALATION_OVERDUE,
    ESCALATION_STAGE,
    ESCALATION_STATUS,
    STAGE_DEADLINE,
)

pytestmark = SQLITE_ONLY


@dataclass(frozen=True)
class Christmas:
    """The standard ladder raised the Monday before Christmas, worked out by hand."""

    raised: date
    stage_1_reminder: date
    stage_2: date  # 5 working days: Christmas Day and the Boxing Day substitute do not count
    stage_2_reminder: date
    stage_3: date  # 5 working days: New Year's Day does not count
    stage_3_reminder: date
    overdue: date  # 14 working days at the partnership
    overdue_reminders: tuple[date, ...]  # every 2 working days


def christmas(year: int) -> Christmas:
    return Christmas(
        raised=date(year, 12, 21),
        stage_1_reminder=date(year, 12, 29),
        stage_2=date(year, 12, 30),
        stage_2_reminder=date(year + 1, 1, 6),
        stage_3=date(year + 1, 1, 7),
        stage_3_reminder=date(year + 1, 1, 26),
        overdue=date(year + 1, 1, 27),
        overdue_reminders=(date(year + 1, 1, 29), date(year + 1, 2, 2), date(year + 1, 2, 4)),
    )


async def christmas_ahead(env: WorkflowEnvironment) -> Christmas:
    """Christmas 2026, or a later one with the same dates if the shared clock is past it.

    The dates above hold in every year whose 21 December is a Monday: Christmas Day is then a
    Friday, Boxing Day a Saturday (substitute Monday 28th) and New Year's Day a Friday, and
    England and Wales have no other bank holiday before March.
    """
    now = await env.get_current_time()
    year = now.year
    while date(year, 12, 21).weekday() != 0 or london(year, 12, 21, 9, 0) <= now:
        year += 1
    return christmas(year)


def at_raise_time(day: date, raised_at: datetime) -> datetime:
    """`day` at the London time of day the escalation was raised (the stage clock's start)."""
    local = raised_at.astimezone(LONDON)
    return datetime.combine(day, local.time(), tzinfo=LONDON)


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, object]:
    """What operations staff filter on in the Temporal UI."""
    found = (await handle.describe()).typed_search_attributes
    return {
        key.name: found.get(key)
        for key in (ESCALATION_STATUS, ESCALATION_STAGE, STAGE_DEADLINE, ESCALATION_OVERDUE)
    }


async def test_standard_ladder_over_christmas(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    days = await christmas_ahead(time_env)
    minute = timedelta(minutes=1)
    async with escalation_worker(time_env.client, engine) as config:
        await advance_to(time_env, london(days.raised.year, 12, 21, 10, 0))
        async with raised(time_env, config, escalation_input()) as handle:
            await settle(time_env)
            state = await state_of(handle)
            assert state.stage_started_at is not None
            start = state.stage_started_at  # the workflow's start time
            assert f"{start.astimezone(LONDON):%a %d %b %H:%M}" == "Mon 21 Dec 10:00"

            def due(day: date) -> datetime:
                return at_raise_time(day, start)

            assert (state.stage, state.stage_deadline) == (1, due(days.stage_2))

            await advance_to(time_env, due(days.stage_2) - minute)
            state = await state_of(handle)
            assert (state.stage, state.reminder_sent) == (1, True)

            await advance_to(time_env, due(days.stage_2) + minute)
            state = await state_of(handle)
            assert state.stage == 2
            assert state.stage_started_at == due(days.stage_2)
            assert state.stage_deadline == due(days.stage_3)
            assert await search_attributes(handle) == {
                "EscalationStatus": "open",
                "EscalationStage": 2,
                "StageDeadline": due(days.stage_3),
                "EscalationOverdue": False,
            }

            await advance_to(time_env, due(days.stage_3) + minute)
            state = await state_of(handle)
            assert (state.stage, state.stage_started_at) == (3, due(days.stage_3))
            assert state.stage_deadline == due(days.overdue)

            await advance_to(time_env, due(days.overdue) - minute)
            assert not (await state_of(handle)).overdue
            await advance_to(time_env, due(days.overdue) + minute)
            state = await state_of(handle)
            assert (state.stage, state.status, state.overdue) == (3, "open", True)
            assert state.next_overdue_reminder_at == due(days.overdue_reminders[0])

            for reminder, following in zip(
                days.overdue_reminders, days.overdue_reminders[1:], strict=False
            ):
                await advance_to(time_env, due(reminder) + minute)
                assert (await state_of(handle)).next_overdue_reminder_at == due(following)

            events = await audit_trail(engine, handle.id)
            assert actions(events) == [
                ("raised", 1),
                ("reminder", 1),
                ("escalated", 2),
                ("reminder", 2),
                ("escalated", 3),
                ("reminder", 3),
                ("overdue", 3),
                ("reminder", 3),
                ("reminder", 3),
            ]
            fired_on = [e.at.astimezone(LONDON).date() for e in events]
            assert fired_on == [
                days.raised,
                days.stage_1_reminder,
                days.stage_2,
                days.stage_2_reminder,
                days.stage_3,
                days.stage_3_reminder,
                days.overdue,
                *days.overdue_reminders[:2],
            ]
            assert events[0].actor == RAISER
            assert all(e.actor == "system" for e in events[1:])
            assert events[2].details == {
                "reason": "time limit passed",
                "from_stage": 1,
                "to_stage": 2,
            }
            assert events[4].details["reason"] == "time limit passed"
            assert events[6].details == {"reason": "time limit passed"}
            assert events[7].details == {"overdue": True}
            assert chain_breaks(await audit_trail(engine, handle.id, with_notified=True)) == []

            row = await read_model(engine, handle.id)
            assert (row.status, row.stage, row.stage_role, row.overdue) == (
                "open",
                3,
                "board",
                True,
            )
            assert row.stage_deadline == due(days.overdue)

            assert await search_attributes(handle) == {
                "EscalationStatus": "open",
                "EscalationStage": 3,
                "StageDeadline": due(days.overdue),
                "EscalationOverdue": True,
            }


async def test_immediate_risk_runs_the_urgent_track_from_a_higher_stage(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    urgent = escalation_input("urgent", immediate_risk=True, start_stage=2)
    hour = timedelta(hours=1)
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, urgent) as handle,
    ):
        await settle(time_env)
        state = await state_of(handle)
        assert state.stage_started_at is not None
        start = state.stage_started_at
        assert (state.stage, state.stage_role) == (2, "executive")
        assert state.stage_deadline == start + 24 * hour  # elapsed hours, not working days
        assert state.reminder_at == start + 20 * hour

        await advance_to(time_env, start + 24 * hour + timedelta(seconds=1))
        state = await state_of(handle)
        assert (state.stage, state.stage_started_at) == (3, start + 24 * hour)
        assert state.stage_deadline == start + 48 * hour

        await advance_to(time_env, start + 52 * hour + timedelta(seconds=1))
        state = await state_of(handle)
        assert state.overdue
        assert state.next_overdue_reminder_at == start + 56 * hour  # every 4 hours

        events = await audit_trail(engine, handle.id)
        assert actions(events) == [
            ("raised", 2),
            ("reminder", 2),
            ("escalated", 3),
            ("reminder", 3),
            ("overdue", 3),
            ("reminder", 3),
        ]
        assert events[0].details == {
            "policy": "urgent",
            "stage": "Senior and executive managers",
            "immediate_risk": True,
        }
        row = await read_model(engine, handle.id)
        assert (row.policy, row.immediate_risk, row.stage, row.overdue) == ("urgent", True, 3, True)


async def test_long_overdue_run_continues_as_new_and_keeps_its_record(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    long_run = escalation_input(
        "urgent",
        start_stage=len(BUILT_IN_POLICIES["urgent"].stages),
        continue_as_new_after_events=100,
    )
    hour = timedelta(hours=1)
    reminders = 15
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, long_run) as first_run,
    ):
        await settle(time_env)
        start = (await state_of(first_run)).stage_started_at
        assert start is not None
        # Overdue after 24 h, then a reminder every 4 h.
        await advance_to(time_env, start + (24 + 4 * reminders) * hour + timedelta(seconds=1))

        run_one = time_env.client.get_workflow_handle(
            long_run.escalation_id, run_id=first_run.result_run_id
        )
        assert (await run_one.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        latest = time_env.client.get_workflow_handle_for(
            EscalationWorkflow.run, long_run.escalation_id
        )
        described = await latest.describe()
        assert described.run_id != first_run.result_run_id
        assert described.status == WorkflowExecutionStatus.RUNNING
        assert described.typed_search_attributes.get(ESCALATION_OVERDUE) is True

        state: EscalationState = await state_of(latest)
        assert (state.stage, state.overdue) == (3, True)
        events = await audit_trail(engine, long_run.escalation_id)
        assert actions(events) == [
            ("raised", 3),
            ("reminder", 3),
            ("overdue", 3),
            *[("reminder", 3)] * reminders,
        ]
        # The event sequence carried over: one key per event, in order, none written twice.
        assert [e.event_key for e in events] == [
            f"{long_run.escalation_id}:{n}" for n in range(1, state.event_seq + 1)
        ]
        assert (
            chain_breaks(await audit_trail(engine, long_run.escalation_id, with_notified=True))
            == []
        )

        await latest.signal("resolved", {"by": "Independent chair", "outcome": "Plan agreed"})
        final = await closed_state(time_env, latest)
        assert (final.status, final.stage, final.outcome) == ("resolved", 3, "Plan agreed")
        assert (await audit_trail(engine, long_run.escalation_id))[-1].action == "resolved"
