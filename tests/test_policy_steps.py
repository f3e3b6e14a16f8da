"""The policy's own steps on the time-skipping server, over Christmas and New Year: the receiving
agency's acknowledgement, an agreed extension and the raiser's dispute of the outcome."""

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.notifications import compose
from core.calendar import LONDON
from tests.engine_helpers import (
    DIRECTORY,
    RAISING,
    RAISING_PRACTITIONER,
    RECEIVING,
    SQLITE_ONLY,
    STAGE_PEOPLE,
    actions,
    advance_to,
    audit_trail,
    closed_state,
    deliveries,
    escalation_input,
    escalation_worker,
    london,
    raised,
    read_model,
    settle,
    state_of,
)
from tests.ladders import BUSINESS_UNIT, STEPS_POLICY
from tests.test_ladder import at_raise_time, christmas_ahead, search_attributes
from tests.test_signals import accepted_updates, act, rejected, request
from workflows.models import NotificationInput
from workflows.rules import (
    ALREADY_ACKNOWLEDGED,
    CLOSED,
    EXTENSION_TOO_LONG,
    NO_EXTENSIONS_LEFT,
    NOT_PERMITTED,
)
from workflows.search_attributes import ESCALATION_ACKNOWLEDGED

MINUTE = timedelta(minutes=1)
PARTNERSHIP = "Northshire Safeguarding Children Partnership"


async def told(engine: AsyncEngine, escalation_id: str, event_seq: int) -> set[str]:
    return set(await deliveries(engine, f"{escalation_id}:{event_seq}"))


