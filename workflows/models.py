"""What crosses the workflow boundary: inputs, signals, update requests, state and activity inputs.

One model per workflow, signal, update and activity, so fields can be added without breaking
running escalations. Signals accept plain JSON objects, as typed into the Temporal UI or CLI.
"""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflows.policy import Nation, Policy, Role, Span

# "terminated": closed outside the workflow (Temporal terminate), recorded by the reconciler.
Status = Literal["open", "resolved", "withdrawn", "cancelled", "terminated"]
SYSTEM_ACTOR = "system"
# Who acts from the Temporal UI or CLI: operations staff, outside any agency.
OPERATIONS_ACTOR = "operations"
TIME_LIMIT_PASSED = "time limit passed"


class EscalationFacts(BaseModel):
    """What an escalation is about, fixed when it is raised. No child data: that stays in the
    database."""

    escalation_id: str
    policy_name: str
    policy: Policy
    raising_agency: str
    receiving_agency: str
    raised_by: str
    immediate_risk: bool = False


class EscalationInput(EscalationFacts):
    start_stage: int = Field(default=1, ge=1)
    # History length after which the run continues as new (None: the workflow's default).
    continue_as_new_after_events: int | None = Field(default=None, ge=100)
    # Set only by continue-as-new: the state to carry on from.
    carried: "EscalationState | None" = None


def refuse_nul(value: Any) -> Any:
    """A field validator: PostgreSQL text cannot hold NUL, so no text may carry one."""
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("must not contain NUL characters")
    return value


# --- signals (the names operations staff use from the UI/CLI) --------------------------------


class Signal(BaseModel):
    # A rejected signal is logged by the SDK; its text may be about a child, so never echo it.
    model_config = ConfigDict(hide_input_in_errors=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # Refused here, or the audit write would retry forever on PostgreSQL.
        return refuse_nul(value)

    def action_fields(self) -> dict[str, Any]:
        """The signal as the fields of the action it asks for."""
        return self.model_dump()


class ResolvedSignal(Signal):
    by: str = Field(min_length=1, max_length=200)
    outcome: str = Field(min_length=1, max_length=10_000)
    agreed_actions: list[str] = Field(default_factory=list, max_length=50)


class EscalateSignal(Signal):
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=10_000)


class WithdrawSignal(Signal):
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=10_000)


class NoteSignal(Signal):
    by: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)


class AcknowledgeSignal(Signal):
    by: str = Field(min_length=1, max_length=200)


class ExtendSignal(Signal):
    """`{"by", "reason", "working_days": 3}` or `{"by", "reason", "duration": "PT12H"}`."""

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=10_000)
    working_days: int | None = None
    duration: timedelta | None = None

    @model_validator(mode="after")
    def _one_length(self) -> Self:
        _ = self.extension
        return self

    @property
    def extension(self) -> Span:
        return Span(working_days=self.working_days, duration=self.duration)

    def action_fields(self) -> dict[str, Any]:
        return {"by": self.by, "reason": self.reason, "extension": self.extension}


class DisputeSignal(Signal):
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=10_000)


# --- the API's update: validated and answered with the new state -----------------------------

ActionKind = Literal["resolved", "escalate", "withdraw", "note", "acknowledge", "extend", "dispute"]


SEALED_TEXT = 60_000
SEALED_ACTION = 12_000


class ActionRequest(BaseModel):
    """One action for the workflow's main loop: from the API's update, or built from a signal.

    Held to the same limits as the signals, so nothing the record cannot store gets in (a NUL
    would retry the audit write forever on PostgreSQL).
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    action: ActionKind
    by: str = Field(min_length=1, max_length=200)
    # An agency's person or key acts with its agency and role; operations staff with neither.
    agency: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    operations: bool = False
    # Texts arrive sealed with the escalation's key (database/case_cipher.py: base64 of UTF-8,
    # so up to 5.4 times the 10,000 characters the API takes); a signal's texts stay plain.
    outcome: str | None = Field(default=None, max_length=SEALED_TEXT)
    agreed_actions: list[Annotated[str, Field(max_length=SEALED_ACTION)]] = Field(
        default_factory=list, max_length=50
    )
    reason: str | None = Field(default=None, max_length=SEALED_TEXT)
    text: str | None = Field(default=None, max_length=SEALED_TEXT)
    # How much longer the stage gets (extend only).
    extension: Span | None = None
    # The API answers within a bound: a request still not taken by then is refused, not applied.
    respond_by: datetime | None = None

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    @model_validator(mode="after")
    def _one_kind_of_actor(self) -> Self:
        if self.operations:
            if self.agency is not None or self.role is not None:
                raise ValueError("operations staff act without an agency or role")
        elif self.agency is None or self.role is None:
            raise ValueError("give agency and role, or operations: true")
        return self


class Action(BaseModel):
    """An action waiting for the workflow's main loop, which alone writes the record."""

    seq: int
    request: ActionRequest
    # Whether someone waits for the answer (the API's update); signals get none.
    reply: bool = False


