"""The oversight report on a seeded record whose figures are worked out by hand below, on SQLite
and on PostgreSQL: what the partnership sees, what one agency sees, and the published form.

The period is the first quarter of 2026 in London. Bank holidays then: 1 January, and Good
Friday (3 April) and Easter Monday (6 April) just after. British Summer Time starts 29 March.
"""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from casework.oversight import (
    EscalationLine,
    EscalationReport,
    ResolutionTimes,
    escalation_lines,
    escalation_report,
    resolution_times,
)
from casework.oversight_csv import escalations_csv
from casework.publication import published
from casework.refusals import ProblemError
from database.audit_chain import append_event
from database.engine import create_engine, session_factory
from database.tables import Escalation
from tests.conftest import isolated_settings, new_key
from tests.ladders import directory, directory_file
from workflows.models import SYSTEM_ACTOR, TIME_LIMIT_PASSED, AuditAction

POLICE, SOCIAL_CARE, HEALTH, SCHOOL = "Police", "Children's Services", "NHS Trust", "School"
Q1 = (date(2026, 1, 1), date(2026, 3, 31))
CSV = "text/csv"


@dataclass
class Viewer:
    name: str
    agency: str
    role: str


PARTNERSHIP = Viewer("Chair", "Safeguarding Children Partnership", "board")
AT_POLICE = Viewer("DS Khan", POLICE, "manager")
AT_SCHOOL = Viewer("Head", SCHOOL, "executive")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# id: raising → receiving, category, raised (UTC), what happened, child reference
ESCALATIONS: list[dict[str, Any]] = [
    # Raised on a bank holiday, resolved at stage 1 on Monday 5 Jan: 2 Jan and 5 Jan, 2 days.
    dict(id="E1", raising=SOCIAL_CARE, receiving=POLICE, category="threshold",
         created=utc(2026, 1, 1, 0, 10), status="resolved", stage=1,
         closed=utc(2026, 1, 5, 10), child="C-3"),
    # Stage 1's limit passed; resolved at stage 2 on Wed 21 Jan: 13-16, 19-21 Jan, 7 days.
    dict(id="E2", raising=SOCIAL_CARE, receiving=POLICE, category="threshold",
         created=utc(2026, 1, 12, 9), status="resolved", stage=2,
         closed=utc(2026, 1, 21, 15), child="C-4"),
    # Escalated by a person from 1 to 2, by the clock from 2 to 3, then overdue at the top.
    dict(id="E3", raising=SCHOOL, receiving=SOCIAL_CARE, category="threshold",
         created=utc(2026, 2, 2, 10), status="open", stage=3, overdue=True,
         immediate_risk=True, child="C-1"),
    dict(id="E4", raising=SCHOOL, receiving=SOCIAL_CARE, category="step-down",
         created=utc(2026, 2, 10, 10), status="withdrawn", stage=1,
         closed=utc(2026, 2, 11, 10), child="C-1"),
    dict(id="E8", raising=SOCIAL_CARE, receiving=HEALTH, category="threshold",
         created=utc(2026, 2, 15, 10), status="cancelled", stage=1,
         closed=utc(2026, 2, 16, 10), child="C-5"),
    # Resolved the day it was raised: 0 days.
    dict(id="E5", raising=HEALTH, receiving=POLICE, category="information sharing",
         created=utc(2026, 3, 2, 9), status="resolved", stage=1,
         closed=utc(2026, 3, 2, 16), child="C-1"),
    # Stage 1's limit passed, then terminated outside the workflow.
    dict(id="E9", raising=POLICE, receiving=SCHOOL, category="threshold",
         created=utc(2026, 3, 10, 9), status="terminated", stage=2,
         closed=utc(2026, 3, 12, 9), child="C-6"),
    # Fri 20 Mar to 23:30 UTC on 6 Apr, which is Tue 7 Apr in London: 23-27 Mar, 30 Mar-2 Apr,
    # 7 Apr (Good Friday and Easter Monday do not count): 10 days.
    dict(id="E7", raising=POLICE, receiving=SOCIAL_CARE, category="threshold",
         created=utc(2026, 3, 20, 15), status="resolved", stage=1,
         closed=utc(2026, 4, 6, 23, 30), child="C-2"),
    # 23:30 on 31 March in London (summer time): in the period. No category.
    dict(id="E6", raising=HEALTH, receiving=SOCIAL_CARE, category=None,
         created=utc(2026, 3, 31, 22, 30), status="open", stage=1, immediate_risk=True,
         child="C-2"),
    # Outside: 31 Dec in London; resolved in January (counts in January's "closed" only).
    dict(id="X1", raising=SOCIAL_CARE, receiving=HEALTH, category="threshold",
         created=utc(2025, 12, 31, 23, 30), status="resolved", stage=1,
         closed=utc(2026, 1, 2, 10), child="C-2"),
    # Outside: 00:30 on 1 April in London; its time limit passing is not counted.
    dict(id="X2", raising=SCHOOL, receiving=POLICE, category="threshold",
         created=utc(2026, 3, 31, 23, 30), status="open", stage=2, child="C-1"),
]  # fmt: skip

