"""The partnership's oversight report: how escalation was used in a period.

The population is the escalations raised in the period (London dates, both inclusive) that the
viewer may see: the partnership sees all, an agency those it raised or received. Every figure
is counted by the database (GROUP BY, the same SQL on SQLite and PostgreSQL); Python only
folds the groups into the report. docs/operations.md explains each figure.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Self, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Integer,
    Result,
    Select,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from casework.actors import Actor
from casework.publication import SMALL, Count, published
from casework.refusals import FieldProblem, ProblemError
from casework.working_days import (
    EPOCH,
    bank_holidays,
    london_day,
    london_month,
    working_days_between,
)
from database.tables import AuditEvent, Escalation, utc_now
from workflows.models import SYSTEM_ACTOR, TIME_LIMIT_PASSED, Status

LONDON = ZoneInfo("Europe/London")
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


# --- the period and who sees what --------------------------------------------------------


def check_period(start: date, end: date) -> None:
    """Refuse a period that ends before it starts, covers more than five years, or falls
    outside the calendar the report counts with."""
    for field, day in (("from", start), ("to", end)):
        if not EARLIEST <= day <= LATEST:
            raise ProblemError(
                422,
                f"Reports cover dates from {EARLIEST} to {LATEST}.",
                errors=[FieldProblem(field=field, message=f"must be from {EARLIEST} to {LATEST}")],
            )
    if end < start:
        raise ProblemError(
            422,
            "The period ends before it starts.",
            errors=[FieldProblem(field="to", message="must be on or after from")],
        )
    if end >= _years_after(start, MAX_YEARS):
        raise ProblemError(
            422,
            f"A report covers at most {MAX_YEARS} years.",
            errors=[FieldProblem(field="to", message=f"must be within {MAX_YEARS} years of from")],
        )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LONDON).astimezone(UTC)


def _visible(viewer: Actor) -> list[ColumnElement[bool]]:
    if viewer.role == "board":
        return []
    return [
        or_(
            col(Escalation.raising_agency) == viewer.agency,
            col(Escalation.receiving_agency) == viewer.agency,
        )
    ]


def _between(moment: Any, start: date, end: date) -> list[ColumnElement[bool]]:
    return [moment >= _utc_midnight(start), moment < _utc_midnight(end + timedelta(days=1))]


class _Scope:
    """The escalations a report counts: visible to the viewer, raised in the period."""

    def __init__(self, viewer: Actor, start: date, end: date) -> None:
        self.visible = _visible(viewer)
        self.raised = [*self.visible, *_between(col(Escalation.created_at), start, end)]
        self.closed = [*self.visible, *_between(col(Escalation.closed_at), start, end)]
        # Resolutions after the period still count: the calendar runs to today.
        last_year = max(end, datetime.now(LONDON).date()).year
        self.holidays = bank_holidays(range(start.year, last_year + 1))


# --- the figures -------------------------------------------------------------------------


async def _rows(db: AsyncSession, query: Select[*tuple[Any, ...]]) -> Result[*tuple[Any, ...]]:
    # SQL Core, on the session's connection: sqlmodel's exec() takes only its own selects.
    connection = await db.connection()
    return await connection.execute(query)


async def _counts(db: AsyncSession, key: Any, where: list[ColumnElement[bool]]) -> dict[Any, int]:
    rows = await _rows(db, select(key, func.count()).where(*where).group_by(key))
    return {row[0]: row[1] for row in rows.all()}


def _ranked(counts: Mapping[str, int]) -> dict[str, int]:
    """Most first, then by name: the order a table of agencies or categories is read in."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _total(counts: Any) -> ColumnElement[int]:
    """A sum of counts as an integer (PostgreSQL sums integers as numeric), 0 over no rows."""
    return cast(func.coalesce(func.sum(counts), 0), Integer)


def _stage_keys(counts: dict[Any, int]) -> dict[str, int]:
    """Stages 1 to the highest counted, each present (0 when none)."""
    stages = {int(stage): n for stage, n in counts.items() if stage is not None}
    return {str(stage): stages.get(stage, 0) for stage in range(1, max(stages, default=0) + 1)}


