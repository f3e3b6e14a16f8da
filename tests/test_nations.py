"""The four nations' calendars on the time-skipping server: each escalation's clock skips the
bank holidays of its ladder's nation, and moves up on the day that nation works again.

The time-skipping server starts at the real time, so the dates of 2026 that the issue names
(St Andrew's Day on Monday 30 November, the Battle of the Boyne on Sunday 12 July observed on
Monday 13 July) are replayed in the next year whose calendar is 2026's: every weekday the same,
and the same bank holidays on them. This module has its own server, so moving it years ahead
leaves the session's shared clock alone.
"""

import calendar
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core.calendar import LONDON
from tests import ladders
from tests.conftest import time_skipping_server
from tests.engine_helpers import (
    SQLITE_ONLY,
    advance_to,
    escalation_input,
    escalation_worker,
    london,
    raised,
    settle,
    state_of,
)
from workflows.policy import Nation, Policy

pytestmark = SQLITE_ONLY
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
async def own_time_env(payload_key_file: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own (conftest's time_env, unshared)."""
    async with time_skipping_server(payload_key_file) as env:
        yield env


def national_ladder(nation: Nation) -> Policy:
    return ladders.ladder(f"One working day, then the partnership ({nation})", 1, 5, nation=nation)


def like_2026(year: int) -> int:
    """The first year from `year` on whose calendar is 2026's (2037 after 2026)."""
    while calendar.isleap(year) or date(year, 1, 1).weekday() != date(2026, 1, 1).weekday():
        year += 1
    return year


def at_10(day: date) -> datetime:
    return london(day.year, day.month, day.day)


def day_of(moment: datetime | None) -> date | None:
    return moment.astimezone(LONDON).date() if moment else None


async def check_day_moved_up(
    env: WorkflowEnvironment, engine: AsyncEngine, nation: Nation, raise_on: date,
    english_day: date, national_day: date,
) -> None:  # fmt: skip
    """Stage 1 (one working day) raised at 10:00 on `raise_on` ends on `national_day` for the
    nation, on `english_day` for England, and each escalation moves up then, not before."""
    async with escalation_worker(env.client, engine) as config:
        await advance_to(env, at_10(raise_on))
        national = escalation_input("national", policy=national_ladder(nation))
        english = escalation_input("english", policy=national_ladder("england"))
        async with raised(env, config, national) as here, raised(env, config, english) as there:
            await settle(env)
            assert day_of((await state_of(here)).stage_deadline) == national_day
            assert day_of((await state_of(there)).stage_deadline) == english_day

            await advance_to(env, at_10(english_day) + MINUTE)
            assert ((await state_of(here)).stage, (await state_of(there)).stage) == (1, 2)
            await advance_to(env, at_10(national_day) + MINUTE)
            assert (await state_of(here)).stage == 2


# Raised at 10:00 on a day with a one-working-day stage: the day England moves it up, and the
# day the nation does, in a year whose calendar is 2026's (years after it, month, day).
HOLIDAYS = [
    # Monday 16 March: St Patrick's Day is Tuesday 17th, so Wednesday 18th.
    pytest.param("northern_ireland", (0, 3, 16), (0, 3, 17), (0, 3, 18), id="st-patricks-day"),
    # Friday 10 July: the Boyne falls on Sunday 12th and is observed on Monday 13th.
    pytest.param("northern_ireland", (0, 7, 10), (0, 7, 13), (0, 7, 14), id="boyne"),
    # Friday 27 November: St Andrew's Day is Monday 30th, so Tuesday 1 December.
    pytest.param("scotland", (0, 11, 27), (0, 11, 30), (0, 12, 1), id="st-andrews-day"),
    # Thursday 31 December: 1 January is a Friday, 2 January a Saturday whose substitute is
    # Monday 4th in Scotland; England works again on Monday 4th, Scotland on Tuesday 5th.
    pytest.param("scotland", (0, 12, 31), (1, 1, 4), (1, 1, 5), id="second-of-january"),
]


@pytest.mark.parametrize(("nation", "raise_on", "english_day", "national_day"), HOLIDAYS)
async def test_the_clock_skips_the_nations_own_bank_holidays(
    own_time_env: WorkflowEnvironment,
    engine: AsyncEngine,
    nation: Nation,
    raise_on: tuple[int, int, int],
    english_day: tuple[int, int, int],
    national_day: tuple[int, int, int],
) -> None:
    now = await own_time_env.get_current_time()
    year = like_2026(now.year)
    while london(year, *raise_on[1:]) <= now:  # the clock is past it: the next such year
        year = like_2026(year + 1)

    def day(when: tuple[int, int, int]) -> date:
        return date(year + when[0], when[1], when[2])

    await check_day_moved_up(
        own_time_env, engine, nation, day(raise_on), day(english_day), day(national_day)
    )
