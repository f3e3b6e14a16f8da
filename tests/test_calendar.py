"""The working-day clock: dates hand-checked against the gov.uk bank holiday list."""

from datetime import UTC, date, datetime, timedelta

import pytest

from activities.stage_clock import stage_clock
from core.calendar import is_working_day, shift, shift_working_days
from tests.engine_helpers import london
from workflows.models import StageClockInput
from workflows.policy import Nation, Span


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Weekends do not count.
        (london(2026, 11, 27), 1, london(2026, 11, 30)),  # Fri -> Mon
        (london(2026, 11, 23), 5, london(2026, 11, 30)),  # Mon -> next Mon
        (london(2026, 11, 23), 10, london(2026, 12, 7)),
        # Christmas 2026: Fri 25, Boxing Day on a Saturday so Mon 28 is the substitute.
        (london(2026, 12, 21), 5, london(2026, 12, 30)),
        (london(2026, 12, 24), 1, london(2026, 12, 29)),
        # New Year's Day 2027 is a Friday.
        (london(2026, 12, 30), 5, london(2027, 1, 7)),
        (london(2026, 12, 31), 1, london(2027, 1, 4)),
        # Christmas 2027 on a Saturday, Boxing Day on a Sunday: Mon 27 and Tue 28 substitute.
        (london(2027, 12, 24), 1, london(2027, 12, 29)),
        # New Year's Day 2022 on a Saturday: Mon 3 Jan substitute.
        (london(2021, 12, 31), 1, london(2022, 1, 4)),
        # One-off: Spring bank holiday moved to Thu 2 Jun 2022, Platinum Jubilee Fri 3 Jun.
        (london(2022, 6, 1), 1, london(2022, 6, 6)),
        # Easter 2026: Good Friday 3 Apr and Easter Monday 6 Apr.
        (london(2026, 4, 2), 1, london(2026, 4, 7)),
    ],
)
def test_working_days_skip_weekends_and_bank_holidays(
    start: datetime, days: int, expected: datetime
) -> None:
    assert shift_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),  # Christmas Day
        (date(2026, 12, 26), False),  # Saturday (Boxing Day)
        (date(2026, 12, 28), False),  # Boxing Day substitute
        (date(2026, 12, 29), True),
        (date(2027, 1, 1), False),  # New Year's Day
        (date(2022, 9, 19), False),  # State funeral, a one-off
        (date(2027, 1, 2), False),  # Saturday
        (date(2027, 1, 3), False),  # Sunday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (london(2027, 1, 7), -1, london(2027, 1, 6)),
        (london(2027, 1, 4), -1, london(2026, 12, 31)),  # back over New Year's Day
        (london(2026, 12, 29), -1, london(2026, 12, 24)),  # back over Christmas
        (london(2026, 11, 30), -1, london(2026, 11, 27)),  # Mon -> Fri
    ],
)
def test_shift_backwards(start: datetime, days: int, expected: datetime) -> None:
    assert shift_working_days(start, days) == expected
    # The reminder lead of a stage is the same shift, backwards.
    assert shift(start, Span(working_days=-days), backwards=True) == expected


def test_same_london_wall_clock_time_across_daylight_saving() -> None:
    # Clocks go back on Sun 25 Oct 2026: 10:00 BST is 09:00 UTC, 10:00 GMT is 10:00 UTC.
    before = datetime(2026, 10, 23, 9, 0, tzinfo=UTC)
    assert shift_working_days(before, 1) == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
    # Clocks go forward on Sun 29 Mar 2026.
    assert shift_working_days(datetime(2026, 3, 27, 10, 0, tzinfo=UTC), 1) == datetime(
        2026, 3, 30, 9, 0, tzinfo=UTC
    )
    # Backwards across the change keeps the wall-clock time too.
    assert shift_working_days(datetime(2026, 3, 30, 9, 0, tzinfo=UTC), -1) == datetime(
        2026, 3, 27, 10, 0, tzinfo=UTC
    )


def test_elapsed_time_ignores_the_calendar() -> None:
    # The urgent track counts hours: across a weekend and a clock change, 24 h is 24 h.
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday before clocks go forward
    assert shift(start, Span(duration=timedelta(hours=24))) == start + timedelta(hours=24)
    assert shift(start, Span(duration=timedelta(hours=4)), backwards=True) == start - timedelta(
        hours=4
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (london(2026, 11, 28, 14, 30), london(2026, 11, 30, 14, 30)),  # Saturday -> Monday
        (london(2026, 11, 29, 14, 30), london(2026, 11, 30, 14, 30)),  # Sunday -> Monday
        (london(2026, 12, 25, 9, 0), london(2026, 12, 29, 9, 0)),  # Christmas Day -> Tuesday
    ],
)
def test_start_on_a_non_working_day_counts_from_the_next_working_day(
    start: datetime, expected: datetime
) -> None:
    assert shift_working_days(start, 1) == expected


def test_result_keeps_the_timezone_of_the_start() -> None:
    start = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
    moved = shift_working_days(start, 5)
    assert moved.tzinfo is UTC
    assert moved == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)


async def test_stage_clock_gives_deadline_reminder_and_readable_text() -> None:
    clock = await stage_clock(
        StageClockInput(
            start=london(2026, 12, 21),
            time_limit=Span(working_days=5),
            reminder_lead=Span(working_days=1),
        )
    )
    assert clock.deadline == london(2026, 12, 30)
    assert clock.reminder_at == london(2026, 12, 29)
    assert clock.deadline_text == "Wed 30 Dec 2026 10:00"

    summer = await stage_clock(
        StageClockInput(start=london(2027, 6, 1, 16, 45), time_limit=Span(working_days=1))
    )
    assert summer.reminder_at is None
    assert summer.deadline_text == "Wed 2 Jun 2027 16:45"  # London time, not UTC


@pytest.mark.parametrize(
    ("nation", "start", "expected"),
    [
        # St Andrew's Day, Monday 30 November 2026: a bank holiday in Scotland only.
        ("scotland", london(2026, 11, 27), london(2026, 12, 1)),
        ("england", london(2026, 11, 27), london(2026, 11, 30)),
        # 2 January 2027 is a Saturday: Scotland's substitute is Monday 4 January.
        ("scotland", london(2026, 12, 31), london(2027, 1, 5)),
        ("wales", london(2026, 12, 31), london(2027, 1, 4)),
        # Easter Monday (6 April 2026) is not a bank holiday in Scotland.
        ("scotland", london(2026, 4, 2), london(2026, 4, 6)),
        ("wales", london(2026, 4, 2), london(2026, 4, 7)),
        # St Patrick's Day, Tuesday 17 March 2026, in Northern Ireland.
        ("northern_ireland", london(2026, 3, 16), london(2026, 3, 18)),
        # The Battle of the Boyne, Sunday 12 July 2026, observed on Monday 13 July.
        ("northern_ireland", london(2026, 7, 10), london(2026, 7, 14)),
        ("england", london(2026, 7, 10), london(2026, 7, 13)),
    ],
)
def test_each_nation_skips_its_own_bank_holidays(
    nation: Nation, start: datetime, expected: datetime
) -> None:
    assert shift_working_days(start, 1, nation) == expected


async def test_the_stage_clock_uses_the_nation_of_its_input() -> None:
    clock = await stage_clock(
        StageClockInput(
            start=london(2026, 11, 27),
            time_limit=Span(working_days=1),
            reminder_lead=Span(working_days=1),
            nation="scotland",
        )
    )
    assert clock.deadline == london(2026, 12, 1)
    assert clock.reminder_at == london(2026, 11, 27)
