"""Shared fixtures: real Temporal servers from the PyPI binaries, real SQLite and PostgreSQL."""

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.database import create_engine, migrate
from worker.client import data_converter
from worker.main import ensure_search_attributes
from worker.settings import Settings
from workflows.search_attributes import ALL_KEYS

BIN = Path(sys.prefix) / "bin"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def test_settings(**overrides: Any) -> Settings:
    """Settings for a test: defaults plus `overrides`, never the developer's .env."""
    return Settings(_env_file=None, **overrides)


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: months of stage clocks pass in seconds."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(test_settings()),
    )
    await ensure_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (the one `make run` uses), with the escalation search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=data_converter(test_settings()),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
    yield env
    await env.shutdown()


def _fresh_postgres_database() -> Iterator[str]:
    name = f"escalations_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: an SQLite file, or a new database on the local PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'escalations.db'}"
        migrate(url)
        yield url
        return
    for url in _fresh_postgres_database():
        migrate(url)
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()
