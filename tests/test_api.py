"""The agencies' and managers' API over real HTTP, a real worker and the Temporal dev server,
on SQLite and on PostgreSQL."""

import json
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
from sqlmodel import func, select

from core.calendar import LONDON
from database.engine import session_factory
from database.tables import Escalation
from tests.api_stack import ApiStack
from tests.conftest import new_key, revoked
from tests.engine_helpers import steps_of
from tests.ladders import CHILDRENS_SERVICES, HEALTH, PARTNERSHIP, POLICE
from tests.polling import eventually

RAISE = {
    "receiving_agency": CHILDRENS_SERVICES,
    "child_reference": "NP-2291",
    "summary": "Three referrals about neglect closed as threshold not met; school sees decline.",
    "child_name": "Amelia Example",
    "child_date_of_birth": "2015-04-02",
    "category": "neglect",
    "decision_disputed": "Referral closed: threshold not met",
    "desired_outcome": "Strategy discussion",
}


async def raise_one(stack: ApiStack, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = await stack.http.post("/escalations", json={**RAISE, **changes}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def count_escalations(stack: ApiStack) -> int:
    async with session_factory(stack.engine)() as db:
        return (await db.exec(select(func.count()).select_from(Escalation))).one()


def scottish_working_days_after(moment: datetime, days: int) -> date:
    """Counted by hand from the `holidays` package's UK calendar for Scotland (subdivision SCT)."""
    scottish = holidays.country_holidays("GB", subdiv="SCT")
    day = moment.astimezone(LONDON).date()
    while days:
        day += timedelta(days=1)
        days -= day.weekday() < 5 and day not in scottish
    return day


async def test_a_scottish_ladders_stage_deadline_skips_scotlands_bank_holidays(
    api_stack: ApiStack,
) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner", "PC Reyes")
    raised = await raise_one(api_stack, practitioner, policy="scottish")
    deadline = datetime.fromisoformat(raised["stage_deadline"])
    created = datetime.fromisoformat(raised["created_at"])
    assert deadline.astimezone(LONDON).date() == scottish_working_days_after(created, 20)


async def test_the_whole_ladder_through_the_api(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner", "PC Reyes")
    manager = await api_stack.key(CHILDRENS_SERVICES, "manager", "Team manager Jones")
    executive = await api_stack.key(POLICE, "executive", "Supt. Kaur")
    board = await api_stack.key(PARTNERSHIP, "board", "Independent chair")

    raised = await raise_one(api_stack, practitioner)
    assert raised["status"] == "open" and raised["stage"] == 1
    assert raised["stage_name"] == "Line managers"
    assert (
        raised["raising_agency"] == POLICE and raised["raised_by"] == "PC Reyes (Northshire Police)"
    )
    assert raised["stage_deadline"] is not None and raised["stage_deadline"][-6] in "+-"
    escalation = f"/escalations/{raised['id']}"

    read = (await api_stack.http.get(escalation, headers=manager)).json()
    assert read["stage_deadline"] == raised["stage_deadline"]
    assert read["case"]["summary"] == RAISE["summary"]

    moved = await api_stack.http.post(
        f"{escalation}/escalate", json={"reason": "No strategy discussion"}, headers=manager
    )
    assert moved.status_code == 200, moved.text
    assert (
        moved.json()["stage"] == 2 and moved.json()["stage_name"] == "Senior and executive managers"
    )

    noted = await api_stack.http.post(
        f"{escalation}/notes", json={"text": "Call booked"}, headers=practitioner
    )
    assert noted.status_code == 200 and noted.json()["stage"] == 2

    moved = await api_stack.http.post(
        f"{escalation}/escalate", json={"reason": "Still disputed"}, headers=executive
    )
    assert (
        moved.json()["stage"] == 3
        and moved.json()["stage_name"] == "Safeguarding Children Partnership"
    )

    resolved = await api_stack.http.post(
        f"{escalation}/resolve",
        json={"outcome": "Strategy discussion held", "agreed_actions": ["Section 47 enquiry"]},
        headers=board,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "resolved" and body["stage_deadline"] is None
    assert body["outcome"] == "Strategy discussion held"
    assert body["agreed_actions"] == ["Section 47 enquiry"]
    assert body["closed_by"] == "Independent chair (Northshire Safeguarding Children Partnership)"

    timeline = (await api_stack.http.get(f"{escalation}/timeline", headers=practitioner)).json()
    timeline = steps_of(timeline)
    recorded = [(event["action"], event["stage"]) for event in timeline]
    assert recorded == [
        ("raised", 1),
        ("escalated", 2),
        ("note", 2),
        ("escalated", 3),
        ("resolved", 3),
    ]
    assert timeline[1]["actor"] == "Team manager Jones (Northshire Children's Services)"
    assert timeline[1]["details"]["reason"] == "No strategy discussion"


async def test_time_limits_raise_the_stage_by_themselves(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    raised = await raise_one(api_stack, practitioner, policy="quick")
    assert raised["stage"] == 1

    async def at_the_top() -> bool:
        read = await api_stack.http.get(f"/escalations/{raised['id']}", headers=practitioner)
        return bool(read.json()["stage"] == 3)

    await eventually(at_the_top, "both 2-second stages passed")
    timeline = (
        await api_stack.http.get(f"/escalations/{raised['id']}/timeline", headers=practitioner)
    ).json()
    automatic = [e for e in timeline if e["action"] == "escalated"]
    assert [e["actor"] for e in automatic] == ["system", "system"]
    assert {e["details"]["reason"] for e in automatic} == {"time limit passed"}


async def test_immediate_risk_goes_on_the_urgent_track_with_advice(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    raised = await raise_one(
        api_stack, practitioner, immediate_risk=True, risk_reason="Disclosure of violence at home"
    )
    assert raised["policy"] == "urgent" and raised["immediate_risk"] is True
    assert "999" in raised["advice"]
    assert raised["case"]["risk_reason"] == "Disclosure of violence at home"


# --- who may do what ----------------------------------------------------------------------

KEYS = {
    "raiser practitioner": (POLICE, "practitioner"),
    "raiser manager": (POLICE, "manager"),
    "raiser executive": (POLICE, "executive"),
    "receiver practitioner": (CHILDRENS_SERVICES, "practitioner"),
    "receiver manager": (CHILDRENS_SERVICES, "manager"),
    "receiver executive": (CHILDRENS_SERVICES, "executive"),
    "uninvolved executive": (HEALTH, "executive"),
    "uninvolved board": (PARTNERSHIP, "board"),
}
BODIES = {
    "resolve": {"outcome": "Agreed"},
    "escalate": {"reason": "Disputed"},
    "withdraw": {"reason": "New information"},
    "notes": {"text": "Spoke to the team"},
}
MATRIX = [
    # stage 1: line managers
    ("resolve", 1, "raiser practitioner", 403),
    ("resolve", 1, "receiver manager", 200),
    ("resolve", 1, "raiser executive", 200),
    ("resolve", 1, "uninvolved executive", 404),
    ("resolve", 1, "uninvolved board", 200),
    ("escalate", 1, "receiver practitioner", 403),
    ("escalate", 1, "raiser manager", 200),
    ("escalate", 1, "uninvolved board", 200),
    # stage 2: senior and executive managers
    ("resolve", 2, "receiver manager", 403),
    ("resolve", 2, "receiver executive", 200),
    ("escalate", 2, "raiser manager", 403),
    ("escalate", 2, "raiser executive", 200),
    # stage 3: the partnership
    ("resolve", 3, "raiser executive", 403),
    ("resolve", 3, "uninvolved board", 200),
    ("escalate", 3, "uninvolved board", 409),
    # withdraw: the raising agency only; notes: involved agencies and the partnership
    ("withdraw", 1, "raiser practitioner", 200),
    ("withdraw", 2, "receiver executive", 403),
    ("withdraw", 1, "uninvolved board", 403),
    ("notes", 1, "receiver practitioner", 200),
    ("notes", 3, "uninvolved board", 200),
    ("notes", 1, "uninvolved executive", 404),
]


@pytest.mark.parametrize(("action", "stage", "who", "expected"), MATRIX)
async def test_who_may_do_what(
    api_stack: ApiStack, action: str, stage: int, who: str, expected: int
) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    board = await api_stack.key(PARTNERSHIP, "board")
    escalation = f"/escalations/{(await raise_one(api_stack, raiser))['id']}"
    for _ in range(stage - 1):
        response = await api_stack.http.post(
            f"{escalation}/escalate", json={"reason": "up"}, headers=board
        )
        assert response.status_code == 200
    before = (await api_stack.http.get(escalation, headers=board)).json()
    caller = await api_stack.key(*KEYS[who])  # type: ignore[arg-type]

    response = await api_stack.http.post(
        f"{escalation}/{action}", json=BODIES[action], headers=caller
    )

    assert response.status_code == expected, response.text
    after = (await api_stack.http.get(escalation, headers=board)).json()
    if expected != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert after == before
        return
    assert response.json() == after  # the answer already shows the new state
    changed = {
        "resolve": ("status", "resolved"),
        "escalate": ("stage", stage + 1),
        "withdraw": ("status", "withdrawn"),
        "notes": ("stage", stage),
    }[action]
    assert after[changed[0]] == changed[1]


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"summary": None}, {"summary"}),
        ({"summary": "x" * 10_001}, {"summary"}),
        ({"receiving_agency": 42}, {"receiving_agency"}),
        ({"policy": "no-such-ladder"}, {"policy"}),
        (
            {"child_date_of_birth": (date.today() + timedelta(days=2)).isoformat()},
            {"child_date_of_birth"},
        ),
        ({"immediate_risk": True}, {"body"}),
        ({"surprise": "field"}, {"surprise"}),
        ({"child_reference": "", "summary": ""}, {"child_reference", "summary"}),
    ],
)
async def test_bad_raise_names_every_field_and_starts_nothing(
    api_stack: ApiStack, changes: dict[str, Any], fields: set[str]
) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    body = {k: v for k, v in {**RAISE, **changes}.items() if v is not None}
    before = await count_escalations(api_stack)

    response = await api_stack.http.post("/escalations", json=body, headers=practitioner)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422 and problem["title"] == "Unprocessable Entity"
    assert {error["field"] for error in problem["errors"]} == fields
    assert await count_escalations(api_stack) == before


REFUSALS = [
    (
        "resolve",
        "raiser practitioner",
        "Only a manager or above of Northshire Police or Northshire Children's Services, or the "
        "partnership, may resolve at stage 1 (Line managers); "
        "you are a practitioner of Northshire Police.",
    ),
    (
        "withdraw",
        "uninvolved board",
        "Only Northshire Police may withdraw this escalation; "
        "you are a board member of Northshire Safeguarding Children Partnership.",
    ),
]


@pytest.mark.parametrize(("action", "who", "sentence"), REFUSALS)
async def test_refusals_say_who_may_act(
    api_stack: ApiStack, action: str, who: str, sentence: str
) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    escalation = f"/escalations/{(await raise_one(api_stack, raiser))['id']}"
    caller = await api_stack.key(*KEYS[who])  # type: ignore[arg-type]

    response = await api_stack.http.post(
        f"{escalation}/{action}", json=BODIES[action], headers=caller
    )

    assert response.status_code == 403
    assert response.json()["detail"] == sentence


async def test_malformed_and_oversized_bodies_are_refused(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    headers = {**practitioner, "Content-Type": "application/json"}
    before = await count_escalations(api_stack)
    malformed = await api_stack.http.post("/escalations", content=b'{"summary": ', headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["detail"] == "The body is not valid JSON."
    huge = json.dumps({**RAISE, "summary": "x" * 200_000})
    oversized = await api_stack.http.post("/escalations", content=huge, headers=headers)
    assert oversized.status_code == 413
    assert oversized.headers["content-type"] == "application/problem+json"

    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 1024

    streamed = await api_stack.http.post("/escalations", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    deep = await api_stack.http.post("/escalations", content=b"[" * 60_000, headers=headers)
    assert deep.status_code in (400, 413)
    assert await count_escalations(api_stack) == before


async def test_authentication_and_visibility(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    raised = await raise_one(api_stack, practitioner)
    escalation = f"/escalations/{raised['id']}"

    assert (await api_stack.http.get(escalation)).status_code == 401
    bad = await api_stack.http.get(escalation, headers={"Authorization": "Bearer esk_not-a-key"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert (
        await api_stack.http.get("/escalations/ESC-NOTHERE", headers=practitioner)
    ).status_code == 404
    outsider = await api_stack.key(f"{HEALTH} {uuid.uuid4().hex[:6]}", "executive")
    assert (await api_stack.http.get(escalation, headers=outsider)).status_code == 404
    assert (await api_stack.http.get(f"{escalation}/timeline", headers=outsider)).status_code == 404
    assert (await api_stack.http.get("/escalations", headers=outsider)).json()["total"] == 0


async def test_acting_on_a_closed_escalation_is_a_conflict(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    manager = await api_stack.key(CHILDRENS_SERVICES, "manager")
    escalation = f"/escalations/{(await raise_one(api_stack, practitioner))['id']}"
    withdrawn = await api_stack.http.post(
        f"{escalation}/withdraw", json={"reason": "Resolved locally"}, headers=practitioner
    )
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["closing_reason"] == "Resolved locally"
    for action in ("resolve", "escalate", "withdraw", "notes"):
        response = await api_stack.http.post(
            f"{escalation}/{action}",
            json=BODIES[action],
            headers=manager if action != "withdraw" else practitioner,
        )
        assert response.status_code == 409, (action, response.text)
    timeline = (await api_stack.http.get(f"{escalation}/timeline", headers=practitioner)).json()
    assert [e["action"] for e in steps_of(timeline)] == ["raised", "withdrawn"]


async def test_raise_is_idempotent(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    headers = {**practitioner, "Idempotency-Key": f"form-{uuid.uuid4()}"}
    before = await count_escalations(api_stack)
    first = await api_stack.http.post("/escalations", json=RAISE, headers=headers)
    again = await api_stack.http.post("/escalations", json=RAISE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await count_escalations(api_stack) == before + 1
    runs = [
        w async for w in api_stack.temporal.list_workflows(f"WorkflowId = '{first.json()['id']}'")
    ]
    assert len(runs) == 1

    changed = await api_stack.http.post(
        "/escalations", json={**RAISE, "summary": "other"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count_escalations(api_stack) == before + 1


async def test_listing_filters_and_pages(api_stack: ApiStack) -> None:
    school, clinic = (f"{name} {uuid.uuid4().hex[:6]}" for name in ("School", "Clinic"))
    practitioner = await api_stack.key(school, "practitioner")
    board = await api_stack.key(PARTNERSHIP, "board")
    clinician = await api_stack.key(clinic, "practitioner")
    ids = [(await raise_one(api_stack, practitioner))["id"] for _ in range(3)]
    other = await raise_one(api_stack, clinician)
    await api_stack.http.post(
        f"/escalations/{ids[0]}/escalate", json={"reason": "up"}, headers=board
    )

    async def listed(query: str, headers: dict[str, str]) -> dict[str, Any]:
        response = await api_stack.http.get(f"/escalations?{query}", headers=headers)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    mine = await listed("", practitioner)
    assert mine["total"] == 3 and {e["id"] for e in mine["items"]} == set(ids)
    assert all(item["case"] is None for item in mine["items"])  # case details only one by one
    assert (await listed(f"agency={clinic}", board))["items"][0]["id"] == other["id"]
    assert (await listed(f"agency={clinic}", practitioner))["total"] == 0
    at_two = await listed(f"agency={school}&stage=2", board)
    assert [e["id"] for e in at_two["items"]] == [ids[0]]
    newest_first = await listed(f"agency={school}&limit=2&offset=1", board)
    assert newest_first["total"] == 3 and [e["id"] for e in newest_first["items"]] == ids[1::-1]
    assert (await listed(f"agency={school}&status=open&overdue=false", board))["total"] == 3
    assert (await listed(f"agency={school}&status=resolved", board))["total"] == 0
    bad = await api_stack.http.get("/escalations?stage=zero&limit=1000", headers=board)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"stage", "limit"}


async def test_health(api_stack: ApiStack) -> None:
    response = await api_stack.http.get("/healthz")
    assert response.status_code == 200
    checks = {"database": "ok", "temporal": "ok", "worker": "ok"}
    assert response.json() == {"status": "ok", **checks, "checks": checks}
    assert (await api_stack.http.get("/livez")).json() == {"status": "ok"}


EXAMPLE_DIRECTORY = Path(__file__).resolve().parent.parent / "config" / "directory.example.toml"


@pytest.mark.slow  # a process of its own
def test_key_commands(tmp_path: Any) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
        "DIRECTORY_FILE": str(EXAMPLE_DIRECTORY),
        "PATH": "/usr/bin:/bin",
    }
    from database.engine import migrate

    migrate(env["DATABASE_URL"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    created = run("create-key", "--agency", POLICE, "--role", "practitioner", "--name", "PC Reyes")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("esk_")
    listed = run("list-keys")
    assert "PC Reyes\tNorthshire Police\tpractitioner\tactive" in listed.stdout
    assert token not in listed.stdout
    assert run("revoke-key", "1").returncode == 0
    assert "revoked" in run("list-keys").stdout
    assert run("revoke-key", "99").returncode == 1
    refused = run("create-key", "--agency", POLICE, "--role", "chief", "--name", "x")
    assert refused.returncode != 0 and "role" in refused.stderr


@pytest.mark.slow  # a process of its own
def test_create_key_takes_only_agencies_of_the_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    env = {"DATABASE_URL": url, "DIRECTORY_FILE": str(EXAMPLE_DIRECTORY), "PATH": "/usr/bin:/bin"}
    from database.engine import migrate

    migrate(url)

    def create(agency: str, role: str = "manager") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "api",
                "create-key",
                "--agency",
                agency,
                "--role",
                role,
                "--name",
                "x",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    unknown = create("northshire childrens servics")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "no agency 'northshire childrens servics'" in unknown.stderr
    assert CHILDRENS_SERVICES in unknown.stderr  # the closest name, suggested
    assert create(HEALTH + " Trust", "board").returncode != 0  # board keys: the partnership only
    # Matched whatever the case and spacing, kept under the directory's own spelling.
    assert create("  northshire   CHILDREN'S services ").returncode == 0
    assert create(PARTNERSHIP.upper(), "board").returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "api", "list-keys"], env=env, capture_output=True, text=True
    ).stdout
    assert f"\t{CHILDRENS_SERVICES}\tmanager" in listed and f"\t{PARTNERSHIP}\tboard" in listed
    assert "northshire" not in listed and PARTNERSHIP.upper() not in listed


async def test_revoked_key_is_refused(api_stack: ApiStack) -> None:

    key, token = await new_key(api_stack.engine, name="Leaver", agency=POLICE, role="manager")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api_stack.http.get("/escalations", headers=headers)).status_code == 200
    assert key.id is not None
    await revoked(api_stack.engine, key.id)
    assert (await api_stack.http.get("/escalations", headers=headers)).status_code == 401


def test_openapi_documents_the_problem_shape() -> None:
    from api.app import create_app
    from tests.conftest import isolated_settings

    document = create_app(isolated_settings()).openapi()
    assert "Problem" in document["components"]["schemas"]
    answers = document["paths"]["/escalations"]["post"]["responses"]
    # Every refusal, a body over the limit too, is a problem and nothing else.
    for status in ("403", "413", "422"):
        assert list(answers[status]["content"]) == ["application/problem+json"]
