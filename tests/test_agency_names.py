"""One agency, one name; and nothing listed as an escalation before its workflow records it."""

import uuid
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from api.app import create_app
from database.engine import session_factory
from database.tables import PENDING, Escalation, utc_now
from tests.api_stack import ApiStack, serve
from tests.conftest import isolated_settings
from tests.ladders import CHILDRENS_SERVICES, HEALTH, POLICE
from tests.ports import listening_socket, port_of

PROBLEM = "application/problem+json"


def body(receiving_agency: str) -> dict[str, Any]:
    return {
        "receiving_agency": receiving_agency,
        "child_reference": "NP-4410",
        "summary": "Referral closed as threshold not met.",
    }


async def count(stack: ApiStack) -> int:
    async with session_factory(stack.engine)() as db:
        return (await db.exec(select(func.count()).select_from(Escalation))).one()


@pytest.mark.parametrize(
    "spelling",
    [
        "northshire children's services",
        "  Northshire   Children's\u00a0Services ",  # runs of spaces, a no-break space
        # Fullwidth letters: the same name after NFKC.
        "\uff2e\uff2f\uff32\uff34\uff28\uff33\uff28\uff29\uff32\uff25 Children's Services",
    ],
)
async def test_a_receiving_agency_is_stored_under_the_directory_spelling(
    api_stack: ApiStack, spelling: str
) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    raised = await api_stack.http.post("/escalations", json=body(spelling), headers=practitioner)
    assert raised.status_code == 201, raised.text
    assert raised.json()["receiving_agency"] == CHILDRENS_SERVICES
    # So the receiving agency's own keys find it.
    seen = await api_stack.http.get(f"/escalations/{raised.json()['id']}", headers=manager)
    assert seen.status_code == 200 and seen.json()["receiving_agency"] == CHILDRENS_SERVICES


@pytest.mark.parametrize(
    ("receiving", "raiser", "message"),
    [
        ("Northshire Childrens Servics", POLICE, CHILDRENS_SERVICES),  # the closest, suggested
        ("Fire and Rescue", POLICE, "unknown agency"),
        ("northshire police", POLICE, "is your own agency"),
        (f"{HEALTH}\r\nBcc: everyone@example.org", POLICE, "control characters"),
        ("Northshire\u2028Police", HEALTH, "control characters"),
    ],
)
async def test_an_unknown_or_own_receiving_agency_is_refused(
    api_stack: ApiStack, receiving: str, raiser: str, message: str
) -> None:
    headers = await api_stack.key(raiser, "practitioner")
    before = await count(api_stack)
    refused = await api_stack.http.post("/escalations", json=body(receiving), headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    [error] = refused.json()["errors"]
    assert error["field"] == "receiving_agency" and message in error["message"]
    assert await count(api_stack) == before


async def test_a_pending_raise_is_never_listed_or_read(api_stack: ApiStack) -> None:
    """What a raise leaves when its API dies before the workflow starts: a row nobody sees."""
    raiser = f"{POLICE} {uuid.uuid4().hex[:6]}"
    practitioner = await api_stack.key(raiser, "practitioner")
    board = await api_stack.key("Northshire Safeguarding Children Partnership", "board")
    now = utc_now()
    row = Escalation(
        id=f"ESC-P{uuid.uuid4().hex[:7].upper()}",
        policy="standard",
        raising_agency=raiser,
        receiving_agency=CHILDRENS_SERVICES,
        raised_by="PC Reyes",
        created_at=now,
        updated_at=now,
        status=PENDING,
        child_reference="NP-1",
    )
    async with session_factory(api_stack.engine)() as db:
        db.add(row)
        await db.commit()
    for headers in (practitioner, board):
        listed = await api_stack.http.get(
            "/escalations", params={"agency": raiser}, headers=headers
        )
        assert listed.status_code == 200 and listed.json()["total"] == 0
        for path in (f"/escalations/{row.id}", f"/escalations/{row.id}/timeline"):
            assert (await api_stack.http.get(path, headers=headers)).status_code == 404
    # Once its workflow records it, it is an escalation like any other.
    raised = await api_stack.http.post(
        "/escalations", json=body(CHILDRENS_SERVICES), headers=practitioner
    )
    assert raised.status_code == 201 and raised.json()["status"] == "open"
    listed = await api_stack.http.get("/escalations", headers=practitioner)
    assert [e["id"] for e in listed.json()["items"]] == [raised.json()["id"]]


async def test_a_raise_temporal_cannot_take_leaves_nothing(
    api_stack: ApiStack, held_port: int
) -> None:
    """Temporal unreachable: 503, and no row left, listed or not."""
    sock = listening_socket()
    port = port_of(sock)
    settings = isolated_settings(
        **{
            **api_stack.settings.model_dump(),
            "temporal_address": f"127.0.0.1:{held_port}",  # nobody listens
            "api_port": port,
        }
    )
    server, task = await serve(create_app(settings), sock)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            headers = await api_stack.key(HEALTH, "practitioner")
            before = await count(api_stack)
            refused = await http.post("/escalations", json=body(POLICE), headers=headers)
            assert refused.status_code == 503 and refused.headers["content-type"] == PROBLEM
            assert await count(api_stack) == before
    finally:
        server.should_exit = True
        await task
