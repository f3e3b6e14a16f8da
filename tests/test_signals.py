"""How people act: the four signals at every stage, and the validated update `act`."""

import logging
from typing import Any, Literal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from core.logs import configure_logging
from tests.engine_helpers import (
    DIRECTORY,
    RAISING,
    RAISING_PRACTITIONER,
    RECEIVING,
    SQLITE_ONLY,
    STAGE_PEOPLE,
    actions,
    audit_trail,
    closed_state,
    deliveries,
    escalation_input,
    escalation_worker,
    raised,
    read_model,
    settle,
    state_of,
)
from tests.ladders import BUSINESS_UNIT
from workflows.models import ActionRequest, EscalationState
from workflows.rules import (
    AT_TOP_STAGE,
    CLOSED,
    INVALID_ACTION,
    NOT_PERMITTED,
)

pytestmark = SQLITE_ONLY

STAGES = [1, 2, 3]
CHAIR = "Independent chair"
PARTNERSHIP = "Northshire Safeguarding Children Partnership"


def told(stage: int, *, raiser: bool = False) -> set[str]:
    """Who the standard ladder tells of an event at `stage` (the partnership from stage 3)."""
    people = set(STAGE_PEOPLE[stage])
    if stage == 3:
        people.add(BUSINESS_UNIT)
    if raiser:
        people.add(RAISING_PRACTITIONER)
    return people


async def logged_to(engine: AsyncEngine, notification_key: str) -> set[str]:
    found = await deliveries(engine, notification_key)
    assert {d.status for d in found.values()} <= {"logged"}
    return set(found)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    ("signal", "payload", "status", "details"),
    [
        (
            "resolved",
            {"by": CHAIR, "outcome": "Strategy meeting held", "agreed_actions": ["Assess"]},
            "resolved",
            {"outcome": "Strategy meeting held", "agreed_actions": ["Assess"]},
        ),
        ("withdraw", {"by": CHAIR, "reason": "New information"}, "withdrawn", None),
    ],
)
async def test_closing_signals_close_at_any_stage(
    time_env: WorkflowEnvironment,
    engine: AsyncEngine,
    stage: int,
    signal: str,
    payload: dict[str, Any],
    status: str,
    details: dict[str, Any] | None,
) -> None:
    escalation = escalation_input(start_stage=stage)
    async with (
        escalation_worker(time_env.client, engine, DIRECTORY) as config,
        raised(time_env, config, escalation) as handle,
    ):
        # A plain JSON object, as `temporal workflow signal --input '{...}'` sends it.
        await handle.signal(signal, payload)
        final = await closed_state(time_env, handle)

        assert (final.status, final.stage, final.closed_by) == (status, stage, CHAIR)
        events = await audit_trail(engine, handle.id)
        assert actions(events) == [("raised", stage), (status, stage)]
        assert events[1].actor == CHAIR
        assert events[1].details == (details or {"reason": "New information"})

        row = await read_model(engine, handle.id)
        assert (row.status, row.stage, row.closed_by, row.stage_deadline) == (
            status,
            stage,
            CHAIR,
            None,
        )
        if status == "resolved":
            assert (row.outcome, row.agreed_actions) == ("Strategy meeting held", ["Assess"])
        else:
            assert row.closing_reason == "New information"
        # The stage's people, and the raiser for the written outcome.
        assert await logged_to(engine, f"{handle.id}:2") == told(stage, raiser=True)