# id: (action, actor, stage after, details)
EVENTS: dict[str, list[tuple[AuditAction, str, int, dict[str, Any]]]] = {
    "E2": [("escalated", SYSTEM_ACTOR, 2, {"reason": TIME_LIMIT_PASSED, "from_stage": 1,
                                           "to_stage": 2})],
    "E3": [
        ("escalated", "Head (School)", 2, {"reason": "no reply", "from_stage": 1, "to_stage": 2}),
        ("reminder", SYSTEM_ACTOR, 2, {"due": "Mon 16 Feb 10:00"}),
        ("escalated", SYSTEM_ACTOR, 3, {"reason": TIME_LIMIT_PASSED, "from_stage": 2,
                                        "to_stage": 3}),
        ("overdue", SYSTEM_ACTOR, 3, {"reason": TIME_LIMIT_PASSED}),
        ("reminder", SYSTEM_ACTOR, 3, {"overdue": True}),
    ],
    "E9": [("escalated", SYSTEM_ACTOR, 2, {"reason": TIME_LIMIT_PASSED, "from_stage": 1,
                                           "to_stage": 2})],
    "X2": [("escalated", SYSTEM_ACTOR, 2, {"reason": TIME_LIMIT_PASSED, "from_stage": 1,
                                           "to_stage": 2})],
}  # fmt: skip


