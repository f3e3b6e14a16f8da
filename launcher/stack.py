"""The embedded stack behind `make run`: Temporal dev server, worker and API in one terminal.

python -m launcher

Starts, in the foreground: the Temporal dev server from this environment's `bin/temporal` (its
state in DATA_DIR/temporal.db, so escalations survive a restart), the database migrations, the
worker and the API, each child in its own process group. One Ctrl-C (or SIGTERM, SIGHUP) stops
them all; if a child dies, the others are stopped and the launcher exits non-zero. On first start
it creates demo API keys (DATA_DIR/demo-keys.json) and raises demo escalations through the API
(launcher/demo_data.py; DEMO_DATA=0: none); each start prints a sign-in link for each demo person
and what a newcomer needs next; the line
starting with "Stack ready" says everything answers. Settings, ports and paths: docs/operations.md.
"""

import asyncio
import signal
import sys

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from core.settings import get_settings
from database.engine import migrate
from launcher.demo import demo_keys, demo_sign_in_links, welcome
from launcher.demo_data import demo_escalations
from launcher.plan import TEMPORAL_CLI, Stack, plan, temporal_command
from launcher.supervisor import Children, StackError, check_ports, hold_lock, wait_for

# --- readiness ---------------------------------------------------------------------------------


async def temporal_client(stack: Stack) -> Client | None:
    settings = stack.settings
    try:
        client = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=settings.temporal_namespace)
        )
    except (RuntimeError, RPCError):  # not listening yet, or the namespace is not there yet
        return None
    return client


async def api_healthy(stack: Stack) -> bool | None:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(f"{stack.local_api_url}/healthz")
    except httpx.HTTPError:
        return None
    return True if response.status_code == 200 else None


async def worker_polling(client: Client, stack: Stack) -> bool | None:
    request = DescribeTaskQueueRequest(
        namespace=stack.settings.temporal_namespace,
        task_queue=TaskQueue(name=stack.settings.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        described = await client.workflow_service.describe_task_queue(request)
    except RPCError:
        return None
    return True if described.pollers else None


# --- the launcher ------------------------------------------------------------------------------


def needed_ports(stack: Stack) -> list[tuple[str, str, int, str]]:
    settings = stack.settings
    return [
        ("Temporal", stack.temporal_host, stack.temporal_port, "TEMPORAL_ADDRESS"),
        ("Temporal UI", stack.temporal_host, settings.temporal_ui_port, "TEMPORAL_UI_PORT"),
        ("API", settings.api_host, settings.api_port, "API_PORT"),
    ]


async def start(stack: Stack, children: Children) -> None:
    if not TEMPORAL_CLI.exists():
        raise StackError(f"{TEMPORAL_CLI} is missing: run `make install`")
    env = stack.child_env()
    await children.start("Temporal dev server", temporal_command(stack), env, stack.temporal_log)
    client = await wait_for("Temporal", lambda: temporal_client(stack), children)
    try:
        await asyncio.to_thread(migrate, stack.settings.database_url)
    except Exception as exc:  # whatever the database driver raises, said plainly
        raise StackError(f"bringing the database (DATABASE_URL) up to date failed: {exc}") from exc
    keys, created = await demo_keys(stack)
    await children.start("worker", [sys.executable, "-m", "worker"], env)
    await children.start("API", [sys.executable, "-m", "api"], env)
    await wait_for("The API", lambda: api_healthy(stack), children)
    await wait_for("The worker", lambda: worker_polling(client, stack), children)
    demo = await demo_escalations(stack, keys)
    print(welcome(stack, keys, created, await demo_sign_in_links(stack), demo))


async def run(stack: Stack) -> int:
    children = Children()
    main_task = asyncio.current_task()
    assert main_task is not None
    stopping = False

    def on_signal() -> None:
        nonlocal stopping
        if stopping:
            children.kill()  # asked twice: no more waiting
        else:
            stopping = True
            main_task.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)
    try:
        await start(stack, children)
        child = await children.first_exit()
        print(f"make run: {child.exit_message()}; stopping the stack", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        main_task.uncancel()
        print("Stopping the stack...")
        return 0
    except StackError as exc:
        print(f"make run: {exc}; stopping the stack", file=sys.stderr)
        return 1
    finally:
        stopping = True
        await children.stop()
        print("Stack stopped.")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    try:
        stack = plan(get_settings())
        with hold_lock(stack.data_dir):
            check_ports(needed_ports(stack))
            code = asyncio.run(run(stack))
    except StackError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # before anything was started
        raise SystemExit(130) from None
    raise SystemExit(code)


if __name__ == "__main__":
    main()