@pytest.mark.parametrize("stage", STAGES)
async def test_escalate_signal_moves_up_a_stage_except_at_the_top(
    time_env: WorkflowEnvironment, engine: AsyncEngine, stage: int
) -> None:
    async with (
        escalation_worker(time_env.client, engine, DIRECTORY) as config,
        raised(time_env, config, escalation_input(start_stage=stage)) as handle,
    ):
        await handle.signal(
            "escalate", {"by": "Team manager Jones", "reason": "No strategy meeting"}
        )
        await settle(time_env)

        state = await state_of(handle)
        events = await audit_trail(engine, handle.id)
        if stage == 3:  # the partnership decides: nothing recorded, nobody told
            assert (state.status, state.stage) == ("open", 3)
            assert actions(events) == [("raised", 3)]
            assert await deliveries(engine, f"{handle.id}:2") == {}
            return
        assert (state.status, state.stage) == ("open", stage + 1)
        assert state.stage_started_at is not None
        assert state.stage_deadline is not None and state.stage_deadline > state.stage_started_at
        assert actions(events) == [("raised", stage), ("escalated", stage + 1)]
        assert events[1].actor == "Team manager Jones"
        assert events[1].details == {
            "reason": "No strategy meeting",
            "from_stage": stage,
            "to_stage": stage + 1,
        }
        assert (await read_model(engine, handle.id)).stage == stage + 1
        assert await logged_to(engine, f"{handle.id}:2") == told(stage + 1)


@pytest.mark.parametrize("stage", STAGES)
async def test_note_signal_is_recorded_and_changes_nothing_else(
    time_env: WorkflowEnvironment, engine: AsyncEngine, stage: int
) -> None:
    async with (
        escalation_worker(time_env.client, engine, DIRECTORY) as config,
        raised(time_env, config, escalation_input(start_stage=stage)) as handle,
    ):
        await handle.signal("note", {"by": "Ms Adeyemi", "text": "Called the duty team"})
        await settle(time_env)

        state = await state_of(handle)
        assert (state.status, state.stage) == ("open", stage)
        events = await audit_trail(engine, handle.id)
        assert actions(events) == [("raised", stage), ("note", stage)]
        assert (events[1].actor, events[1].details) == (
            "Ms Adeyemi",
            {"text": "Called the duty team"},
        )
        assert await deliveries(engine, f"{handle.id}:2") == {}  # a note tells nobody
        assert await logged_to(engine, f"{handle.id}:1") == told(stage)  # the raise did


# --- the update the API uses --------------------------------------------------------------------


def request(action: str, agency: str | None, role: str | None, **fields: Any) -> ActionRequest:
    """An update request; without agency and role, from operations staff."""
    who = {"agency": agency, "role": role} if agency else {"operations": True}
    return ActionRequest.model_validate({"action": action, "by": "Someone", **who, **fields})


async def test_act_answers_with_the_new_state(
    time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, escalation_input()) as handle,
    ):
        state = await act(
            handle, request("escalate", RECEIVING, "manager", reason="Disagree with threshold")
        )
        assert (state.status, state.stage, state.stage_role) == ("open", 2, "executive")

        state = await act(handle, request("note", RAISING, "practitioner", text="Chased"))
        assert (state.stage, state.event_seq) == (2, 3)

        state = await act(
            handle, request("resolved", RAISING, "executive", outcome="Assessment agreed")
        )
        assert (state.status, state.stage, state.outcome) == ("resolved", 2, "Assessment agreed")
        assert actions(await audit_trail(engine, handle.id)) == [
            ("raised", 1),
            ("escalated", 2),
            ("note", 2),
            ("resolved", 2),
        ]


async def act(handle: WorkflowHandle[Any, Any], action: ActionRequest) -> EscalationState:
    state: EscalationState = await handle.execute_update("act", action, result_type=EscalationState)
    return state


async def rejected(handle: WorkflowHandle[Any, Any], action: ActionRequest) -> str:
    """The error type the update was refused with."""
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await act(handle, action)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.type or ""


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for event in history.events if event.event_type == accepted)


