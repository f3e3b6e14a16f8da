"""The embedded stack behind `make run`: Temporal dev server, worker and API in one terminal.

python -m worker.stack

Starts, in the foreground: the Temporal dev server from this environment's `bin/temporal` (its
state in DATA_DIR/temporal.db, so escalations survive a restart), the database migrations, the
worker and the API, each child in its own process group. One Ctrl-C (or SIGTERM, SIGHUP) stops
them all; if a child dies, the others are stopped and the launcher exits non-zero. On first start
it creates demo API keys (DATA_DIR/demo-keys.json) and prints what a newcomer needs next; the line
starting with "Stack ready" says everything answers. Settings, ports and paths: docs/operations.md.
"""

import asyncio
import contextlib
import fcntl
import json
import os
import shlex
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

from activities.database import create_engine, migrate
from api.keys import create_key, find_key
from worker.settings import Settings, get_settings
from workflows.policy import Role
from workflows.search_attributes import ALL_KEYS

PROJECT = Path(__file__).resolve().parent.parent
TEMPORAL_CLI = Path(sys.prefix) / "bin" / "temporal"
READY = "Stack ready"
START_TIMEOUT_SECONDS = 60.0
# Longer than the worker's graceful shutdown (10 s), so running activities can finish.
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.25

T = TypeVar("T")


class StackError(Exception):
    """The stack cannot start or keep running; the message says why and what to do."""


@dataclass(frozen=True)
class DemoKey:
    role: Role
    agency: str
    name: str


# The demo partnership of config/directory.example.toml.
DEMO_KEYS = (
    DemoKey("practitioner", "Northshire Police", "Demo practitioner"),
    DemoKey("manager", "Northshire Children's Services", "Demo manager"),
    DemoKey("board", "Northshire Safeguarding Children Partnership", "Demo partnership board"),
)
DEMO_RAISE = {
    "receiving_agency": "Northshire Children's Services",
    "child_reference": "DEMO-0001",
    "summary": "Referral closed as threshold not met; the school still sees signs of neglect.",
}