@SQLITE_ONLY
async def test_acknowledgement_is_due_within_working_days_and_once_a_stage(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    days = await christmas_ahead(time_env)
    year = days.raised.year
    async with escalation_worker(time_env.client, engine, DIRECTORY) as config:
        await advance_to(time_env, london(year, 12, 23, 10, 0))  # the Wednesday before Christmas
        escalation = escalation_input("steps", policy=STEPS_POLICY)
        async with raised(time_env, config, escalation) as handle:
            await settle(time_env)
            state = await state_of(handle)
            assert state.stage_started_at is not None
            # Two working days: Christmas Eve, then (Christmas, the weekend and the Boxing Day
            # substitute do not count) Tuesday 29th.
            due = at_raise_time(date(year, 12, 29), state.stage_started_at)
            assert state.acknowledge_by == due
            found = (await handle.describe()).typed_search_attributes
            assert found.get(ESCALATION_ACKNOWLEDGED) is False
            # Only the receiving agency, at the stage's level, acknowledges.
            assert (
                await rejected(handle, request("acknowledge", RAISING, "executive"))
                == NOT_PERMITTED
            )
            assert (
                await rejected(handle, request("acknowledge", RECEIVING, "practitioner"))
                == NOT_PERMITTED
            )

            await advance_to(time_env, due - MINUTE)
            assert not (await state_of(handle)).acknowledgement_overdue
            await advance_to(time_env, due + MINUTE)
            state = await state_of(handle)
            assert state.acknowledgement_overdue and state.stage == 1
            events = await audit_trail(engine, handle.id)
            assert actions(events) == [("raised", 1), ("acknowledgement overdue", 1)]
            assert events[1].at.astimezone(LONDON).date() == date(year, 12, 29)
            assert events[1].details == {"due": due.isoformat()}
            # One reminder, to the stage's people.
            assert await told(engine, handle.id, 2) == STAGE_PEOPLE[1]

            # Late is still acknowledged; plain JSON, as the Temporal UI sends it.
            await handle.signal("acknowledge", {"by": "Team manager Jones"})
            await settle(time_env)
            state = await state_of(handle)
            assert state.acknowledged_by == "Team manager Jones"
            assert state.acknowledged_at is not None
            assert (
                await rejected(handle, request("acknowledge", RECEIVING, "manager"))
                == ALREADY_ACKNOWLEDGED
            )
            await handle.signal("acknowledge", {"by": "Someone else"})  # taken in and ignored
            await settle(time_env)
            row = await read_model(engine, handle.id)
            assert (row.acknowledged_at, row.acknowledged_by) == (
                state.acknowledged_at,
                "Team manager Jones",
            )
            found = (await handle.describe()).typed_search_attributes
            assert found.get(ESCALATION_ACKNOWLEDGED) is True
            assert await told(engine, handle.id, 3) == STAGE_PEOPLE[1] | {RAISING_PRACTITIONER}

            # A new stage is acknowledged afresh; the partnership is told from stage 2.
            await handle.signal("escalate", {"by": "Head", "reason": "No plan"})
            await settle(time_env)
            state = await state_of(handle)
            assert (state.stage, state.acknowledged_at, state.acknowledgement_overdue) == (
                2,
                None,
                False,
            )
            assert state.acknowledge_by is not None and state.stage_started_at is not None
            assert state.acknowledge_by.astimezone(LONDON).date() == date(year, 12, 31)
            assert (await read_model(engine, handle.id)).acknowledged_at is None
            await advance_to(time_env, state.acknowledge_by + MINUTE)
            assert await told(engine, handle.id, 5) == STAGE_PEOPLE[2] | {BUSINESS_UNIT}
            state = await act(handle, request("acknowledge", PARTNERSHIP, "board"))
            assert state.acknowledged_at is not None

            assert actions(await audit_trail(engine, handle.id)) == [
                ("raised", 1),
                ("acknowledgement overdue", 1),
                ("acknowledged", 1),
                ("escalated", 2),
                ("acknowledgement overdue", 2),
                ("acknowledged", 2),
            ]


@SQLITE_ONLY
async def test_an_extension_moves_the_deadline_over_new_year(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    days = await christmas_ahead(time_env)
    year = days.raised.year
    async with escalation_worker(time_env.client, engine, DIRECTORY) as config:
        await advance_to(time_env, london(year, 12, 21, 10, 0))
        async with raised(time_env, config, escalation_input()) as handle:
            await settle(time_env)
            start = (await state_of(handle)).stage_started_at
            assert start is not None

            def due(day: date) -> Any:
                return at_raise_time(day, start)

            # At most the stage's own limit (5 working days), in working days or on the calendar.
            too_long = request(
                "extend", RECEIVING, "manager", reason="x", extension={"working_days": 6}
            )
            assert await rejected(handle, too_long) == EXTENSION_TOO_LONG
            assert await accepted_updates(handle) == 0
            hours = request(
                "extend", RAISING, "manager", reason="x", extension={"duration": "PT200H"}
            )
            assert await rejected(handle, hours) == EXTENSION_TOO_LONG
            # Not both, in plain JSON: the signal is refused and nothing happens.
            await handle.signal(
                "extend", {"by": "Head", "reason": "x", "working_days": 1, "duration": "PT1H"}
            )

            await advance_to(time_env, due(days.stage_1_reminder) + MINUTE)
            state = await state_of(handle)
            assert state.reminder_sent and state.stage_deadline == due(days.stage_2)

            await handle.signal(
                "extend",
                {
                    "by": "Head teacher",
                    "reason": "Strategy meeting after New Year",
                    "working_days": 2,
                },
            )
            await settle(time_env)
            state = await state_of(handle)
            # From the current deadline, Wednesday 30th: Thursday 31st, then Monday 4th (New
            # Year's Day and the weekend do not count). The reminder moves with it.
            new_deadline = due(date(year + 1, 1, 4))
            assert (state.stage, state.stage_deadline, state.extensions_used) == (
                1,
                new_deadline,
                1,
            )
            assert (state.reminder_at, state.reminder_sent) == (due(date(year, 12, 31)), False)
            events = await audit_trail(engine, handle.id)
            assert actions(events) == [("raised", 1), ("reminder", 1), ("extended", 1)]
            assert events[2].actor == "Head teacher"
            assert events[2].details["reason"] == "Strategy meeting after New Year"
            assert events[2].details["extension"] == "2 working days"
            assert events[2].details["from_deadline"] == due(days.stage_2).isoformat()
            assert events[2].details["to_deadline"] == new_deadline.isoformat()
            assert await told(engine, handle.id, 3) == STAGE_PEOPLE[1]  # both agencies
            row = await read_model(engine, handle.id)
            assert (row.stage_deadline, row.extensions_used) == (new_deadline, 1)
            assert (await search_attributes(handle))["StageDeadline"] == new_deadline

            again = request(
                "extend", RECEIVING, "manager", reason="y", extension={"working_days": 1}
            )
            assert await rejected(handle, again) == NO_EXTENSIONS_LEFT

            await advance_to(time_env, due(date(year, 12, 31)) + MINUTE)
            assert actions(await audit_trail(engine, handle.id))[-1] == ("reminder", 1)
            await advance_to(time_env, new_deadline - MINUTE)
            assert (await state_of(handle)).stage == 1
            await advance_to(time_env, new_deadline + MINUTE)
            state = await state_of(handle)
            assert (state.stage, state.extensions_used) == (2, 0)  # each stage has its own

            assert state.stage_deadline is not None
            stage_2_deadline = state.stage_deadline
            state = await act(
                handle,
                request(
                    "extend",
                    RAISING,
                    "executive",
                    reason="Awaiting",
                    extension={"duration": "PT24H"},
                ),
            )
            assert state.stage_deadline == stage_2_deadline + timedelta(hours=24)
            assert actions(await audit_trail(engine, handle.id))[-2:] == [
                ("escalated", 2),
                ("extended", 2),
            ]


@SQLITE_ONLY
async def test_the_raiser_may_dispute_a_receiving_agency_outcome_within_the_window(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    days = await christmas_ahead(time_env)
    year = days.raised.year
    async with escalation_worker(time_env.client, engine, DIRECTORY) as config:
        await advance_to(time_env, london(year, 12, 23, 10, 0))
        async with raised(time_env, config, escalation_input()) as handle:
            await settle(time_env)
            state = await act(
                handle, request("resolved", RECEIVING, "manager", outcome="Early help offered")
            )
            assert state.status == "resolved" and state.dispute_until is not None
            resolved_at = (await audit_trail(engine, handle.id))[-1].at
            # Five working days: 24, 29, 30, 31 December and Monday 4 January.
            window_end = at_raise_time(date(year + 1, 1, 4), resolved_at)
            assert abs(state.dispute_until - window_end) < MINUTE
            row = await read_model(engine, handle.id)
            assert (row.status, row.dispute_until, row.outcome) == (
                "resolved",
                state.dispute_until,
                "Early help offered",
            )
            # The raiser was told at once, with the window, and the link to the outcome.
            await settle(time_env)
            assert await told(engine, handle.id, 2) == STAGE_PEOPLE[1] | {RAISING_PRACTITIONER}

            # Only the raising agency disputes; nothing else is done to a resolved escalation.
            assert await rejected(handle, request("dispute", RECEIVING, "manager", reason="x")) == (
                NOT_PERMITTED
            )
            assert await rejected(handle, request("note", RAISING, "manager", text="x")) == CLOSED

            await advance_to(time_env, london(year, 12, 29, 12, 0))
            await handle.signal("dispute", {"by": "Ms Adeyemi (DSL)", "reason": "No assessment"})
            await settle(time_env)
            state = await state_of(handle)
            assert (state.status, state.stage, state.dispute_until, state.outcome) == (
                "open",
                2,
                None,
                None,
            )
            assert state.stage_deadline is not None and state.stage_started_at is not None
            assert state.stage_started_at.astimezone(LONDON).date() == date(year, 12, 29)
            events = await audit_trail(engine, handle.id)
            assert actions(events) == [
                ("raised", 1),
                ("resolved", 1),
                ("disputed", 1),
                ("escalated", 2),
            ]
            assert events[2].details == {
                "reason": "No assessment",
                "outcome": "Early help offered",
                "from_stage": 1,
                "to_stage": 2,
            }
            assert await told(engine, handle.id, 3) == STAGE_PEOPLE[1] | {RAISING_PRACTITIONER}
            assert await told(engine, handle.id, 4) == STAGE_PEOPLE[2]
            row = await read_model(engine, handle.id)
            assert (row.status, row.stage, row.dispute_until, row.closed_at) == (
                "open",
                2,
                None,
                None,
            )

            # Resolved again by the receiving agency, below the top: a new window, left to pass.
            state = await act(
                handle, request("resolved", RECEIVING, "executive", outcome="Assessment agreed")
            )
            assert state.dispute_until is not None
            await advance_to(time_env, state.dispute_until + MINUTE)
            final = await closed_state(time_env, handle)
            assert (final.status, final.stage, final.dispute_until) == ("resolved", 2, None)
            assert actions(await audit_trail(engine, handle.id))[-2:] == [
                ("resolved", 2),
                ("outcome final", 2),
            ]
            row = await read_model(engine, handle.id)
            assert (row.status, row.dispute_until, row.outcome) == (
                "resolved",
                None,
                "Assessment agreed",
            )


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("agency", "role"),
    [(PARTNERSHIP, "board"), (RAISING, "manager"), (None, None)],
    ids=["partnership", "raiser", "operations"],
)
async def test_some_resolutions_are_final_at_once(
    time_env: WorkflowEnvironment, engine: AsyncEngine, agency: str | None, role: str | None
) -> None:
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, escalation_input()) as handle,
    ):
        state = await act(handle, request("resolved", agency, role, outcome="Agreed"))
        assert (state.status, state.dispute_until) == ("resolved", None)
        final = await closed_state(time_env, handle)  # the workflow has completed
        assert (final.status, final.stage) == ("resolved", 1)
        assert actions(await audit_trail(engine, handle.id)) == [("raised", 1), ("resolved", 1)]


def test_the_written_outcome_links_to_the_page_and_gives_the_dispute_window() -> None:
    notice = NotificationInput(
        notification_key="ESC-OUTCOME:2",
        escalation_id="ESC-OUTCOME",
        kind="resolved",
        raising_agency=RAISING,
        receiving_agency=RECEIVING,
        stage=1,
        stage_name="Line managers",
        role="manager",
        tell_raiser="Ms Adeyemi (DSL)",
        dispute_until=london(2027, 1, 4, 10, 0),
    )
    message = compose(notice, "https://escalations.example")
    assert message.subject == "[ESC-OUTCOME] Resolved at stage 1: Line managers"
    assert "may dispute the outcome until Mon 4 Jan 2027 10:00" in message.body
    assert "https://escalations.example/escalations/ESC-OUTCOME" in message.body
    assert message.payload["dispute_until"] == "2027-01-04T10:00:00+00:00"
