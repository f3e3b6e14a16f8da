"""What operations staff do in the Temporal UI and CLI, exactly as docs/operations.md says: the
documented queries find the right escalations, the documented signal commands act, and each
escalation shows summaries a person understands. The dev server, a worker and the API.

The queries and commands are read out of the doc, so the doc cannot drift from what works.
"""

import asyncio
import json
import os
import re
import shlex
import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle

from activities.stage_clock import deadline_text
from core.calendar import shift_working_days
from core.directory import Directory
from core.payload_crypto import ENCODING
from core.policy_files import load_policies
from core.settings import Settings
from tests.api_stack import ApiStack
from tests.conftest import BIN, fresh_database
from tests.engine_helpers import audit_trail
from tests.ladders import SECOND, ladder
from tests.polling import eventually
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput, EscalationState
from workflows.policy import Policy

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
SUFFIX = uuid.uuid4().hex[:6]
# An apostrophe in a name the queries must find: the doc puts agency names in double quotes.
RAISER = f"Ops Children's Services {SUFFIX}"
RECEIVER = f"Ops Police {SUFFIX}"
OTHER = f"Ops NHS Trust {SUFFIX}"
THIRD = f"Ops School {SUFFIX}"
DIRECTORY_AGENCIES = [RAISER, RECEIVER, OTHER, THIRD]  # joined to the API stack's directory
CASE = {
    "child_reference": "OPS-1",
    "child_name": "Olivia Example",
    "summary": "Referral closed as threshold not met; the school still sees neglect.",
}
# The top stage passes in a second, so the escalation is overdue at once.
QUICK_TOP = ladder("One quick stage", SECOND)
NO_REMINDER = ladder(
    "One stage, no reminder",
    5,
    roles=("manager",),
    steps={1: {"reminder_before_working_days": 0}},
)


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite only: what is under test here is Temporal's side, not the database."""
    with fresh_database("sqlite", tmp_path_factory.mktemp("db")) as url:
        yield url


# --- the doc ---------------------------------------------------------------------------------


def documented_queries() -> dict[str, str]:
    """The "To find | Query" table: what each query finds, and the query."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| To find | Query |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| ([^|`]+?) \| `([^`]+)` \|$", table, re.MULTILINE)
    assert rows, "no queries in docs/operations.md"
    return dict(rows)


def documented_commands(prefix: str) -> list[str]:
    """Shell commands in the doc's sh blocks that start with `prefix`, continuations joined."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    lines = "\n".join(block.replace("\\\n", " ") for block in blocks).splitlines()
    commands = [line.strip() for line in lines if line.strip().startswith(prefix)]
    assert commands, f"no `{prefix}` commands in docs/operations.md"
    return commands


def fill(query: str, *, agency: str, stage: int) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return query.replace("<now>", now).replace("<agency>", agency).replace("<stage>", str(stage))


