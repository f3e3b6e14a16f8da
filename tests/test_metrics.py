"""Metrics in the Prometheus text format: the API's /metrics (no credentials, no child data) and
the worker's own port (the Temporal SDK's metrics and the time-limit lag)."""

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from core.directory import seed_file
from core.temporal import connect, metrics_runtime
from tests.api_stack import ApiStack, ApiWithoutWorker
from tests.engine_helpers import SQLITE_ONLY
from tests.ladders import POLICE
from tests.polling import eventually
from tests.test_api import RAISE, raise_one
from tests.test_no_child_data import CHILD, leaks
from worker.main import running_worker


def sample(text: str, name: str, labels: str = "") -> float | None:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_api_metrics_answer_without_credentials_and_name_no_child(
    api_stack: ApiStack,
) -> None:
    raiser = await api_stack.key(POLICE, "practitioner")
    await raise_one(api_stack, raiser, **{k: v for k, v in CHILD.items() if k in RAISE})
    answer = await api_stack.http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert "# TYPE escalations_open gauge" in text
    assert (sample(text, "escalations_open", '{stage="1"}') or 0) >= 1
    assert "# TYPE escalations_overdue gauge" in text
    assert sample(text, "notifications_failed") is not None
    seen = sample(text, "worker_last_seen_seconds")
    assert seen is not None and seen < 60, "the stack's worker beats"
    assert not leaks("/metrics", text)


@SQLITE_ONLY
async def test_the_worker_exports_sdk_metrics_and_the_time_limit_lag(
    api_without_worker: ApiWithoutWorker, engine: AsyncEngine, held_port: int
) -> None:
    port = held_port  # the worker's metrics exporter binds it
    async with api_without_worker(worker_metrics_port=port) as stack:
        settings = stack.settings
        client = await connect(settings, runtime=metrics_runtime(settings))
        raiser = await stack.key(POLICE, "practitioner")
        directory = seed_file(settings.directory_file)
        async with (
            running_worker(client, settings, engine, directory),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as scrape,
        ):
            await raise_one(stack, raiser, policy="quick")  # its first limit passes in 2 s

            async def lag_recorded() -> str | None:
                text = (await scrape.get("/metrics")).text
                return text if "escalation_time_limit_lag_count" in text else None

            text = await eventually(lag_recorded, "the first time limit's lag exported")
    assert text is not None
    assert "temporal_workflow_completed" in text or "temporal_request" in text
    assert 'policy="quick"' in text
    assert not leaks("worker metrics", text)
