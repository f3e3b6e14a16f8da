"""A pending row (a raise whose workflow never recorded it), written by hand beside an open one
about the same child: on no page, in no API answer, in no report figure or CSV row, on SQLite and
PostgreSQL. The open row shows where the pending one would."""

import csv
import io
from datetime import timedelta

import pytest

from core.calendar import LONDON
from database.engine import session_factory
from database.tables import PENDING, Escalation, utc_now
from tests.conftest import new_key
from tests.ladders import CHAIR, CHILDRENS_SERVICES, CS_MANAGER, PARTNERSHIP, POLICE, PRACTITIONER
from tests.pages_stack import PagesStack
from workflows.policy import Role

SHOWN, HIDDEN = "ESC-SHOWN001", "ESC-PENDING1"
VIEWS = ("waiting", "raised", "closed", "all")


@pytest.fixture(scope="module")
async def rows(pages_stack: PagesStack) -> None:
    now = utc_now()
    async with session_factory(pages_stack.engine)() as db:
        for reference, status in ((SHOWN, "open"), (HIDDEN, PENDING)):
            db.add(
                Escalation(
                    id=reference,
                    policy="standard",
                    raising_agency=POLICE,
                    receiving_agency=CHILDRENS_SERVICES,
                    raised_by="PC Reyes (Northshire Police)",
                    created_at=now,
                    updated_at=now,
                    status=status,
                    stage_name="Line managers",
                    stage_role="manager",
                    child_reference="NP-7001",
                    summary="Referral closed as threshold not met.",
                )
            )
        await db.commit()


def period() -> dict[str, str]:
    today = utc_now().astimezone(LONDON).date()
    return {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}


@pytest.mark.parametrize("address", [PRACTITIONER, CS_MANAGER, CHAIR])
async def test_no_page_shows_a_pending_escalation(
    pages_stack: PagesStack, rows: None, address: str
) -> None:
    async with pages_stack.signed_in(address) as client:
        listed = "".join([(await client.get("/", params={"view": v})).text for v in VIEWS])
        assert SHOWN in listed and HIDDEN not in listed
        for path in ("/escalations/{}", "/escalations/{}/record"):
            assert (await client.get(path.format(SHOWN))).status_code == 200
            assert (await client.get(path.format(HIDDEN))).status_code == 404
        report = await client.get("/reports", params=period())
        assert report.status_code == 200
        lines = await client.get("/reports/download", params={**period(), "table": "escalations"})
        ids = [line["id"] for line in csv.DictReader(io.StringIO(lines.text))]
        assert ids == [SHOWN]


@pytest.mark.parametrize(
    ("agency", "role"),
    [(POLICE, "practitioner"), (CHILDRENS_SERVICES, "manager"), (PARTNERSHIP, "board")],
)
async def test_no_api_answer_or_figure_counts_a_pending_escalation(
    pages_stack: PagesStack, rows: None, agency: str, role: Role
) -> None:
    _, token = await new_key(pages_stack.engine, name=f"{role} key", agency=agency, role=role)
    async with pages_stack.api_client(token) as api:
        listed = (await api.get("/escalations")).json()
        assert [item["id"] for item in listed["items"]] == [SHOWN] and listed["total"] == 1
        for path in ("/escalations/{}", "/escalations/{}/timeline"):
            assert (await api.get(path.format(SHOWN))).status_code == 200
            assert (await api.get(path.format(HIDDEN))).status_code == 404
        report = (await api.get("/reports/escalations", params=period())).json()
        assert report["raised"] == 1 and report["open_now"] == 1
        assert report["by_outcome"]["open"] == 1
        # Both rows are about one child: only the open one counts, so no child is repeated.
        assert report["repeat_children"] == 0
        aggregate = await api.get("/reports/escalations", params={**period(), "format": "csv"})
        assert HIDDEN not in aggregate.text
        lines = await api.get(
            "/reports/escalations", params={**period(), "format": "csv", "table": "escalations"}
        )
        assert [line["id"] for line in csv.DictReader(io.StringIO(lines.text))] == [SHOWN]
