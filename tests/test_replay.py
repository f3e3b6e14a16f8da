"""Replay safety: today's workflow code must replay the saved history of every path through it.

A running escalation is replayed by whichever worker picks it up next, often one with newer code.
If that code would issue different commands than the history holds, the escalation is stuck, so
any non-deterministic change fails here first. How to change the workflow safely and when to
refresh the histories: docs/workflow-changes.md.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from core.temporal import data_converter
from tests.record_histories import SCENARIOS, history_files, history_settings, workflow_id
from workflows.escalation import EscalationWorkflow
from workflows.models import AuditAction, EscalationInput, EscalationState

HISTORY_FILES = history_files()
# Recorded before the stage clock and the audit write became local activities (patched).
REMINDED = (
    Path(__file__).parent / "histories" / "before-local-activities" / "resolved_at_stage_2.json"
)
FINAL_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def saved_history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(workflow_id(path), path.read_text(encoding="utf-8"))


def replayer(workflow_class: type = EscalationWorkflow, **options: Any) -> Replayer:
    # The production converter, codec included, under the test-only key the files were recorded
    # with: the histories are what Temporal stores for real escalations.
    return Replayer(
        workflows=[workflow_class], data_converter=data_converter(history_settings()), **options
    )


def test_every_path_has_a_saved_history() -> None:
    recorded = {path.name.split(".")[0] for path in history_files(current_only=True)}
    assert recorded == set(SCENARIOS), "run `python -m tests.record_histories` for the new path"


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda path: path.stem)
async def test_saved_history_replays(path: Path) -> None:
    history = saved_history(path)
    # A whole run, so replay goes through every command the workflow gave.
    assert history.events[-1].event_type in FINAL_EVENTS

    result = await replayer().replay_workflow(history)

    assert result.replay_failure is None


# --- the guard itself: a careless change fails, the same change behind a patch replays ---------


SKIP_REMINDER_RECORD = "skip-reminder-record"


@workflow.defn(name="Escalation")
class UnrecordedReminders(EscalationWorkflow):
    """A plausible "optimisation": stop writing reminders to the record."""

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationState:
        return await super().run(input)

    async def _record(self, action: AuditAction, actor: str, details: dict[str, Any]) -> datetime:
        if action == "reminder":
            return workflow.now()
        return await super()._record(action, actor, details)


@workflow.defn(name="Escalation")
class PatchedUnrecordedReminders(EscalationWorkflow):
    """The same change done safely: only escalations that reach this code after it ships."""

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationState:
        return await super().run(input)

    async def _record(self, action: AuditAction, actor: str, details: dict[str, Any]) -> datetime:
        if action == "reminder" and workflow.patched(SKIP_REMINDER_RECORD):
            return workflow.now()
        return await super()._record(action, actor, details)


# Test-module workflows replay outside the sandbox, which would re-import pytest inside it.
UNSANDBOXED = {"workflow_runner": UnsandboxedWorkflowRunner()}


async def test_a_non_deterministic_change_fails_replay() -> None:
    result = await replayer(UnrecordedReminders, **UNSANDBOXED).replay_workflow(
        saved_history(REMINDED), raise_on_replay_failure=False
    )

    assert isinstance(result.replay_failure, NondeterminismError)


async def test_the_same_change_behind_a_patch_replays() -> None:
    result = await replayer(PatchedUnrecordedReminders, **UNSANDBOXED).replay_workflow(
        saved_history(REMINDED)
    )

    assert result.replay_failure is None
