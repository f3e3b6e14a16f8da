"""Records the histories tests/test_replay.py replays: `python -m tests.record_histories`.

Each scenario drives one path through the escalation workflow on the time-skipping test server,
with a worker built as production builds it (real activities, a throwaway SQLite database), and
writes the run's history to `tests/histories/<scenario>.json` as `temporal workflow show
--output json` would. Escalations are raised as the API raises them (update-with-start).

Payloads go through the production data converter, encrypted under the committed, test-only key
in tests/histories/payload-keys.json, so the files are what a real Temporal cluster stores.

Refresh only after a deliberate, patched or versioned workflow change (docs/workflow-changes.md),
never to make a failing replay pass: the old files are what running escalations look like. Files
recorded before a patch move to a folder of their own under tests/histories/ (named for the
patch) and keep being replayed until the patch is retired.
`python -m tests.record_histories overdue_with_reminders` records just the scenarios named.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notifications import Notifier, Outbox
from activities.recorder import Recorder
from activities.stage_clock import stage_clock
from core.logs import configure_logging
from core.payload_crypto import PayloadKey
from core.settings import Settings
from core.temporal import data_converter
from database.engine import create_engine
from tests.conftest import BIN, fresh_database, isolated_settings
from tests.engine_helpers import (
    DIRECTORY,
    RAISING,
    RECEIVING,
    advance_to,
    escalation_input,
    escalation_worker,
    settle,
    state_of,
)
from tests.ladders import HOUR, SECOND, STEPS_POLICY, ladder
from worker.main import ensure_search_attributes, running_worker
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import (
    NOTIFY,
    RECORD_EVENT,
    ActionRequest,
    AuditEventInput,
    EscalationState,
    EventWritten,
    NotificationInput,
    NotificationResult,
)
from workflows.policy import Policy, Role
from workflows.search_attributes import ALL_KEYS

HISTORIES = Path(__file__).resolve().parent / "histories"
KEY_FILE = HISTORIES / "payload-keys.json"
TEST_ONLY_KEY_ID = "test-only-not-a-secret"
PARTNERSHIP = "Northshire Safeguarding Children Partnership"
MINUTE = timedelta(minutes=1)

Handle = WorkflowHandle[EscalationWorkflow, EscalationState]


def history_settings(**overrides: Any) -> Settings:
    """Settings whose codec holds the committed test-only key.

    The key goes in as PAYLOAD_KEYS rather than PAYLOAD_KEY_FILE: git checks files out 0644,
    which the codec rightly refuses for a key file.
    """
    keys = json.loads(KEY_FILE.read_text(encoding="utf-8"))["keys"]
    return isolated_settings(
        payload_keys=",".join(f"{key['id']}:{key['key']}" for key in keys), **overrides
    )


def reference(scenario: str) -> str:
    """The escalation reference a scenario is recorded under: `notes` -> `ESC-NOTES`."""
    return "ESC-" + scenario.upper().replace("_", "-")


def workflow_id(history_file: Path) -> str:
    """`continued_as_new.run2.json` -> `ESC-CONTINUED-AS-NEW`."""
    return reference(history_file.name.split(".")[0])


def history_files(*, current_only: bool = False) -> list[Path]:
    """Every saved history; `current_only`: those recorded with today's code (not the folders of
    histories from before a patch)."""
    found = HISTORIES.glob("*.json") if current_only else HISTORIES.rglob("*.json")
    return sorted(path for path in found if path != KEY_FILE)


def write_test_only_key() -> None:
    """Creates the committed key once (mode 0600); refreshing histories keeps the same key."""
    if KEY_FILE.exists():
        return
    document = {"keys": [{"id": TEST_ONLY_KEY_ID, "key": PayloadKey.generate().encoded}]}
    fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")


def act(action: str, agency: str | None, role: Role | None, **fields: Any) -> ActionRequest:
    """What the API sends for a manager's action (agency and role set, so the rules apply)."""
    return ActionRequest.model_validate(
        {"action": action, "by": f"{role} of {agency}", "agency": agency, "role": role, **fields}
    )


