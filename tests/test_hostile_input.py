"""Hostile input over real HTTP, on SQLite and PostgreSQL: refused with a 4xx problem, or stored
verbatim and answered as JSON; never executed, never a 500. And key guessing is held up."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import func, select

from api.ratelimit import FailedAuthLimiter
from database.engine import session_factory
from database.tables import AuditEvent, Escalation
from tests.api_stack import ApiStack
from tests.engine_helpers import audit_trail
from tests.ladders import CHILDRENS_SERVICES, PARTNERSHIP, POLICE

PROBLEM = "application/problem+json"

# Each in the middle of its text: leading and trailing whitespace is trimmed.
HOSTILE = {
    "html": 'Seen at <script>alert("x")</script><img src=x onerror=alert(1)> the gate',
    "sql": "Closed'); DROP TABLE escalation; DELETE FROM audit_event WHERE ('1'='1",
    "rtl override": "File ref \u202egpj.exe\u202c checked",
    "emoji and joiners": "Family 👩\u200d👧 seen 🧒🏽 twice",
    "combining and scripts": "Zoe\u0301 — زينب — זהבה — 李",
    "controls": "line one\nline two\ttabbed\r\nthree\x07bell",
    "json in text": '{"status": "resolved", "stage": 99}',
}


async def count(stack: ApiStack, table: type[Escalation] | type[AuditEvent]) -> int:
    async with session_factory(stack.engine)() as db:
        return (await db.exec(select(func.count()).select_from(table))).one()


def raise_body(**changes: Any) -> dict[str, Any]:
    return {
        "receiving_agency": CHILDRENS_SERVICES,
        "child_reference": "NP-7310",
        "summary": "Referral closed as threshold not met.",
        **changes,
    }


def from_address(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """As a reverse proxy on this host forwards a client's request (uvicorn trusts 127.0.0.1)."""
    return {"X-Forwarded-For": address, **(headers or {})}


@pytest.mark.parametrize("kind", HOSTILE)
async def test_hostile_text_is_stored_verbatim_and_answered_as_json(
    api_stack: ApiStack, kind: str
) -> None:
    text = HOSTILE[kind]
    practitioner = await api_stack.key(POLICE, "practitioner")
    escalations_before = await count(api_stack, Escalation)

    raised = await api_stack.http.post(
        "/escalations",
        json=raise_body(summary=text, child_name=text, decision_disputed=text),
        headers=practitioner,
    )
    assert raised.status_code == 201, raised.text
    escalation = f"/escalations/{raised.json()['id']}"
    noted = await api_stack.http.post(
        f"{escalation}/notes", json={"text": text}, headers=practitioner
    )
    read = await api_stack.http.get(escalation, headers=practitioner)
    events = await api_stack.http.get(f"{escalation}/timeline", headers=practitioner)

    assert noted.status_code == 200, noted.text
    for response in (raised, read, events):
        assert response.headers["content-type"] == "application/json"
    case = read.json()["case"]
    assert case["summary"] == case["child_name"] == case["decision_disputed"] == text
    assert [e["details"]["text"] for e in events.json() if e["action"] == "note"] == [text]
    # Nothing ran: both tables are still there, with just this escalation added.
    assert await count(api_stack, Escalation) == escalations_before + 1
    trail = await audit_trail(api_stack.engine, raised.json()["id"])
    assert [e.action for e in trail] == ["raised", "note"]


async def test_sql_in_a_filter_matches_nothing(api_stack: ApiStack) -> None:
    agency = f"School {uuid.uuid4().hex[:6]}"
    practitioner = await api_stack.key(agency, "practitioner")
    board = await api_stack.key(PARTNERSHIP, "board")
    raised = await api_stack.http.post("/escalations", json=raise_body(), headers=practitioner)
    assert raised.status_code == 201

    for headers in (practitioner, board):
        injected = await api_stack.http.get(
            "/escalations", params={"agency": "x' OR '1'='1"}, headers=headers
        )
        assert injected.status_code == 200 and injected.json()["total"] == 0
    quoted = await api_stack.http.get(
        f"/escalations/{raised.json()['id']}' OR '1'='1", headers=board
    )
    assert quoted.status_code == 404 and quoted.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/escalations", raise_body(summary="before\u0000after"), "summary"),
        ("/escalations", raise_body(child_name="Amelia\u0000"), "child_name"),
        ("/escalations/ESC-00000000/notes", {"text": "note\u0000"}, "text"),
        (
            "/escalations/ESC-00000000/resolve",
            {"outcome": "ok", "agreed_actions": ["a\u0000"]},
            "agreed_actions",
        ),
    ],
)
async def test_nul_characters_are_refused_with_the_field_named(
    api_stack: ApiStack, path: str, body: dict[str, Any], field: str
) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    before = await count(api_stack, Escalation)

    response = await api_stack.http.post(path, json=body, headers=board)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert await count(api_stack, Escalation) == before


