"""The worker: runs escalation workflows and their activities until SIGTERM or Ctrl-C.

python -m worker              run the worker
python -m worker reconcile    close now the records whose workflow ended outside the service
python -m worker erase        erase now the closed records whose retention has ended
"""

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.notifications import Notifier, Outbox
from activities.recorder import Recorder
from activities.stage_clock import stage_clock
from casework.directory_seed import seed
from core.directory import Directory, DirectoryFileError, seed_file
from core.languages import welsh_names
from core.logs import configure_logging
from core.payload_crypto import PayloadKeyError, codec_from_settings
from core.policy_files import PolicyFileError, load_policies, read_policy_file
from core.retention import load_retention
from core.settings import Settings, get_settings
from core.temporal import connect, metrics_runtime
from database.engine import SchemaError, check_schema, create_engine, dispose, session_factory
from worker.eraser import Eraser, ensure_erase_schedule
from worker.eraser import schedule_id as eraser_schedule_id
from worker.heartbeat import heartbeat
from worker.reconciler import Reconciler, ensure_reconcile_schedule, schedule_id
from workflows.erasure import EraseWorkflow
from workflows.escalation import EscalationWorkflow
from workflows.reconciliation import ReconcileWorkflow
from workflows.search_attributes import ALL_KEYS

log = structlog.get_logger(__name__)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, engine: AsyncEngine, directory: Directory | None
) -> AsyncIterator[Worker]:
    """The escalation worker, polling until the block ends; the directory file (if any) seeds
    the database's directory first, which notifications read at each send."""
    await seed(session_factory(engine), directory)
    policy_file = read_policy_file(settings.policy_file)
    async with httpx.AsyncClient() as http:
        recorder = Recorder(engine)
        notifier = Notifier(
            engine,
            Outbox(settings, http),
            settings.public_url,
            policy_file.nation,
            welsh_names(policy_file.policies.values()),
        )
        reconciler = Reconciler(client, engine)
        eraser = Eraser(engine, load_retention(settings))
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[EscalationWorkflow, ReconcileWorkflow, EraseWorkflow],
            activities=[
                stage_clock,
                recorder.record_event,
                notifier.notify,
                reconciler.reconcile_activity,
                eraser.erase_due_activity,
            ],
            graceful_shutdown_timeout=timedelta(seconds=10),
        )
        async with (
            worker,
            heartbeat(engine, settings.task_queue, settings.worker_heartbeat_seconds),
        ):
            yield worker


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Registers the escalation search attributes on the namespace if they are missing."""
    try:
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = set(known.custom_attributes)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()  # the time-skipping test server can add but not list
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in ALL_KEYS
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        log.info("search attributes registered", names=sorted(missing))


def check_configuration(settings: Settings) -> Directory | None:
    """Refuses to start on a bad policy, directory or key setting, naming what is wrong;
    answers with the directory file's seed (if set), so the file is read once."""
    load_policies(settings.policy_file)
    load_retention(settings)
    directory = seed_file(settings.directory_file)
    codec_from_settings(settings)
    return directory


async def _ready(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Temporal connected and the database at the schema this code needs, or one line and exit."""
    try:
        client = await connect(settings, runtime=runtime)
    except RuntimeError as exc:
        raise SystemExit(
            f"worker: cannot reach Temporal at {settings.temporal_address}: {exc}"
        ) from None
    try:
        await asyncio.to_thread(check_schema, settings.database_url)
    except SchemaError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return client


async def run(settings: Settings, directory: Directory | None) -> None:
    # Only the running worker exports metrics (a `reconcile` beside it would take its port).
    client = await _ready(settings, metrics_runtime(settings))
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_reconcile_schedule(client, settings)
    await ensure_erase_schedule(client, settings)
    engine = create_engine(settings.database_url, settings.case_key_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running_worker(client, settings, engine, directory):
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            namespace=settings.temporal_namespace,
            reconciler_schedule=schedule_id(settings),
            eraser_schedule=eraser_schedule_id(settings),
        )
        await stop.wait()
        log.info("worker stopping")
    await dispose(engine)
    log.info("worker stopped")


async def reconcile_now(settings: Settings) -> None:
    client = await _ready(settings)
    engine = create_engine(settings.database_url, settings.case_key_database_url)
    try:
        done = await Reconciler(client, engine).reconcile()
    finally:
        await dispose(engine)
    for item in done:
        print(item)
    print(f"Reconciled {len(done)} record{'s' if len(done) != 1 else ''}.")


async def erase_now(settings: Settings) -> None:
    await _ready(settings)
    engine = create_engine(settings.database_url, settings.case_key_database_url)
    try:
        erased = await Eraser(engine, load_retention(settings)).erase_due()
    finally:
        await dispose(engine)
    for escalation_id in erased:
        print(f"{escalation_id}: case details erased")
    print(f"Erased {len(erased)} record{'s' if len(erased) != 1 else ''}.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["run", "reconcile", "erase"], default="run")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        directory = check_configuration(settings)
    except (PolicyFileError, DirectoryFileError, PayloadKeyError) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "reconcile":
        asyncio.run(reconcile_now(settings))
        return
    if args.command == "erase":
        asyncio.run(erase_now(settings))
        return
    asyncio.run(run(settings, directory))
