"""The worker SIGKILLed with a raise, a note and a resolve in flight, from the API and the pages,
each retried by its client until it is done: nothing lost, nothing doubled, every answer within
10 s, /healthz red within the staleness limit and green after, and exactly one alert mail and one
recovery mail to the partnership's business unit. The outage's lengths are settings, so "two
minutes" takes seconds here; the figures of a run at the defaults are in docs/operations.md."""

import asyncio
import re
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from database.tables import Escalation
from tests.api_stack import serve
from tests.conftest import isolated_settings, new_key
from tests.ladders import (
    BUSINESS_UNIT,
    CS_MANAGER,
    POLICE,
    STACK_LADDERS,
    directory_file,
    policy_file,
)
from tests.pages_stack import DIRECTORY, PagesStack, csrf_of
from tests.polling import eventually
from tests.ports import listening_socket, port_of
from tests.smtp_listener import Mailbox, smtp_listener
from tests.test_api import RAISE
from tests.test_faults import logged, process_env, running, sigkill

pytestmark = pytest.mark.slow

BOUND = 10.0  # seconds: the longest any answer may take
ALERT = "Escalations have stopped moving"
RECOVERY = "Escalations are moving again"
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


async def timed(call: Awaitable[httpx.Response]) -> httpx.Response:
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await call
    took = loop.time() - started
    assert took < BOUND, f"{answer.request.method} {answer.request.url.path} took {took:.1f} s"
    return answer


async def until_done(
    send: Callable[[], Awaitable[httpx.Response]], done: set[int]
) -> httpx.Response:
    """Retries, as a client does, until the answer is one of `done`; every answer bounded."""

    async def attempt() -> httpx.Response | None:
        answer = await timed(send())
        assert answer.status_code in done | {202, 503}, answer.text
        return answer if answer.status_code in done else None

    found = await eventually(attempt, "the request done", within=120)
    assert found is not None
    return found


def business_unit_mails(mailbox: Mailbox, subject: str) -> int:
    return sum(subject in str(m["Subject"]) for m in mailbox.to(BUSINESS_UNIT))


async def test_a_worker_outage_loses_and_doubles_nothing_and_is_seen_and_told(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    payload_key_file: Path,
    tmp_path: Path,
) -> None:
    directory_file(tmp_path / "directory.toml", DIRECTORY)
    policy_file(tmp_path / "policies.toml", STACK_LADDERS)
    mailbox = Mailbox()
    sock = listening_socket()
    port = port_of(sock)
    async with smtp_listener(mailbox) as smtp:
        shared = {
            "database_url": database_url,
            "temporal_address": dev_env.client.service_client.config.target_host,
            "task_queue": f"outage-{uuid.uuid4()}",
            "directory_file": tmp_path / "directory.toml",
            "policy_file": tmp_path / "policies.toml",
            "payload_key_file": payload_key_file,
            "public_url": f"http://127.0.0.1:{port}",
            "worker_heartbeat_seconds": 0.5,
            "smtp_host": smtp["smtp_host"],
            "smtp_port": smtp["smtp_port"],
        }
        settings = isolated_settings(
            **shared,
            worker_stale_after_seconds=3,
            worker_alert_after_seconds=4,
            action_timeout_seconds=2,
            sign_in_limit_per_client=1_000,
        )
        worker_env = process_env(**shared)
        log = tmp_path / "worker.log"
        server, serving = await serve(create_app(settings), sock)
        pages = PagesStack(settings.public_url, settings, engine, mailbox, dev_env)
        try:
            with running("worker", worker_env, log) as worker:
                await eventually(lambda: logged(log, "worker started"), "the worker up")
                await outage(pages, worker, worker_env, log)
        finally:
            server.should_exit = True
            await serving


async def outage(
    pages: PagesStack, worker: subprocess.Popen[bytes], worker_env: dict[str, str], log: Path
) -> None:
    engine, mailbox = pages.engine, pages.mailbox
    _, token = await new_key(engine, name="PC Reyes", agency=POLICE, role="practitioner")
    practitioner = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=pages.url, timeout=30) as api,
        pages.signed_in(CS_MANAGER) as manager,
    ):

        async def healthy() -> bool:
            return (await timed(api.get("/healthz"))).status_code == 200

        await eventually(healthy, "/healthz green")
        first = await api.post("/escalations", json=RAISE, headers=practitioner)
        assert first.status_code == 201, first.text
        escalation = f"/escalations/{first.json()['id']}"
        page = await manager.get(escalation)
        # The resolution's confirmation page, whose button carries the one-time form id.
        confirmation = await manager.post(
            f"{escalation}/actions/resolve",
            data={"csrf_token": csrf_of(page.text), "outcome": "Strategy discussion agreed"},
        )
        form_id = FORM_ID.search(confirmation.text)
        assert form_id is not None
        raise_key = {**practitioner, "Idempotency-Key": f"raise-{uuid.uuid4()}"}
        note_key = {**practitioner, "Idempotency-Key": f"note-{uuid.uuid4()}"}
        resolve_form = {
            "csrf_token": csrf_of(page.text),
            "form_id": form_id.group(1),
            "outcome": "Strategy discussion agreed",
        }

        def send_raise() -> Awaitable[httpx.Response]:
            return api.post("/escalations", json=RAISE, headers=raise_key)

        def send_note() -> Awaitable[httpx.Response]:
            return api.post(
                f"{escalation}/notes", json={"text": "Rang the school"}, headers=note_key
            )

        def send_resolve() -> Awaitable[httpx.Response]:
            return manager.post(f"{escalation}/actions/resolve/confirm", data=resolve_form)

        sigkill(worker)
        # In flight as the worker dies: each answered within the bound, none done.
        answers = await asyncio.gather(*(timed(s()) for s in (send_raise, send_note, send_resolve)))
        assert [a.status_code for a in answers] in ([202, 503, 503], [503, 503, 503]), [
            a.text for a in answers
        ]
        assert "Sorry, there is a problem with the service" in answers[2].text

        async def red() -> str | None:
            answer = await timed(api.get("/healthz"))
            worker_check: str = answer.json()["checks"]["worker"]
            return worker_check if answer.status_code == 503 else None

        assert "no worker seen for" in str(await eventually(red, "/healthz red"))

        async def alerted() -> bool:
            return business_unit_mails(mailbox, ALERT) >= 1

        await eventually(alerted, "the business unit alerted")
        # Retried during the outage: refused at once, nothing applied.
        for send in (send_note, send_resolve):
            assert (await timed(send())).status_code == 503

        with running("worker", worker_env, log):
            await eventually(healthy, "/healthz green again")

            async def recovered() -> bool:
                return business_unit_mails(mailbox, RECOVERY) >= 1

            await eventually(recovered, "the business unit told of the recovery")
            raised = await until_done(send_raise, {201})
            await until_done(send_note, {200})
            resolved = await until_done(send_resolve, {303})
            assert resolved.headers["location"].endswith("/actions/resolve/done")

            # Everything once: the retried raise, the note and the resolution.
            async with pages.engine.connect() as connection:
                same_key = await connection.scalar(
                    select(func.count())
                    .select_from(Escalation)
                    .where(Escalation.idempotency_key == raise_key["Idempotency-Key"])
                )
            assert same_key == 1 and raised.json()["status"] == "open"
            timeline = await api.get(f"{escalation}/timeline", headers=practitioner)
            steps = [event["action"] for event in timeline.json()]
            assert steps.count("note") == 1 and steps.count("resolved") == 1, steps
    assert business_unit_mails(mailbox, ALERT) == 1
    assert business_unit_mails(mailbox, RECOVERY) == 1
