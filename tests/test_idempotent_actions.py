"""Every action idempotent: an Idempotency-Key on the API's actions as on the raise (per agency,
`Idempotent-Replayed: true`, 422 when reused for anything else), and one key sent many times at
once takes effect once, with no 500 and no stall, on SQLite and PostgreSQL."""

import asyncio
import uuid
from collections.abc import Mapping

import httpx

from tests.api_stack import ApiStack
from tests.ladders import CHILDRENS_SERVICES, POLICE
from tests.test_api import RAISE, raise_one
from tests.test_policy_steps_api import timeline_actions

AT_ONCE = 8


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def raised_between(stack: ApiStack) -> tuple[dict[str, str], dict[str, str], str]:
    """The police practitioner's and the children's services manager's keys, and the path of an
    escalation between them."""
    raiser = await stack.key(POLICE, "practitioner")
    manager = await stack.key(CHILDRENS_SERVICES, "manager")
    return raiser, manager, f"/escalations/{(await raise_one(stack, raiser))['id']}"


async def test_a_repeated_note_is_recorded_once_and_a_reused_key_refused(
    api_stack: ApiStack,
) -> None:
    raiser, manager, escalation = await raised_between(api_stack)
    other = f"/escalations/{(await raise_one(api_stack, raiser))['id']}"
    post = api_stack.http.post
    key = f"note-{uuid.uuid4()}"

    first = await post(f"{escalation}/notes", json={"text": "Called"}, headers=keyed(raiser, key))
    again = await post(f"{escalation}/notes", json={"text": "Called"}, headers=keyed(raiser, key))
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await timeline_actions(api_stack, escalation, raiser) == ["raised", "note"]

    # The key is the raising agency's: another agency's same key is its own.
    theirs = await post(f"{escalation}/notes", json={"text": "Called"}, headers=keyed(manager, key))
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers

    reused = [
        await post(f"{escalation}/notes", json={"text": "Other"}, headers=keyed(raiser, key)),
        await post(f"{escalation}/withdraw", json={"reason": "x"}, headers=keyed(raiser, key)),
        await post(f"{other}/notes", json={"text": "Called"}, headers=keyed(raiser, key)),
    ]
    for answer, what in zip(reused, ("body", "action", "escalation"), strict=True):
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
        assert what in answer.json()["detail"]
    assert await timeline_actions(api_stack, escalation, raiser) == ["raised", "note", "note"]
    assert await timeline_actions(api_stack, other, raiser) == ["raised"]


async def test_a_refusal_is_answered_again_and_a_resolve_replays_its_success(
    api_stack: ApiStack,
) -> None:
    raiser, manager, escalation = await raised_between(api_stack)
    post = api_stack.http.post
    refused_key, resolve_key = f"r-{uuid.uuid4()}", f"r-{uuid.uuid4()}"
    body = {"outcome": "Strategy discussion agreed"}

    refused = await post(f"{escalation}/resolve", json=body, headers=keyed(raiser, refused_key))
    assert refused.status_code == 403
    resolved = await post(f"{escalation}/resolve", json=body, headers=keyed(manager, resolve_key))
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"

    # Repeats: the same answers, though the escalation is closed now.
    refused_again = await post(
        f"{escalation}/resolve", json=body, headers=keyed(raiser, refused_key)
    )
    assert refused_again.status_code == 403
    assert refused_again.headers["idempotent-replayed"] == "true"
    resolved_again = await post(
        f"{escalation}/resolve", json=body, headers=keyed(manager, resolve_key)
    )
    assert resolved_again.status_code == 200, resolved_again.text
    assert resolved_again.json()["status"] == "resolved"
    assert resolved_again.headers["idempotent-replayed"] == "true"
    assert await timeline_actions(api_stack, escalation, raiser) == ["raised", "resolved"]


async def _at_once(
    http: httpx.AsyncClient, path: str, body: Mapping[str, object], headers: dict[str, str]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(http.post(path, json=body, headers=headers) for _ in range(AT_ONCE)))
    )


async def test_one_key_sent_many_times_at_once_takes_effect_once(api_stack: ApiStack) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    raise_key = keyed(raiser, f"raise-{uuid.uuid4()}")
    raises = await _at_once(api_stack.http, "/escalations", RAISE, raise_key)
    assert {r.status_code for r in raises} <= {201, 409}, [r.text for r in raises]
    ids = {r.json()["id"] for r in raises if r.status_code == 201}
    assert len(ids) == 1
    escalation = f"/escalations/{ids.pop()}"

    note_key = keyed(raiser, f"note-{uuid.uuid4()}")
    notes = await _at_once(api_stack.http, f"{escalation}/notes", {"text": "Called"}, note_key)
    assert {n.status_code for n in notes} <= {200, 409}, [n.text for n in notes]
    assert any(n.status_code == 200 for n in notes)
    assert await timeline_actions(api_stack, escalation, raiser) == ["raised", "note"]