def _limit_passed() -> ColumnElement[bool]:
    """Audit events for a time limit that passed without a decision: each automatic move up,
    and each top stage turning overdue."""
    automatic_move = and_(
        col(AuditEvent.action) == "escalated",
        col(AuditEvent.actor) == SYSTEM_ACTOR,
        col(AuditEvent.details)["reason"].as_string() == TIME_LIMIT_PASSED,
    )
    return or_(automatic_move, col(AuditEvent.action) == "overdue")


def _stage_passed() -> ColumnElement[int]:
    """The stage whose time limit passed: the stage moved up from, or the overdue one."""
    return case(
        (col(AuditEvent.action) == "escalated", col(AuditEvent.details)["from_stage"].as_integer()),
        else_=col(AuditEvent.stage),
    )


async def _limits_by_stage(db: AsyncSession, scope: _Scope) -> dict[str, int]:
    stage = _stage_passed()
    rows = await _rows(
        db,
        select(stage, func.count())
        .join(Escalation, col(Escalation.id) == col(AuditEvent.escalation_id))
        .where(*scope.raised, _limit_passed())
        .group_by(stage),
    )
    return _stage_keys({row[0]: row[1] for row in rows.all()})


async def _headline(db: AsyncSession, scope: _Scope) -> dict[str, int]:
    def number(condition: ColumnElement[bool]) -> Any:
        return _total(case((condition, 1), else_=0))

    is_open = col(Escalation.status) == "open"
    row = (
        await _rows(
            db,
            select(
                func.count(),
                number(col(Escalation.immediate_risk).is_(True)),
                number(is_open),
                number(and_(is_open, col(Escalation.overdue))),
            ).where(*scope.raised),
        )
    ).one()
    return dict(zip(("raised", "immediate_risk", "open_now", "overdue_now"), row, strict=True))


async def _repeat_children(db: AsyncSession, scope: _Scope) -> tuple[int, int]:
    """Children escalated more than once, and how many escalations they account for."""
    per_child = (
        select(func.count().label("escalations"))
        .where(*scope.raised, col(Escalation.child_reference).is_not(None))
        .group_by(col(Escalation.child_reference))
        .having(func.count() > 1)
        .subquery()
    )
    children, escalations = (
        await _rows(db, select(func.count(), _total(per_child.c.escalations)))
    ).one()
    return children, escalations


def _value_at(histogram: dict[int, int], position: int) -> int:
    """The value at `position` (from 0) of the sorted values a histogram counts."""
    seen = 0
    for days in sorted(histogram):
        seen += histogram[days]
        if position < seen:
            return days
    raise IndexError(position)


def _percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Interpolated linearly between neighbours, as PostgreSQL's percentile_cont does."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = (total - 1) * fraction
    below = int(rank)
    low = _value_at(histogram, below)
    high = _value_at(histogram, min(below + 1, total - 1))
    return round(low + (high - low) * (rank - below), 2)


def _times(histogram: dict[int, int]) -> ResolutionTimes:
    return ResolutionTimes(
        resolved=sum(histogram.values()),
        median=_percentile(histogram, 0.5),
        p90=_percentile(histogram, 0.9),
    )


async def _resolution(
    db: AsyncSession, scope: _Scope
) -> tuple[ResolutionTimes, dict[str, ResolutionTimes]]:
    """Working days to resolution: the database counts escalations per (raised day, resolved
    day, stage), works out each pair's working days, and answers with a histogram of days."""
    pairs = (
        select(
            london_day(col(Escalation.created_at)).label("raised"),
            london_day(col(Escalation.closed_at)).label("resolved"),
            col(Escalation.stage).label("stage"),
            func.count().label("escalations"),
        )
        .where(*scope.raised, col(Escalation.status) == "resolved")
        .group_by("raised", "resolved", "stage")
        .subquery()
    )
    days = working_days_between(pairs.c.raised, pairs.c.resolved, scope.holidays)
    rows = await _rows(
        db,
        select(days.label("days"), pairs.c.stage, _total(pairs.c.escalations)).group_by(
            "days", pairs.c.stage
        ),
    )
    overall: dict[int, int] = {}
    by_stage: dict[int, dict[int, int]] = {}
    for working_days, stage, escalations in rows.all():
        overall[working_days] = overall.get(working_days, 0) + escalations
        by_stage.setdefault(stage, {})[working_days] = escalations
    return _times(overall), {str(stage): _times(by_stage[stage]) for stage in sorted(by_stage)}


