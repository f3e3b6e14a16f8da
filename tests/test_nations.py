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
from core.temporal import data_converter
from tests.conftest import BIN, isolated_settings
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
from worker.main import ensure_search_attributes
from workflows.policy import Nation, Policy, Stage

pytestmark = SQLITE_ONLY
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
async def own_time_env(payload_key_file: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own (conftest's time_env, unshared)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(isolated_settings(payload_key_file=payload_key_file)),
    )
    await ensure_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


def ladder(nation: Nation) -> Policy:
    return Policy(
        title=f"One working day, then the partnership ({nation})",
        nation=nation,
        stages=[
            Stage(name="Line managers", role="manager", working_days=1),
            Stage(name="Partnership", role="board", working_days=5),
        ],
    )


def like_2026(after: datetime) -> int:
    """The first year from `after` on whose calendar is 2026's (2037 from December 2026)."""
    year = after.year + 1
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
        national = escalation_input("national", policy=ladder(nation))
        english = escalation_input("english", policy=ladder("england"))
        async with raised(env, config, national) as here, raised(env, config, english) as there:
            await settle(env)
            assert day_of((await state_of(here)).stage_deadline) == national_day
            assert day_of((await state_of(there)).stage_deadline) == english_day

            await advance_to(env, at_10(english_day) + MINUTE)
            assert ((await state_of(here)).stage, (await state_of(there)).stage) == (1, 2)
            await advance_to(env, at_10(national_day) + MINUTE)
            assert (await state_of(here)).stage == 2


async def test_northern_irelands_st_patricks_day_and_battle_of_the_boyne(
    own_time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    year = like_2026(await own_time_env.get_current_time())
    # Monday 16 March: St Patrick's Day is Tuesday 17th, so Wednesday 18th.
    await check_day_moved_up(
        own_time_env, engine, "northern_ireland",
        date(year, 3, 16), date(year, 3, 17), date(year, 3, 18),
    )  # fmt: skip
    # Friday 10 July: the Boyne falls on Sunday 12th and is observed on Monday 13th.
    await check_day_moved_up(
        own_time_env, engine, "northern_ireland",
        date(year, 7, 10), date(year, 7, 13), date(year, 7, 14),
    )  # fmt: skip


async def test_scotlands_st_andrews_day_and_second_of_january(
    own_time_env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    year = like_2026(await own_time_env.get_current_time())
    # Friday 27 November: St Andrew's Day is Monday 30th, so Tuesday 1 December.
    await check_day_moved_up(
        own_time_env, engine, "scotland",
        date(year, 11, 27), date(year, 11, 30), date(year, 12, 1),
    )  # fmt: skip
    # Thursday 31 December: 1 January is a Friday, 2 January a Saturday whose substitute is
    # Monday 4th in Scotland; England works again on Monday 4th, Scotland on Tuesday 5th.
    await check_day_moved_up(
        own_time_env, engine, "scotland",
        date(year, 12, 31), date(year + 1, 1, 4), date(year + 1, 1, 5),
    )  # fmt: skip
