"""London dates and working days in SQL, the same answers on SQLite and PostgreSQL.

Timestamps are stored in UTC. PostgreSQL converts with its time zone database; SQLite has none,
so its expression applies the UK rule (British Summer Time from 01:00 UTC on the last Sunday
of March to 01:00 UTC on the last Sunday of October, in force since 1996).

A day number counts days since 1970-01-01. Working days between two moments are the working
days after the first one's London date, up to and including the second one's: raised on
Friday and resolved on Monday is 1, the same day is 0 (the stage clock counts the same way).
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import CTE, ColumnElement, Integer, String, case, column, func, select, values
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core import calendar
from workflows.policy import Nation

EPOCH = date(1970, 1, 1)
# 1970-01-01 was a Thursday: three days after a Monday.
DAYS_AFTER_MONDAY = 3


class london_day(FunctionElement[int]):
    """The London calendar date of a UTC timestamp, as a day number."""

    type = Integer()
    inherit_cache = True


class london_month(FunctionElement[str]):
    """The London calendar month of a UTC timestamp: "YYYY-MM"."""

    type = String()
    inherit_cache = True


def _sqlite_london_date(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = element.clauses
    t = compiler.process(moment, **kw)
    summer_starts = f"datetime(strftime('%Y', {t}) || '-03-25', 'weekday 0', '+1 hours')"
    summer_ends = f"datetime(strftime('%Y', {t}) || '-10-25', 'weekday 0', '+1 hours')"
    offset = f"CASE WHEN {t} >= {summer_starts} AND {t} < {summer_ends} THEN 1 ELSE 0 END"
    return f"date({t}, '+' || ({offset}) || ' hours')"


def _postgresql_london_date(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = element.clauses
    return f"CAST(timezone('Europe/London', {compiler.process(moment, **kw)}) AS DATE)"


@compiles(london_day, "sqlite")
def _london_day_sqlite(element: london_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({_sqlite_london_date(element, compiler, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(london_day, "postgresql")
def _london_day_postgresql(element: london_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({_postgresql_london_date(element, compiler, **kw)} - DATE '1970-01-01')"


@compiles(london_month, "sqlite")
def _london_month_sqlite(element: london_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({_sqlite_london_date(element, compiler, **kw)}, 1, 7)"


@compiles(london_month, "postgresql")
def _london_month_postgresql(element: london_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({_postgresql_london_date(element, compiler, **kw)}, 'YYYY-MM')"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def bank_holidays(years: Iterable[int], nation: Nation) -> CTE:
    """The nation's bank holidays that fall on weekdays (the others change nothing), as day
    numbers in a one-column table `day`. The same source as the stage clock's calendar."""
    days = {day for year in years for day in calendar.bank_holidays(year, nation)}
    numbers = sorted({day_number(day) for day in days if day.weekday() < 5})
    return values(column("day", Integer), name="bank_holiday").data([(n,) for n in numbers]).cte()


def _weekdays_before(day: ColumnElement[int]) -> ColumnElement[int]:
    """How many Mondays to Fridays come before day number `day` (counted from a Monday)."""
    after_monday = day + DAYS_AFTER_MONDAY
    into_week = after_monday % 7
    return 5 * (after_monday // 7) + case((into_week > 5, 5), else_=into_week)


def working_days_between(
    first: ColumnElement[int], last: ColumnElement[int], holidays_table: CTE
) -> ColumnElement[int]:
    """Working days after day number `first`, up to and including day number `last`."""
    weekdays = _weekdays_before(last + 1) - _weekdays_before(first + 1)
    holidays_between = (
        select(func.count())
        .select_from(holidays_table)
        .where(holidays_table.c.day > first, holidays_table.c.day <= last)
        .scalar_subquery()
    )
    return weekdays - holidays_between