async def seed(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as db:
        for row in ESCALATIONS:
            db.add(
                Escalation(
                    id=row["id"],
                    policy="standard",
                    raising_agency=row["raising"],
                    receiving_agency=row["receiving"],
                    raised_by=f"someone ({row['raising']})",
                    immediate_risk=row.get("immediate_risk", False),
                    created_at=row["created"],
                    child_reference=row["child"],
                    child_name="Olivia Example",
                    child_date_of_birth=date(2019, 5, 4),
                    summary="The school still sees neglect.",
                    category=row["category"],
                    status=row["status"],
                    stage=row["stage"],
                    overdue=row.get("overdue", False),
                    closed_at=row.get("closed"),
                    updated_at=row["created"],
                )
            )
        await db.commit()
    for row in ESCALATIONS:
        at = row["created"]
        await append_event(
            sessions, event_key=f"{row['id']}:1", escalation_id=row["id"], action="raised",
            at=at, actor=f"someone ({row['raising']})", stage=1, details={"policy": "standard"},
        )  # fmt: skip
        for seq, (action, actor, stage, details) in enumerate(EVENTS.get(row["id"], []), 2):
            await append_event(
                sessions, event_key=f"{row['id']}:{seq}", escalation_id=row["id"],
                action=action, at=at + timedelta(hours=1, minutes=seq), actor=actor,
                stage=stage, details=details,
            )  # fmt: skip


@pytest.fixture(scope="module")
async def seeded(module_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(module_database_url)
    await seed(engine)
    yield engine
    await engine.dispose()


async def report(engine: AsyncEngine, viewer: Viewer, start: date, end: date) -> EscalationReport:
    async with session_factory(engine)() as db:
        return await escalation_report(db, viewer, start, end, "england")


async def test_the_partnership_sees_every_escalation_raised_in_the_period(
    seeded: AsyncEngine,
) -> None:
    seen = await report(seeded, PARTNERSHIP, *Q1)

    assert seen.scope == "partnership"
    assert seen.raised == 9
    assert seen.by_raising_agency == {SOCIAL_CARE: 3, SCHOOL: 2, HEALTH: 2, POLICE: 2}
    assert list(seen.by_raising_agency) == [SOCIAL_CARE, HEALTH, POLICE, SCHOOL]  # most first
    assert seen.by_receiving_agency == {POLICE: 3, SOCIAL_CARE: 4, HEALTH: 1, SCHOOL: 1}
    assert seen.by_agency_pair == {
        f"{SOCIAL_CARE} → {POLICE}": 2,
        f"{SCHOOL} → {SOCIAL_CARE}": 2,
        f"{SOCIAL_CARE} → {HEALTH}": 1,
        f"{HEALTH} → {POLICE}": 1,
        f"{POLICE} → {SCHOOL}": 1,
        f"{POLICE} → {SOCIAL_CARE}": 1,
        f"{HEALTH} → {SOCIAL_CARE}": 1,
    }
    assert seen.by_category == {
        "threshold": 6,
        "step-down": 1,
        "information sharing": 1,
        "not recorded": 1,
    }
    assert seen.by_outcome == {
        "open": 2,
        "resolved": 4,
        "withdrawn": 1,
        "cancelled": 1,
        "terminated": 1,
    }
    assert seen.by_highest_stage == {"1": 6, "2": 2, "3": 1}
    # E2 and E9 at stage 1, E3 at stage 2 (moved up) and at stage 3 (overdue); not X2's.
    assert seen.time_limits_passed == 4
    assert seen.time_limits_passed_by_stage == {"1": 2, "2": 1, "3": 1}
    assert seen.immediate_risk == 2
    # C-1: E3, E4, E5; C-2: E6, E7 (X1 is outside the period).
    assert (seen.repeat_children, seen.repeat_children_escalations) == (2, 5)
    # Resolved in 0 (E5), 2 (E1), 7 (E2) and 10 (E7) working days.
    assert seen.working_days_to_resolve == ResolutionTimes(resolved=4, median=4.5, p90=9.1)
    assert seen.working_days_to_resolve_by_stage == {
        "1": ResolutionTimes(resolved=3, median=2, p90=8.4),
        "2": ResolutionTimes(resolved=1, median=7, p90=7),
    }
    assert (seen.open_now, seen.overdue_now) == (2, 1)
    assert {month: (m.raised, m.closed) for month, m in seen.monthly.items()} == {
        "2026-01": (2, 3),  # closed: E1, E2 and X1
        "2026-02": (3, 2),  # closed: E4, E8
        "2026-03": (4, 2),  # closed: E5, E9 (E7 closed in April)
    }


async def test_an_agency_sees_the_escalations_it_raised_or_received(seeded: AsyncEngine) -> None:
    police = await report(seeded, AT_POLICE, *Q1)

    assert police.scope == POLICE
    assert police.raised == 5  # E1, E2, E5 received; E7, E9 raised
    assert police.by_raising_agency == {SOCIAL_CARE: 2, HEALTH: 1, POLICE: 2}
    assert police.by_receiving_agency == {POLICE: 3, SOCIAL_CARE: 1, SCHOOL: 1}
    assert police.by_outcome == {
        "open": 0,
        "resolved": 4,
        "withdrawn": 0,
        "cancelled": 0,
        "terminated": 1,
    }
    assert police.by_highest_stage == {"1": 3, "2": 2}
    assert police.time_limits_passed_by_stage == {"1": 2}
    assert (police.immediate_risk, police.open_now, police.overdue_now) == (0, 0, 0)
    assert (police.repeat_children, police.repeat_children_escalations) == (0, 0)
    assert police.working_days_to_resolve == ResolutionTimes(resolved=4, median=4.5, p90=9.1)
    assert {month: (m.raised, m.closed) for month, m in police.monthly.items()} == {
        "2026-01": (2, 2),
        "2026-02": (0, 0),
        "2026-03": (3, 2),
    }

    school = await report(seeded, AT_SCHOOL, *Q1)
    assert school.raised == 3  # E3, E4 raised; E9 received
    assert (school.repeat_children, school.repeat_children_escalations) == (1, 2)
    assert school.time_limits_passed_by_stage == {"1": 1, "2": 1, "3": 1}
    assert school.working_days_to_resolve == ResolutionTimes(resolved=0)
    assert school.working_days_to_resolve_by_stage == {}


async def test_the_period_is_in_london_dates(seeded: AsyncEngine) -> None:
    # 31 Dec 2025 23:30 UTC is 31 Dec in London (winter); 31 Mar 2026 23:30 UTC is 1 April.
    december = await report(seeded, PARTNERSHIP, date(2025, 12, 31), date(2025, 12, 31))
    april = await report(seeded, PARTNERSHIP, date(2026, 4, 1), date(2026, 4, 1))

    assert (december.raised, december.by_raising_agency) == (1, {SOCIAL_CARE: 1})
    assert (april.raised, april.by_raising_agency) == (1, {SCHOOL: 1})
    assert april.time_limits_passed_by_stage == {"1": 1}
    # Closed 2 Jan, the next working day after 31 Dec.
    assert december.working_days_to_resolve == ResolutionTimes(resolved=1, median=1, p90=1)


async def test_the_escalation_lines_carry_the_figures_and_no_child_data(
    seeded: AsyncEngine,
) -> None:
    async with session_factory(seeded)() as db:
        lines = await escalation_lines(db, AT_POLICE, *Q1, "england")

    assert [line.id for line in lines] == ["E1", "E2", "E5", "E9", "E7"]
    figures = {
        line.id: (line.status, line.highest_stage, line.working_days_to_resolve,
                  line.time_limits_passed)
        for line in lines
    }  # fmt: skip
    assert figures == {
        "E1": ("resolved", 1, 2, 0),
        "E2": ("resolved", 2, 7, 1),
        "E5": ("resolved", 1, 0, 0),
        "E9": ("terminated", 2, None, 1),
        "E7": ("resolved", 1, 10, 0),
    }
    dumped = str([line.model_dump() for line in lines])
    for child_data in ("Olivia", "2019-05-04", "neglect", "C-1", "C-2", "child"):
        assert child_data not in dumped


async def test_working_days_follow_the_partnerships_nation(seeded: AsyncEngine) -> None:
    async with session_factory(seeded)() as db:
        scottish = await escalation_lines(db, AT_POLICE, *Q1, "scotland")
        northern_irish = await escalation_lines(db, AT_POLICE, *Q1, "northern_ireland")

    def days(lines: list[EscalationLine]) -> dict[str, int | None]:
        return {line.id: line.working_days_to_resolve for line in lines if line.id in {"E1", "E7"}}

    # Scotland: 2 January is a bank holiday (E1: only Mon 5 Jan counts) and Easter Monday is
    # not (E7: 6 April counts). Northern Ireland's St Patrick's Day (17 Mar) is before E7.
    assert days(scottish) == {"E1": 1, "E7": 11}
    assert days(northern_irish) == {"E1": 2, "E7": 10}


async def test_a_published_report_shows_small_counts_as_under_five(seeded: AsyncEngine) -> None:
    shown = (await report(seeded, PARTNERSHIP, *Q1)).for_publication()

    assert shown.publication is True
    assert shown.raised == 9
    assert shown.by_raising_agency == {SOCIAL_CARE: "<5", SCHOOL: "<5", HEALTH: "<5", POLICE: "<5"}
    assert shown.by_category["threshold"] == 6
    assert shown.by_outcome == {
        "open": "<5",
        "resolved": "<5",
        "withdrawn": "<5",
        "cancelled": "<5",
        "terminated": "<5",
    }
    # Fewer than five resolutions: no times, since one case's time is that case.
    assert shown.working_days_to_resolve == ResolutionTimes(resolved="<5")
    assert shown.monthly["2026-02"].closed == "<5"

    police = (await report(seeded, AT_POLICE, *Q1)).for_publication()
    assert police.by_outcome["open"] == 0  # nothing to find in a zero


def test_resolution_times_interpolate_between_neighbours() -> None:
    # 1, 1, 1, 4, 6: the middle one is 1; the 90th percentile is 0.6 of the way from 4 to 6.
    assert resolution_times({4: 1, 1: 3, 6: 1}) == ResolutionTimes(resolved=5, median=1, p90=5.2)
    assert resolution_times({3: 1}) == ResolutionTimes(resolved=1, median=3, p90=3)
    assert resolution_times({}) == ResolutionTimes(resolved=0, median=None, p90=None)


async def test_published_resolution_times_stay_over_five_escalations(seeded: AsyncEngine) -> None:
    seen = await report(seeded, PARTNERSHIP, *Q1)
    times = ResolutionTimes(resolved=6, median=3.5, p90=8)

    shown = seen.model_copy(update={"working_days_to_resolve": times}).for_publication()

    assert shown.working_days_to_resolve == times
    assert shown.working_days_to_resolve_by_stage["1"] == ResolutionTimes(resolved="<5")


def test_only_counts_from_one_to_four_are_hidden() -> None:
    assert [published(n) for n in (0, 1, 4, 5, 120)] == [0, "<5", "<5", 5, 120]
    assert published("<5") == "<5"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 3, 1), date(2026, 2, 28), "must be on or after from"),
        (date(2021, 4, 1), date(2026, 4, 1), "must be within 5 years of from"),
        (date(2024, 2, 29), date(2029, 3, 1), "must be within 5 years of from"),
    ],
)
async def test_a_period_backwards_or_over_five_years_is_refused(
    seeded: AsyncEngine, start: date, end: date, message: str
) -> None:
    with pytest.raises(ProblemError) as refused:
        await report(seeded, PARTNERSHIP, start, end)

    assert refused.value.status == 422
    assert [(e.field, e.message) for e in refused.value.errors or []] == [("to", message)]


