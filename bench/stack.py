"""The embedded stack (`python -m launcher`) on free ports and a data directory of its own."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from core.settings import Settings
from launcher.demo import READY
from launcher.plan import plan

PROJECT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 120
STARTED = re.compile(r"^Started the (.+) \(pid (\d+)\)$", re.MULTILINE)
# Where the benchmark may create (and drop) a database of its own.
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def forget_developer_settings() -> None:
    """The benchmark sets up its own stack: none of the developer's settings apply to it."""
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)


def as_env(settings: Settings) -> dict[str, str]:
    """This environment plus the settings that were given explicitly, as variables."""
    given = settings.model_dump(include=settings.model_fields_set)
    return {**os.environ, **{name.upper(): str(value) for name, value in given.items()}}


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL (the launcher migrates it); dropped after."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class RunningStack:
    settings: Settings  # as the worker and the API see them
    keys: dict[str, str]  # demo API keys by role
    pids: dict[str, int]  # "Temporal dev server", "worker", "API", "worker 2", ...
    env: dict[str, str] = field(repr=False)
    exits: ExitStack = field(repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def workers(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids.items() if name.startswith("worker")}

    def add_worker(self) -> None:
        """One more worker process on the stack's task queue, stopped with the stack."""
        name = f"worker {len(self.workers) + 1}"
        log = self.settings.data_dir / f"{name.replace(' ', '-')}.log"
        self.pids[name] = self.exits.enter_context(worker_process(self.env, log))


def _wait_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    give_up = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < give_up:
        text = log.read_text(errors="replace")
        if READY in text:
            return text
        if process.poll() is not None:
            raise BenchError(f"the stack exited ({process.returncode}):\n{text[-3000:]}")
        time.sleep(0.25)
    raise BenchError(f"the stack was not ready in {START_TIMEOUT_SECONDS} s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the launcher stops its children in order
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def worker_process(env: dict[str, str], log: Path) -> Iterator[int]:
    """One more `python -m worker`, as the stack's own but with `env`; yields its pid."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process.pid
    finally:
        _stop(process)


@contextmanager
def embedded_stack(
    data_dir: Path, workers: int = 1, database_url: str | None = None
) -> Iterator[RunningStack]:
    """The stack as `make run` starts it (production-like JSON logs), plus `workers - 1` extra
    worker processes on the same task queue; its own SQLite unless `database_url` is given."""
    given: dict[str, Any] = {
        "data_dir": data_dir,
        "temporal_address": f"127.0.0.1:{free_port()}",
        "temporal_ui_port": free_port(),
        "api_port": free_port(),
        "log_format": "json",
    }
    if database_url:
        given["database_url"] = database_url
    settings = Settings(_env_file=None, **given)
    env = as_env(settings)
    # What the launcher gives the worker and the API, so extra workers get the same.
    planned = plan(settings)
    child_env = {**env, **planned.chosen}
    log = data_dir / "stack.log"
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb"))
        launcher = subprocess.Popen(
            [sys.executable, "-m", "launcher"],
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, launcher)
        text = _wait_ready(launcher, log)
        keys = json.loads((data_dir / "demo-keys.json").read_text())
        running = RunningStack(
            settings=planned.settings,
            keys=keys,
            pids={name: int(pid) for name, pid in STARTED.findall(text)},
            env=child_env,
            exits=stack,
        )
        for _ in range(2, workers + 1):
            running.add_worker()
        yield running