@dataclass
class Recording:
    env: WorkflowEnvironment
    config: Settings
    name: str
    # For the scenarios that start and stop their own workers (REAL_TIME).
    engine: AsyncEngine | None = None

    async def raise_escalation(
        self, policy: str = "standard", ladder: Policy | None = None, **changes: Any
    ) -> Handle:
        """Raised as the API raises: update-with-start, answered once the raise is recorded."""
        escalation = escalation_input(policy, ladder, **changes).model_copy(
            update={"escalation_id": reference(self.name)}
        )
        start = WithStartWorkflowOperation(
            EscalationWorkflow.run,
            escalation,
            id=escalation.escalation_id,
            task_queue=self.config.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=initial_search_attributes(escalation),
        )
        _ = await self.env.client.execute_update_with_start_workflow(
            EscalationWorkflow.raise_recorded, start_workflow_operation=start
        )
        return await start.workflow_handle()

    async def pass_time_limit(self, handle: Handle) -> EscalationState:
        """Lets the stage's time limit pass (its reminder fires on the way)."""
        state = await state_of(handle)
        assert state.stage_deadline is not None
        await advance_to(self.env, state.stage_deadline + MINUTE)
        return await state_of(handle)

    async def save(self, handle: Handle, *, run_id: str | None = None, part: str = "") -> None:
        run = self.env.client.get_workflow_handle(handle.id, run_id=run_id)
        history = await run.fetch_history()
        path = HISTORIES / f"{self.name}{part}.json"
        path.write_text(history.to_json() + "\n", encoding="utf-8")
        print(f"{path.relative_to(Path.cwd())}: {len(history.events)} events")

    async def finish(self, handle: Handle) -> None:
        await handle.result()
        await self.save(handle)


# --- the paths through the workflow ----------------------------------------------------------


async def resolved_at_stage_1(r: Recording) -> None:
    handle = await r.raise_escalation()
    # Plain JSON, as typed into the Temporal UI or `temporal workflow signal`.
    await handle.signal("resolved", {"by": "Team manager", "outcome": "Strategy discussion held"})
    await r.finish(handle)


async def resolved_at_stage_2(r: Recording) -> None:
    handle = await r.raise_escalation()
    await r.pass_time_limit(handle)
    _ = await handle.execute_update(
        EscalationWorkflow.act,
        act("resolved", RECEIVING, "executive", outcome="Assessment", agreed_actions=["Visit"]),
    )
    # The receiving agency resolved it: final once the raiser's dispute window has passed.
    window = (await state_of(handle)).dispute_until
    assert window is not None
    await advance_to(r.env, window + MINUTE)
    await r.finish(handle)


async def time_limits_passed(r: Recording) -> None:
    """Both time limits pass; the partnership resolves at the top."""
    handle = await r.raise_escalation()
    await r.pass_time_limit(handle)
    await r.pass_time_limit(handle)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", PARTNERSHIP, "board", outcome="Chair decided")
    )
    await r.finish(handle)


async def scottish_calendar(r: Recording) -> None:
    """A ladder on Scotland's bank holidays: its stage clock and step clocks say `nation`."""
    ladder = STEPS_POLICY.model_copy(update={"nation": "scotland"})
    handle = await r.raise_escalation("scotland", ladder)
    await r.pass_time_limit(handle)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", PARTNERSHIP, "board", outcome="Chair decided")
    )
    await r.finish(handle)


