"""The daily work over real HTTP, on SQLite and PostgreSQL: what waits on each person (role by
relation by state), the raiser's dispute window, search by an escalation's or a child's reference
(pages and API, recorded as keyed hashes), and what changed since a person last looked."""

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from casework.raising import PENDING
from core.text import reference_key
from database.engine import session_factory
from database.erasure import erase
from database.tables import AccessEvent, Escalation, utc_now
from launcher.demo_data import CASES, demo_escalations, play
from launcher.plan import plan
from tests.conftest import isolated_settings, new_key
from tests.ladders import (
    BUSINESS_UNIT,
    CHAIR,
    CHILDRENS_SERVICES,
    CS_EXECUTIVE,
    CS_MANAGER,
    HEALTH,
    HEALTH_MANAGER,
    HOUR,
    POLICE,
    POLICE_MANAGER,
    PRACTITIONER,
    SECOND,
    ladder,
)
from tests.pages_stack import PagesStack
from tests.polling import eventually
from workflows.policy import Role, Span

# make run's demo ladder (config/policies.example.toml), with an acknowledgement and a dispute
# window that stay open through the tests and a top stage that passes in seconds (overdue).
POLICIES = {
    "demo": ladder(
        "Demo ladder",
        *(HOUR, HOUR, 2 * SECOND),
        steps={1: {"acknowledge_within": Span(duration=timedelta(minutes=30))}},
        dispute_within=Span(duration=HOUR),
    )
}
ROW = re.compile(r'href="/escalations/(ESC-[0-9A-Z]+)"')
CHILD = "NP-7001"


@dataclass
class Cases:
    """One escalation in each state, all raised by the police."""

    plain: str  # against children's services, stage 1
    urgent: str  # the same child, immediate risk
    top: str  # at the partnership's stage, overdue
    resolved: str  # resolved by children's services at stage 1: the dispute window is open
    withdrawn: str
    health: str  # against the NHS trust, stage 1

    def all(self) -> set[str]:
        return set(vars(self).values())


async def headers(stack: PagesStack, agency: str, role: Role) -> dict[str, str]:
    _, token = await new_key(stack.engine, name=f"{role} of {agency}", agency=agency, role=role)
    return {"Authorization": f"Bearer {token}"}


async def raise_one(
    http: httpx.AsyncClient, key: dict[str, str], receiving: str, child: str, **more: object
) -> str:
    body = {
        "receiving_agency": receiving,
        "child_reference": child,
        "summary": "Referral closed as threshold not met.",
        "policy": "demo",
        **more,
    }
    answer = await http.post("/escalations", json=body, headers=key)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def act(
    http: httpx.AsyncClient, key: dict[str, str], ref: str, action: str, **body: object
) -> None:
    answer = await http.post(f"/escalations/{ref}/{action}", json=body, headers=key)
    assert answer.status_code == 200, answer.text


async def row_of(stack: PagesStack, ref: str) -> Escalation:
    async with session_factory(stack.engine)() as db:
        found = await db.get(Escalation, ref)
        assert found is not None
        return found


@pytest.fixture(scope="module")
async def cases(pages_stack: PagesStack) -> AsyncIterator[Cases]:
    police = await headers(pages_stack, POLICE, "practitioner")
    cs = await headers(pages_stack, CHILDRENS_SERVICES, "manager")
    board = await headers(pages_stack, "Northshire Safeguarding Children Partnership", "board")
    async with httpx.AsyncClient(base_url=pages_stack.url, timeout=30) as http:
        plain = await raise_one(http, police, CHILDRENS_SERVICES, CHILD)
        urgent = await raise_one(
            http,
            police,
            CHILDRENS_SERVICES,
            " np-7001 ",
            immediate_risk=True,
            risk_reason="Bruising seen today.",
        )
        top = await raise_one(http, police, CHILDRENS_SERVICES, "NP-7002")
        for _ in range(2):
            await act(http, board, top, "escalate", reason="Needs the partnership.")
        resolved = await raise_one(http, police, CHILDRENS_SERVICES, "NP-7003")
        await act(http, cs, resolved, "resolve", outcome="Strategy discussion agreed")
        withdrawn = await raise_one(http, police, CHILDRENS_SERVICES, "NP-7004")
        await act(http, police, withdrawn, "withdraw", reason="Agreed on the phone.")
        health = await raise_one(http, police, HEALTH, "NP-7005")

    async def overdue() -> bool:
        return (await row_of(pages_stack, top)).overdue

    await eventually(overdue, "the top stage's time limit passed")
    yield Cases(plain, urgent, top, resolved, withdrawn, health)


