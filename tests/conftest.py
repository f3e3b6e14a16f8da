"""Shared fixtures: real Temporal servers from the PyPI binaries, real SQLite and PostgreSQL."""

import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.keys import create_key, revoke_key
from core.settings import Settings
from core.temporal import data_converter
from database.engine import create_engine, migrate, session_factory
from database.tables import ApiKey
from tests.ports import reserved_port
from worker.main import ensure_search_attributes
from workflows.policy import Role
from workflows.search_attributes import ALL_KEYS

pytest_plugins = ("tests.api_stack", "tests.pages_stack")

BIN = Path(sys.prefix) / "bin"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


# The export signing key tests sign with, never the developer's ./.data one.
EXPORT_SIGNING_KEY = Path(tempfile.mkdtemp(prefix="export-key-")) / "export-signing-key.pem"


# Fixtures that make a test slow: a browser (Chromium and axe), or the dev server's real clock
# (the API and pages stacks run on it). `pytest -m "not slow"` runs the rest in under a minute.
SLOW_FIXTURES = {"browser", "dev_env"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def isolated_settings(**overrides: Any) -> Settings:
    """Settings for a test: defaults plus `overrides`, never the developer's .env or keys."""
    overrides.setdefault("export_signing_key_file", EXPORT_SIGNING_KEY)
    return Settings(_env_file=None, **overrides)


@pytest.fixture(scope="session")
def payload_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's payload key file (created on first use), never the developer's ./.data."""
    return tmp_path_factory.mktemp("keys") / "payload-keys.json"


@asynccontextmanager
async def time_skipping_server(payload_key_file: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server with the escalation search attributes."""
    with reserved_port() as port:  # ours until the server listens there
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(BIN / "temporal-test-server"),
            data_converter=data_converter(isolated_settings(payload_key_file=payload_key_file)),
            port=port,
        )
    await ensure_search_attributes(env.client, "default")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def time_env(payload_key_file: Path) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: months of stage clocks pass in seconds."""
    async with time_skipping_server(payload_key_file) as env:
        yield env


@asynccontextmanager
async def dev_server(
    payload_key_file: Path, *extra_args: str, **options: Any
) -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server (the one `make run` uses) with the escalation search attributes;
    `options` for WorkflowEnvironment.start_local."""
    with reserved_port() as port:  # ours until the server listens there
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            data_converter=data_converter(isolated_settings(payload_key_file=payload_key_file)),
            search_attributes=ALL_KEYS,
            port=port,
            dev_server_extra_args=[
                "--dynamic-config-value",
                "frontend.enableUpdateWorkflowExecution=true",
                *extra_args,
            ],
            **options,
        )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env(payload_key_file: Path) -> AsyncIterator[WorkflowEnvironment]:
    """The session's dev server."""
    async with dev_server(payload_key_file) as env:
        yield env


@pytest.fixture
def hold_port() -> Iterator[Callable[[], int]]:
    """Ports held for the whole test (tests/ports.py), another at each call: a server the test
    starts on one shares it and nobody else can take it, across restarts; while no server listens
    there, a connection to it is refused."""
    with ExitStack() as held:
        yield lambda: held.enter_context(reserved_port())


@pytest.fixture
def held_port(hold_port: Callable[[], int]) -> int:
    """One port held for the whole test (`hold_port`)."""
    return hold_port()


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new, migrated database: an SQLite file in `directory`, or one on the local PostgreSQL."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'escalations.db'}"
        migrate(url)
        yield url
        return
    name = f"escalations_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database shared by a module's tests, on SQLite and on PostgreSQL."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def new_key(engine: AsyncEngine, *, name: str, agency: str, role: Role) -> tuple[ApiKey, str]:
    """A new API key and its token, as `python -m api create-key` makes them."""
    async with session_factory(engine)() as db:
        return await create_key(db, name=name, agency=agency, role=role)


async def revoked(engine: AsyncEngine, key_id: int) -> None:
    async with session_factory(engine)() as db:
        assert await revoke_key(db, key_id) is not None
