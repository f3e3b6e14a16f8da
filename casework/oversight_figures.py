"""The oversight report's figures, each from one GROUP BY query (the same SQL on SQLite and
PostgreSQL) that answers with a few groups, never a row per escalation; the per-escalation
table is the one exception."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Result,
    RowMapping,
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
from casework.visibility import visible_to
from casework.working_days import bank_holidays, london_day, london_month, working_days_between
from core.calendar import LONDON
from database.tables import AuditEvent, Escalation
from workflows.models import SYSTEM_ACTOR, TIME_LIMIT_PASSED
from workflows.policy import Nation

# How many escalations (or events) for each stage, or for each number of working days.
Histogram = dict[int, int]


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LONDON).astimezone(UTC)


def _between(moment: Any, start: date, end: date) -> list[ColumnElement[bool]]:
    return [moment >= utc_midnight(start), moment < utc_midnight(end + timedelta(days=1))]


class Scope:
    """What a report counts: the escalations the viewer may see (casework/visibility.py: the
    partnership all, an agency those it raised or received, nobody a pending one), raised in
    the period (London dates, inclusive); working days skip the partnership's nation's bank
    holidays."""

    def __init__(self, viewer: Actor, start: date, end: date, nation: Nation) -> None:
        visible = visible_to(viewer)
        self.raised = [visible, *_between(col(Escalation.created_at), start, end)]
        # For the monthly series: visible escalations closed in the period, whenever raised.
        self.closed = [visible, *_between(col(Escalation.closed_at), start, end)]
        # Resolutions after the period still count: the calendar runs to today.
        last_year = max(end, datetime.now(LONDON).date()).year
        self.holidays = bank_holidays(range(start.year, last_year + 1), nation)


async def _rows(db: AsyncSession, query: Select[*tuple[Any, ...]]) -> Result[*tuple[Any, ...]]:
    # SQL Core, on the session's connection: sqlmodel's exec() takes only its own selects.
    connection = await db.connection()
    return await connection.execute(query)


def _total(counts: Any) -> ColumnElement[int]:
    """A sum of counts as an integer (PostgreSQL sums integers as numeric), 0 over no rows."""
    return cast(func.coalesce(func.sum(counts), 0), Integer)


async def counts(db: AsyncSession, key: Any, where: list[ColumnElement[bool]]) -> dict[Any, int]:
    rows = await _rows(db, select(key, func.count()).where(*where).group_by(key))
    return {row[0]: row[1] for row in rows.all()}


async def agency_pairs(db: AsyncSession, scope: Scope) -> dict[tuple[str, str], int]:
    raising, receiving = col(Escalation.raising_agency), col(Escalation.receiving_agency)
    rows = await _rows(
        db,
        select(raising, receiving, func.count()).where(*scope.raised).group_by(raising, receiving),
    )
    return {(row[0], row[1]): row[2] for row in rows.all()}


async def headline(db: AsyncSession, scope: Scope) -> dict[str, int]:
    """raised, immediate_risk, open_now and overdue_now, in one pass."""

    def number(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return _total(case((condition, 1), else_=0))

    is_open = col(Escalation.status) == "open"
    figures = select(
        func.count().label("raised"),
        number(col(Escalation.immediate_risk).is_(True)).label("immediate_risk"),
        number(is_open).label("open_now"),
        number(and_(is_open, col(Escalation.overdue))).label("overdue_now"),
    ).where(*scope.raised)
    row = (await _rows(db, figures)).mappings().one()
    return {str(name): int(value) for name, value in row.items()}


def _limit_passed() -> ColumnElement[bool]:
    """Audit events for a time limit that passed without a decision: each move up by the
    clock, and each top stage turning overdue."""
    by_the_clock = and_(
        col(AuditEvent.action) == "escalated",
        col(AuditEvent.actor) == SYSTEM_ACTOR,
        col(AuditEvent.details)["reason"].as_string() == TIME_LIMIT_PASSED,
    )
    return or_(by_the_clock, col(AuditEvent.action) == "overdue")


async def limits_passed_by_stage(db: AsyncSession, scope: Scope) -> Histogram:
    """By the stage whose limit passed: the stage moved up from, or the overdue one."""
    stage = case(
        (col(AuditEvent.action) == "escalated", col(AuditEvent.details)["from_stage"].as_integer()),
        else_=col(AuditEvent.stage),
    )
    rows = await _rows(
        db,
        select(stage, func.count())
        .join(Escalation, col(Escalation.id) == col(AuditEvent.escalation_id))
        .where(*scope.raised, _limit_passed())
        .group_by(stage),
    )
    return {row[0]: row[1] for row in rows.all()}


async def repeat_children(db: AsyncSession, scope: Scope) -> tuple[int, int]:
    """Children escalated more than once, and how many escalations they account for."""
    per_child = (
        select(func.count().label("escalations"))
        .where(*scope.raised, col(Escalation.child_reference).is_not(None))
        .group_by(col(Escalation.child_reference))
        .having(func.count() > 1)
        .subquery()
    )
    row = (await _rows(db, select(func.count(), _total(per_child.c.escalations)))).one()
    return row[0], row[1]


async def resolution_days(db: AsyncSession, scope: Scope) -> dict[int, Histogram]:
    """For each stage resolved at, how many resolutions took each number of working days. The
    database groups escalations by (raised day, resolved day, stage), counts each group's
    working days, and sums the groups by days and stage."""
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
    by_stage: dict[int, Histogram] = {}
    for working_days, stage, escalations in rows.all():
        by_stage.setdefault(stage, {})[working_days] = escalations
    return by_stage


async def by_month(db: AsyncSession, scope: Scope) -> tuple[dict[str, int], dict[str, int]]:
    """Escalations raised in each London month ("YYYY-MM"), and those closed in each."""
    raised = await counts(db, london_month(col(Escalation.created_at)), scope.raised)
    closed = await counts(db, london_month(col(Escalation.closed_at)), scope.closed)
    return raised, closed


async def escalation_rows(db: AsyncSession, scope: Scope) -> list[RowMapping]:
    """One row per escalation, oldest first, with only the fields behind the counts."""
    limits = (
        select(col(AuditEvent.escalation_id).label("escalation_id"), func.count().label("passed"))
        .where(_limit_passed())
        .group_by(col(AuditEvent.escalation_id))
        .subquery()
    )
    resolved_in = working_days_between(
        london_day(col(Escalation.created_at)),
        london_day(col(Escalation.closed_at)),
        scope.holidays,
    )
    fields: tuple[Any, ...] = (
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
        select(*fields)
        .outerjoin(limits, limits.c.escalation_id == col(Escalation.id))
        .where(*scope.raised)
        .order_by(col(Escalation.created_at), col(Escalation.id)),
    )
    return list(rows.mappings().all())