async def escalated_by_hand(r: Recording) -> None:
    handle = await r.raise_escalation()
    await handle.signal("escalate", {"by": "Head teacher", "reason": "No reply"})
    await settle(r.env)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("escalate", RAISING, "executive", reason="Still no plan")
    )
    # At the top: a signal is taken in and ignored, an update is refused before history.
    await handle.signal("escalate", {"by": "Head teacher", "reason": "Higher still"})
    try:
        _ = await handle.execute_update(
            EscalationWorkflow.act, act("escalate", RAISING, "executive", reason="Higher")
        )
    except WorkflowUpdateFailedError:
        pass
    else:
        raise AssertionError("an escalation at the top stage was escalated")
    await handle.signal("resolved", {"by": "Independent chair", "outcome": "Agreed plan"})
    await r.finish(handle)


async def overdue_with_reminders(r: Recording) -> None:
    handle = await r.raise_escalation(start_stage=3)
    state = await r.pass_time_limit(handle)
    for _ in range(2):
        assert state.overdue and state.next_overdue_reminder_at is not None
        await advance_to(r.env, state.next_overdue_reminder_at + MINUTE)
        state = await state_of(handle)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", PARTNERSHIP, "board", outcome="Chair decided")
    )
    await r.finish(handle)


async def withdrawn(r: Recording) -> None:
    handle = await r.raise_escalation()
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("escalate", RECEIVING, "manager", reason="Disagree")
    )
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("withdraw", RAISING, "practitioner", reason="New information")
    )
    await r.finish(handle)


async def notes(r: Recording) -> None:
    handle = await r.raise_escalation()
    # Ignored with a warning: a misspelled signal, and one without `by`.
    await handle.signal("resolve", {"by": "DSL", "outcome": "Typed the wrong name"})
    await handle.signal("note", {"text": "Who wrote this?"})
    await handle.signal("note", {"by": "DSL", "text": "Called the duty team"})
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("note", RECEIVING, "practitioner", text="Visit booked")
    )
    await handle.signal("withdraw", {"by": "DSL", "reason": "Resolved informally"})
    await r.finish(handle)


async def continued_as_new(r: Recording) -> None:
    """An urgent escalation overdue at the top long enough to continue as new, then resolved."""
    handle = await r.raise_escalation(
        "urgent", start_stage=3, immediate_risk=True, continue_as_new_after_events=100
    )
    first_run = handle.result_run_id
    state = await r.pass_time_limit(handle)
    old_run = r.env.client.get_workflow_handle(handle.id, run_id=first_run)
    for _ in range(30):
        if (await old_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            break
        assert state.next_overdue_reminder_at is not None
        await advance_to(r.env, state.next_overdue_reminder_at + MINUTE)
        state = await state_of(handle)
    else:
        raise AssertionError("the run never continued as new")
    await r.save(handle, run_id=first_run)
    latest = r.env.client.get_workflow_handle_for(EscalationWorkflow.run, handle.id)
    await latest.signal("resolved", {"by": "Independent chair", "outcome": "Plan agreed"})
    await latest.result()
    await r.save(latest, part=".run2")


async def cancelled(r: Recording) -> None:
    """Cancelled from the Temporal UI or CLI at stage 2: recorded, told, completed."""
    handle = await r.raise_escalation()
    await r.pass_time_limit(handle)
    await handle.cancel()
    await r.finish(handle)


async def recorded_late(r: Recording) -> None:
    """The raise's audit write lands late (see `record_slowly`): the stage clock restarts."""
    escalation = escalation_input().model_copy(update={"escalation_id": reference(r.name)})
    # Started, then asked: the test server gives up on an update-with-start held this long.
    handle = await r.env.client.start_workflow(
        EscalationWorkflow.run,
        escalation,
        id=escalation.escalation_id,
        task_queue=r.config.task_queue,
        search_attributes=initial_search_attributes(escalation),
    )
    _ = await handle.execute_update(EscalationWorkflow.raise_recorded)
    assert (await state_of(handle)).event_seq == 2, "the stage clock did not restart"
    await handle.signal("resolved", {"by": "Team manager", "outcome": "Agreed"})
    await r.finish(handle)


async def notifications_gave_up(r: Recording) -> None:
    """Every notification gives up (see `notify_gives_up`); the escalation still closes."""
    handle = await r.raise_escalation()
    await handle.signal("resolved", {"by": "Team manager", "outcome": "Agreed"})
    await r.finish(handle)


async def acknowledged_late(r: Recording) -> None:
    """Not acknowledged in time at stage 1 (one reminder), then acknowledged at each stage."""
    handle = await r.raise_escalation("steps", STEPS_POLICY)
    state = await state_of(handle)
    assert state.acknowledge_by is not None
    await advance_to(r.env, state.acknowledge_by + MINUTE)
    await handle.signal("acknowledge", {"by": "Team manager"})
    await handle.signal("acknowledge", {"by": "Team manager"})  # taken in and ignored
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("escalate", RAISING, "manager", reason="No plan")
    )
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("acknowledge", RECEIVING, "executive")
    )
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", PARTNERSHIP, "board", outcome="Chair decided")
    )
    await r.finish(handle)


