"""The partnership's oversight report: how escalation was used in a period.

The population is the escalations raised in the period (London dates, both inclusive) that the
viewer may see: the partnership sees all, an agency those it raised or received. Every figure
is counted by the database (oversight_figures.py); Python only folds the groups into the
report. docs/operations.md explains each figure.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Self, get_args

from pydantic import BaseModel
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from casework import oversight_figures as figures
from casework.actors import Actor
from casework.oversight_figures import Histogram, Scope
from casework.publication import SMALL, Count, published
from casework.refusals import FieldProblem, ProblemError
from casework.working_days import EPOCH
from core.text import N_, Said
from database.tables import Escalation, utc_now
from workflows.models import Status
from workflows.policy import Nation

MAX_YEARS = 5
EARLIEST, LATEST = EPOCH, date(2999, 12, 31)
NO_CATEGORY = "not recorded"
PAIR = "{raising} → {receiving}"


class ResolutionTimes(BaseModel):
    """Working days from raise to resolution, over the resolved escalations."""

    resolved: Count
    median: float | None = None
    p90: float | None = None


class MonthFigures(BaseModel):
    raised: Count
    # Closed in the month (resolved, withdrawn, cancelled, terminated), whenever raised.
    closed: Count


class EscalationReport(BaseModel):
    start: date
    end: date
    # "partnership", or the agency whose escalations these are.
    scope: str
    # When open_now and overdue_now were read.
    as_of: datetime
    publication: bool = False

    raised: Count
    by_raising_agency: dict[str, Count]
    by_receiving_agency: dict[str, Count]
    # "Raising → Receiving".
    by_agency_pair: dict[str, Count]
    by_category: dict[str, Count]
    by_outcome: dict[str, Count]
    by_highest_stage: dict[str, Count]
    time_limits_passed: Count
    time_limits_passed_by_stage: dict[str, Count]
    immediate_risk: Count
    repeat_children: Count
    repeat_children_escalations: Count
    working_days_to_resolve: ResolutionTimes
    working_days_to_resolve_by_stage: dict[str, ResolutionTimes]
    open_now: Count
    overdue_now: Count
    monthly: dict[str, MonthFigures]

    def for_publication(self) -> Self:
        """The report as a published table shows it: counts from 1 to 4 as "<5", and no
        resolution times over fewer than 5 escalations (one case's time is that case)."""
        shown: Self = _published(self)
        return shown.model_copy(update={"publication": True})


class EscalationLine(BaseModel):
    """One escalation behind the counts. No child data: no name, date of birth or free text,
    and no child reference, which points at a child in the agencies' own records."""

    id: str
    raising_agency: str
    receiving_agency: str
    category: str | None
    status: str
    highest_stage: int
    immediate_risk: bool
    created_at: datetime
    closed_at: datetime | None
    working_days_to_resolve: int | None
    time_limits_passed: int


def _published(value: Any) -> Any:
    if isinstance(value, ResolutionTimes) and published(value.resolved) == SMALL:
        return ResolutionTimes(resolved=SMALL)
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return value.model_copy(update={name: _published(getattr(value, name)) for name in fields})
    if isinstance(value, dict):
        return {key: _published(item) for key, item in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return published(value)
    return value


# --- the period ---------------------------------------------------------------------


COVERED = N_("Reports cover dates from %(earliest)s to %(latest)s.")


def check_period(start: date, end: date) -> None:
    """Refuse a period that ends before it starts, covers more than five years, or falls
    outside the calendar the report counts with."""
    for field, day in (("from", start), ("to", end)):
        if not EARLIEST <= day <= LATEST:
            raise ProblemError(
                422,
                Said(COVERED, {"earliest": str(EARLIEST), "latest": str(LATEST)}),
                errors=[FieldProblem(field=field, message=f"must be from {EARLIEST} to {LATEST}")],
            )
    if end < start:
        raise ProblemError(
            422,
            Said(N_("The period ends before it starts.")),
            errors=[FieldProblem(field="to", message="must be on or after from")],
        )
    if end >= _years_after(start, MAX_YEARS):
        raise ProblemError(
            422,
            Said(N_("A report covers at most %(years)s years."), {"years": MAX_YEARS}),
            errors=[FieldProblem(field="to", message=f"must be within {MAX_YEARS} years of from")],
        )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


# --- the report -------------------------------------------------------------------------


def _ranked(counts: Mapping[str, int]) -> dict[str, int]:
    """Most first, then by name: the order a table of agencies or categories is read in."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _stage_keys(counts: Mapping[Any, int]) -> dict[str, int]:
    """Stages 1 to the highest counted, each present (0 when none)."""
    stages = {int(stage): n for stage, n in counts.items() if stage is not None}
    return {str(stage): stages.get(stage, 0) for stage in range(1, max(stages, default=0) + 1)}


def _value_at(histogram: Histogram, position: int) -> int:
    """The value at `position` (from 0) of the sorted values a histogram counts."""
    seen = 0
    for days in sorted(histogram):
        seen += histogram[days]
        if position < seen:
            return days
    raise IndexError(position)


def _percentile(histogram: Histogram, fraction: float) -> float | None:
    """Interpolated linearly between neighbours, as PostgreSQL's percentile_cont does."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = (total - 1) * fraction
    below = int(rank)
    low = _value_at(histogram, below)
    high = _value_at(histogram, min(below + 1, total - 1))
    return round(low + (high - low) * (rank - below), 2)


def resolution_times(histogram: Histogram) -> ResolutionTimes:
    """From how many resolutions took each number of working days."""
    return ResolutionTimes(
        resolved=sum(histogram.values()),
        median=_percentile(histogram, 0.5),
        p90=_percentile(histogram, 0.9),
    )


def _months(
    start: date, end: date, raised: dict[str, int], closed: dict[str, int]
) -> dict[str, MonthFigures]:
    months, month = {}, start.replace(day=1)
    while month <= end:
        key = f"{month:%Y-%m}"
        months[key] = MonthFigures(raised=raised.get(key, 0), closed=closed.get(key, 0))
        month = (month + timedelta(days=31)).replace(day=1)
    return months


async def escalation_report(
    db: AsyncSession, viewer: Actor, start: date, end: date, nation: Nation
) -> EscalationReport:
    check_period(start, end)
    scope = Scope(viewer, start, end, nation)
    pairs = await figures.agency_pairs(db, scope)
    by_raising: Counter[str] = Counter()
    by_receiving: Counter[str] = Counter()
    for (raising, receiving), n in pairs.items():
        by_raising[raising] += n
        by_receiving[receiving] += n
    categories = await figures.counts(db, col(Escalation.category), scope.raised)
    outcomes = await figures.counts(db, col(Escalation.status), scope.raised)
    stages = await figures.counts(db, col(Escalation.stage), scope.raised)
    limits_by_stage = _stage_keys(await figures.limits_passed_by_stage(db, scope))
    children, repeat_escalations = await figures.repeat_children(db, scope)
    resolutions = await figures.resolution_days(db, scope)
    overall: Counter[int] = Counter()
    for histogram in resolutions.values():
        overall.update(histogram)
    return EscalationReport(
        start=start,
        end=end,
        scope="partnership" if viewer.role == "board" else viewer.agency,
        as_of=utc_now(),
        **await figures.headline(db, scope),
        by_raising_agency=_ranked(by_raising),
        by_receiving_agency=_ranked(by_receiving),
        by_agency_pair=_ranked(
            {PAIR.format(raising=pair[0], receiving=pair[1]): n for pair, n in pairs.items()}
        ),
        by_category=_ranked(
            {NO_CATEGORY if name is None else name: n for name, n in categories.items()}
        ),
        by_outcome={status: outcomes.get(status, 0) for status in get_args(Status)},
        by_highest_stage=_stage_keys(stages),
        time_limits_passed=sum(limits_by_stage.values()),
        time_limits_passed_by_stage=limits_by_stage,
        repeat_children=children,
        repeat_children_escalations=repeat_escalations,
        working_days_to_resolve=resolution_times(overall),
        working_days_to_resolve_by_stage={
            str(stage): resolution_times(resolutions[stage]) for stage in sorted(resolutions)
        },
        monthly=_months(start, end, *await figures.by_month(db, scope)),
    )


async def escalation_lines(
    db: AsyncSession, viewer: Actor, start: date, end: date, nation: Nation
) -> list[EscalationLine]:
    """The escalations behind the report's counts, oldest first."""
    check_period(start, end)
    rows = await figures.escalation_rows(db, Scope(viewer, start, end, nation))
    return [EscalationLine.model_validate(row) for row in rows]