async def test_five_years_exactly_is_allowed(seeded: AsyncEngine) -> None:
    seen = await report(seeded, PARTNERSHIP, date(2021, 4, 1), date(2026, 3, 31))
    assert seen.raised == 10  # all but X2, raised on 1 April 2026
    assert len(seen.monthly) == 60


# --- over HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def http(
    seeded: AsyncEngine,
    module_database_url: str,
    payload_key_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    no_one = directory_file(
        tmp_path_factory.mktemp("directory") / "directory.toml", directory(people=False)
    )
    app = create_app(
        isolated_settings(
            database_url=module_database_url,
            payload_key_file=payload_key_file,
            directory_file=no_one,
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def partnership_key(seeded: AsyncEngine) -> dict[str, str]:
    _, token = await new_key(seeded, name="Chair", agency=PARTNERSHIP.agency, role="board")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def police_key(seeded: AsyncEngine) -> dict[str, str]:
    _, token = await new_key(seeded, name="DS Khan", agency=POLICE, role="manager")
    return {"Authorization": f"Bearer {token}"}


PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}


async def test_the_report_over_http_is_json_for_the_callers_agency(
    http: httpx.AsyncClient, police_key: dict[str, str], partnership_key: dict[str, str]
) -> None:
    police = await http.get("/reports/escalations", params=PERIOD, headers=police_key)
    everyone = await http.get("/reports/escalations", params=PERIOD, headers=partnership_key)

    assert police.status_code == 200, police.text
    assert police.headers["content-type"] == "application/json"
    assert (police.json()["scope"], police.json()["raised"]) == (POLICE, 5)
    assert everyone.json()["by_highest_stage"] == {"1": 6, "2": 2, "3": 1}
    assert everyone.json()["working_days_to_resolve"] == {"resolved": 4, "median": 4.5, "p90": 9.1}
    published_one = await http.get(
        "/reports/escalations", params=PERIOD | {"publication": "true"}, headers=partnership_key
    )
    assert published_one.json()["by_outcome"]["resolved"] == "<5"
    assert published_one.json()["raised"] == 9


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_csv_aggregate_has_a_row_per_figure(
    http: httpx.AsyncClient, partnership_key: dict[str, str]
) -> None:
    by_accept = read_csv(
        await http.get(
            "/reports/escalations", params=PERIOD, headers=partnership_key | {"Accept": CSV}
        )
    )
    by_format = read_csv(
        await http.get(
            "/reports/escalations",
            params=PERIOD | {"format": "csv", "publication": "true"},
            headers=partnership_key,
        )
    )

    assert by_accept[0] == ["figure", "key", "value"]
    rows = {(figure, key): value for figure, key, value in by_accept[1:]}
    assert rows[("raised", "")] == "9"
    assert rows[("by_agency_pair", f"{SOCIAL_CARE} → {POLICE}")] == "2"
    assert rows[("by_outcome", "terminated")] == "1"
    assert rows[("time_limits_passed_by_stage", "3")] == "1"
    assert rows[("working_days_to_resolve.median", "")] == "4.5"
    assert rows[("working_days_to_resolve_by_stage.p90", "1")] == "8.4"
    assert rows[("monthly.closed", "2026-01")] == "3"
    assert rows[("publication", "")] == "false"
    published_rows = {(figure, key): value for figure, key, value in by_format[1:]}
    assert published_rows[("by_outcome", "terminated")] == "<5"
    assert published_rows[("working_days_to_resolve.median", "")] == ""


async def test_the_csv_escalation_table_has_the_fields_behind_the_counts_only(
    http: httpx.AsyncClient, police_key: dict[str, str]
) -> None:
    table = read_csv(
        await http.get(
            "/reports/escalations",
            params=PERIOD | {"format": "csv", "table": "escalations"},
            headers=police_key,
        )
    )

    assert table[0] == [
        "id",
        "raising_agency",
        "receiving_agency",
        "category",
        "status",
        "highest_stage",
        "immediate_risk",
        "created_at",
        "closed_at",
        "working_days_to_resolve",
        "time_limits_passed",
    ]
    rows = {row[0]: row for row in table[1:]}
    assert list(rows) == ["E1", "E2", "E5", "E9", "E7"]
    assert rows["E7"][7:] == ["2026-03-20T15:00:00+00:00", "2026-04-07T00:30:00+01:00", "10", "0"]
    assert rows["E9"][4:7] == ["terminated", "2", "false"]
    assert rows["E9"][9:] == ["", "1"]
    text = str(table)
    for child_data in ("Olivia", "2019-05-04", "neglect", "C-1", "C-2"):
        assert child_data not in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-30", "to": "2026-03-31"}, "from"),
        ({"from": "1 Jan 2026", "to": "2026-03-31"}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "to"),
        ({"from": "1969-12-31", "to": "1970-01-01"}, "from"),
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),
        (PERIOD | {"format": "xml"}, "format"),
        (PERIOD | {"table": "escalations"}, "table"),
        (PERIOD | {"table": "escalations", "format": "csv", "publication": "true"}, "table"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    http: httpx.AsyncClient, police_key: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = await http.get("/reports/escalations", params=params, headers=police_key)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_no_key_no_report(http: httpx.AsyncClient) -> None:
    response = await http.get("/reports/escalations", params=PERIOD)
    wrong = await http.get(
        "/reports/escalations", params=PERIOD, headers={"Authorization": "Bearer nonsense"}
    )

    assert (response.status_code, wrong.status_code) == (401, 401)
    assert response.headers["content-type"] == "application/problem+json"
    assert "raised" not in response.text


def test_a_csv_cell_never_starts_a_formula() -> None:
    line = EscalationLine(
        id="E1",
        raising_agency="@Police",
        receiving_agency="-Children's Services",
        category='=HYPERLINK("http://example.org")',
        status="resolved",
        highest_stage=1,
        immediate_risk=False,
        created_at=utc(2026, 6, 1, 9),
        closed_at=None,
        working_days_to_resolve=None,
        time_limits_passed=0,
    )

    (row,) = list(csv.reader(io.StringIO(escalations_csv([line]))))[1:]

    assert row[1:4] == ["'@Police", "'-Children's Services", '\'=HYPERLINK("http://example.org")']
    assert row[7:9] == ["2026-06-01T10:00:00+01:00", ""]  # London summer time
