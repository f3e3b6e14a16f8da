"""A running API over real HTTP (uvicorn on a free port), with a worker, on the dev server."""

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.directory import seed_file
from core.settings import Settings
from database.engine import create_engine, dispose
from tests.conftest import isolated_settings, new_key
from tests.ladders import (
    CHILDRENS_SERVICES,
    HEALTH,
    POLICE,
    SCHOOL,
    STACK_LADDERS,
    directory,
    directory_file,
    policy_file,
)
from tests.ports import listening_socket, port_of
from worker.main import running_worker
from workflows.policy import Role

# The agencies every stack's directory names (nobody to tell: notifications go to no one).
AGENCIES = [POLICE, CHILDRENS_SERVICES, HEALTH, SCHOOL]


@dataclass
class ApiStack:
    http: httpx.AsyncClient
    engine: AsyncEngine
    settings: Settings
    temporal: Client

    async def key(self, agency: str, role: Role, name: str | None = None) -> dict[str, str]:
        """Authorization headers for a new key."""
        _, token = await new_key(
            self.engine, name=name or f"{role} {agency}", agency=agency, role=role
        )
        return {"Authorization": f"Bearer {token}"}


async def serve(app: object, sock: socket.socket) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Serves `app` on `sock`, bound and listening already (tests/ports.py)."""
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture(scope="module")
async def api_stack(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    payload_key_file: Path,
) -> AsyncIterator[ApiStack]:
    """One stack per test module and database; tests tell their data apart by agency names.
    A module's own receiving agencies, in its DIRECTORY_AGENCIES, join the directory."""
    database_url = module_database_url
    files = tmp_path_factory.mktemp("config")
    agencies = AGENCIES + list(getattr(request.module, "DIRECTORY_AGENCIES", []))
    sock = listening_socket()
    port = port_of(sock)
    settings = isolated_settings(
        database_url=database_url,
        task_queue=f"api-{uuid.uuid4()}",
        temporal_address=dev_env.client.service_client.config.target_host,
        policy_file=policy_file(files / "policies.toml", STACK_LADDERS),
        directory_file=directory_file(files / "directory.toml", directory(*agencies, people=False)),
        public_url=f"http://127.0.0.1:{port}",
        payload_key_file=payload_key_file,
        # A module's own retention (test_retention.py); else none: nothing is erased.
        retention_after_close=getattr(request.module, "RETENTION_AFTER_CLOSE", None),
        # A module may keep the case keys in a database of their own (CASE_KEYS_APART).
        case_key_database_url=(
            f"sqlite:///{files / 'case-keys.db'}"
            if getattr(request.module, "CASE_KEYS_APART", False)
            else None
        ),
    )
    engine = create_engine(database_url, settings.case_key_database_url)
    server, task = await serve(create_app(settings), sock)
    try:
        async with (
            running_worker(dev_env.client, settings, engine, seed_file(settings.directory_file)),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
        ):
            yield ApiStack(http=http, engine=engine, settings=settings, temporal=dev_env.client)
    finally:
        server.should_exit = True
        await task
        await dispose(engine)


# ACTION_TIMEOUT_SECONDS for the stacks whose tests stop the worker: seconds, not the default 8.
QUICK_ACTION_TIMEOUT = 2.0
ApiWithoutWorker = Callable[..., AbstractAsyncContextManager[ApiStack]]


@pytest.fixture
def api_without_worker(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    payload_key_file: Path,
) -> ApiWithoutWorker:
    """An API on a task queue of the test's own and no worker: the test starts and stops its
    workers (running_worker with the stack's settings). Keyword arguments override settings."""

    @asynccontextmanager
    async def stack(**overrides: object) -> AsyncIterator[ApiStack]:
        sock = listening_socket()
        port = port_of(sock)
        settings = isolated_settings(
            **{
                "policy_file": policy_file(tmp_path / "policies.toml", STACK_LADDERS),
                "database_url": database_url,
                "task_queue": f"bounded-{uuid.uuid4()}",
                "temporal_address": dev_env.client.service_client.config.target_host,
                "directory_file": directory_file(
                    tmp_path / "directory.toml", directory(*AGENCIES, people=False)
                ),
                "payload_key_file": payload_key_file,
                "public_url": f"http://127.0.0.1:{port}",
                "action_timeout_seconds": QUICK_ACTION_TIMEOUT,
                "worker_heartbeat_seconds": 0.2,
                **overrides,
            }
        )
        server, serving = await serve(create_app(settings), sock)
        try:
            async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as http:
                yield ApiStack(http=http, engine=engine, settings=settings, temporal=dev_env.client)
        finally:
            server.should_exit = True
            await serving

    return stack