def _http_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on host:port."""
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    return f"http://{reachable}:{port}"


@dataclass(frozen=True)
class Stack:
    """Where everything runs, and the settings the worker and the API get."""

    settings: Settings
    temporal_host: str
    temporal_port: int
    # Settings the launcher chose (the user set none of them), as environment variables.
    chosen: dict[str, str]

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def api_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def local_api_url(self) -> str:
        return _http_url(self.settings.api_host, self.settings.api_port)

    @property
    def ui_url(self) -> str:
        return _http_url(self.temporal_host, self.settings.temporal_ui_port)

    @property
    def temporal_log(self) -> Path:
        return self.data_dir / "temporal.log"

    @property
    def demo_keys_file(self) -> Path:
        return self.data_dir / "demo-keys.json"

    def child_env(self) -> dict[str, str]:
        return {**os.environ, **self.chosen}


def plan(settings: Settings) -> Stack:
    """The stack for these settings: what the user did not set, the embedded stack chooses."""
    data_dir = settings.data_dir.resolve()
    host, colon, port = settings.temporal_address.rpartition(":")
    if not colon or not port.isdigit():
        raise StackError(
            f"TEMPORAL_ADDRESS {settings.temporal_address!r} must be host:port for the dev server"
        )
    defaults: dict[str, Any] = {
        "database_url": f"sqlite:///{data_dir / 'escalations.db'}",
        "payload_key_file": data_dir / "payload-keys.json",
        "directory_file": PROJECT / "config" / "directory.example.toml",
        "policy_file": PROJECT / "config" / "policies.example.toml",
        "log_format": "console",
        "public_url": _http_url(settings.api_host, settings.api_port),
        "codec_cors_origin": _http_url(host, settings.temporal_ui_port),
    }
    chosen = {
        name: value for name, value in defaults.items() if name not in settings.model_fields_set
    }
    return Stack(
        settings=settings.model_copy(update={**chosen, "data_dir": data_dir}),
        temporal_host=host.strip("[]"),
        temporal_port=int(port),
        chosen={name.upper(): str(value) for name, value in chosen.items()},
    )


def _search_attribute_type(key: SearchAttributeKey[Any]) -> str:
    """KEYWORD_LIST -> KeywordList, as `--search-attribute` spells the type."""
    return "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))


def temporal_command(stack: Stack) -> list[str]:
    settings = stack.settings
    command = [
        str(TEMPORAL_CLI),
        "server",
        "start-dev",
        "--ip",
        stack.temporal_host,
        "--port",
        str(stack.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(stack.data_dir / "temporal.db"),
        # The Web UI decrypts payloads through the API (docs/security.md).
        "--ui-codec-endpoint",
        f"{stack.api_url}/codec",
        # Nothing leaves the machine: no version check, no UI news feed.
        "--dynamic-config-value",
        "frontend.enableServerVersionCheck=false",
        "--ui-disable-news-fetch",
    ]
    for key in ALL_KEYS:
        command += [
            "--search-attribute",
            f"{key.name}={_search_attribute_type(key)}",
        ]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command


# --- one stack per data directory and ports ----------------------------------------------------


@contextlib.contextmanager
def hold_lock(stack: Stack) -> Iterator[None]:
    """Holds DATA_DIR/stack.lock while the launcher lives (the kernel drops it when it dies)."""
    stack.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(stack.data_dir / "stack.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise StackError(
                f"a stack is already running with data directory {stack.data_dir} "
                f"(launcher pid {holder}). Stop it with Ctrl-C in its terminal, or run a second "
                "stack with its own DATA_DIR, TEMPORAL_ADDRESS, TEMPORAL_UI_PORT and API_PORT"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def check_ports(stack: Stack) -> None:
    """Refuses to start anything when a port the stack needs is taken."""
    settings = stack.settings
    wanted = [
        ("Temporal", stack.temporal_host, stack.temporal_port, "TEMPORAL_ADDRESS"),
        ("Temporal UI", stack.temporal_host, settings.temporal_ui_port, "TEMPORAL_UI_PORT"),
        ("API", settings.api_host, settings.api_port, "API_PORT"),
    ]
    for what, host, port, setting in wanted:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As the servers themselves bind: connections closing on the port do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise StackError(
                    f"the {what} port {host}:{port} is not free ({exc.strerror}). Is another "
                    f"stack or Temporal server running? Stop it, or choose another port with "
                    f"{setting}"
                ) from None


# --- the children ------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path | None = None

    def exit_message(self) -> str:
        code = self.process.returncode
        assert code is not None
        ended = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
        message = f"the {self.name} {ended}"
        if self.log is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            message += f"; the end of its log ({self.log}):\n" + "\n".join(tail)
        return message


class Children:
    """The stack's processes, each the leader of its own process group."""

    def __init__(self) -> None:
        self._started: list[Child] = []

    async def start(
        self, name: str, command: list[str], env: dict[str, str], log: Path | None = None
    ) -> None:
        with contextlib.ExitStack() as files:
            output = files.enter_context(log.open("w")) if log else None
            process = await asyncio.create_subprocess_exec(
                *command,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                # Out of the terminal's group: Ctrl-C reaches the launcher, which stops them.
                process_group=0,
            )
        self._started.append(Child(name, process, log))
        print(f"Started the {name} (pid {process.pid})")

    def check_alive(self) -> None:
        for child in self._started:
            if child.process.returncode is not None:
                raise StackError(child.exit_message())

    async def first_exit(self) -> Child:
        waits = {asyncio.ensure_future(child.process.wait()): child for child in self._started}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in pending:
            wait.cancel()
        return waits[done.pop()]

    async def stop(self) -> None:
        """Stops the children, last started first, so the worker finishes before Temporal goes."""
        for child in reversed(self._started):
            process = child.process
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
                except TimeoutError:
                    print(f"The {child.name} did not stop in {STOP_TIMEOUT_SECONDS:.0f} s: killed")
            # Whatever the child left behind in its group goes too.
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()

    def kill(self) -> None:
        for child in self._started:
            _signal_group(child.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


async def wait_for(what: str, attempt: Callable[[], Awaitable[T | None]], children: Children) -> T:
    """The first answer of `attempt`, while every child stays up."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + START_TIMEOUT_SECONDS
    while True:
        children.check_alive()
        answer = await attempt()
        if answer is not None:
            return answer
        if loop.time() > give_up:
            raise StackError(f"{what} did not answer within {START_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


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


# --- demo keys ---------------------------------------------------------------------------------


def _read_demo_keys(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in stored.items() if isinstance(v, str)} if isinstance(stored, dict) else {}
    )


def _write_private(path: Path, text: str) -> None:
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(draft, path)


async def demo_keys(stack: Stack) -> tuple[dict[str, str], bool]:
    """The demo keys and whether any was created now; kept ones are checked against the database."""
    stored = _read_demo_keys(stack.demo_keys_file)
    keys: dict[str, str] = {}
    engine = create_engine(stack.settings.database_url)
    try:
        for demo in DEMO_KEYS:
            token = stored.get(demo.role)
            if token is None or await find_key(engine, token) is None:
                _, token = await create_key(
                    engine, name=demo.name, agency=demo.agency, role=demo.role
                )
            keys[demo.role] = token
    finally:
        await engine.dispose()
    created = keys != stored
    if created:
        _write_private(stack.demo_keys_file, json.dumps(keys, indent=2) + "\n")
    return keys, created


def welcome(stack: Stack, keys: dict[str, str], created: bool) -> str:
    """What a newcomer needs next: where things are, the keys and a request to try."""
    namespace = stack.settings.temporal_namespace
    # JSON allows \u0027 for the apostrophe, which a single-quoted shell word cannot hold.
    body = json.dumps(DEMO_RAISE).replace("'", "\\u0027")
    curl = shlex.join(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{stack.api_url}/escalations",
            "-H",
            f"Authorization: Bearer {keys['practitioner']}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )
    state = "created now" if created else "kept"
    lines = [
        "",
        f"API          {stack.api_url}   (docs: {stack.api_url}/docs)",
        f"Temporal UI  {stack.ui_url}/namespaces/{namespace}/workflows",
        f"Data         {stack.data_dir}   (Temporal log: {stack.temporal_log})",
        "",
        f"Demo API keys ({state} in {stack.demo_keys_file}):",
        *(f"  {demo.role:<13} {demo.agency:<46} {keys[demo.role]}" for demo in DEMO_KEYS),
        "",
        "Raise an escalation as the practitioner:",
        "  " + curl,
        "Then list it as the manager or the board:",
        "  "
        + shlex.join(
            [
                "curl",
                "-sS",
                f"{stack.api_url}/escalations",
                "-H",
                f"Authorization: Bearer {keys['manager']}",
            ]
        ),
        "Operating it (settings, UI queries, signals): docs/operations.md",
        "",
        f"{READY}: API {stack.api_url}, Temporal UI {stack.ui_url}. Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


# --- the launcher ------------------------------------------------------------------------------


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
    print(welcome(stack, keys, created))


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
        with hold_lock(stack):
            check_ports(stack)
            code = asyncio.run(run(stack))
    except StackError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # before anything was started
        raise SystemExit(130) from None
    raise SystemExit(code)


if __name__ == "__main__":
    main()
