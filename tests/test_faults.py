"""Faults, on real servers: a missed or doubled escalation step is a safeguarding failure.

The worker is killed while stage clocks run, the Temporal server restarts, the database refuses
connections in the middle of an audit write, the mail server is down, the API is killed while
agencies raise. Each time every escalation moves exactly once and nothing is lost or doubled.

Stages here last seconds on the Temporal dev server (the real clock), so each test waits a few
seconds by design; the waits poll for outcomes and only give up after a generous limit.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.policy_files import load_policies
from core.settings import Settings
from core.temporal import data_converter
from database.audit_chain import chain_breaks
from database.engine import create_engine, session_factory
from database.tables import AuditEvent, Escalation
from tests import conftest
from tests.conftest import BIN, POSTGRES_ADMIN_URL, fresh_database, new_key
from tests.engine_helpers import (
    DIRECTORY,
    RECEIVING,
    SQLITE_ONLY,
    STAGE_PEOPLE,
    actions,
    audit_trail,
    deliveries,
    escalation_input,
    escalation_worker,
    state_of,
)
from tests.ladders import BUSINESS_UNIT, HOUR, directory_file, ladder, policy_file
from tests.polling import eventually
from tests.smtp_listener import Mailbox, smtp_listener
from worker.main import running_worker
from workflows.escalation import EscalationWorkflow, initial_search_attributes
from workflows.models import EscalationInput, EscalationState
from workflows.policy import Policy
from workflows.search_attributes import ALL_KEYS

pytestmark = pytest.mark.slow
Handle = WorkflowHandle[EscalationWorkflow, EscalationState]

# `quick` climbs to the partnership in seconds; `one_limit` passes one time limit, then waits.
# Five seconds a stage leaves room to raise, record and notify before a crash, even on a busy
# two-core machine.
QUICK_STAGE = timedelta(seconds=5)
LADDERS = {
    "quick": ladder("Two quick stages, then the partnership", QUICK_STAGE, QUICK_STAGE, HOUR),
    "one_limit": ladder("One quick stage", QUICK_STAGE, HOUR, HOUR),
}


@dataclass(frozen=True)
class Ladders:
    file: Path
    policies: dict[str, Policy]

    def escalation(self, policy_name: str) -> EscalationInput:
        return escalation_input(policy_name, policy=self.policies[policy_name])


@pytest.fixture(scope="module")
def ladders(tmp_path_factory: pytest.TempPathFactory) -> Ladders:
    file = policy_file(tmp_path_factory.mktemp("ladders") / "policies.toml", LADDERS)
    return Ladders(file, load_policies(file))


@asynccontextmanager
async def raised(client: Client, task_queue: str, input: EscalationInput) -> AsyncIterator[Handle]:
    """Started as the API starts it, on the real clock; terminated at the end if still open."""
    handle = await client.start_workflow(
        EscalationWorkflow.run,
        input,
        id=input.escalation_id,
        task_queue=task_queue,
        search_attributes=initial_search_attributes(input),
    )
    try:
        yield handle
    finally:
        with contextlib.suppress(RPCError):  # closed already
            await handle.terminate(reason="test finished")


def told(stage: int) -> set[str]:
    """Who hears of an event at `stage` of a three-stage ladder: the partnership at the top."""
    return STAGE_PEOPLE[stage] | ({BUSINESS_UNIT} if stage == 3 else set())


async def wait_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)


async def audit_actions(engine: AsyncEngine, escalation_id: str) -> list[tuple[str, int]]:
    return actions(await audit_trail(engine, escalation_id))


async def notified_keys(engine: AsyncEngine, escalation_id: str) -> list[str]:
    events = await audit_trail(engine, escalation_id, with_notified=True)
    return [e.event_key for e in events if e.action == "notified"]


async def settled_at(engine: AsyncEngine, escalation_id: str, stage: int) -> bool:
    """The escalation reached `stage` and everyone has been told of every step."""
    steps = await audit_actions(engine, escalation_id)
    return (
        bool(steps)
        and steps[-1][1] == stage
        and len(await notified_keys(engine, escalation_id)) == len(steps)
    )


async def quiet(handle: Handle) -> bool:
    """Temporal holds every activity's result: nothing in flight for a crash to cut off."""
    return not (await handle.describe()).raw_description.pending_activities


