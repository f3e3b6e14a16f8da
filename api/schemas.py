"""What the API accepts and answers. Limits are part of the contract, see the OpenAPI document."""

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from activities.records import AuditEvent, Escalation
from workflows.models import refuse_nul

LONDON = ZoneInfo("Europe/London")

# Times are answered in London time with their offset ("2026-12-30T10:00:00+00:00").
LondonTime = Annotated[
    datetime, PlainSerializer(lambda moment: moment.astimezone(LONDON).isoformat(), return_type=str)
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=10_000)]
# PostgreSQL text cannot hold NUL: refused at the door, with the field named, never at the database.
NO_NUL = r"^[^\x00]*$"

IMMEDIATE_RISK_ADVICE = (
    "Immediate risk of significant harm: contact MASH or the police (999) now. "
    "This escalation is recorded on the urgent track; it does not replace that call."
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class RaiseRequest(Strict):
    receiving_agency: ShortText
    child_reference: Annotated[str, Field(min_length=1, max_length=100)]
    summary: LongText = Field(description="The disagreement, evidence-based.")
    child_name: ShortText | None = None
    child_date_of_birth: date | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    decision_disputed: LongText | None = None
    desired_outcome: LongText | None = None
    immediate_risk: bool = False
    risk_reason: LongText | None = None
    policy: Annotated[str, Field(min_length=1, max_length=100)] = "standard"

    @field_validator("child_date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("date of birth is in the future")
        return value

    @model_validator(mode="after")
    def _risk_reason_with_risk(self) -> Self:
        if self.immediate_risk and not self.risk_reason:
            raise ValueError("risk_reason is required when immediate_risk is true")
        return self


class ResolveRequest(Strict):
    outcome: LongText
    agreed_actions: list[Annotated[str, Field(min_length=1, max_length=2_000)]] = Field(
        default_factory=list, max_length=50
    )


class ReasonRequest(Strict):
    reason: LongText


class NoteRequest(Strict):
    text: LongText


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
    status: Literal["open", "resolved", "withdrawn"]
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
    case: CaseDetails | None = None
    advice: str | None = None

    @classmethod
    def of(cls, row: Escalation, *, with_case: bool = False) -> "EscalationOut":
        out = cls.model_validate(row, from_attributes=True)
        if with_case:
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


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    temporal: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
