"""What the API and the pages send for each action (the request model of workflows/actions.py's
table): the same limits for a JSON body and a form. Each says which fields of the workflow's
ActionRequest it fills."""

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from workflows.models import refuse_nul
from workflows.policy import LONGEST_DURATION, Span

LongText = Annotated[str, Field(min_length=1, max_length=10_000)]
# PostgreSQL text cannot hold NUL: refused at the door, with the field named, never at the database.
NO_NUL = r"^[^\x00]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _no_nul = field_validator("*")(refuse_nul)

    def action_fields(self) -> dict[str, Any]:
        """The request as the fields of the workflow's ActionRequest."""
        return self.model_dump()


class ResolveRequest(Strict):
    outcome: LongText
    agreed_actions: list[Annotated[str, Field(min_length=1, max_length=2_000)]] = Field(
        default_factory=list, max_length=50
    )


class ReasonRequest(Strict):
    reason: LongText


class NoteRequest(Strict):
    text: LongText


class AcknowledgeRequest(Strict):
    pass


class ExtendRequest(Strict):
    """`{"reason", "working_days": n}` or `{"reason", "duration": "PT12H"}`, exactly one."""

    reason: LongText
    working_days: Annotated[int, Field(ge=1, le=120)] | None = None
    duration: timedelta | None = Field(
        default=None, validate_default=True, description="ISO 8601, e.g. PT12H"
    )

    @field_validator("duration")
    @classmethod
    def _exactly_one(cls, value: timedelta | None, info: ValidationInfo) -> timedelta | None:
        # Checked on the later field so the problem names one; a bad working_days is named
        # by its own check and not repeated here.
        if "working_days" not in info.data:
            return value
        if (info.data["working_days"] is None) == (value is None):
            raise ValueError("give exactly one of working_days or duration")
        if value is not None and not timedelta(0) < value <= LONGEST_DURATION:
            raise ValueError("must be positive and at most 366 days")
        return value

    @property
    def extension(self) -> Span:
        return Span(working_days=self.working_days, duration=self.duration)

    def action_fields(self) -> dict[str, Any]:
        return {"reason": self.reason, "extension": self.extension}
