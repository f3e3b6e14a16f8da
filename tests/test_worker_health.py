"""A stalled clock is seen at once: /healthz is red while no worker beats, names how long, and
turns green when one does; /livez answers whatever the worker does."""

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from database.engine import session_factory
from database.tables import WorkerHeartbeat, utc_now
from tests.polling import eventually
from tests.test_database_faults import PROBLEM, api_on
from worker.heartbeat import heartbeat


async def _health(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/healthz")


async def test_healthz_follows_the_workers_heartbeat(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    queue = f"health-{uuid.uuid4()}"
    async with api_on(
        database_url, dev_env, tmp_path, task_queue=queue, worker_stale_after_seconds=2
    ) as (http, _):
        never = await _health(http)
        assert never.status_code == 503 and never.headers["content-type"] == PROBLEM
        assert never.headers["retry-after"]
        body = never.json()
        assert body["checks"] == {
            "database": "ok",
            "temporal": "ok",
            "worker": "no worker seen yet",
        }
        assert (body["status"], body["database"], body["temporal"], body["worker"]) == (
            "unavailable",
            "ok",
            "ok",
            "unavailable",
        )
        assert "worker: no worker seen yet" in body["detail"]
        assert (await http.get("/livez")).json() == {"status": "ok"}

        # A worker that stopped beating 95 seconds ago.
        async with session_factory(engine)() as db:
            gone = utc_now() - timedelta(seconds=95)
            db.add(
                WorkerHeartbeat(
                    worker_id="gone", task_queue=queue, started_at=gone, last_seen_at=gone
                )
            )
            await db.commit()
        stale = (await _health(http)).json()["checks"]["worker"]
        assert stale in {f"no worker seen for {s} s" for s in (95, 96, 97)}, stale

        async with heartbeat(engine, queue, every=0.2):

            async def green() -> bool:
                return (await _health(http)).status_code == 200

            await eventually(green, "/healthz green with a worker beating")
            assert (await _health(http)).json()["checks"]["worker"] == "ok"

        async def red() -> bool:
            answer = await _health(http)
            return answer.status_code == 503 and answer.json()["worker"] == "unavailable"

        await eventually(red, "/healthz red once the worker stopped beating")
        assert (await http.get("/livez")).status_code == 200
