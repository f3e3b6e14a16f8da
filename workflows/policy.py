"""A partnership's escalation ladder: its stages, who acts at each and each stage's time limit.

Pure data, safe inside the workflow sandbox. A running escalation keeps the snapshot of the ladder
it was raised under, so a policy file changed later never alters an escalation already on its way.
"""

from datetime import timedelta
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["practitioner", "manager", "executive", "board"]
# Whose bank holidays the working-day clock skips (the UK's four calendars).
Nation = Literal["england", "wales", "scotland", "northern_ireland"]
# No length on the escalation clock is longer (the calendar cannot count past its years).
LONGEST_DURATION = timedelta(days=366)
ROLES: tuple[Role, ...] = ("practitioner", "manager", "executive", "board")


def role_rank(role: Role) -> int:
    return ROLES.index(role)


class Span(BaseModel):
    """A length on the escalation clock: working days, or elapsed time (the urgent track)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_days: int | None = Field(default=None, ge=1, le=120)
    duration: timedelta | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.working_days is None) == (self.duration is None):
            raise ValueError("give exactly one of working_days or duration")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("duration must be positive")
        if self.duration is not None and self.duration > LONGEST_DURATION:
            raise ValueError("duration must be at most 366 days")
        return self

    def exceeds(self, limit: "Span") -> bool | None:
        """Whether this is longer than `limit`; None when only the calendar can say (one in
        working days, the other in elapsed time)."""
        if self.working_days is not None and limit.working_days is not None:
            return self.working_days > limit.working_days
        if self.duration is not None and limit.duration is not None:
            return self.duration > limit.duration
        return None

    def describe(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        assert self.duration is not None
        hours, rest = divmod(int(self.duration.total_seconds()), 3600)
        if rest == 0:
            return f"{hours} hour{'s' if hours != 1 else ''}"
        return f"{int(self.duration.total_seconds()) // 60} minutes"


def _span(working_days: int | None, duration: timedelta | None) -> Span | None:
    if working_days is None and duration is None:
        return None
    return Span(working_days=working_days, duration=duration)


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    # The name in Welsh, shown on Welsh pages and in Welsh mails (core.languages). Never sent to
    # Temporal (exclude): workflow inputs and histories stay as they were.
    name_cy: str | None = Field(default=None, min_length=1, max_length=120, exclude=True)
    role: Role
    working_days: int | None = Field(default=None, ge=1, le=120)
    duration: timedelta | None = None
    # How long before the time limit the stage's people get a reminder (0 turns it off).
    reminder_before_working_days: int | None = Field(default=None, ge=0, le=60)
    reminder_before: timedelta | None = None
    # The receiving agency acknowledges within this (TOML: `{ working_days = 2 }` or
    # `{ duration = "PT48H" }`); no acknowledgement step when unset.
    acknowledge_within: Span | None = None
    # Agreed extensions of this stage's limit: how many (0 turns them off) and how long each may
    # be (default: the stage's own limit).
    max_extensions: int = Field(default=1, ge=0, le=10)
    max_extension: Span | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.working_days is None) == (self.duration is None):
            raise ValueError("give exactly one of working_days or duration")
        if self.reminder_before_working_days is not None and self.reminder_before is not None:
            raise ValueError("give at most one of reminder_before_working_days or reminder_before")
        Span(working_days=self.working_days, duration=self.duration)
        return self

    @property
    def time_limit(self) -> Span:
        return Span(working_days=self.working_days, duration=self.duration)

    @property
    def reminder_lead(self) -> Span | None:
        if self.reminder_before_working_days == 0:
            return None
        explicit = _span(self.reminder_before_working_days, self.reminder_before)
        if explicit is not None:
            return explicit
        # Working-day stages remind one working day ahead by default; elapsed-time stages only
        # when the policy says so.
        return Span(working_days=1) if self.working_days is not None else None

    @property
    def extension_limit(self) -> Span:
        return self.max_extension or self.time_limit


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    # The title in Welsh, as a stage's `name_cy` is (never sent to Temporal).
    title_cy: str | None = Field(default=None, min_length=1, max_length=200, exclude=True)
    # The bank-holiday calendar of the stage clock; a policy file's top-level `nation` by default.
    nation: Nation = "england"
    stages: list[Stage] = Field(min_length=1, max_length=10)
    # The partnership business unit is told from this stage (1-based) on; default: the top stage.
    partnership_told_from_stage: int | None = Field(default=None, ge=1)
    # Reminders to the top stage once its limit has passed: every N working days, or every duration.
    overdue_reminder_working_days: int | None = Field(default=None, ge=1, le=60)
    overdue_reminder_every: timedelta | None = None
    # How long the raising agency may dispute a resolution by the receiving agency below the top.
    dispute_within: Span = Field(default_factory=lambda: Span(working_days=5))

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.partnership_told_from_stage is not None and self.partnership_told_from_stage > len(
            self.stages
        ):
            raise ValueError(
                f"partnership_told_from_stage is {self.partnership_told_from_stage} "
                f"but the ladder has {len(self.stages)} stages"
            )
        if self.overdue_reminder_working_days is not None and self.overdue_reminder_every:
            raise ValueError(
                "give at most one of overdue_reminder_working_days or overdue_reminder_every"
            )
        return self

    @property
    def overdue_reminder_interval(self) -> Span:
        return _span(self.overdue_reminder_working_days, self.overdue_reminder_every) or Span(
            working_days=2
        )

    @property
    def partnership_stage(self) -> int:
        return self.partnership_told_from_stage or len(self.stages)


BUILT_IN_POLICIES: dict[str, Policy] = {
    "standard": Policy(
        title="Standard three-step escalation",
        stages=[
            Stage(name="Line managers", role="manager", working_days=5),
            Stage(name="Senior and executive managers", role="executive", working_days=5),
            Stage(name="Safeguarding Children Partnership", role="board", working_days=14),
        ],
    ),
    "urgent": Policy(
        title="Urgent track (significant risk): 24 hours a stage",
        stages=[
            Stage(
                name="Line managers",
                role="manager",
                duration=timedelta(hours=24),
                reminder_before=timedelta(hours=4),
            ),
            Stage(
                name="Senior and executive managers",
                role="executive",
                duration=timedelta(hours=24),
                reminder_before=timedelta(hours=4),
            ),
            Stage(
                name="Safeguarding Children Partnership",
                role="board",
                duration=timedelta(hours=24),
                reminder_before=timedelta(hours=4),
            ),
        ],
        partnership_told_from_stage=1,
        overdue_reminder_every=timedelta(hours=4),
    ),
}
URGENT_POLICY = "urgent"
