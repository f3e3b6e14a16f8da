"""One escalation: a durable walk up its partnership's ladder.

Each stage has a time limit; when it passes with no resolution the escalation raises itself to
the next stage. Managers resolve, escalate, withdraw or add notes (signals for the Temporal UI and
CLI, one validated update for the API). At the top stage nothing closes by itself: a missed limit
marks the escalation overdue and the partnership is reminded until someone decides.

A stage's time limit runs from when the escalation is on the record at that stage, so after an
outage (worker, Temporal or database away past a deadline) the next stage still gets its whole
limit: the ladder never climbs two stages at once. Cancelling the workflow (Temporal UI or CLI)
closes the escalation as `cancelled`, on the record and with both agencies told.

The main loop alone writes the escalation's events, one at a time and in the order things
happened, each idempotent (its key is the event sequence); notifications run beside it and
append their delivery receipts as they finish.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

# Pure models, passed through the sandbox: rebuilding pydantic classes for every workflow run
# would cost more than the workflow itself.
with workflow.unsafe.imports_passed_through():
    from workflows.actions import ACTIONS
    from workflows.activity_contracts import notify, record_event, stage_clock
    from workflows.models import (
        NOTIFY_MAX_ATTEMPTS,
        OPERATIONS_ACTOR,
        RECORD_EVENT,
        SYSTEM_ACTOR,
        TIME_LIMIT_PASSED,
        AcknowledgeSignal,
        Action,
        ActionKind,
        ActionRequest,
        AuditAction,
        AuditEventInput,
        DisputeSignal,
        EscalateSignal,
        EscalationFacts,
        EscalationInput,
        EscalationState,
        ExtendSignal,
        NoteSignal,
        NotificationInput,
        NotificationKind,
        ResolvedSignal,
        Signal,
        StageClock,
        StageClockInput,
        WithdrawSignal,
    )
    from workflows.policy import Span
    from workflows.rules import TOO_LATE, check_action, closed, disputable, too_long
    from workflows.search_attributes import (
        DISPUTE_UNTIL,
        ESCALATION_ACKNOWLEDGED,
        ESCALATION_OVERDUE,
        ESCALATION_STAGE,
        ESCALATION_STATUS,
        RAISING_AGENCY,
        RECEIVING_AGENCY,
        STAGE_DEADLINE,
    )

# The worker's Prometheus exporter names it escalation_time_limit_lag (seconds).
TIME_LIMIT_LAG = "escalation_time_limit_lag"

# The policy's own steps beside the ladder (issue 11); each has a method of its own below.
STEP_ACTIONS = ("acknowledge", "extend", "dispute")
# Marks runs that hold a resolution open to dispute; older runs complete on resolution.
DISPUTE_WINDOW_PATCH = "dispute-window"

# Marks runs where a "time limit approaching" reminder that fired after its time limit (the
# worker was away) is dropped; before it such a reminder was sent late. Only that moment asks.
NO_LATE_REMINDER_PATCH = "no-late-reminder"

# Continue-as-new well before Temporal's own limits (months of overdue reminders).
HISTORY_EVENTS_BEFORE_CONTINUE = 2_000

# The patch (docs/workflow-changes.md) behind two changes; escalations whose history predates it
# replay the old way. One id, because each patch costs a marker and a search attribute upsert:
# - the stage clock runs from when the step was taken, not from the previous deadline or the raise;
# - the stage clock and the audit write run as local activities (fewer events and tasks a step).
STEPS_TAKEN_LOCALLY = "stage-clock-from-record-local-activities"
# A stage whose step is taken within this of when it was due starts when it was due (the clock
# stays exact to the second); later (the worker, Temporal or the database was away), when taken.
ON_TIME = timedelta(seconds=1)

RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=NOTIFY_MAX_ATTEMPTS,
)

TimerKind = Literal["reminder", "deadline", "overdue_reminder", "acknowledgement", "dispute_window"]


def initial_search_attributes(input: EscalationInput) -> TypedSearchAttributes:
    """What the starter sets, so a new escalation is findable before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(ESCALATION_STATUS, "open"),
            SearchAttributePair(ESCALATION_STAGE, input.start_stage),
            SearchAttributePair(RAISING_AGENCY, input.raising_agency),
            SearchAttributePair(RECEIVING_AGENCY, input.receiving_agency),
            SearchAttributePair(ESCALATION_OVERDUE, False),
        ]
    )