# --- state -----------------------------------------------------------------------------------


class EscalationState(EscalationFacts):
    status: Status = "open"
    stage: int = 1
    stage_started_at: datetime | None = None
    stage_deadline: datetime | None = None
    stage_deadline_text: str = ""
    reminder_at: datetime | None = None
    reminder_text: str = ""
    reminder_sent: bool = False
    overdue: bool = False
    next_overdue_reminder_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    agreed_actions: list[str] = Field(default_factory=list)
    closing_reason: str | None = None
    # Sequence of audit events written so far; makes each write idempotent.
    event_seq: int = 0
    raised: bool = False
    # The policy's own steps at the current stage (`steps_stage`: the stage they belong to).
    steps_stage: int = 0
    acknowledge_by: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledgement_overdue: bool = False
    extensions_used: int = 0
    # While the raising agency may still dispute the resolution; None once it is final.
    dispute_until: datetime | None = None
    dispute_until_text: str = ""

    @property
    def stage_name(self) -> str:
        return self.policy.stages[self.stage - 1].name

    @property
    def stage_role(self) -> Role:
        return self.policy.stages[self.stage - 1].role

    @property
    def at_top(self) -> bool:
        return self.stage == len(self.policy.stages)

    @property
    def steps_current(self) -> bool:
        """Whether the acknowledgement and extension fields are the current stage's."""
        return self.steps_stage == self.stage


# --- activity inputs and results -------------------------------------------------------------


class StageClockInput(BaseModel):
    start: datetime
    time_limit: Span
    reminder_lead: Span | None = None
    # Absent from histories recorded before the four nations: those ran on England's calendar.
    nation: Nation = "england"


class StageClock(BaseModel):
    deadline: datetime
    reminder_at: datetime | None = None
    # The deadline and the reminder as a person reads them, in London time ("Thu 3 Dec 17:00").
    deadline_text: str = ""
    reminder_text: str = ""


AuditAction = Literal[
    "raised",
    "escalated",
    "resolved",
    "withdrawn",
    "cancelled",
    "terminated",
    "clock_restarted",
    "note",
    "reminder",
    "overdue",
    "notified",
    "acknowledged",
    "acknowledgement overdue",
    "extended",
    "disputed",
    "outcome final",
    # A case detail corrected (written by the API, not the workflow: case details never reach it).
    "corrected",
    # Retention, written by the service beside the workflow: a legal hold placed or released, and
    # the case details erased when retention ended.
    "held",
    "hold released",
    "erased",
]


class EventWritten(BaseModel):
    """The audit activity's answer: when the event landed in the database."""

    written_at: datetime


class AuditEventInput(BaseModel):
    event_key: str
    escalation_id: str
    action: AuditAction
    at: datetime
    actor: str
    details: dict[str, Any] = Field(default_factory=dict)
    # The escalation as it stands after the event, for the read model.
    state: EscalationState


NotificationKind = Literal[
    "raised",
    "escalated",
    "reminder",
    "overdue",
    "resolved",
    "withdrawn",
    "acknowledged",
    "acknowledgement_reminder",
    "extended",
    "disputed",
    "cancelled",
]


class NotificationInput(BaseModel):
    notification_key: str
    escalation_id: str
    kind: NotificationKind
    raising_agency: str
    receiving_agency: str
    stage: int
    stage_name: str
    role: Role
    stage_deadline: datetime | None = None
    tell_partnership: bool = False
    # Whether the raising agency's practitioners are told too (the written outcome).
    tell_raiser: bool = False

    @field_validator("tell_raiser", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        # Notifications scheduled before this was a flag carry the raiser's name.
        return bool(value) if isinstance(value, str) else value

    # Until when the raising agency may dispute the outcome (a resolution open to dispute).
    dispute_until: datetime | None = None


class NotificationResult(BaseModel):
    sent: int = 0
    logged: int = 0
    failed: int = 0
    skipped: int = 0


EscalationInput.model_rebuild()


# Activity names (workflows/activity_contracts.py declares them): the worker registers the real
# activities under them, tests register stand-ins.
STAGE_CLOCK = "stage_clock"
RECORD_EVENT = "record_event"
NOTIFY = "notify"
NOTIFY_MAX_ATTEMPTS = 10
