"""Bounded actions across a worker outage: every answer within the bound (done, or 503 with
Retry-After and nothing applied), a request the worker gets too late is refused by the workflow
rather than applied behind the caller's back, and its repeat with the same key applies it once."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import httpx
from temporalio.worker import Worker

from core.directory import seed_file
from core.settings import Settings
from tests.api_stack import QUICK_ACTION_TIMEOUT, ApiStack, ApiWithoutWorker
from tests.ladders import CHILDRENS_SERVICES, POLICE
from tests.polling import eventually
from tests.test_api import RAISE, raise_one
from tests.test_idempotent_actions import keyed
from tests.test_policy_steps_api import timeline_actions
from worker.main import running_worker

BOUND = QUICK_ACTION_TIMEOUT


def worker_for(stack: ApiStack, settings: Settings) -> AbstractAsyncContextManager[Worker]:
    return running_worker(
        stack.temporal, settings, stack.engine, seed_file(settings.directory_file)
    )


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await call
    return answer, loop.time() - started


async def test_an_action_the_worker_gets_too_late_is_refused_then_applied_once(
    api_without_worker: ApiWithoutWorker,
) -> None:
    # The API does not notice the worker gone for a minute: the action is sent and waits.
    async with api_without_worker(worker_stale_after_seconds=60) as stack:
        raiser = await stack.key(POLICE, "practitioner")
        async with worker_for(stack, stack.settings):
            escalation = f"/escalations/{(await raise_one(stack, raiser))['id']}"
        note = keyed(raiser, f"note-{uuid.uuid4()}")
        path, body = f"{escalation}/notes", {"text": "Called the school"}

        unconfirmed, took = await timed(stack.http.post(path, json=body, headers=note))
        assert unconfirmed.status_code == 503, unconfirmed.text
        assert unconfirmed.headers["retry-after"] and "same Idempotency-Key" in unconfirmed.text
        assert took < BOUND + 5

        async with worker_for(stack, stack.settings):
            # Back, the worker is handed the waiting update first and refuses it (too late):
            # another note sent now is the only one recorded.
            await eventually(
                applied(stack, path, {"text": "Second call"}, keyed(raiser, f"n-{uuid.uuid4()}")),
                "another note applied once the worker is back",
            )
            assert await notes_of(stack, escalation, raiser) == ["Second call"]
            # The first one's repeat, with its key, is applied now, once.
            await eventually(applied(stack, path, body, note), "the repeat applied")
            again = await stack.http.post(path, json=body, headers=note)
            assert again.headers["idempotent-replayed"] == "true"
            assert await notes_of(stack, escalation, raiser) == ["Second call", body["text"]]


def applied(
    stack: ApiStack, path: str, body: dict[str, str], headers: dict[str, str]
) -> Callable[[], Awaitable[httpx.Response | None]]:
    """One bounded attempt: the answer if done; 503 (nothing applied) while the worker starts."""

    async def attempt() -> httpx.Response | None:
        answer, took = await timed(stack.http.post(path, json=body, headers=headers))
        assert answer.status_code in (200, 503) and took < BOUND + 5, answer.text
        return answer if answer.status_code == 200 else None

    return attempt


async def notes_of(stack: ApiStack, escalation: str, headers: dict[str, str]) -> list[str]:
    events = (await stack.http.get(f"{escalation}/timeline", headers=headers)).json()
    return [event["details"]["text"] for event in events if event["action"] == "note"]


async def test_with_no_live_worker_actions_answer_503_at_once_and_apply_nothing(
    api_without_worker: ApiWithoutWorker,
) -> None:
    async with api_without_worker(worker_stale_after_seconds=1) as stack:
        raiser = await stack.key(POLICE, "practitioner")
        manager = await stack.key(CHILDRENS_SERVICES, "manager")
        async with worker_for(stack, stack.settings):
            escalation = f"/escalations/{(await raise_one(stack, raiser))['id']}"

        async def red() -> bool:
            return (await stack.http.get("/healthz")).status_code == 503

        await eventually(red, "the worker seen gone")
        calls = [
            ("/escalations", RAISE, raiser),
            (f"{escalation}/notes", {"text": "Called"}, raiser),
            (f"{escalation}/resolve", {"outcome": "Agreed"}, manager),
        ]
        for path, body, headers in calls:
            answer, took = await timed(stack.http.post(path, json=body, headers=headers))
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["retry-after"] and "Nothing was applied" in answer.text
            assert took < BOUND, "refused before anything is sent"
        assert await timeline_actions(stack, escalation, raiser) == ["raised"]
