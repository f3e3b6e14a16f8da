"""Bounded actions across a worker outage: every answer within the bound (done, or 503 with
Retry-After and nothing applied), a request the worker gets too late is refused by the workflow
rather than applied behind the caller's back, and its repeat with the same key applies it once."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from core.directory import load_directory
from core.settings import Settings
from tests.api_stack import (
    AGENCIES,
    CHILDRENS_SERVICES,
    POLICE,
    QUICK_POLICY,
    ApiStack,
    directory_file,
    serve,
)
from tests.conftest import isolated_settings
from tests.engine_helpers import free_port
from tests.polling import eventually
from tests.test_api import RAISE, raise_one
from tests.test_idempotent_actions import keyed
from tests.test_policy_steps_api import timeline_actions
from worker.main import running_worker

BOUND = 2.0  # ACTION_TIMEOUT_SECONDS here: the test waits seconds, not the default's eight


@asynccontextmanager
async def api_without_worker(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    payload_key_file: Path,
    **overrides: object,
) -> AsyncIterator[ApiStack]:
    """An API with a task queue of its own; the test starts and stops its worker."""
    port = free_port()
    policy_file = tmp_path / "policies.toml"
    policy_file.write_text(QUICK_POLICY)
    settings = isolated_settings(
        policy_file=policy_file,
        database_url=database_url,
        task_queue=f"bounded-{uuid.uuid4()}",
        temporal_address=dev_env.client.service_client.config.target_host,
        directory_file=directory_file(tmp_path / "directory.toml", AGENCIES),
        payload_key_file=payload_key_file,
        public_url=f"http://127.0.0.1:{port}",
        action_timeout_seconds=BOUND,
        worker_heartbeat_seconds=0.2,
        **overrides,
    )
    server, serving = await serve(create_app(settings), port)
    try:
        async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as http:
            yield ApiStack(http=http, engine=engine, settings=settings, temporal=dev_env.client)
    finally:
        server.should_exit = True
        await serving


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
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    payload_key_file: Path,
) -> None:
    # The API does not notice the worker gone for a minute: the action is sent and waits.
    async with api_without_worker(
        dev_env, database_url, engine, tmp_path, payload_key_file, worker_stale_after_seconds=60
    ) as stack:
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
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    payload_key_file: Path,
) -> None:
    async with api_without_worker(
        dev_env, database_url, engine, tmp_path, payload_key_file, worker_stale_after_seconds=1
    ) as stack:
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
