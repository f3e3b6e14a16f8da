"""Bounded actions across a worker outage: every answer within the bound (done, or 503 with
Retry-After and nothing applied), a request the worker gets too late is refused by the workflow
rather than applied behind the caller's back, and its repeat with the same key applies it once."""

import asyncio
import uuid
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager

import httpx
from temporalio.worker import Worker

from core.directory import load_directory
from core.settings import Settings
from tests.api_stack import (
    CHILDRENS_SERVICES,
    POLICE,
    QUICK_ACTION_TIMEOUT,
    ApiStack,
    ApiWithoutWorker,
)
from tests.polling import eventually
from tests.test_api import RAISE, raise_one
from tests.test_idempotent_actions import keyed
from tests.test_policy_steps_api import timeline_actions
from worker.main import running_worker

BOUND = QUICK_ACTION_TIMEOUT


def worker_for(stack: ApiStack, settings: Settings) -> AbstractAsyncContextManager[Worker]:
    return running_worker(
        stack.temporal, settings, stack.engine, load_directory(settings.directory_file)
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
            # The worker, back, refuses the waiting update: its caller was told "not applied".
            repeated, took = await timed(stack.http.post(path, json=body, headers=note))
            if repeated.status_code == 503:  # it met the stale update: refused as too late
                assert "Nothing was applied" in repeated.text
                repeated = await stack.http.post(path, json=body, headers=note)
            assert repeated.status_code == 200, repeated.text
            again = await stack.http.post(path, json=body, headers=note)
            assert again.headers["idempotent-replayed"] == "true"
            assert await timeline_actions(stack, escalation, raiser) == ["raised", "note"]


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