async def extended(r: Recording) -> None:
    """An extension at each stage (working days, then hours); one too long on the calendar."""
    handle = await r.raise_escalation()
    try:
        _ = await handle.execute_update(
            EscalationWorkflow.act,
            act("extend", RECEIVING, "manager", reason="Long", extension={"duration": "PT200H"}),
        )
    except WorkflowUpdateFailedError:
        pass
    else:
        raise AssertionError("an extension longer than the stage's limit was agreed")
    state = await state_of(handle)
    assert state.reminder_at is not None
    await advance_to(r.env, state.reminder_at + MINUTE)
    _ = await handle.execute_update(
        EscalationWorkflow.act,
        act("extend", RECEIVING, "manager", reason="Meeting", extension={"working_days": 2}),
    )
    await r.pass_time_limit(handle)
    await handle.signal("extend", {"by": "Director", "reason": "Awaiting", "duration": "PT24H"})
    await r.pass_time_limit(handle)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", PARTNERSHIP, "board", outcome="Chair decided")
    )
    await r.finish(handle)


async def disputed(r: Recording) -> None:
    """Resolved by the receiving agency, disputed by the raiser, resolved again and left final."""
    handle = await r.raise_escalation()
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", RECEIVING, "manager", outcome="Early help")
    )
    await handle.signal("dispute", {"by": "DSL", "reason": "No assessment"})
    await settle(r.env)
    _ = await handle.execute_update(
        EscalationWorkflow.act, act("resolved", RECEIVING, "executive", outcome="Assessment")
    )
    state = await state_of(handle)
    assert state.dispute_until is not None
    await advance_to(r.env, state.dispute_until + MINUTE)
    await r.finish(handle)


SECONDS_LADDER = ladder(
    "A first stage of seconds",
    *(4 * SECOND, HOUR, HOUR),
    steps={1: {"reminder_before": 2 * SECOND}},
)


async def reminder_after_outage(r: Recording) -> None:
    """No worker across stage 1's reminder and time limit (real seconds on the dev server: the
    time-skipping server holds its clock while a task waits for a worker). Back, the worker
    drops the late reminder (patched) and moves the escalation up."""
    assert r.engine is not None
    async with running_worker(r.env.client, r.config, r.engine, DIRECTORY):
        handle = await r.raise_escalation("seconds", SECONDS_LADDER)
        deadline = (await state_of(handle)).stage_deadline
    assert deadline is not None
    await asyncio.sleep((deadline - datetime.now(UTC)).total_seconds() + 1)  # the outage
    async with running_worker(r.env.client, r.config, r.engine, DIRECTORY):
        while (await state_of(handle)).stage < 2:
            await asyncio.sleep(0.2)
        await handle.signal("resolved", {"by": "Senior manager", "outcome": "Agreed"})
        await r.finish(handle)


# Recorded on the dev server in real time, each with its own workers.
REAL_TIME = {reminder_after_outage.__name__}