@pytest.mark.parametrize(
    ("stage", "action", "problem"),
    [
        # A manager may not act at the executives' stage...
        (2, request("resolved", RAISING, "manager", outcome="Agreed"), NOT_PERMITTED),
        (2, request("escalate", RECEIVING, "manager", reason="Stuck"), NOT_PERMITTED),
        # ...only the raiser withdraws...
        (1, request("withdraw", RECEIVING, "executive", reason="Not ours"), NOT_PERMITTED),
        # ...an agency not involved may not act at all...
        (1, request("resolved", "Northshire Police", "executive", outcome="x"), NOT_PERMITTED),
        # ...the partnership decides at the top...
        (3, request("escalate", None, None, reason="Higher"), AT_TOP_STAGE),
        (3, request("escalate", PARTNERSHIP, "board", reason="Higher"), AT_TOP_STAGE),
        # ...and every action says why.
        (1, request("resolved", RAISING, "manager", outcome="  "), INVALID_ACTION),
    ],
)
async def test_act_validator_refuses(
    time_env: WorkflowEnvironment,
    engine: AsyncEngine,
    stage: int,
    action: ActionRequest,
    problem: str,
) -> None:
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, escalation_input(start_stage=stage)) as handle,
    ):
        await settle(time_env)
        assert await rejected(handle, action) == problem
        # Refused by the validator: never accepted into history, nothing recorded.
        assert await accepted_updates(handle) == 0
        assert actions(await audit_trail(engine, handle.id)) == [("raised", stage)]
        state = await state_of(handle)
        assert (state.status, state.stage) == ("open", stage)


async def test_act_refuses_a_closed_escalation(
    time_env: WorkflowEnvironment, engine: AsyncEngine, held_port: int
) -> None:
    # Mail that keeps failing holds the closed workflow open, waiting for its deliveries.
    async with (
        escalation_worker(
            time_env.client, engine, DIRECTORY, smtp_host="127.0.0.1", smtp_port=held_port
        ) as config,
        raised(time_env, config, escalation_input()) as handle,
    ):
        await handle.signal("resolved", {"by": CHAIR, "outcome": "Agreed"})
        await settle(time_env)  # a minute of retries: the deliveries go on failing
        assert (await state_of(handle)).status == "resolved"
        assert await rejected(handle, request("note", RAISING, "manager", text="Late")) == CLOSED
        assert await rejected(handle, request("escalate", None, None, reason="Late")) == CLOSED
        assert actions(await audit_trail(engine, handle.id)) == [
            ("raised", 1),
            ("resolved", 1),
        ]


# --- signals that do not fit -------------------------------------------------------------------

SECRET = "Amelia had bruises"


@pytest.fixture
def root_handlers() -> Any:
    """The root logger's handlers, put back after a test that configures logging itself."""
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    yield
    root.handlers[:] = kept
    root.setLevel(level)


@pytest.mark.parametrize("log_format", ["console", "json"])
async def test_a_misspelled_or_incomplete_signal_is_one_clear_warning_and_changes_nothing(
    time_env: WorkflowEnvironment,
    engine: AsyncEngine,
    capfd: pytest.CaptureFixture[str],
    root_handlers: None,
    log_format: Literal["console", "json"],
) -> None:
    configure_logging(log_format, "INFO")
    async with (
        escalation_worker(time_env.client, engine) as config,
        raised(time_env, config, escalation_input()) as handle,
    ):
        await settle(time_env)
        await handle.signal("resolve", {"by": "Team manager", "outcome": SECRET})
        await handle.signal("resolved", {"outcome": SECRET})
        await settle(time_env)
        state = await state_of(handle)

    assert (state.status, state.stage, state.event_seq) == ("open", 1, 1)
    assert actions(await audit_trail(engine, handle.id)) == [("raised", 1)]
    logged = capfd.readouterr().err
    assert "Logging error" not in logged and SECRET not in logged
    lines = [line for line in logged.splitlines() if "ignored" in line]
    assert len(lines) == 2, logged
    assert "signal 'resolve' ignored: not a signal of this workflow" in lines[0]
    assert "signal 'resolved' ignored: by: Field required" in lines[1]