async def assert_stage_held_its_limit(engine: AsyncEngine, escalation_id: str, stage: int) -> None:
    """The stage's people had its whole limit: from the step up to it, to the step up from it."""
    steps = {
        event.details["to_stage"]: event.at
        for event in await audit_trail(engine, escalation_id)
        if event.action == "escalated"
    }
    assert steps[stage + 1] - steps[stage] >= QUICK_STAGE


async def assert_climbed_once(engine: AsyncEngine, escalation_id: str, stages: int) -> None:
    """One audit row and one set of deliveries per step, the record unbroken."""
    steps = [("raised", 1)] + [("escalated", stage) for stage in range(2, stages + 1)]
    taken = await audit_trail(engine, escalation_id)
    assert actions(taken) == steps
    trail = await audit_trail(engine, escalation_id, with_notified=True)
    assert chain_breaks(trail) == []
    # Each step's notification, keyed by the event it follows (a late record's clock restart
    # comes between a step and its notification).
    notified = sorted(
        (key.removesuffix(":notified") for key in await notified_keys(engine, escalation_id)),
        key=lambda key: int(key.rsplit(":", 1)[1]),
    )
    assert len(notified) == len(steps)
    for notification_key, (_, stage) in zip(notified, steps, strict=True):
        sent = await deliveries(engine, notification_key)
        assert set(sent) == told(stage)
        assert {(d.status, d.attempts) for d in sent.values()} == {("logged", 1)}


# --- processes ----------------------------------------------------------------------------


@pytest.fixture
def directory_path(tmp_path: Path) -> Path:
    """The engine tests' DIRECTORY as a DIRECTORY_FILE, for processes of their own."""
    return directory_file(tmp_path / "directory.toml", DIRECTORY)


def process_env(**settings: object) -> dict[str, str]:
    """The environment for a worker or API process: the test's settings, none of the caller's."""
    mine = {name.upper() for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items() if name.upper() not in mine}
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


