"""What the API accepts and answers. Limits are part of the contract, see the OpenAPI document."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, PlainSerializer

from casework.requests import IMMEDIATE_RISK_ADVICE
from database.tables import AuditEvent, Escalation
from workflows.models import Status

LONDON = ZoneInfo("Europe/London")

# Times are answered in London time with their offset ("2026-12-30T10:00:00+00:00").
LondonTime = Annotated[
    datetime, PlainSerializer(lambda moment: moment.astimezone(LONDON).isoformat(), return_type=str)
]


class CaseDetails(BaseModel):
    """What the raiser told us about the child and the disagreement; seen by involved agencies."""

    child_name: str | None
    child_date_of_birth: date | None
    summary: str | None
    category: str | None
    decision_disputed: str | None
    desired_outcome: str | None
    risk_reason: str | None


class EscalationOut(BaseModel):
    id: str
    status: Status
    overdue: bool
    stage: int
    stage_name: str
    stage_role: str
    stage_deadline: LondonTime | None
    raising_agency: str
    receiving_agency: str
    raised_by: str
    child_reference: str | None
    policy: str
    immediate_risk: bool
    created_at: LondonTime
    closed_at: LondonTime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    agreed_actions: list[str] = Field(default_factory=list)
    closing_reason: str | None = None
    acknowledge_by: LondonTime | None = None
    acknowledged_at: LondonTime | None = None
    acknowledged_by: str | None = None
    extensions_used: int = 0
    # While the raising agency may dispute the resolution (POST .../dispute); then null.
    dispute_until: LondonTime | None = None
    # Under a legal hold since (retention does not erase it while it stands); erased on: its case
    # details, notes and outcome erased under the retention rule (`case` and references null).
    held_at: LondonTime | None = None
    erased_at: LondonTime | None = None
    case: CaseDetails | None = None
    advice: str | None = None

    @classmethod
    def of(cls, row: Escalation, *, with_case: bool = False) -> "EscalationOut":
        out = cls.model_validate(row, from_attributes=True)
        if with_case and row.erased_at is None:
            out.case = CaseDetails.model_validate(row, from_attributes=True)
        if row.immediate_risk:
            out.advice = IMMEDIATE_RISK_ADVICE
        return out


class EscalationPage(BaseModel):
    items: list[EscalationOut]
    total: int
    limit: int
    offset: int


class TimelineEvent(BaseModel):
    action: str
    at: LondonTime
    actor: str
    stage: int
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> "TimelineEvent":
        return cls.model_validate(event, from_attributes=True)


class LegalHold(BaseModel):
    id: str
    status: Status
    raising_agency: str
    receiving_agency: str
    held_at: LondonTime
    held_by: str
    reason: str

    @classmethod
    def of(cls, row: Escalation) -> "LegalHold":
        assert row.held_at is not None and row.held_by is not None
        return cls(
            id=row.id,
            status=row.status,
            raising_agency=row.raising_agency,
            receiving_agency=row.receiving_agency,
            held_at=row.held_at,
            held_by=row.held_by,
            reason=row.hold_reason or "",
        )


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    temporal: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    worker: Literal["ok", "unavailable"]
    # Each check's word: "ok", "unavailable", or for the worker how long none has been seen.
    checks: dict[str, str]


class RaiseAcceptedOut(BaseModel):
    """A raise whose workflow is started but not yet recorded by a worker."""

    id: str
    status: Literal["pending"] = "pending"
    detail: str = (
        "Accepted: the escalation is raised as soon as a worker records it. Repeat the request "
        "with the same Idempotency-Key to read it."
    )


class Live(BaseModel):
    status: Literal["ok"]