async def test_odd_characters_in_the_url_are_refused_or_not_found(api_stack: ApiStack) -> None:
    board = await api_stack.key(PARTNERSHIP, "board")
    answers = {
        "/escalations/%00": 422,
        "/escalations?agency=%00": 422,
        "/escalations/ESC-%00/timeline": 422,
        "/escalations/%ED%A0%80": 404,  # an encoded lone surrogate
        "/escalations/..%2F..%2Fetc%2Fpasswd": 404,
        "/escalations/" + "Z" * 5_000: 404,
        "/escalations?agency=%E2%80%AE": 200,  # an RTL override is just a name nobody has
    }
    for path, status in answers.items():
        response = await api_stack.http.get(path, headers=board)
        assert response.status_code == status, (path, response.text)
        if status != 200:
            assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("lone surrogate", json.dumps(raise_body(summary="x")).replace('"x"', '"\\ud800"'), 422),
        ("deeply nested object", '{"summary": ' * 5_000 + "1" + "}" * 5_000, 400),
        ("deeply nested array", "[" * 30_000 + "]" * 30_000, 400),
        ("huge number", '{"immediate_risk": ' + "9" * 5_000 + "}", 400),
        ("not UTF-8", b'{"summary": "\xff\xfe"}', 400),
        ("not JSON", b"summary=hello", 400),
    ],
)
async def test_malformed_bodies_are_refused_with_a_problem(
    api_stack: ApiStack, name: str, content: str | bytes, status: int
) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    before = await count(api_stack, Escalation)

    response = await api_stack.http.post(
        "/escalations",
        content=content,
        headers={**practitioner, "Content-Type": "application/json"},
    )

    assert response.status_code == status, (name, response.text)
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status
    assert await count(api_stack, Escalation) == before


async def test_oversized_bodies_are_refused_announced_or_streamed(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    headers = {**practitioner, "Content-Type": "application/json"}
    huge = json.dumps(raise_body(summary="x" * (api_stack.settings.max_body_bytes + 1))).encode()
    before = await count(api_stack, Escalation)

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 4096):
            yield huge[start : start + 4096]

    announced = await api_stack.http.post("/escalations", content=huge, headers=headers)
    unannounced = await api_stack.http.post("/escalations", content=streamed(), headers=headers)

    for refused in (announced, unannounced):
        assert refused.status_code == 413
        assert refused.headers["content-type"] == PROBLEM
        problem = refused.json()
        assert problem["status"] == 413
        assert f"({api_stack.settings.max_body_bytes} bytes)" in problem["detail"]
    assert await count(api_stack, Escalation) == before


# --- key guessing ------------------------------------------------------------------------------


async def test_repeated_bad_keys_from_one_address_are_refused_a_while(
    api_stack: ApiStack,
) -> None:
    guesser, colleague = "203.0.113.7", "198.51.100.23"
    board = await api_stack.key(PARTNERSHIP, "board")
    limit = api_stack.settings.auth_failure_limit
    wrong = {"Authorization": "Bearer esk_guess"}

    for attempt in range(limit):
        guessed = await api_stack.http.get("/escalations", headers=from_address(guesser, wrong))
        assert guessed.status_code == 401, attempt
    held = await api_stack.http.get("/escalations", headers=from_address(guesser, wrong))
    held_with_a_good_key = await api_stack.http.get(
        "/escalations", headers=from_address(guesser, board)
    )

    for response in (held, held_with_a_good_key):
        assert response.status_code == 429
        assert response.headers["content-type"] == PROBLEM
        assert (
            1
            <= int(response.headers["retry-after"])
            <= api_stack.settings.auth_failure_window_seconds
        )
    # Only guessing is held up: other addresses and requests without a key are answered as usual.
    assert (
        await api_stack.http.get("/escalations", headers=from_address(colleague, board))
    ).status_code == 200
    assert (
        await api_stack.http.get("/escalations", headers=from_address(colleague, wrong))
    ).status_code == 401
    assert (
        await api_stack.http.get("/escalations", headers=from_address(guesser))
    ).status_code == 401
    assert (await api_stack.http.get("/healthz", headers=from_address(guesser))).status_code == 200
    assert (await api_stack.http.get("/escalations", headers=board)).status_code == 200


def test_the_limiter_forgets_failures_once_the_window_has_passed() -> None:
    now = [1_000.0]
    limiter = FailedAuthLimiter(3, 60, max_clients=2, clock=lambda: now[0])

    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
        now[0] += 10
    assert limiter.retry_after("a") == 30  # the first failure leaves the window at 1060
    assert limiter.retry_after("b") is None
    now[0] += 30
    assert limiter.retry_after("a") is None  # one failure gone: one more try
    limiter.failed("a")
    assert limiter.retry_after("a") == 10


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = FailedAuthLimiter(1, 60, max_clients=2, clock=lambda: 0.0)
    for client in ("a", "b", "c"):
        limiter.failed(client)
    assert limiter.retry_after("a") is None  # forgotten, the oldest
    assert limiter.retry_after("b") == limiter.retry_after("c") == 60