def notify_audience(request: NotificationInput) -> str:
    """Who a notification goes to, as the Temporal UI shows it (the directory picks the people)."""
    if request.role == "board":
        audience = ["the partnership board"]
    else:
        agencies = f"{request.raising_agency} and {request.receiving_agency}"
        audience = [f"{agencies} {request.role}s"]
    if request.tell_partnership:
        audience.append("the partnership business unit")
    if request.tell_raiser:
        audience.append(f"{request.raising_agency} practitioners")
    return ", ".join(audience)


@workflow.defn(name="Escalation")
class EscalationWorkflow:
    @workflow.init
    def __init__(self, input: EscalationInput) -> None:
        self._input = input
        self._state = input.carried or EscalationState(
            **input.model_dump(include=set(EscalationFacts.model_fields)),
            stage=min(input.start_stage, len(input.policy.stages)),
        )
        self._queue: list[Action] = []
        self._action_seq = 0
        self._answers: dict[int, ApplicationError | None] = {}
        self._notifications: list[asyncio.Task[None]] = []
        self._published: tuple[Any, ...] = ()
        self._dispute_shown = False

    # --- how people act ------------------------------------------------------------------

    # Signals take plain JSON. One that does not fit its model arrives as a dict and is checked
    # here, so it is one clear warning (never its text: it may be about a child) and changes
    # nothing.

    @workflow.signal(name="resolved")
    def resolved(self, signal: ResolvedSignal | dict[str, Any]) -> None:
        self._signalled("resolved", signal)

    @workflow.signal(name="escalate")
    def escalate(self, signal: EscalateSignal | dict[str, Any]) -> None:
        self._signalled("escalate", signal)

    @workflow.signal(name="withdraw")
    def withdraw(self, signal: WithdrawSignal | dict[str, Any]) -> None:
        self._signalled("withdraw", signal)

    @workflow.signal(name="note")
    def note(self, signal: NoteSignal | dict[str, Any]) -> None:
        self._signalled("note", signal)

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        workflow.logger.warning(
            "signal %r ignored: not a signal of this workflow (known: %s)",
            name,
            ", ".join(ACTIONS),
        )

    def _signalled(self, name: ActionKind, signal: Signal | dict[str, Any]) -> None:
        if isinstance(signal, dict):
            try:
                signal = ACTIONS[name].signal.model_validate(signal)
            except ValidationError as invalid:
                workflow.logger.warning("signal %r ignored: %s", name, _problems(invalid))
                return
        self._enqueue(ActionRequest(action=name, operations=True, **signal.action_fields()))

    @workflow.signal(name="acknowledge")
    def acknowledge(self, signal: AcknowledgeSignal | dict[str, Any]) -> None:
        self._signalled("acknowledge", signal)

    @workflow.signal(name="extend")
    def extend(self, signal: ExtendSignal | dict[str, Any]) -> None:
        self._signalled("extend", signal)

    @workflow.signal(name="dispute")
    def dispute(self, signal: DisputeSignal | dict[str, Any]) -> None:
        self._signalled("dispute", signal)

    @workflow.update(name="act")
    async def act(self, request: ActionRequest) -> EscalationState:
        seq = self._enqueue(request, reply=True)
        await workflow.wait_condition(lambda: seq in self._answers)
        problem = self._answers.pop(seq)
        if problem is not None:
            raise problem
        return self._state

    @act.validator
    def _validate_act(self, request: ActionRequest) -> None:
        # An update waits for a worker; once its caller has been answered 503 ("not applied"),
        # a worker back from an outage must not apply it. (Validators do not run on replay.)
        if request.respond_by is not None and workflow.now() > request.respond_by:
            raise ApplicationError("the request came too late to be taken", type=TOO_LATE)
        check_action(self._state, request)

    @workflow.update(name="raise_recorded")
    async def raise_recorded(self) -> EscalationState:
        """Answers once the raise is on the record: the API's read-your-write after starting."""
        await workflow.wait_condition(lambda: self._state.raised)
        return self._state

    @workflow.query(name="state")
    def state(self) -> EscalationState:
        return self._state

    def _enqueue(self, request: ActionRequest, *, reply: bool = False) -> int:
        self._action_seq += 1
        self._queue.append(Action(seq=self._action_seq, request=request, reply=reply))
        return self._action_seq

    # --- the ladder ----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationState:
        state = self._state
        try:
            await self._climb()
        except asyncio.CancelledError:
            await self._cancelled()
        self._publish()
        while not await self._settled():  # actions that arrived after the escalation closed
            for action in self._queue:
                self._answer(action, closed(state.status))
            self._queue.clear()
        return state

    async def _climb(self) -> None:
        """From the raise until the escalation closes."""
        state = self._state
        if not state.raised:
            raised_at = workflow.info().workflow_start_time
            if workflow.patched(STEPS_TAKEN_LOCALLY):
                raised_at = _taken_at(raised_at)
            state.stage_started_at = raised_at
            await self._start_stage_clock(state.stage_started_at)
            details: dict[str, Any] = {"policy": state.policy_name, "stage": state.stage_name}
            if state.immediate_risk:
                details["immediate_risk"] = True
            written = await self._record("raised", state.raised_by, details)
            await self._restart_clock_if_recorded_late(written)
            state.raised = True
            self._notify("raised")

        while state.status == "open" or state.dispute_until is not None:
            self._publish()
            kind, due = self._next_timer()
            timeout = due - workflow.now()
            if not self._queue and timeout > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self._queue),
                        timeout=timeout,
                        timeout_summary=self._timer_summary(kind),
                    )
            if self._queue:
                await self._take(self._queue.pop(0))
            elif workflow.now() >= due:
                await self._on_timer(kind, due)
            if state.status == "open" and self._history_is_long():
                await self._continue_as_new()

    async def _cancelled(self) -> None:
        """Cancelled from the Temporal UI or CLI: closed on the record, the agencies told."""
        state = self._state
        if state.status != "open":
            return  # closed already; the cancel only cut short the wait for notifications
        state.status = "cancelled"
        state.closed_at = workflow.now()
        state.closed_by = OPERATIONS_ACTOR
        await self._record(
            "cancelled", OPERATIONS_ACTOR, {"reason": "workflow cancelled in Temporal"}
        )
        self._notify("cancelled", tell_raiser=True)

    async def _settled(self, within: timedelta | None = None) -> bool:
        """Waits until handlers and notifications are done (True), or an action arrives or the
        time `within` passes first (False)."""
        try:
            await workflow.wait_condition(
                lambda: (
                    bool(self._queue)
                    or (workflow.all_handlers_finished() and self._notifications_done())
                ),
                timeout=within,
            )
        except TimeoutError:
            return False
        return not self._queue

    def _next_timer(self) -> tuple[TimerKind, datetime]:
        state = self._state
        if state.dispute_until is not None:
            return "dispute_window", state.dispute_until
        kind, due = self._ladder_timer()
        acknowledgement = self._acknowledgement_due()
        if acknowledgement is not None and acknowledgement < due:
            return "acknowledgement", acknowledgement
        return kind, due

    def _ladder_timer(self) -> tuple[TimerKind, datetime]:
        state = self._state
        assert state.stage_deadline is not None
        if state.overdue:
            assert state.next_overdue_reminder_at is not None
            return "overdue_reminder", state.next_overdue_reminder_at
        if state.reminder_at is not None and not state.reminder_sent:
            return "reminder", state.reminder_at
        return "deadline", state.stage_deadline

    def _timer_summary(self, kind: TimerKind) -> str:
        state = self._state
        stage = state.policy.stages[state.stage - 1]
        if kind == "deadline":
            return (
                f"Stage {state.stage} time limit: {stage.time_limit.describe()}, "
                f"due {state.stage_deadline_text}"
            )
        if kind == "reminder":
            return (
                f"Stage {state.stage} reminder at {state.reminder_text}, before the time limit "
                f"due {state.stage_deadline_text}"
            )
        if kind == "acknowledgement":
            return f"Stage {state.stage} acknowledgement due"
        if kind == "dispute_window":
            return f"The raiser may dispute the outcome until {state.dispute_until_text}"
        every = state.policy.overdue_reminder_interval.describe()
        return f"Overdue reminder to the partnership: every {every}"

    async def _on_timer(self, kind: TimerKind, due: datetime) -> None:
        state = self._state
        if kind in ("acknowledgement", "dispute_window"):
            await self._on_step_timer(kind)
        elif kind == "reminder":
            state.reminder_sent = True
            assert state.stage_deadline is not None
            passed = workflow.now() >= state.stage_deadline
            if passed and workflow.patched(NO_LATE_REMINDER_PATCH):
                # The limit it warns of has passed: the move-up that follows says it all.
                workflow.logger.info("reminder dropped: its time limit has passed")
                return
            await self._record("reminder", SYSTEM_ACTOR, {"due": state.stage_deadline_text})
            self._notify("reminder")
        elif kind == "deadline" and not state.at_top:
            self._time_limit_lag(due)
            await self._move_up(SYSTEM_ACTOR, TIME_LIMIT_PASSED, start=due)
        else:
            self._time_limit_lag(due)
            first = not state.overdue
            state.overdue = True
            every = state.policy.overdue_reminder_interval
            reminder = await self._step_clock(
                due, every, f"Next overdue reminder: {every.describe()}"
            )
            state.next_overdue_reminder_at = reminder.deadline
            if first:
                await self._record("overdue", SYSTEM_ACTOR, {"reason": TIME_LIMIT_PASSED})
                self._notify("overdue")
            else:
                await self._record("reminder", SYSTEM_ACTOR, {"overdue": True})
                self._notify("reminder")

    def _time_limit_lag(self, due: datetime) -> None:
        """How late a time limit was acted on (a worker outage shows here); the SDK records no
        metric on replay, so this changes nothing in the history."""
        workflow.metric_meter().create_histogram_timedelta(
            TIME_LIMIT_LAG, "How long after its time limit an escalation was moved on", "s"
        ).record(workflow.now() - due, {"policy": self._state.policy_name})

    async def _take(self, action: Action) -> None:
        state, request = self._state, action.request
        try:
            # Again, now: the stage may have moved on since the request was accepted.
            check_action(state, request)
        except ApplicationError as problem:
            workflow.logger.warning("ignored %s: %s", request.action, problem)
            self._answer(action, problem)
            return
        if request.action in STEP_ACTIONS:
            self._answer(action, await self._take_step(request))
            return
        if request.action == "escalate":
            await self._move_up(request.by, request.reason or "", start=workflow.now())
        elif request.action == "note":
            await self._record("note", request.by, {"text": request.text})
        else:
            state.status = "resolved" if request.action == "resolved" else "withdrawn"
            state.closed_at = workflow.now()
            state.closed_by = request.by
            if request.action == "resolved":
                state.outcome = request.outcome
                state.agreed_actions = list(request.agreed_actions)
                details: dict[str, Any] = {
                    "outcome": request.outcome,
                    "agreed_actions": request.agreed_actions,
                }
                if await self._open_dispute_window(request):
                    assert state.dispute_until is not None
                    details["dispute_until"] = state.dispute_until.isoformat()
            else:
                state.closing_reason = request.reason
                details = {"reason": request.reason}
            await self._record(state.status, request.by, details)
            self._notify(state.status, tell_raiser=True)
        self._answer(action, None)

    def _answer(self, action: Action, problem: ApplicationError | None) -> None:
        if action.reply:
            self._answers[action.seq] = problem

    async def _move_up(self, actor: str, reason: str, *, start: datetime) -> None:
        """Up one stage. `start` is when the move was due; the new stage's clock starts now."""
        state = self._state
        previous = state.stage
        if workflow.patched(STEPS_TAKEN_LOCALLY):
            start = _taken_at(start)
        state.stage += 1
        state.stage_started_at = start
        state.overdue = False
        state.next_overdue_reminder_at = None
        await self._start_stage_clock(start)
        written = await self._record(
            "escalated", actor, {"reason": reason, "from_stage": previous, "to_stage": state.stage}
        )
        await self._restart_clock_if_recorded_late(written)
        self._notify("escalated")

    async def _restart_clock_if_recorded_late(self, written: datetime) -> None:
        """The stage's people get its whole limit from when the record shows the stage: a write
        held up (the database away) restarts the clock from when it landed, and says so."""
        state = self._state
        assert state.stage_started_at is not None
        if not workflow.patched(STEPS_TAKEN_LOCALLY):
            return
        if written - state.stage_started_at <= ON_TIME:
            return
        previous = state.stage_deadline_text
        state.stage_started_at = written
        await self._start_stage_clock(state.stage_started_at)
        await self._record(
            "clock_restarted",
            SYSTEM_ACTOR,
            {
                "reason": "the record was written late",
                "previous_deadline": previous,
                "deadline": state.stage_deadline_text,
            },
        )

    async def _start_stage_clock(self, start: datetime) -> None:
        state = self._state
        stage = state.policy.stages[state.stage - 1]
        clock = await self._clock(
            StageClockInput(
                start=start,
                time_limit=stage.time_limit,
                reminder_lead=stage.reminder_lead,
                nation=state.policy.nation,
            ),
            summary=f"Stage {state.stage} time limit: {stage.time_limit.describe()}",
        )
        state.stage_deadline = clock.deadline
        state.stage_deadline_text = clock.deadline_text
        state.reminder_at = (
            clock.reminder_at if clock.reminder_at and clock.reminder_at > start else None
        )
        state.reminder_text = clock.reminder_text
        state.reminder_sent = False
        await self._begin_stage_steps(start)

    async def _clock(self, request: StageClockInput, *, summary: str) -> StageClock:
        # Pure computation on the calendar: a local activity, so no extra round trip.
        if workflow.patched(STEPS_TAKEN_LOCALLY):
            return await workflow.execute_local_activity(
                stage_clock, request, start_to_close_timeout=timedelta(seconds=30), summary=summary
            )
        return await workflow.execute_activity(
            stage_clock, request, start_to_close_timeout=timedelta(seconds=30), summary=summary
        )

    # --- the policy's own steps: acknowledgement, agreed extensions, the raiser's dispute ---

    async def _begin_stage_steps(self, start: datetime) -> None:
        """A new stage is acknowledged afresh and has its own extensions."""
        state = self._state
        stage = state.policy.stages[state.stage - 1]
        state.steps_stage = state.stage
        state.acknowledged_at = state.acknowledged_by = state.acknowledge_by = None
        state.acknowledgement_overdue = False
        state.extensions_used = 0
        if stage.acknowledge_within is not None:
            clock = await self._step_clock(
                start,
                stage.acknowledge_within,
                f"Stage {state.stage} acknowledgement: {stage.acknowledge_within.describe()}",
            )
            state.acknowledge_by = clock.deadline

    def _acknowledgement_due(self) -> datetime | None:
        state = self._state
        if (
            state.status != "open"
            or not state.steps_current
            or state.acknowledged_at is not None
            or state.acknowledgement_overdue
        ):
            return None
        return state.acknowledge_by

    async def _step_clock(
        self, start: datetime, span: Span, summary: str, reminder_lead: Span | None = None
    ) -> StageClock:
        """`span` on from `start` on the calendar (overdue reminders, the policy's steps)."""
        return await self._clock(
            StageClockInput(
                start=start,
                time_limit=span,
                reminder_lead=reminder_lead,
                nation=self._state.policy.nation,
            ),
            summary=summary,
        )

    async def _on_step_timer(self, kind: TimerKind) -> None:
        state = self._state
        if kind == "dispute_window":
            state.dispute_until, state.dispute_until_text = None, ""
            await self._record("outcome final", SYSTEM_ACTOR, {"reason": "dispute window passed"})
            return
        state.acknowledgement_overdue = True
        assert state.acknowledge_by is not None
        await self._record(
            "acknowledgement overdue", SYSTEM_ACTOR, {"due": state.acknowledge_by.isoformat()}
        )
        self._notify("acknowledgement_reminder")

    async def _take_step(self, request: ActionRequest) -> ApplicationError | None:
        state = self._state
        if request.action == "acknowledge":
            state.acknowledged_at, state.acknowledged_by = workflow.now(), request.by
            await self._record("acknowledged", request.by, {})
            self._notify("acknowledged", tell_raiser=True)
            return None
        if request.action == "extend":
            return await self._extend(request)
        await self._reopen_disputed(request)
        return None

    async def _extend(self, request: ActionRequest) -> ApplicationError | None:
        """Moves the stage's deadline on by the agreed extension, on the working-day calendar,
        from the current deadline; the reminder moves with it."""
        state = self._state
        stage = state.policy.stages[state.stage - 1]
        assert request.extension is not None and state.stage_deadline is not None
        old_deadline, old_text = state.stage_deadline, state.stage_deadline_text
        clock = await self._step_clock(
            old_deadline,
            request.extension,
            f"Stage {state.stage} extended by {request.extension.describe()}",
            reminder_lead=stage.reminder_lead,
        )
        if request.extension.exceeds(stage.extension_limit) is None:
            # One in working days, the other in hours: the calendar decides.
            limit = await self._step_clock(
                old_deadline, stage.extension_limit, f"Stage {state.stage} longest extension"
            )
            if clock.deadline > limit.deadline:
                return too_long(state.stage, stage.extension_limit)
        now = workflow.now()
        state.extensions_used += 1
        state.stage_deadline, state.stage_deadline_text = clock.deadline, clock.deadline_text
        if clock.reminder_at is not None and clock.reminder_at > now:
            state.reminder_at, state.reminder_sent = clock.reminder_at, False
        if state.overdue and clock.deadline > now:
            state.overdue, state.next_overdue_reminder_at = False, None
        await self._record(
            "extended",
            request.by,
            {
                "reason": request.reason,
                "extension": request.extension.describe(),
                "from_deadline": old_deadline.isoformat(),
                "to_deadline": clock.deadline.isoformat(),
                "from": old_text,
                "to": clock.deadline_text,
            },
        )
        self._notify("extended")
        return None

    async def _open_dispute_window(self, request: ActionRequest) -> bool:
        """Holds a disputable resolution open for the policy's dispute window."""
        state = self._state
        if not disputable(state, request) or not workflow.patched(DISPUTE_WINDOW_PATCH):
            return False
        clock = await self._step_clock(
            workflow.now(),
            state.policy.dispute_within,
            f"Dispute window: {state.policy.dispute_within.describe()}",
        )
        state.dispute_until, state.dispute_until_text = clock.deadline, clock.deadline_text
        return True

    async def _reopen_disputed(self, request: ActionRequest) -> None:
        """The raiser disputes the outcome: open again, at the next stage with a fresh limit."""
        state = self._state
        details = {
            "reason": request.reason,
            "outcome": state.outcome,
            "from_stage": state.stage,
            "to_stage": state.stage + 1,
        }
        state.dispute_until, state.dispute_until_text = None, ""
        # Told as the resolution it disputes, before it opens a stage up.
        await self._record("disputed", request.by, details)
        self._notify("disputed", tell_raiser=True)
        state.status = "open"
        state.closed_at = state.closed_by = state.outcome = None
        state.agreed_actions = []
        await self._move_up(request.by, request.reason or "", start=workflow.now())

    def _step_search_attributes(self) -> list[Any]:
        """Published only for escalations that use the steps, so older runs replay unchanged."""
        state = self._state
        updates: list[Any] = []
        if any(stage.acknowledge_within for stage in state.policy.stages):
            acknowledged = state.steps_current and state.acknowledged_at is not None
            updates.append(ESCALATION_ACKNOWLEDGED.value_set(acknowledged))
        if state.dispute_until is not None:
            self._dispute_shown = True
            updates.append(DISPUTE_UNTIL.value_set(state.dispute_until))
        elif self._dispute_shown:
            updates.append(DISPUTE_UNTIL.value_unset())
        return updates

    def _step_details(self) -> str:
        """What the summary adds about the steps."""
        state = self._state
        if state.dispute_until is not None:
            return f", open to dispute by the raiser until {state.dispute_until_text}"
        if state.status != "open" or not state.steps_current:
            return ""
        parts = []
        if state.acknowledged_at is not None:
            parts.append(f"acknowledged by {state.acknowledged_by}")
        elif state.acknowledgement_overdue:
            parts.append("acknowledgement overdue")
        if state.extensions_used:
            parts.append(f"extended {state.extensions_used}x")
        return "".join(f", {part}" for part in parts)

    # --- the record and the people told --------------------------------------------------

    async def _record(self, action: AuditAction, actor: str, details: dict[str, Any]) -> datetime:
        """Writes one event; answers when it was written (in histories from before the patch,
        which hold no such answer, the workflow's own time)."""
        state = self._state
        state.event_seq += 1
        event = AuditEventInput(
            event_key=f"{state.escalation_id}:{state.event_seq}",
            escalation_id=state.escalation_id,
            action=action,
            at=workflow.now(),
            actor=actor,
            details=details,
            state=state,
        )
        summary = f"Record {action} at stage {state.stage}"
        timeout = timedelta(seconds=30)
        if workflow.patched(STEPS_TAKEN_LOCALLY):
            written = await workflow.execute_local_activity(
                record_event,
                event,
                start_to_close_timeout=timeout,
                retry_policy=RECORD_RETRY,
                summary=summary,
            )
            return written.written_at
        # By name: before the patch the activity answered nothing, and its history says so.
        await workflow.execute_activity(
            RECORD_EVENT,
            event,
            start_to_close_timeout=timeout,
            retry_policy=RECORD_RETRY,
            summary=summary,
            result_type=type(None),
        )
        return workflow.now()

    def _notify(self, kind: NotificationKind, *, tell_raiser: bool = False) -> None:
        state = self._state
        request = NotificationInput(
            notification_key=f"{state.escalation_id}:{state.event_seq}",
            escalation_id=state.escalation_id,
            kind=kind,
            raising_agency=state.raising_agency,
            receiving_agency=state.receiving_agency,
            stage=state.stage,
            stage_name=state.stage_name,
            role=state.stage_role,
            stage_deadline=state.stage_deadline if state.status == "open" else None,
            tell_partnership=state.stage >= state.policy.partnership_stage,
            tell_raiser=tell_raiser,
            dispute_until=state.dispute_until,
        )
        # In the background: a slow or failing mail server never holds up the clock.
        self._notifications.append(asyncio.create_task(self._deliver(request)))

    async def _deliver(self, request: NotificationInput) -> None:
        try:
            await workflow.execute_activity(
                notify,
                request,
                # Deliveries heartbeat one by one: a worker that dies mid-batch is noticed within
                # seconds, and the retry sends only what was not sent.
                start_to_close_timeout=timedelta(minutes=1),
                heartbeat_timeout=timedelta(seconds=15),
                retry_policy=NOTIFY_RETRY,
                summary=f"Notify {notify_audience(request)}: {request.kind}",
            )
        except ActivityError as failure:
            workflow.logger.warning(
                "notification %s gave up: %s", request.notification_key, failure
            )

    def _notifications_done(self) -> bool:
        return all(task.done() for task in self._notifications)

    # --- what operations staff see ---------------------------------------------------------

    def _publish(self) -> None:
        state = self._state
        deadline = state.stage_deadline if state.status == "open" else None
        current = (state.status, state.stage, deadline, state.overdue, self._step_details())
        if current == self._published:
            return
        self._published = current
        workflow.upsert_search_attributes(
            [
                ESCALATION_STATUS.value_set(state.status),
                ESCALATION_STAGE.value_set(state.stage),
                RAISING_AGENCY.value_set(state.raising_agency),
                RECEIVING_AGENCY.value_set(state.receiving_agency),
                STAGE_DEADLINE.value_set(deadline) if deadline else STAGE_DEADLINE.value_unset(),
                ESCALATION_OVERDUE.value_set(state.overdue),
                *self._step_search_attributes(),
            ]
        )
        stages = len(state.policy.stages)
        if state.status == "open":
            due = (
                f"overdue since {state.stage_deadline_text}"
                if state.overdue
                else f"due {state.stage_deadline_text}"
            )
            details = f"**Open**, stage {state.stage} of {stages}: {state.stage_name}, {due}"
        else:
            details = (
                f"**{state.status.capitalize()}** at stage {state.stage} of {stages}: "
                f"{state.stage_name}"
            )
        workflow.set_current_details(details + self._step_details())

    # --- continue-as-new ---------------------------------------------------------------------

    def _history_is_long(self) -> bool:
        info = workflow.info()
        limit = self._input.continue_as_new_after_events or HISTORY_EVENTS_BEFORE_CONTINUE
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    async def _continue_as_new(self) -> None:
        # Notifications still retrying must not hold up the next stage clock: wait for them only
        # until the next timer; the next turn of the loop comes back here.
        until_timer = self._next_timer()[1] - workflow.now()
        if until_timer > timedelta(0) and await self._settled(within=until_timer):
            workflow.continue_as_new(self._input.model_copy(update={"carried": self._state}))


def _problems(invalid: ValidationError) -> str:
    """What is wrong with a signal, by field; never the values sent."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'input'}: {error['msg']}"
        for error in invalid.errors(include_input=False)
    )


def _taken_at(due: datetime) -> datetime:
    """When a step due at `due` counts as taken: then, or now if the service was away."""
    now = workflow.now()
    return due if now - due <= ON_TIME else now