async def _monthly(
    db: AsyncSession, scope: _Scope, start: date, end: date
) -> dict[str, MonthFigures]:
    raised = await _counts(db, london_month(col(Escalation.created_at)), scope.raised)
    closed = await _counts(db, london_month(col(Escalation.closed_at)), scope.closed)
    months, month = {}, start.replace(day=1)
    while month <= end:
        key = f"{month:%Y-%m}"
        months[key] = MonthFigures(raised=raised.get(key, 0), closed=closed.get(key, 0))
        month = (month + timedelta(days=31)).replace(day=1)
    return months


async def escalation_report(
    db: AsyncSession, viewer: Actor, start: date, end: date
) -> EscalationReport:
    check_period(start, end)
    scope = _Scope(viewer, start, end)
    raising, receiving = col(Escalation.raising_agency), col(Escalation.receiving_agency)
    rows = await _rows(
        db,
        select(raising, receiving, func.count()).where(*scope.raised).group_by(raising, receiving),
    )
    pairs = {(row[0], row[1]): row[2] for row in rows.all()}
    by_raising: Counter[str] = Counter()
    by_receiving: Counter[str] = Counter()
    for (raised_by, received_by), n in pairs.items():
        by_raising[raised_by] += n
        by_receiving[received_by] += n
    categories = await _counts(db, col(Escalation.category), scope.raised)
    outcomes = await _counts(db, col(Escalation.status), scope.raised)
    children, repeat_escalations = await _repeat_children(db, scope)
    overall, by_stage = await _resolution(db, scope)
    limits_by_stage = await _limits_by_stage(db, scope)
    return EscalationReport(
        start=start,
        end=end,
        scope="partnership" if viewer.role == "board" else viewer.agency,
        as_of=utc_now(),
        **await _headline(db, scope),
        by_raising_agency=_ranked(by_raising),
        by_receiving_agency=_ranked(by_receiving),
        by_agency_pair=_ranked(
            {PAIR.format(raising=pair[0], receiving=pair[1]): n for pair, n in pairs.items()}
        ),
        by_category=_ranked(
            {NO_CATEGORY if name is None else name: n for name, n in categories.items()}
        ),
        by_outcome={status: outcomes.get(status, 0) for status in get_args(Status)},
        by_highest_stage=_stage_keys(await _counts(db, col(Escalation.stage), scope.raised)),
        time_limits_passed=sum(limits_by_stage.values()),
        time_limits_passed_by_stage=limits_by_stage,
        repeat_children=children,
        repeat_children_escalations=repeat_escalations,
        working_days_to_resolve=overall,
        working_days_to_resolve_by_stage=by_stage,
        monthly=await _monthly(db, scope, start, end),
    )


async def escalation_lines(
    db: AsyncSession, viewer: Actor, start: date, end: date
) -> list[EscalationLine]:
    """The escalations behind the report's counts, oldest first."""
    check_period(start, end)
    scope = _Scope(viewer, start, end)
    limits = (
        select(col(AuditEvent.escalation_id).label("escalation_id"), func.count().label("passed"))
        .where(_limit_passed())
        .group_by(col(AuditEvent.escalation_id))
        .subquery()
    )
    raised_on, closed_on = (
        london_day(col(Escalation.created_at)),
        london_day(col(Escalation.closed_at)),
    )
    resolved_in = working_days_between(raised_on, closed_on, scope.holidays)
    line: tuple[Any, ...] = (
        col(Escalation.id),
        col(Escalation.raising_agency),
        col(Escalation.receiving_agency),
        col(Escalation.category),
        col(Escalation.status),
        col(Escalation.stage).label("highest_stage"),
        col(Escalation.immediate_risk),
        col(Escalation.created_at),
        col(Escalation.closed_at),
        case((col(Escalation.status) == "resolved", resolved_in), else_=None).label(
            "working_days_to_resolve"
        ),
        func.coalesce(limits.c.passed, 0).label("time_limits_passed"),
    )
    rows = await _rows(
        db,
        select(*line)
        .outerjoin(limits, limits.c.escalation_id == col(Escalation.id))
        .where(*scope.raised)
        .order_by(col(Escalation.created_at), col(Escalation.id)),
    )
    return [EscalationLine.model_validate(row._mapping) for row in rows.all()]