@activity.defn(name=NOTIFY)
async def notify_gives_up(request: NotificationInput) -> NotificationResult:
    """Stands in for notify once its last attempt has failed. Temporal keeps only the final
    failure in the history, so this gives the same history as ten real attempts against a mail
    server that is down, without waiting the hour of backoff between them."""
    raise ApplicationError("mail server refused every attempt", non_retryable=True)


def record_slowly(engine: AsyncEngine) -> Callable[[AuditEventInput], Awaitable[EventWritten]]:
    """The real audit activity, its first write held up as by a database that was away."""
    recorder = Recorder(engine)
    held: list[str] = []

    @activity.defn(name=RECORD_EVENT)
    async def record_event(event: AuditEventInput) -> EventWritten:
        if not held:
            held.append(event.event_key)
            await asyncio.sleep(1.5)  # past ON_TIME
        return await recorder.record_event(event)

    return record_event


Scenario = Callable[[Recording], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {
    scenario.__name__: scenario
    for scenario in (
        resolved_at_stage_1,
        resolved_at_stage_2,
        time_limits_passed,
        escalated_by_hand,
        overdue_with_reminders,
        withdrawn,
        notes,
        continued_as_new,
        cancelled,
        recorded_late,
        notifications_gave_up,
        acknowledged_late,
        extended,
        disputed,
        reminder_after_outage,
        scottish_calendar,
    )
}


async def record(names: list[str]) -> None:
    write_test_only_key()
    converter = data_converter(history_settings())
    skipping = [name for name in names if name not in REAL_TIME]
    real_time = [name for name in names if name in REAL_TIME]
    with (
        tempfile.TemporaryDirectory() as scratch,
        fresh_database("sqlite", Path(scratch)) as url,
    ):
        engine = create_engine(url)
        try:
            if skipping:
                env = await WorkflowEnvironment.start_time_skipping(
                    test_server_existing_path=str(BIN / "temporal-test-server"),
                    data_converter=converter,
                )
                try:
                    await ensure_search_attributes(env.client, "default")
                    for name in skipping:
                        await record_one(env, engine, name)
                finally:
                    await env.shutdown()
            if real_time:
                env = await WorkflowEnvironment.start_local(
                    dev_server_existing_path=str(BIN / "temporal"),
                    data_converter=converter,
                    search_attributes=ALL_KEYS,
                )
                try:
                    for name in real_time:
                        config = history_settings(task_queue=f"escalations-{name}")
                        await SCENARIOS[name](Recording(env, config, name, engine))
                finally:
                    await env.shutdown()
        finally:
            await engine.dispose()


async def record_one(env: WorkflowEnvironment, engine: AsyncEngine, name: str) -> None:
    async with escalation_worker(env.client, engine, DIRECTORY) as config:
        stand_ins: dict[str, list[Callable[..., Any]]] = {
            notifications_gave_up.__name__: [
                Recorder(engine).record_event,
                notify_gives_up,
            ],
            recorded_late.__name__: [
                record_slowly(engine),
                Notifier(engine, Outbox(config), "http://127.0.0.1:8000").notify,
            ],
        }
        if name not in stand_ins:
            await SCENARIOS[name](Recording(env, config, name))
            return
        # Its own worker on its own queue, with stand-ins for the activities in question.
        own = isolated_settings(task_queue=f"{config.task_queue}-{name}")
        async with Worker(
            env.client,
            task_queue=own.task_queue,
            workflows=[EscalationWorkflow],
            activities=[stage_clock, *stand_ins[name]],
        ):
            await SCENARIOS[name](Recording(env, own, name))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.record_histories",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenarios", nargs="*", help=f"any of: {', '.join(SCENARIOS)}")
    names = parser.parse_args(argv).scenarios or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    configure_logging("console", "ERROR")
    asyncio.run(record(names))
    print(
        f"Recorded {len(names)} scenario(s). Replay them: .venv/bin/python -m pytest -q "
        "tests/test_replay.py",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