def cli_env(stack: ApiStack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    return {
        **env,
        "TEMPORAL_ADDRESS": stack.temporal.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": stack.settings.temporal_namespace,
        **extra,
    }


async def run_cli(argv: list[str], env: dict[str, str]) -> str:
    """Runs a command without blocking the loop: the API and the worker serve it from this loop."""
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


# --- escalations -----------------------------------------------------------------------------


async def raise_through_api(
    stack: ApiStack, raising: str, receiving: str, policy: str = "standard"
) -> dict[str, Any]:
    headers = await stack.key(raising, "practitioner")
    response = await stack.http.post(
        "/escalations",
        json={**CASE, "receiving_agency": receiving, "policy": policy},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    raised: dict[str, Any] = response.json()
    return raised


async def start_directly(
    stack: ApiStack, policy: Policy, raising: str, receiving: str
) -> WorkflowHandle[Any, EscalationState]:
    """Starts an escalation on a ladder of the test's own, as the API starts one."""
    request = EscalationInput(
        escalation_id=f"ESC-OPS{uuid.uuid4().hex[:8].upper()}",
        policy_name="operations-test",
        policy=policy,
        raising_agency=raising,
        receiving_agency=receiving,
        raised_by=f"Operations test ({raising})",
    )
    return await stack.temporal.start_workflow(
        EscalationWorkflow.run,
        request,
        id=request.escalation_id,
        task_queue=stack.settings.task_queue,
        search_attributes=initial_search_attributes(request),
    )


async def state_of(handle: WorkflowHandle[Any, Any]) -> EscalationState:
    state: EscalationState = await handle.query(EscalationWorkflow.state)
    return state


@pytest.fixture(scope="module")
async def overdue(api_stack: ApiStack) -> WorkflowHandle[Any, EscalationState]:
    """An escalation from OTHER to RAISER whose top stage's limit has passed."""
    handle = await start_directly(api_stack, QUICK_TOP, OTHER, RAISER)
    await eventually(lambda: _is_overdue(handle), "overdue")
    return handle


async def _is_overdue(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await state_of(handle)).overdue


async def summaries(stack: ApiStack, handle: WorkflowHandle[Any, Any]) -> dict[str, set[str]]:
    """The decoded summaries of the escalation's timers and activities, as the UI shows them."""
    found: dict[str, set[str]] = {"timers": set(), "activities": set()}
    kinds = {
        EventType.EVENT_TYPE_TIMER_STARTED: "timers",
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
        # Local activities (the stage clock, the record) show as markers with their summary.
        EventType.EVENT_TYPE_MARKER_RECORDED: "activities",
    }
    async for event in handle.fetch_history_events():
        kind = kinds.get(event.event_type)
        if kind and event.user_metadata.HasField("summary"):
            found[kind].add(await decoded(stack, event.user_metadata.summary))
    return found


async def decoded(stack: ApiStack, payload: Payload) -> str:
    # Readable as stored: the UI shows summaries without the codec endpoint.
    assert payload.metadata["encoding"] == b"json/plain"
    [text] = await stack.temporal.data_converter.decode([payload], [str])
    assert isinstance(text, str)
    return text


# --- the tests -------------------------------------------------------------------------------


async def test_documented_queries_find_the_right_escalations(
    api_stack: ApiStack, overdue: WorkflowHandle[Any, EscalationState]
) -> None:
    open_one = (await raise_through_api(api_stack, RAISER, RECEIVER))["id"]
    at_stage_2 = (await raise_through_api(api_stack, RAISER, RECEIVER))["id"]
    closed = (await raise_through_api(api_stack, OTHER, THIRD))["id"]
    board = await api_stack.key("Ops partnership", "board")
    moved = await api_stack.http.post(
        f"/escalations/{at_stage_2}/escalate", json={"reason": "No reply"}, headers=board
    )
    resolved = await api_stack.http.post(
        f"/escalations/{closed}/resolve", json={"outcome": "Strategy meeting held"}, headers=board
    )
    assert moved.json()["stage"] == 2 and resolved.json()["status"] == "resolved"
    # The policy's own steps: a ladder with an acknowledgement step, and an outcome by the
    # receiving agency that the raiser may still dispute.
    unacknowledged = (await raise_through_api(api_stack, OTHER, THIRD, "steps"))["id"]
    disputable = (await raise_through_api(api_stack, OTHER, THIRD))["id"]
    receiving_manager = await api_stack.key(THIRD, "manager")
    answered = await api_stack.http.post(
        f"/escalations/{disputable}/resolve", json={"outcome": "Agreed"}, headers=receiving_manager
    )
    assert answered.json()["dispute_until"] is not None
    mine = {open_one, at_stage_2, closed, overdue.id, unacknowledged, disputable}
    # What each documented query must find among this test's escalations (the agency: RAISER).
    expected = {
        "Every open escalation past its stage deadline": {overdue.id},
        "Overdue escalations (top stage, limit passed)": {overdue.id},
        "All escalations involving one agency": {open_one, at_stage_2, overdue.id},
        "Open escalations waiting on one agency": {overdue.id},
        "Open escalations at one stage": {at_stage_2},
        "Not yet acknowledged at their stage": {unacknowledged},
        "Resolutions the raiser may still dispute": {disputable},
    }
    queries = documented_queries()
    assert set(queries) == set(expected), "a documented query without a test, or the reverse"

    for what, query in queries.items():
        # Filled afresh at each look: `<now>` is a whole second, so a deadline a fraction of a
        # second before it is "before now" only once that second has passed.
        async def found(query: str = query, want: set[str] = expected[what]) -> Any:
            filled = fill(query, agency=RAISER, stage=2)
            ids = {e.id async for e in api_stack.temporal.list_workflows(filled)} & mine
            return ids if ids == want else None

        assert await eventually(found, what) == expected[what]

    # The same past-deadline query from the CLI, as the doc writes it (the shell fills in now).
    [command] = [c for c in documented_commands("temporal workflow list") if "StageDeadline" in c]
    listed = await run_cli(
        ["bash", "-c", command], {**cli_env(api_stack), "PATH": f"{BIN}:{os.environ['PATH']}"}
    )
    assert overdue.id in listed
    assert not {open_one, at_stage_2, closed} & set(listed.split())


async def test_documented_signal_commands_act_on_the_escalation(api_stack: ApiStack) -> None:
    raised = await raise_through_api(api_stack, RAISER, RECEIVER)
    handle = api_stack.temporal.get_workflow_handle_for(EscalationWorkflow.run, raised["id"])
    commands = {}
    for command in documented_commands("temporal workflow signal"):
        argv = shlex.split(command)
        commands[argv[argv.index("--name") + 1]] = argv
    typed = {name: json.loads(argv[argv.index("--input") + 1]) for name, argv in commands.items()}
    board = await api_stack.key("Ops partnership", "board")

    async def run(name: str, **env: str) -> None:
        argv = [str(BIN / "temporal"), *commands[name][1:]]
        argv[argv.index("--workflow-id") + 1] = raised["id"]
        await run_cli(argv, cli_env(api_stack, **env))

    # With the codec set as documented, what the operator typed is stored encrypted.
    await run(
        "escalate",
        TEMPORAL_CODEC_ENDPOINT=str(api_stack.http.base_url.join("/codec")),
        TEMPORAL_CODEC_AUTH=board["Authorization"],
    )

    async def on_record_at_stage_2() -> bool:
        read = await api_stack.http.get(f"/escalations/{raised['id']}", headers=board)
        return bool(read.json()["stage"] == 2)

    await eventually(on_record_at_stage_2, "stage 2 on the record")
    assert (await state_of(handle)).stage == 2

    await run("resolved")
    final = await handle.result()
    assert final.status == "resolved" and final.stage == 2
    assert final.outcome == typed["resolved"]["outcome"]
    assert final.agreed_actions == typed["resolved"]["agreed_actions"]

    signals = [
        event.workflow_execution_signaled_event_attributes
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    encodings = {s.signal_name: s.input.payloads[0].metadata["encoding"] for s in signals}
    assert encodings == {"escalate": ENCODING, "resolved": b"json/plain"}

    record = await audit_trail(api_stack.engine, raised["id"], with_notified=True)
    acted = {e.action: e for e in record if e.actor == typed["escalate"]["by"]}
    assert set(acted) == {"escalated", "resolved"}
    assert acted["escalated"].details["reason"] == typed["escalate"]["reason"]
    assert acted["escalated"].details["to_stage"] == 2
    assert acted["resolved"].details["outcome"] == typed["resolved"]["outcome"]
    assert await _search_attribute(handle, "EscalationStatus") == ["resolved"]


async def _search_attribute(handle: WorkflowHandle[Any, Any], name: str) -> Any:
    async def value() -> Any:
        return (await handle.describe()).search_attributes.get(name)

    return await eventually(value, name)


async def test_escalations_carry_summaries_a_person_understands(
    api_stack: ApiStack, overdue: WorkflowHandle[Any, EscalationState]
) -> None:
    raised = await raise_through_api(api_stack, RAISER, RECEIVER)
    handle = api_stack.temporal.get_workflow_handle_for(EscalationWorkflow.run, raised["id"])
    due = deadline_text(datetime.fromisoformat(raised["stage_deadline"]))
    reminder = deadline_text(
        shift_working_days(datetime.fromisoformat(raised["stage_deadline"]), -1)
    )

    described = await handle.describe()
    assert await described.static_summary() == (
        f"{raised['id']}: {RAISER} → {RECEIVER}, policy standard"
    )
    assert await described.static_details() == (
        "Ladder: 1. Line managers (5 working days) → 2. Senior and executive managers "
        "(5 working days) → 3. Safeguarding Children Partnership (14 working days)"
    )
    assert await current_details(handle) == f"**Open**, stage 1 of 3: Line managers, due {due}"
    shown = await eventually(lambda: _with_timer(api_stack, handle), "timer")
    assert shown == {
        "timers": {f"Stage 1 reminder at {reminder}, before the time limit due {due}"},
        "activities": {
            "Stage 1 time limit: 5 working days",
            "Record raised at stage 1",
            f"Notify {RAISER} and {RECEIVER} managers: raised",
        },
    }

    # A stage without a reminder waits on its time limit.
    plain = await start_directly(api_stack, NO_REMINDER, RAISER, RECEIVER)
    timers = (await eventually(lambda: _with_timer(api_stack, plain), "timer"))["timers"]
    assert timers == {
        f"Stage 1 time limit: 5 working days, due {(await state_of(plain)).stage_deadline_text}"
    }

    # At the top, past the limit: the partnership is reminded.
    top = await state_of(overdue)
    assert await current_details(overdue) == (
        f"**Open**, stage 1 of 1: Partnership, overdue since {top.stage_deadline_text}"
    )
    shown = await summaries(api_stack, overdue)
    assert "Overdue reminder to the partnership: every 2 working days" in shown["timers"]
    assert {
        "Next overdue reminder: 2 working days",
        "Record overdue at stage 1",
        "Notify the partnership board, the partnership business unit: overdue",
    } <= shown["activities"]


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the UI shows as the workflow's current details (Temporal's metadata query)."""
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def _with_timer(stack: ApiStack, handle: WorkflowHandle[Any, Any]) -> Any:
    # The activities before a wait are scheduled in the same workflow task as its timer.
    shown = await summaries(stack, handle)
    return shown if shown["timers"] else None


# --- the rest of the doc ---------------------------------------------------------------------


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \| ", DOC.read_text(encoding="utf-8"), re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_documented_files_load() -> None:
    """The doc's policy and directory examples are files the service accepts."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    policies = [tomllib.loads(b) for b in blocks if b.startswith("[policies.")]
    directories = [tomllib.loads(b) for b in blocks if b.startswith("[partnership]")]
    assert len(policies) == 1 and len(directories) == 1
    ladder = Policy.model_validate(policies[0]["policies"]["northshire"])
    assert [stage.name for stage in ladder.stages][-1] == "Independent chair"
    assert Directory.model_validate(directories[0]).agency("Northshire Police") is not None
    # The example file the embedded stack loads holds the same ladder.
    example = DOC.parent.parent / "config" / "policies.example.toml"
    assert load_policies(example)["northshire"] == ladder
