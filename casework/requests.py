"""What people and systems ask of casework about the case: the raise and a correction, with
their limits (each action's request: workflows/action_requests.py). The API's JSON bodies and
the pages' answers are validated by the same models.
"""

from datetime import date
from functools import cache
from typing import Annotated, Any, Self, cast

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.text import N_, refuse_control_characters
from database.case_seal import CaseField
from workflows.action_requests import LongText, Strict

ShortText = Annotated[str, Field(min_length=1, max_length=200)]

IMMEDIATE_RISK_ADVICE = N_(
    "Immediate risk of significant harm: contact MASH or the police (999) now. "
    "This escalation is recorded on the urgent track; it does not replace that call."
)


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

    # The receiving agency's name goes into every message about the escalation.
    _one_line = field_validator("receiving_agency")(refuse_control_characters)

    @field_validator("child_date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        return born_by_today(value)

    @model_validator(mode="after")
    def _risk_reason_with_risk(self) -> Self:
        if self.immediate_risk and not self.risk_reason:
            raise ValueError("risk_reason is required when immediate_risk is true")
        return self


def born_by_today(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise ValueError("date of birth is in the future")
    return value


@cache
def _case_field(name: str) -> TypeAdapter[Any]:
    info = RaiseRequest.model_fields[name]
    # The annotation with the raise's own constraints (lengths), built at run time.
    return TypeAdapter(cast(Any, Annotated[info.annotation, info]))


class CorrectionRequest(Strict):
    """`{"field", "value", "reason"}`: the value a case detail should have had (null clears an
    optional one; a date of birth as YYYY-MM-DD), and why. The value has the raise's limits."""

    field: CaseField
    value: Annotated[str, Field(max_length=10_000)] | None
    reason: LongText

    @field_validator("value")
    @classmethod
    def _fits_the_field(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "field" in info.data:  # else the field's own problem is named
            try:
                checked = _case_field(info.data["field"]).validate_python(value)
            except ValidationError as exc:
                raise ValueError(exc.errors()[0]["msg"].lower()) from None
            born_by_today(checked if isinstance(checked, date) else None)
        return value

    @property
    def case_value(self) -> Any:
        """The value as the record holds it (a date of birth as a date)."""
        return _case_field(self.field).validate_python(self.value)
