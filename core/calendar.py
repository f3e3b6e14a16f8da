"""The working-day clock: weekends and England & Wales bank holidays do not count.

N working days after a moment is the same local time of day on the Nth following working day
(Europe/London). Deadlines are computed here, in an activity, so a calendar update never changes
what a replayed workflow sees.
"""

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from workflows.policy import Span

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays; the library keeps substitutes and one-offs.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def shift_working_days(start: datetime, days: int) -> datetime:
    """`days` working days after `start` (before it when negative), at the same London time."""
    local = start.astimezone(LONDON)
    step = timedelta(days=1 if days >= 0 else -1)
    day, remaining = local.date(), abs(days)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    moved = datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=LONDON)
    return moved.astimezone(start.tzinfo)


def shift(start: datetime, span: Span, *, backwards: bool = False) -> datetime:
    if span.working_days is not None:
        return shift_working_days(start, -span.working_days if backwards else span.working_days)
    assert span.duration is not None
    return start - span.duration if backwards else start + span.duration