async def listed(client: httpx.AsyncClient, path: str) -> tuple[set[str], str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return set(ROW.findall(page.text)), page.text


def rows_of(page: str) -> dict[str, str]:
    """Each listed escalation's table row, by reference."""
    return {
        found.group(1): found.group(0)
        for found in re.finditer(r'/escalations/(ESC-[0-9A-Z]+)".*?</tr>', page, re.S)
    }


# Who is waited on for what: each person's relation to the police's escalations and their role.
WAITING = [
    (PRACTITIONER, {"resolved"}),  # raising agency, practitioner: only the dispute window
    (POLICE_MANAGER, {"plain", "urgent", "resolved", "health"}),  # raising agency, manager
    (CS_MANAGER, {"plain", "urgent"}),  # receiving agency, manager: not the partnership's stage
    (CS_EXECUTIVE, {"plain", "urgent"}),  # receiving agency, executive
    (HEALTH_MANAGER, {"health"}),  # receiving the one, uninvolved in the others
    (CHAIR, {"top"}),  # the partnership: its own stage only, not stage 1
    (BUSINESS_UNIT, {"top"}),
]


@pytest.mark.parametrize(("person", "expected"), WAITING)
async def test_waiting_on_you_is_what_the_person_may_act_on_now(
    pages_stack: PagesStack, cases: Cases, person: str, expected: set[str]
) -> None:
    async with pages_stack.signed_in(person) as client:
        found, page = await listed(client, "/?view=waiting")
    mine = {name for name, ref in vars(cases).items() if ref in found}
    assert mine == expected
    count = re.search(r"Waiting on you \((\d+)\)", page)
    assert count is not None
    assert f"Your escalations ({count.group(1)}" in page  # the navigation's count
    assert int(count.group(1)) >= len(expected)


async def test_tags_say_why_an_escalation_needs_looking_at(
    pages_stack: PagesStack, cases: Cases
) -> None:
    async with pages_stack.signed_in(POLICE_MANAGER) as client:
        _, page = await listed(client, "/?view=all")
        _, raised = await listed(client, "/?view=raised")
    rows = rows_of(page)
    assert "Urgent" in rows[cases.urgent]  # the urgent track asks for no acknowledgement
    assert "Overdue" in rows[cases.top] and "Urgent" not in rows[cases.top]
    assert "Acknowledgement due" in rows[cases.plain] and "Urgent" not in rows[cases.plain]
    dispute = rows_of(raised)[cases.resolved]
    assert "Dispute open" in dispute and "Dispute by" in dispute
    assert re.search(r"last day|\d+ days? left", dispute)  # an hour's window: "last day"


async def test_the_raiser_sees_the_dispute_window_on_the_home_page(
    pages_stack: PagesStack, cases: Cases
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as client:
        found, page = await listed(client, "/")
    assert cases.resolved in found
    assert "Dispute by" in page and "Dispute open" in page
    row = await row_of(pages_stack, cases.resolved)
    assert row.status == "resolved" and row.dispute_until is not None


async def test_a_child_reference_finds_that_childs_escalations_the_person_may_see(
    pages_stack: PagesStack, cases: Cases
) -> None:
    async with pages_stack.signed_in(CS_MANAGER) as client:
        found, page = await listed(client, "/?q=np+-7001")
        assert found == {cases.plain, cases.urgent}
        assert "Escalations about child reference np -7001 (2)" in page
        found, _ = await listed(client, "/?q=np7001")  # exact but for case and spaces
        assert found == set()
        # With the filters together: the status and the agency.
        found, _ = await listed(client, f"/?q=NP-7001&status=open&agency={POLICE}")
        assert found == {cases.plain, cases.urgent}
        found, _ = await listed(client, "/?q=NP-7001&status=resolved")
        assert found == set()
        found, _ = await listed(client, f"/?q=NP-7001&agency={HEALTH}")
        assert found == set()
        # An escalation's reference opens it, in any case; one the person may not see does not.
        opened = await client.get(f"/?q={cases.plain.lower()}")
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/escalations/{cases.plain}"
        _, refused = await listed(client, f"/?q={cases.health}")
        assert f"There is no escalation {cases.health} that you can see" in refused
    async with pages_stack.signed_in(HEALTH_MANAGER) as client:
        found, _ = await listed(client, "/?q=NP-7001")
    assert found == set()


async def searches_by(stack: PagesStack, name: str) -> list[dict[str, Any]]:
    """The details of the searches recorded as access events for the actor of this name."""
    async with session_factory(stack.engine)() as db:
        found = await db.exec(
            select(AccessEvent).where(
                AccessEvent.purpose == "search", col(AccessEvent.actor).startswith(f"{name} (")
            )
        )
        return [event.details for event in found.all()]


async def test_the_api_finds_by_child_reference_within_what_the_key_may_see(
    pages_stack: PagesStack, cases: Cases
) -> None:
    cs = await headers(pages_stack, CHILDRENS_SERVICES, "manager")
    health = await headers(pages_stack, HEALTH, "manager")
    async with httpx.AsyncClient(base_url=pages_stack.url, timeout=30) as http:

        async def ids(key: dict[str, str], query: str) -> set[str]:
            answer = await http.get(f"/escalations?{query}", headers=key)
            assert answer.status_code == 200, answer.text
            return {item["id"] for item in answer.json()["items"]}

        assert await ids(cs, "child_reference=NP-%207001") == {cases.plain, cases.urgent}
        assert await ids(cs, "child_reference=%20np-7001%20&status=open") == {
            cases.plain,
            cases.urgent,
        }
        assert await ids(health, "child_reference=NP-7001") == set()
        assert await ids(cs, f"q={cases.top.lower()}") == {cases.top}
        assert await ids(cs, "q=np-7001") == {cases.plain, cases.urgent}
        assert await ids(cs, f"q={cases.health}") == set()
        # A child reference shaped like an escalation's is still a child reference.
        assert await ids(cs, f"child_reference={cases.plain}") == set()
        refused = await http.get("/escalations?child_reference=", headers=cs)
        assert refused.status_code == 422 and "child_reference" in refused.text
    searches = await searches_by(pages_stack, f"manager of {CHILDRENS_SERVICES}")
    assert {(s["kind"], s["results"]) for s in searches} >= {
        ("child", 2),
        ("child", 0),
        ("escalation", 1),
    }
    # The same term, the same keyed hash; no term in clear.
    child_hashes = {s["term"] for s in searches if s["kind"] == "child" and s["results"] == 2}
    assert len(child_hashes) == 1
    assert all("7001" not in s["term"] and s["term"].count(":") == 1 for s in searches)


async def test_page_searches_are_recorded_with_who_and_how_many(
    pages_stack: PagesStack, cases: Cases
) -> None:
    async with pages_stack.signed_in(CHAIR) as client:
        found, _ = await listed(client, "/?q=NP-7003")
    assert found == {cases.resolved}
    searches = await searches_by(pages_stack, "Independent chair")
    assert [(s["kind"], s["results"]) for s in searches] == [("child", 1)]


async def test_what_changed_since_the_person_last_looked_is_marked(
    pages_stack: PagesStack, cases: Cases
) -> None:
    police = await headers(pages_stack, POLICE, "manager")
    async with pages_stack.signed_in(CS_EXECUTIVE) as client:
        page = await client.get(f"/escalations/{cases.plain}")
        assert page.status_code == 200
        _, listing = await listed(client, "/?view=waiting")
        assert not re.search(rf"{cases.plain}</a> <strong[^>]*>Changed", listing)
        async with httpx.AsyncClient(base_url=pages_stack.url, timeout=30) as http:
            await act(http, police, cases.plain, "notes", text="Attendance fell again this week.")
        _, listing = await listed(client, "/?view=waiting")
        assert re.search(rf"{cases.plain}</a> <strong[^>]*>Changed", listing)
        page = await client.get(f"/escalations/{cases.plain}")
        assert "1 entry is new since you last looked" in page.text
        assert page.text.count(">New<span") == 1
        _, listing = await listed(client, "/?view=waiting")
        assert not re.search(rf"{cases.plain}</a> <strong[^>]*>Changed", listing)
        page = await client.get(f"/escalations/{cases.plain}")
        assert "new since you last looked" not in page.text


async def test_who_was_told_by_name_route_and_delivery(
    pages_stack: PagesStack, cases: Cases
) -> None:
    told = f"Team manager Sam Jones, {CHILDRENS_SERVICES} ({CS_MANAGER}): Sent"
    async with pages_stack.signed_in(CHAIR) as client:

        async def page_names_who_was_told() -> str:
            page = html.unescape((await client.get(f"/escalations/{cases.plain}")).text)
            return page if told in page else ""

        page = await eventually(page_names_who_was_told, "the page names who was told")
        assert f"DS Patel, {POLICE} ({POLICE_MANAGER}): Sent" in page
        record = await client.get(f"/escalations/{cases.plain}/record")
    assert told in html.unescape(record.text)
    assert re.search(
        r"Printed on \w{3} \d+ \w{3} \d{4} \d\d:\d\d by Independent chair", record.text
    )


async def test_the_demo_escalations_show_every_state_through_the_real_workflow(
    pages_stack: PagesStack,
) -> None:
    keys: dict[str, str] = {}
    demo_keys: list[tuple[Role, str]] = [
        ("practitioner", POLICE),
        ("manager", CHILDRENS_SERVICES),
        ("board", "Northshire Safeguarding Children Partnership"),
    ]
    for role, agency in demo_keys:
        _, keys[role] = await new_key(
            pages_stack.engine, name=f"demo {role}", agency=agency, role=role
        )
    async with httpx.AsyncClient(base_url=pages_stack.url, timeout=30) as http:
        raised = await play(http, keys)
    rows = [await row_of(pages_stack, ref) for ref, _ in raised]
    assert len(rows) == len(CASES)

    async def top_overdue() -> bool:
        return (await row_of(pages_stack, rows[2].id)).overdue

    await eventually(top_overdue, "the demo's top stage turned overdue")
    rows = [await row_of(pages_stack, ref) for ref, _ in raised]
    assert [(r.status, r.stage, r.immediate_risk) for r in rows] == [
        ("open", 1, False),
        ("open", 1, True),
        ("open", 3, False),
        ("resolved", 1, False),
        ("resolved", 1, False),
        ("withdrawn", 1, False),
    ]
    assert rows[3].dispute_until is not None and rows[4].dispute_until is None
    assert rows[0].child_reference_key == rows[1].child_reference_key == "demo-0001"


async def test_demo_data_0_raises_none(tmp_path: Path) -> None:
    stack = plan(isolated_settings(demo_data=False, data_dir=tmp_path))
    assert await demo_escalations(stack, {}) == []
    assert not list(tmp_path.iterdir())  # not even a database was opened


async def test_a_nul_in_a_search_is_refused_as_bad_input(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(CS_MANAGER) as client:
        page = await client.get("/?q=NP%00-7001")
    assert page.status_code == 422 and "q" in page.text


async def test_a_raise_whose_workflow_never_started_is_never_found(
    pages_stack: PagesStack, cases: Cases
) -> None:
    now = utc_now()
    async with session_factory(pages_stack.engine)() as db:
        db.add(
            Escalation(
                id="ESC-PENDING1",
                policy="demo",
                raising_agency=POLICE,
                receiving_agency=CHILDRENS_SERVICES,
                raised_by="PC Reyes (Northshire Police)",
                created_at=now,
                updated_at=now,
                status=PENDING,
                child_reference=CHILD,
                child_reference_key=reference_key(CHILD),
            )
        )
        await db.commit()
    async with pages_stack.signed_in(CS_MANAGER) as client:
        found, _ = await listed(client, f"/?q={CHILD}")
        closed, _ = await listed(client, "/?view=closed")  # pending is not open, yet not closed
    assert found == {cases.plain, cases.urgent} and "ESC-PENDING1" not in closed


async def test_a_corrected_child_reference_is_found_under_its_new_value(
    pages_stack: PagesStack,
) -> None:
    police = await headers(pages_stack, POLICE, "practitioner")
    manager = await headers(pages_stack, POLICE, "manager")
    async with httpx.AsyncClient(base_url=pages_stack.url, timeout=30) as http:
        ref = await raise_one(http, police, CHILDRENS_SERVICES, "NP-7O10")  # a letter O typed
        await act(
            http,
            manager,
            ref,
            "corrections",
            field="child_reference",
            value="NP-7010",
            reason="Typed a letter O for a zero.",
        )

        async def ids(child: str) -> set[str]:
            answer = await http.get(f"/escalations?child_reference={child}", headers=manager)
            return {item["id"] for item in answer.json()["items"]}

        assert await ids("np-7010") == {ref} and await ids("NP-7O10") == set()


async def test_an_erased_record_is_no_longer_found_by_its_child_reference(
    pages_stack: PagesStack, cases: Cases
) -> None:
    assert await erase(
        session_factory(pages_stack.engine), cases.withdrawn, at=utc_now(), rule="test"
    )
    row = await row_of(pages_stack, cases.withdrawn)
    assert row.child_reference is None and row.child_reference_key is None
    async with pages_stack.signed_in(POLICE_MANAGER) as client:
        found, _ = await listed(client, "/?q=NP-7004")
    assert found == set()
