"""What people and systems ask of casework to raise an escalation, with its limits (each
action's request: workflows/action_requests.py). The API's JSON body and the pages' answers are
validated by the same model.
"""

from datetime import date
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from core.text import refuse_control_characters
from workflows.action_requests import LongText, Strict

ShortText = Annotated[str, Field(min_length=1, max_length=200)]

IMMEDIATE_RISK_ADVICE = (
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
        if value is not None and value > date.today():
            raise ValueError("date of birth is in the future")
        return value

    @model_validator(mode="after")
    def _risk_reason_with_risk(self) -> Self:
        if self.immediate_risk and not self.risk_reason:
            raise ValueError("risk_reason is required when immediate_risk is true")
        return self
