"""The database gone, or the API's privileges on it revoked: every call answers 503 problem+json,
and /healthz says `database: unavailable`, because it reads what the API reads."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from database.engine import create_engine, migrate
from tests.api_stack import serve
from tests.conftest import isolated_settings, new_key
from tests.ladders import CHILDRENS_SERVICES, POLICE, directory, directory_file
from tests.ports import listening_socket, port_of

PROBLEM = "application/problem+json"


@asynccontextmanager
async def api_on(
    database_url: str, dev_env: WorkflowEnvironment, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """An API (no worker) on `database_url` and the dev server; `overrides` for its settings."""
    sock = listening_socket()
    port = port_of(sock)
    settings = isolated_settings(
        database_url=database_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        directory_file=directory_file(
            tmp_path / "directory.toml", directory(POLICE, CHILDRENS_SERVICES, people=False)
        ),
        payload_key_file=tmp_path / "keys.json",
        **overrides,
    )
    app = create_app(settings)
    server, task = await serve(app, sock)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http, app
    finally:
        server.should_exit = True
        await task


async def key_for(database_url: str) -> tuple[dict[str, str], str]:
    engine = create_engine(database_url)
    try:
        _, token = await new_key(engine, name="PC Reyes", agency=POLICE, role="practitioner")
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {token}"}, token


async def assert_unavailable(http: httpx.AsyncClient, headers: dict[str, str], token: str) -> None:
    calls = [
        http.get("/escalations", headers=headers),
        http.get("/escalations/ESC-00000000", headers=headers),
        http.get("/escalations/ESC-00000000/timeline", headers=headers),
        http.post(
            "/escalations",
            json={
                "receiving_agency": CHILDRENS_SERVICES,
                "child_reference": "NP-1",
                "summary": "x",
            },
            headers=headers,
        ),
        http.post("/escalations/ESC-00000000/notes", json={"text": "x"}, headers=headers),
    ]
    for call in calls:
        answer = await call
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["status"] == 503
        assert token not in answer.text and "SELECT" not in answer.text
    health = await http.get("/healthz")
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable" and health.json()["temporal"] == "ok"


@pytest.mark.postgres
async def test_revoked_privileges_answer_503(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:10]
    name, role = f"escalations_faults_{suffix}", f"escalations_app_{suffix}"
    admin_url = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    owner_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        migrate(owner_url)
        with psycopg.connect(owner_url, autocommit=True) as owner:
            owner.execute(
                f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO "{role}"'
            )
            owner.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        headers, token = await key_for(owner_url)
        async with api_on(f"postgresql://{role}@127.0.0.1:5432/{name}", dev_env, tmp_path) as (
            http,
            _,
        ):
            assert (await http.get("/escalations", headers=headers)).status_code == 200
            assert (await http.get("/healthz")).json()["database"] == "ok"
            with psycopg.connect(owner_url, autocommit=True) as owner:
                owner.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
            await assert_unavailable(http, headers, token)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
async def test_an_unreachable_postgres_answers_503(
    dev_env: WorkflowEnvironment, tmp_path: Path, held_port: int
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{held_port}/escalations"  # nobody listens
    async with api_on(url, dev_env, tmp_path) as (http, _):
        await assert_unavailable(http, {"Authorization": "Bearer esk_anything"}, "esk_anything")


async def test_a_removed_sqlite_file_answers_503(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    database = tmp_path / "escalations.db"
    url = f"sqlite:///{database}"
    migrate(url)
    headers, token = await key_for(url)
    async with api_on(url, dev_env, tmp_path) as (http, app):
        assert (await http.get("/escalations", headers=headers)).status_code == 200
        for file in tmp_path.glob("escalations.db*"):
            file.unlink()
        await app.state.engine.dispose()  # the open connections still see the deleted file
        await assert_unavailable(http, headers, token)


async def test_a_file_that_is_no_database_answers_503(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    database = tmp_path / "escalations.db"
    database.write_bytes(b"not a database, whatever its name says\n" * 100)
    async with api_on(f"sqlite:///{database}", dev_env, tmp_path) as (http, _):
        await assert_unavailable(http, {"Authorization": "Bearer esk_anything"}, "esk_anything")
