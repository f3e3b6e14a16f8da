"""The working-day clock: weekends and the nation's bank holidays do not count.

N working days after a moment is the same local time of day on the Nth following working day
(Europe/London, the whole UK's time zone). Each nation has its own bank holidays (the `holidays`
package's UK subdivisions): Scotland's 2 January and St Andrew's Day, Northern Ireland's St
Patrick's Day and Battle of the Boyne, no Easter Monday in Scotland. Deadlines are computed here,
in an activity, so a calendar update never changes what a replayed workflow sees.
"""

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from workflows.policy import Nation, Span

LONDON = ZoneInfo("Europe/London")
SUBDIVISIONS: dict[Nation, str] = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}


@lru_cache(maxsize=256)
def bank_holidays(year: int, nation: Nation = "england") -> frozenset[date]:
    # The library keeps substitute days and one-offs (jubilees, a state funeral).
    return frozenset(
        holidays.country_holidays("GB", subdiv=SUBDIVISIONS[nation], years=year).keys()
    )


def is_working_day(day: date, nation: Nation = "england") -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year, nation)


def shift_working_days(start: datetime, days: int, nation: Nation = "england") -> datetime:
    """`days` working days after `start` (before it when negative), at the same London time."""
    local = start.astimezone(LONDON)
    step = timedelta(days=1 if days >= 0 else -1)
    day, remaining = local.date(), abs(days)
    while remaining:
        day += step
        if is_working_day(day, nation):
            remaining -= 1
    moved = datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=LONDON)
    return moved.astimezone(start.tzinfo)


def shift(
    start: datetime, span: Span, *, backwards: bool = False, nation: Nation = "england"
) -> datetime:
    if span.working_days is not None:
        days = -span.working_days if backwards else span.working_days
        return shift_working_days(start, days, nation)
    assert span.duration is not None
    return start - span.duration if backwards else start + span.duration