@contextmanager
def running(module: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module` in the background, its output in `log`; stopped at the end."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            cwd=log.parent,  # so no developer .env or ./.data is read
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sigkill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL


async def logged(log: Path, line: str) -> bool:
    return log.exists() and line in log.read_text(errors="replace")


# --- the worker killed while stage clocks run -----------------------------------------------


@SQLITE_ONLY
async def test_worker_killed_while_clocks_run_moves_every_escalation_exactly_once(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    ladders: Ladders,
    payload_key_file: Path,
    tmp_path: Path,
    directory_path: Path,
) -> None:
    task_queue = f"faults-{uuid.uuid4().hex[:8]}"
    env = process_env(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
        policy_file=ladders.file,
        directory_file=directory_path,
        payload_key_file=payload_key_file,
    )
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    escalations = [ladders.escalation("quick") for _ in range(3)]
    async with AsyncExitStack() as stack:
        with running("worker", env, first_log) as first:
            await eventually(lambda: logged(first_log, "worker started"), "first worker up")
            handles = [
                await stack.enter_async_context(raised(dev_env.client, task_queue, e))
                for e in escalations
            ]
            for handle in handles:
                await eventually(partial(settled_at, engine, handle.id, 1), f"{handle.id} up")
                await eventually(partial(quiet, handle), f"{handle.id} quiet")
            first_limits = [(await state_of(handle)).stage_deadline for handle in handles]
            sigkill(first)

        for handle in handles:
            assert await audit_actions(engine, handle.id) == [("raised", 1)]
        # The worker stays away longer than a stage: stage 1's limit fires in Temporal, and
        # stage 2 would be past too if its clock started at stage 1's deadline.
        await wait_until(max(limit for limit in first_limits if limit) + QUICK_STAGE)

        with running("worker", env, second_log):
            for handle in handles:
                await eventually(partial(settled_at, engine, handle.id, 3), f"{handle.id} top")
            for handle in handles:
                await assert_climbed_once(engine, handle.id, stages=3)
                await assert_stage_held_its_limit(engine, handle.id, stage=2)
                assert (await state_of(handle)).stage == 3


@SQLITE_ONLY
async def test_a_raise_waiting_for_a_worker_keeps_its_first_stage(
    dev_env: WorkflowEnvironment, engine: AsyncEngine, ladders: Ladders
) -> None:
    task_queue = f"no-worker-yet-{uuid.uuid4().hex[:8]}"
    async with raised(dev_env.client, task_queue, ladders.escalation("quick")) as handle:
        # No worker for longer than a stage: the first stage starts when one takes it up.
        await asyncio.sleep(QUICK_STAGE.total_seconds() + 2)
        config = conftest.isolated_settings(task_queue=task_queue)
        async with running_worker(dev_env.client, config, engine, DIRECTORY):
            await eventually(partial(settled_at, engine, handle.id, 2), "stage 2")
            steps = await audit_trail(engine, handle.id)
            raised_at, escalated_at = steps[0].at, steps[1].at
            assert escalated_at - raised_at >= QUICK_STAGE
            started = (await handle.describe()).start_time
            assert raised_at - started >= QUICK_STAGE  # recorded when taken up, not at the start


# --- the Temporal server restarted ----------------------------------------------------------


async def start_dev_server(database: Path, port: int, key_file: Path) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_database_filename=str(database),
        port=port,
        data_converter=data_converter(conftest.isolated_settings(payload_key_file=key_file)),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )


@SQLITE_ONLY
async def test_temporal_restart_keeps_escalations_running(
    engine: AsyncEngine, ladders: Ladders, payload_key_file: Path, tmp_path: Path, held_port: int
) -> None:
    """The server restarts on its own address, held for the test so that no one may take it
    while the server is down; the one escalation resolved across the restart has no time limit
    in reach, so its resolution never races its clock however long the restart takes."""
    database, port = tmp_path / "temporal.db", held_port
    server = await start_dev_server(database, port, payload_key_file)
    client = server.client  # kept across the restart, as the worker and the API keep theirs
    try:
        async with (
            escalation_worker(client, engine, DIRECTORY) as config,
            raised(client, config.task_queue, ladders.escalation("standard")) as by_hand,
            raised(client, config.task_queue, ladders.escalation("one_limit")) as by_time,
        ):
            for handle in (by_hand, by_time):
                await eventually(partial(settled_at, engine, handle.id, 1), "raised")
                await eventually(partial(quiet, handle), "quiet")
            await server.shutdown()
            assert await audit_actions(engine, by_time.id) == [("raised", 1)]
            server = await start_dev_server(database, port, payload_key_file)

            await by_hand.signal("resolved", {"by": "Team manager", "outcome": "Agreed"})
            resolved = await by_hand.result()
            await eventually(lambda: settled_at(engine, by_time.id, 2), "time limit passed")

            assert (resolved.status, resolved.stage) == ("resolved", 1)
            assert await audit_actions(engine, by_hand.id) == [("raised", 1), ("resolved", 1)]
            await assert_climbed_once(engine, by_time.id, stages=2)
            assert (await state_of(by_time)).stage == 2
    finally:
        await server.shutdown()


@contextmanager
def dev_server_process(database: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The dev server as `make run` starts it, in a process of its own this test may kill."""
    command = [
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--headless",
        "--db-filename",
        str(database),
        "--dynamic-config-value",
        "frontend.enableUpdateWorkflowExecution=true",
    ]
    for key in ALL_KEYS:
        kind = "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))
        command += ["--search-attribute", f"{key.name}={kind}"]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def connected(port: int, key_file: Path) -> Client | None:
    try:
        return await Client.connect(
            f"127.0.0.1:{port}",
            data_converter=data_converter(conftest.isolated_settings(payload_key_file=key_file)),
        )
    except RuntimeError:
        return None


@SQLITE_ONLY
async def test_temporal_killed_past_a_limit_skips_no_stage(
    engine: AsyncEngine, ladders: Ladders, payload_key_file: Path, tmp_path: Path, held_port: int
) -> None:
    database, port, log = tmp_path / "temporal.db", held_port, tmp_path / "temporal.log"
    with dev_server_process(database, port, log) as server:
        client = await eventually(lambda: connected(port, payload_key_file), "Temporal up")
        assert client is not None
        async with (
            escalation_worker(client, engine, DIRECTORY) as config,
            raised(client, config.task_queue, ladders.escalation("quick")) as handle,
        ):
            await eventually(partial(settled_at, engine, handle.id, 1), "raised")
            await eventually(partial(quiet, handle), "quiet")
            limit = (await state_of(handle)).stage_deadline
            assert limit is not None
            sigkill(server)
            # Away past stage 1's limit and the whole of stage 2's.
            await wait_until(limit + 2 * QUICK_STAGE)
            with dev_server_process(database, port, log):
                await eventually(partial(settled_at, engine, handle.id, 3), "top", within=90)

                await assert_climbed_once(engine, handle.id, stages=3)
                await assert_stage_held_its_limit(engine, handle.id, stage=2)


# --- the database and the mail server down --------------------------------------------------


@contextmanager
def connections_refused(database_url: str) -> Iterator[None]:
    """PostgreSQL refuses new connections to the database and drops the open ones."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def notified(engine: AsyncEngine, escalation_id: str, kind: str) -> bool:
    events = await audit_trail(engine, escalation_id, with_notified=True)
    return any(e.action == "notified" and e.details["kind"] == kind for e in events)


@pytest.mark.postgres
async def test_audit_write_waits_for_the_database_and_loses_nothing(
    dev_env: WorkflowEnvironment, ladders: Ladders, tmp_path: Path
) -> None:
    with fresh_database("postgresql", tmp_path) as database_url:
        engine = create_engine(database_url)
        try:
            async with (
                escalation_worker(dev_env.client, engine, DIRECTORY) as config,
                raised(
                    dev_env.client, config.task_queue, ladders.escalation("one_limit")
                ) as handle,
            ):
                await eventually(lambda: settled_at(engine, handle.id, 1), "raised")
                limit = (await state_of(handle)).stage_deadline
                assert limit is not None
                with connections_refused(database_url):
                    # The time limit passes and the "escalated" write fails, again and again.
                    await wait_until(limit + timedelta(seconds=3))
                await eventually(lambda: notified(engine, handle.id, "escalated"), "escalated")

                # The write landed late, so stage 2's clock restarted from when it did.
                steps = [
                    e
                    for e in await audit_trail(engine, handle.id, with_notified=True)
                    if e.action != "notified"
                ]
                assert actions(steps) == [("raised", 1), ("escalated", 2), ("clock_restarted", 2)]
                state = await state_of(handle)
                assert state.stage_started_at is not None
                assert state.stage_deadline == state.stage_started_at + timedelta(hours=1)
                assert state.stage_started_at - steps[1].at > timedelta(seconds=1)
                assert chain_breaks(await audit_trail(engine, handle.id, with_notified=True)) == []
        finally:
            await engine.dispose()


async def delivery_states(engine: AsyncEngine, notification_key: str) -> set[str]:
    return {d.status for d in (await deliveries(engine, notification_key)).values()}


@SQLITE_ONLY
async def test_mail_down_is_retried_and_recorded_and_the_clock_keeps_time(
    dev_env: WorkflowEnvironment, engine: AsyncEngine, ladders: Ladders, held_port: int
) -> None:
    port = held_port  # the mail server's, down until the escalation has moved on
    async with (
        escalation_worker(
            dev_env.client, engine, DIRECTORY, smtp_host="127.0.0.1", smtp_port=port
        ) as config,
        raised(dev_env.client, config.task_queue, ladders.escalation("one_limit")) as handle,
    ):
        raise_key, escalate_key = f"{handle.id}:1", f"{handle.id}:2"

        async def retrying(key: str) -> bool:
            return await delivery_states(engine, key) == {"retrying"}

        await eventually(lambda: retrying(raise_key), "raise notification failed")
        # Stage 1's clock starts at the raise, as the server recorded it.
        first_limit = (await handle.describe()).start_time + QUICK_STAGE
        await eventually(lambda: retrying(escalate_key), "escalated while mail is down")
        assert await retrying(raise_key)  # still not delivered: the clock did not wait for it
        state = await state_of(handle)
        # Stage 2's clock started at stage 1's time limit, not when the mail came back.
        assert (state.stage, state.stage_started_at) == (2, first_limit)

        async with smtp_listener(inbox := Mailbox(), port):

            async def delivered() -> bool:
                return len(await notified_keys(engine, handle.id)) == 2

            await eventually(delivered, "both notifications delivered", within=90)

        for key, stage, headline in (
            (raise_key, 1, "New escalation at stage 1"),
            (escalate_key, 2, "Escalated to stage 2"),
        ):
            sent = await deliveries(engine, key)
            assert set(sent) == told(stage)
            assert {d.status for d in sent.values()} == {"sent"}
            assert min(d.attempts for d in sent.values()) >= 2  # failed first, then sent
            # Each person got the message once, retries notwithstanding.
            assert inbox.recipients(headline) == sorted(told(stage))
        trail = await audit_trail(engine, handle.id, with_notified=True)
        # One receipt per notification, in whichever order the retries got through.
        receipts = sorted((e.details for e in trail if e.action == "notified"), key=str)
        assert receipts == [
            {"kind": "escalated", "sent": 2, "logged": 0, "failed": 0},
            {"kind": "raised", "sent": 2, "logged": 0, "failed": 0},
        ]
        assert await audit_actions(engine, handle.id) == [("raised", 1), ("escalated", 2)]


# --- the worker killed in the middle of sending mail -----------------------------------------


class StallingInbox(Mailbox):
    """Takes the first message's DATA and never answers, as a relay that hangs does."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = threading.Event()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if not self.stalled.is_set():
            self.stalled.set()
            await asyncio.sleep(600)  # the sending worker dies meanwhile
        return await super().handle_DATA(server, session, envelope)


@SQLITE_ONLY
async def test_worker_killed_mid_delivery_hands_the_mail_on_within_seconds(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    payload_key_file: Path,
    tmp_path: Path,
    directory_path: Path,
) -> None:
    """The notify activity heartbeats: Temporal gives it to another worker once the heartbeats
    stop, not after its whole start-to-close timeout."""
    inbox = StallingInbox()
    async with smtp_listener(inbox) as smtp:
        task_queue = f"faults-{uuid.uuid4().hex[:8]}"
        env = process_env(
            temporal_address=dev_env.client.service_client.config.target_host,
            database_url=database_url,
            task_queue=task_queue,
            directory_file=directory_path,
            payload_key_file=payload_key_file,
            **smtp,
            smtp_timeout_seconds=300,  # the first worker waits on the relay until it is killed
        )
        first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
        loop = asyncio.get_running_loop()
        with running("worker", env, first_log) as first:
            await eventually(lambda: logged(first_log, "worker started"), "first worker up")
            async with raised(dev_env.client, task_queue, escalation_input()) as handle:
                await eventually(lambda: asyncio.to_thread(inbox.stalled.wait, 0.2), "mail sent")
                sigkill(first)
                killed_at = loop.time()
                with running("worker", env, second_log):
                    notified = await eventually(
                        partial(notified_keys, engine, handle.id),
                        "raise notification delivered",
                        within=120,
                    )
                    # Well inside the activity's one-minute start-to-close timeout.
                    assert loop.time() - killed_at < 50
        sent = await deliveries(engine, notified[0].removesuffix(":notified"))
        assert set(sent) == told(1) and {d.status for d in sent.values()} == {"sent"}
        assert inbox.recipients() == sorted(told(1))
        assert await audit_actions(engine, handle.id) == [("raised", 1)]
        trail = await audit_trail(engine, handle.id)
        assert chain_breaks(await audit_trail(engine, handle.id, with_notified=True)) == []
        assert [e.action for e in trail] == ["raised"] and len(notified) == 1


# --- the API killed while agencies raise ----------------------------------------------------

RAISES = 40
CLIENTS = 10
POLICE = "Northshire Police"


@dataclass
class Traffic:
    """Raises that keep trying, with the same Idempotency-Key, until the API answers."""

    http: httpx.AsyncClient
    headers: dict[str, str]
    answered: dict[str, str]  # idempotency key -> escalation reference
    retries: int = 0

    async def raise_one(self, key: str) -> None:
        body = {
            "receiving_agency": RECEIVING,
            "child_reference": f"NP-{key[-6:]}",
            "summary": "Referral closed as threshold not met; the school sees decline.",
        }
        while True:
            try:
                response = await self.http.post(
                    "/escalations", json=body, headers={**self.headers, "Idempotency-Key": key}
                )
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 500:
                assert response.status_code == 201, response.text
                self.answered[key] = response.json()["id"]
                return
            self.retries += 1
            await asyncio.sleep(0.1)

    async def run(self, keys: list[str]) -> None:
        for key in keys:
            await self.raise_one(key)


@SQLITE_ONLY
async def test_api_killed_mid_traffic_loses_and_doubles_no_raise(
    dev_env: WorkflowEnvironment,
    engine: AsyncEngine,
    database_url: str,
    payload_key_file: Path,
    tmp_path: Path,
    directory_path: Path,
    held_port: int,
) -> None:
    _, token = await new_key(engine, name="PC Reyes", agency=POLICE, role="practitioner")
    port = held_port  # the API's, across its restarts
    log = tmp_path / "api.log"
    async with escalation_worker(dev_env.client, engine) as config:
        env = process_env(
            temporal_address=dev_env.client.service_client.config.target_host,
            database_url=database_url,
            directory_file=directory_path,
            task_queue=config.task_queue,
            payload_key_file=payload_key_file,
            api_host="127.0.0.1",
            api_port=port,
        )
        keys = [str(uuid.uuid4()) for _ in range(RAISES)]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            traffic = Traffic(http, {"Authorization": f"Bearer {token}"}, {})

            async def api_up() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await http.get("/healthz")).status_code == 200
                return False

            async def answered(count: int) -> bool:
                return len(traffic.answered) >= count

            clients = asyncio.gather(*(traffic.run(keys[n::CLIENTS]) for n in range(CLIENTS)))
            try:
                for kill_after in (RAISES // 6, RAISES // 2):
                    with running("api", env, log) as api:
                        await eventually(api_up, "API up")
                        await eventually(
                            partial(answered, kill_after), f"{kill_after} raises answered"
                        )
                        sigkill(api)  # with raises in flight
                with running("api", env, log):
                    await asyncio.wait_for(clients, timeout=120)
            finally:
                clients.cancel()

        assert traffic.retries > 0  # the kills did land on raises
        async with session_factory(engine)() as db:
            rows = (
                await db.exec(select(Escalation).where(Escalation.raising_agency == POLICE))
            ).all()
            raised_events = (
                await db.exec(
                    select(AuditEvent.escalation_id).where(
                        AuditEvent.action == "raised",
                        col(AuditEvent.escalation_id).in_([row.id for row in rows]),
                    )
                )
            ).all()
        # Every key: one escalation, the one its client was answered with...
        assert sorted(row.idempotency_key or "" for row in rows) == sorted(keys)
        assert {row.idempotency_key: row.id for row in rows} == traffic.answered

        # ...one workflow, raised once.
        async def started() -> list[str]:
            query = f'TaskQueue = "{config.task_queue}"'
            found = [w.id async for w in dev_env.client.list_workflows(query)]
            return found if len(found) >= RAISES else []  # visibility catches up

        assert sorted(await eventually(started, "every workflow listed")) == sorted(
            traffic.answered.values()
        )
        assert sorted(raised_events) == sorted(traffic.answered.values())
